"""No exception escapes silently: the app's hook shows a dialog and writes the log file.

The hook is installed as the GUI start installs it, inside `qtbot.captureExceptions()`: the
exceptions raised here on purpose reach pytest-qt's capture through our hook (which passes
them on) instead of failing the test.
"""

from __future__ import annotations

import contextlib
import stat
import sys
import threading

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from themis_desktop.core.util import redaction
from themis_desktop.ui.excepthook import LOG_BACKUPS, LOG_MAX_BYTES, ExceptionReporter
from themis_desktop.ui.main_window import MainWindow


def raise_from_a_timer(window, error: Exception) -> None:
    """Start a timer of the window whose slot raises an exception like `error`."""
    kind, args = type(error), error.args  # raised anew: no traceback ties it to this frame

    def on_timer_timeout() -> None:
        raise kind(*args)

    timer = QTimer(window, singleShot=True, interval=0)
    timer.timeout.connect(on_timer_timeout)
    timer.start()


@contextlib.contextmanager
def app_hook(qtbot, window):
    """Yields (hook, kinds): the app's hook, and the types of the exceptions it passed on
    to the hook before it (filled at the end)."""
    kinds: list[type] = []
    with qtbot.captureExceptions() as caught:
        hook = ExceptionReporter(parent=window).install()
        try:
            yield hook, kinds
        finally:
            hook.uninstall()
            if hook.dialog is not None:
                hook.dialog.close()
    kinds.extend(kind for kind, _error, _tb in caught)
    caught.clear()  # their tracebacks hold this test's frames, and so its Qt objects


def dialog_shown(qtbot, hook) -> QMessageBox:
    qtbot.waitUntil(lambda: hook.dialog is not None and hook.dialog.isVisible())
    return hook.dialog


def test_an_exception_in_a_slot_shows_a_dialog_and_goes_to_the_log(
    qtbot, main_window, isolated_home
):
    log = isolated_home / "themis-desktop.log"
    with app_hook(qtbot, main_window) as (hook, passed_on):
        raise_from_a_timer(main_window, RuntimeError("the flux capacitor broke"))
        dialog = dialog_shown(qtbot, hook)
        assert not dialog.isModal()  # the app stays usable
        assert dialog.windowModality() == Qt.WindowModality.NonModal
        assert dialog.text() == (
            "Something went wrong inside Themis Desktop: RuntimeError: the flux capacitor broke"
        )
        assert "may not have finished" in dialog.informativeText()
        assert f"The log file has the details (please attach it when you report this): {log}" in (
            dialog.informativeText()
        )
        assert "Traceback (most recent call last)" in dialog.detailedText()
        assert "in on_timer_timeout" in dialog.detailedText()
    assert passed_on == [RuntimeError]  # and to the hook before ours (here pytest-qt's)

    text = log.read_text(encoding="utf-8")
    assert "ERROR Unexpected error: RuntimeError: the flux capacitor broke" in text
    assert "Traceback (most recent call last)" in text and "in on_timer_timeout" in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_the_hooks_are_put_back_when_removed(qtbot, main_window):
    before = sys.excepthook, threading.excepthook
    hook = ExceptionReporter(parent=main_window).install()
    assert (sys.excepthook, threading.excepthook) != before
    hook.uninstall()
    assert (sys.excepthook, threading.excepthook) == before


def test_an_exception_in_a_background_thread_is_shown_and_logged(
    qtbot, main_window, isolated_home, monkeypatch
):
    passed_on = []
    monkeypatch.setattr(threading, "excepthook", lambda args: passed_on.append(args.exc_type))

    def poll_the_node() -> None:
        raise ConnectionResetError("the node hung up")

    with app_hook(qtbot, main_window) as (hook, _caught):
        worker = threading.Thread(target=poll_the_node, name="poller")
        worker.start()
        worker.join()
        dialog = dialog_shown(qtbot, hook)
        assert "ConnectionResetError: the node hung up" in dialog.text()
        assert "background thread “poller”" in dialog.text()
    assert passed_on == [ConnectionResetError]  # and to the hook before ours
    assert "in poll_the_node" in (isolated_home / "themis-desktop.log").read_text()


