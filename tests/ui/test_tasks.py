"""The background helper delivers results, errors and progress in the GUI thread."""

from __future__ import annotations

import gc
import threading

import pytest
from PySide6.QtCore import QObject, QThread

from themis_desktop.core.journal.store import Journal
from themis_desktop.ui.tasks import TaskManager


@pytest.fixture
def tasks(tmp_path):
    manager = TaskManager(tmp_path / "journal.sqlite")
    yield manager
    assert manager.shutdown()


def test_result_arrives_in_the_gui_thread(qtbot, tasks):
    seen = {}

    def on_done(value):
        seen["value"] = value
        seen["gui_thread"] = QThread.currentThread() is qtbot_app_thread()

    def work():
        seen["worker"] = threading.current_thread() is not threading.main_thread()
        return 42

    task = tasks.run(work, on_done=on_done)
    with qtbot.waitSignal(task.sig_finished, timeout=5000):
        pass
    assert seen == {"worker": True, "value": 42, "gui_thread": True}


def qtbot_app_thread():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance().thread()


def test_exceptions_are_delivered_not_swallowed(qtbot, tasks):
    def boom():
        raise OSError("disk on fire")

    task = tasks.run(boom)
    with qtbot.waitSignal(task.sig_failed, timeout=5000) as blocker:
        pass
    assert isinstance(blocker.args[0], OSError)


def test_progress_and_cancel(qtbot, tasks):
    started = threading.Event()

    def long_job(progress, cancelled):
        for i in range(1000):
            progress(i, 1000)
            started.set()
            if cancelled.wait(0.01):
                return "cancelled"
        return "finished"

    task = tasks.run(long_job, with_progress=True)
    with qtbot.waitSignal(task.sig_progress, timeout=5000):
        pass
    task.cancel()
    with qtbot.waitSignal(task.sig_done, timeout=5000) as blocker:
        pass
    assert blocker.args == ["cancelled"]


def test_journal_work_runs_with_its_own_connection(qtbot, tasks):
    task = tasks.run_journal(lambda j: j.add_event("note", "from worker"))
    with qtbot.waitSignal(task.sig_done, timeout=5000):
        pass
    with Journal(tasks.journal_path) as journal:
        assert [e.message for e in journal.events()] == ["from worker"]


def test_progress_reaching_the_gui_is_throttled_but_ends_complete(qtbot, tasks):
    def chatty(progress, cancelled):
        for i in range(1, 100_001):
            progress(i, 100_000)
        return "done"

    seen = []
    task = tasks.run(chatty, with_progress=True)
    task.sig_progress.connect(lambda done, total: seen.append(done))
    with qtbot.waitSignal(task.sig_done, timeout=10_000):
        pass
    assert seen[-1] == 100_000
    assert len(seen) < 1000


def test_workers_report_while_the_gui_thread_collects_qt_garbage(qtbot, tasks):
    """Workers never touch Qt objects: a hundred tasks reporting progress finish while the
    GUI thread keeps destroying cyclic Qt garbage (this once deadlocked the test run)."""

    def work(progress, cancelled):
        for i in range(50):
            progress(i + 1, 50)
        return "ok"

    results = []
    started = [tasks.run(work, with_progress=True, on_done=results.append) for _ in range(100)]
    for _ in range(200):
        for _ in range(20):
            obj = QObject()
            obj.cycle = obj  # collectable only by the cyclic collector
        gc.collect()
        qtbot.wait(1)  # not a wait for a condition: results arrive while collections run
        if len(results) == len(started):
            break
    qtbot.waitUntil(lambda: len(results) == len(started), timeout=10_000)
    assert results == ["ok"] * 100
    assert not tasks._live


def test_a_themis_error_is_a_message_and_a_bug_goes_to_the_error_dialog(
    qtbot, tasks, isolated_home
):
    """A ThemisDesktopError reaches on_failed (the page says it) and the log; anything else
    reaches on_failed too (the page recovers) and the error dialog, with its traceback."""
    from themis_desktop.core.upgrade.session import SessionError
    from themis_desktop.ui.excepthook import ExceptionReporter

    def refused():
        raise SessionError("Hop 1.7 → 1.8 is planned; back it up first.")

    def buggy():
        return {}["missing"]

    reporter = ExceptionReporter().install()
    try:
        for fn in (refused, buggy):
            task = tasks.run(fn)
            with qtbot.waitSignal(task.sig_failed, timeout=5000):
                pass
            if fn is refused:
                assert reporter.dialog is None  # a message for the page, not a bug
        qtbot.waitUntil(lambda: reporter.dialog is not None)
        assert "KeyError: 'missing'" in reporter.dialog.text()
    finally:
        reporter.uninstall()
        if reporter.dialog is not None:
            reporter.dialog.close()
    text = (isolated_home / "themis-desktop.log").read_text(encoding="utf-8")
    assert "WARNING Failed: Hop 1.7 → 1.8 is planned; back it up first." in text
    assert "ERROR Unexpected error: KeyError: 'missing'" in text and "in buggy" in text
    assert "SessionError" not in text  # not reported as a bug
