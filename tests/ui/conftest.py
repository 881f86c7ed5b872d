"""Qt fixtures: a private settings store per test, the app's stylesheet, windows closed;
a workspace and a plain host for a page built without the main window."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QVBoxLayout, QWidget

if TYPE_CHECKING:
    from themis_desktop.ui.models.workspace import Workspace


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, qapp):
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qs"))
    yield


@pytest.fixture
def main_window(qtbot):
    """A main window as the app builds it (fast polling), closed after the test."""
    from themis_desktop.ui.app import application, build_main_window

    application()
    window = build_main_window(poll_interval_ms=200, sample_interval_s=0.2)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


# -- a page without the main window ---------------------------------------------------------


@pytest.fixture
def workspace(qtbot) -> Iterator[Workspace]:
    """A workspace on the test's journal (fast polling and sampling), stopped afterwards."""
    from themis_desktop.core.connection.secrets import TokenStore
    from themis_desktop.core.util.paths import journal_path
    from themis_desktop.ui.models.workspace import Workspace
    from themis_desktop.ui.tasks import TaskManager

    tasks = TaskManager(journal_path())
    workspace = Workspace(tasks, TokenStore(), poll_interval_ms=200, sample_interval_s=0.2)
    tasks.setParent(workspace)
    yield workspace
    workspace.stop()
    workspace.deleteLater()  # its models' timers with it


@pytest.fixture
def alone(qtbot, workspace: Workspace) -> Iterator[Callable[[QWidget], QWidget]]:
    """`alone(page)`: the page shown in a plain widget of its own, at a usual size; closed
    before the workspace stops."""
    hosts: list[QWidget] = []  # kept alive until the test ends

    def show(page: QWidget) -> QWidget:
        host = QWidget()
        hosts.append(host)
        QVBoxLayout(host).addWidget(page)
        qtbot.addWidget(host)
        host.resize(1180, 760)
        host.show()
        qtbot.waitExposed(host)
        return page

    yield show
    for host in hosts:
        host.close()
        host.deleteLater()
