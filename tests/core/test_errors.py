"""Every exception class of core is a ThemisDesktopError: one root the command line maps to
an exit code and the GUI's task runner shows as a message (anything else is a bug)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import themis_desktop.core
from themis_desktop.core.errors import ThemisDesktopError

# Exception classes of core that must not be ThemisDesktopErrors, each with its reason.
# None today: keep it that way, or say here why one is an exception.
NOT_USER_ERRORS: dict[str, str] = {}


def core_exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(themis_desktop.core.__path__, "themis_desktop.core."):
        module = importlib.import_module(info.name)
        for _name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == info.name:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


def test_every_core_exception_is_a_themis_desktop_error() -> None:
    classes = core_exception_classes()
    assert len(classes) > 30  # the walk found them (server errors alone are 15)
    strays = sorted(
        name
        for name, kind in classes.items()
        if not issubclass(kind, ThemisDesktopError) and name not in NOT_USER_ERRORS
    )
    assert not strays, f"make these subclass their feature's error (or the root): {strays}"


def test_the_exceptions_list_names_only_what_exists() -> None:
    assert set(NOT_USER_ERRORS) <= set(core_exception_classes())


def test_errors_that_were_value_errors_still_are() -> None:
    """Callers that catch ValueError (bad input) still catch them."""
    from themis_desktop.core.backup.zstd_frames import FrameError
    from themis_desktop.core.config.file import ConfigError
    from themis_desktop.core.server.models import ShapeError
    from themis_desktop.core.server.strict_json import JsonTooDeep
    from themis_desktop.core.upgrade.restore_points import RestorePointError
    from themis_desktop.core.util.bounded_parse import InputError
    from themis_desktop.core.versions.catalogue_file import CatalogueError
    from themis_desktop.core.versions.releases import VersionError

    for kind in (RestorePointError, FrameError, ConfigError, ShapeError, JsonTooDeep):
        assert issubclass(kind, ValueError) and issubclass(kind, ThemisDesktopError)
    for kind in (InputError, CatalogueError, VersionError):
        assert issubclass(kind, ValueError) and issubclass(kind, ThemisDesktopError)


def test_each_feature_shares_its_base() -> None:
    from themis_desktop.core.backup.archive_format import BackupError
    from themis_desktop.core.backup.zstd_frames import FrameError
    from themis_desktop.core.guides.library import GuideError
    from themis_desktop.core.guides.limits import RenderTimeout
    from themis_desktop.core.journal.connection import JournalDamaged
    from themis_desktop.core.service.control import ServiceError
    from themis_desktop.core.service.demo_nodes import DemoNodeUnknown
    from themis_desktop.core.service.pid_stop import PidFileError
    from themis_desktop.core.upgrade.restore_points import RestorePointError

    assert issubclass(FrameError, BackupError) and issubclass(RestorePointError, BackupError)
    assert issubclass(RenderTimeout, GuideError) and issubclass(GuideError, OSError)
    assert issubclass(PidFileError, ServiceError) and issubclass(DemoNodeUnknown, ServiceError)
    assert issubclass(JournalDamaged, ThemisDesktopError)
    assert str(PidFileError("The pid file x cannot be read.")) == "The pid file x cannot be read."
