"""Qt fixtures: a private settings store per test, the app's stylesheet, windows closed."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings


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
