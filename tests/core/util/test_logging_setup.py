"""The app's log file: service actions, session transitions and errors land there, known
tokens never do, and the file is private (0600) like the other data files."""

from __future__ import annotations

import logging
import stat

import pytest

from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.util import logging_setup, redaction
from themis_desktop.core.util.logging_setup import log_path, setup_logging, stop_logging

TOKEN = "adm-Zq81Lx0Pw7Rt"


@pytest.fixture
def log():
    """The data folder's log, as the GUI and the CLI start set it up."""
    handler = setup_logging()
    yield log_path()
    stop_logging(handler)


def test_a_session_transition_lands_in_the_file(log):
    from themis_desktop.core.upgrade.session import UpgradeSession
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    with Journal() as journal:
        profile = profile_store.save(
            journal, Profile("p", (NodeEndpoint("http://127.0.0.1:1", "n1"),))
        )
        plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
        session = UpgradeSession.create(journal, profile, plan)
        session.transition(journal, session.current, "pre-checks", user="alice")
    text = log.read_text(encoding="utf-8")
    hop = session.current.label
    assert f"INFO Session {session.id}, hop {hop}: planned -> pre-checks by alice" in text
    assert "[themis_desktop.core.upgrade.session]" in text


def test_a_service_stop_and_its_failure_land_in_the_file(log):
    from themis_desktop.core.connection.service_config import ServiceConfig
    from themis_desktop.core.service.control import ServiceError, controller_for

    node = NodeEndpoint("http://127.0.0.1:1", "n1")
    controller = controller_for(ServiceConfig(kind="commands", stop="true", start="exit 3"))
    controller.stop(node)
    with pytest.raises(ServiceError):
        controller.start(node)
    text = log.read_text(encoding="utf-8")
    assert "INFO Service stop on n1 (http://127.0.0.1:1) (commands control) …" in text
    assert "INFO Service stop on n1 (http://127.0.0.1:1) done in" in text
    assert "WARNING Service start on n1 (http://127.0.0.1:1) failed:" in text


def test_a_registered_token_is_redacted_in_messages_arguments_and_tracebacks(log):
    redaction.remember(TOKEN)
    logger = logging.getLogger("themis_desktop.core.somewhere")
    logger.warning("refused %s", TOKEN)
    logger.info(f"a message with {TOKEN} in it")
    try:
        raise RuntimeError(f"the token {TOKEN} was refused")
    except RuntimeError:
        logger.exception("unexpected")
    text = log.read_text(encoding="utf-8")
    assert TOKEN not in text
    assert "refused [redacted]" in text and "a message with [redacted] in it" in text
    assert "RuntimeError: the token [redacted] was refused" in text


def test_the_file_is_private_and_shared_by_a_second_setup(log):
    handler = setup_logging()  # e.g. the CLI's main, then the window it opens
    try:
        logging.getLogger("themis_desktop.cli").warning("Shown: something")
    finally:
        stop_logging(handler)
    logging.getLogger("themis_desktop.ui").warning("still logged")
    text = log.read_text(encoding="utf-8")
    assert text.count("Shown: something") == 1 and "still logged" in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700


def test_an_unwritable_log_is_skipped_without_a_word(tmp_path, capsys):
    handler = setup_logging(tmp_path / "missing" / "x" / "app.log")
    try:
        (tmp_path / "missing").write_text("a file where the folder would be")
        logging.getLogger("themis_desktop.core").warning("nowhere to go")
    finally:
        stop_logging(handler)
    assert capsys.readouterr() == ("", "")


def test_nothing_is_printed_without_a_set_up_log(capsys):
    assert not any(
        isinstance(h, logging_setup.PrivateRotatingFileHandler)
        for h in logging.getLogger("themis_desktop").handlers
    )
    logging.getLogger("themis_desktop.cli.common").warning("Shown: an error")
    assert capsys.readouterr() == ("", "")
