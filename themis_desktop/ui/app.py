"""Start the GUI: application object, style, main window, optional demo mode."""

from __future__ import annotations

import logging
import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.secrets import TokenStore
from themis_desktop.core.journal.store import Journal, JournalError
from themis_desktop.core.util.logging_setup import setup_logging, stop_logging
from themis_desktop.core.util.paths import journal_path
from themis_desktop.core.util.resources import resource
from themis_desktop.ui.demo_mode import DemoLauncher, DemoMode
from themis_desktop.ui.excepthook import install_excepthook
from themis_desktop.ui.gc_timer import GarbageCollector
from themis_desktop.ui.main_window import MainWindow
from themis_desktop.ui.models.workspace import Workspace
from themis_desktop.ui.settings import settings
from themis_desktop.ui.tasks import TaskManager

logger = logging.getLogger(__name__)
WARM_STATISTICS_MS = 1500  # after the first paint and the first node cards


def application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("Themis Desktop")
    app.setDesktopFileName("themis-desktop")
    app.setWindowIcon(QIcon(str(resource("icons", "themis-desktop.svg"))))
    style = resource("style.qss")
    if style.is_file():
        app.setStyleSheet(style.read_text(encoding="utf-8"))
    if not hasattr(app, "_themis_gc"):
        # Python's cyclic collector runs in whichever thread allocates past its threshold,
        # worker threads included, and may then destroy GUI-thread Qt objects from there:
        # collect only in the GUI thread, on a timer
        app._themis_gc = GarbageCollector(interval=1.0)  # type: ignore[attr-defined]
    return app


def build_main_window(
    poll_interval_ms: int | None = None, sample_interval_s: float | None = None
) -> MainWindow:
    tasks = TaskManager(journal_path())
    kwargs: dict = {"poll_interval_ms": poll_interval_ms} if poll_interval_ms else {}
    if sample_interval_s:
        kwargs["sample_interval_s"] = sample_interval_s
    workspace = Workspace(tasks, TokenStore(), **kwargs)
    window = MainWindow(workspace)
    tasks.setParent(window)
    workspace.setParent(window)
    return window


def _warm_statistics() -> None:
    from themis_desktop.core.metrics.comparison import warm_statistics  # numpy: not at start

    warm_statistics()


def _close_on_signals(app: QApplication) -> None:
    """SIGTERM/SIGINT close the windows cleanly (state saved, demo stopped) and quit."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: app.closeAllWindows())
    wake = QTimer(app)  # lets the Python interpreter run its signal handlers
    wake.timeout.connect(lambda: None)
    wake.start(250)


def run_gui(profile: str | None = None, launcher: DemoLauncher | None = None) -> int:
    """The window until it closes; the app's log file (`setup_logging`) meanwhile.

    `launcher`: the demo cluster to connect to (`--demo`), stopped and removed when the
    window closes, or when it never opened."""
    try:
        app = application()
        log = setup_logging()
        try:
            return _run(app, launcher, profile)
        finally:
            stop_logging(log)
    finally:
        if launcher is not None:
            launcher.discard()


def _run(app: QApplication, launcher: DemoLauncher | None, profile: str | None) -> int:
    logger.info("Themis Desktop starts (window)")
    try:
        with Journal() as journal:  # create or migrate it now: a broken or read-only
            journal.check_writable()  # journal is said up front, not at the first change
    except JournalError as exc:
        logger.error("Shown at the start: %s", exc)
        QMessageBox.critical(None, "Themis Desktop", str(exc))
        return 2
    reporter = install_excepthook(app)  # from now on no exception goes unseen or unlogged
    window = build_main_window()
    window.show()
    # scipy (the verdicts' statistics) in a thread of its own once the window is up: the
    # first verdict then does not stall the GUI thread with its import
    QTimer.singleShot(WARM_STATISTICS_MS, _warm_statistics)
    _close_on_signals(app)
    demo_mode = None  # held while the window runs; run_gui, which owns the launcher, stops it
    if launcher is not None:
        demo_mode = DemoMode(window.workspace, parent=window, launcher=launcher)
        demo_mode.start()
    else:
        name = profile or settings().value("last_profile")
        if name:
            with Journal() as journal:
                found = profile_store.get(journal, str(name))
            if found:
                window.workspace.connect_profile(found)
            elif profile:
                window.statusBar().showMessage(f"No profile named “{profile}”.", 8000)
    try:
        return app.exec()
    finally:
        reporter.uninstall()