def test_errors_in_a_row_share_one_dialog(qtbot, main_window):
    with app_hook(qtbot, main_window) as (hook, _caught):
        raise_from_a_timer(main_window, KeyError("first"))
        dialog = dialog_shown(qtbot, hook)
        raise_from_a_timer(main_window, KeyError("second"))
        qtbot.waitUntil(lambda: "1 more error(s) happened" in dialog.informativeText())
        boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
        assert [b for b in boxes if b.isVisible()] == [dialog]
        assert "KeyError: 'first'" in dialog.text()  # the first, the others in the details
        assert "KeyError: 'second'" in dialog.detailedText()


def test_a_closed_dialog_is_opened_anew_for_the_next_error(qtbot, main_window):
    with app_hook(qtbot, main_window) as (hook, _caught):
        raise_from_a_timer(main_window, KeyError("first"))
        dialog_shown(qtbot, hook).close()
        qtbot.waitUntil(lambda: hook.dialog is None)  # deleted by Qt
        raise_from_a_timer(main_window, KeyError("second"))
        dialog = dialog_shown(qtbot, hook)
        assert "KeyError: 'second'" in dialog.text()
        assert "more error" not in dialog.informativeText()


def test_no_token_reaches_the_log_or_the_dialog(qtbot, main_window, isolated_home):
    redaction.remember("adm-9f8e7d6c5b4a")
    with app_hook(qtbot, main_window) as (hook, _caught):
        raise_from_a_timer(main_window, PermissionError("refused adm-9f8e7d6c5b4a"))
        dialog = dialog_shown(qtbot, hook)
        shown = [dialog.text(), dialog.detailedText()]
    log = (isolated_home / "themis-desktop.log").read_text()
    for text in [log, *shown]:
        assert "adm-9f8e7d6c5b4a" not in text and "refused [redacted]" in text


def test_the_log_rotates_and_every_file_stays_private(qtbot, tmp_path):
    assert (LOG_MAX_BYTES, LOG_BACKUPS) == (1 << 20, 3)  # what the app uses: 1 MiB × 3 old files
    log = tmp_path / "app.log"
    hook = ExceptionReporter(log, max_bytes=2000, backups=3)
    hook.install()
    try:
        for n in range(30):
            try:
                raise ValueError(f"error number {n}")
            except ValueError as exc:
                hook.report(type(exc), exc, exc.__traceback__)
    finally:
        hook.uninstall()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "app.log",
        "app.log.1",
        "app.log.2",
        "app.log.3",
    ]
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.stat().st_size <= 2000
    assert "error number 29" in log.read_text()


def test_the_gui_start_installs_the_hook_and_removes_it_at_the_end(qtbot, monkeypatch):
    from themis_desktop.ui import app

    monkeypatch.setattr(app, "_close_on_signals", lambda _app: None)  # no signal handlers
    before = sys.excepthook, threading.excepthook
    seen = []

    def while_running() -> None:
        (window,) = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        seen.append((sys.excepthook, threading.excepthook))
        qtbot.addWidget(window)  # deleted by Qt after the test, in this thread
        window.close()

    QTimer.singleShot(0, while_running)
    stuck = QTimer(singleShot=True, interval=5000)  # never hang the suite
    stuck.timeout.connect(QApplication.quit)
    stuck.start()
    try:
        assert app.run_gui() == 0
    finally:
        stuck.stop()
    ((excepthook, thread_hook),) = seen
    assert isinstance(excepthook.__self__, ExceptionReporter)
    assert isinstance(thread_hook.__self__, ExceptionReporter)
    assert (sys.excepthook, threading.excepthook) == before
