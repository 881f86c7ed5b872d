"""The background helper delivers results, errors and progress in the GUI thread."""

from __future__ import annotations

import gc
import logging
import threading

import pytest
from PySide6.QtCore import QObject, QThread

from themis_desktop.core.journal.store import Journal
from themis_desktop.ui.tasks import GuiCallCancelled, TaskManager


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


# -- issue 20: one background mechanism ----------------------------------------------------


def test_to_gui_runs_a_workers_call_in_the_gui_thread_in_order(qtbot, tasks):
    seen = []

    def record(*args):
        seen.append((args, QThread.currentThread() is qtbot_app_thread()))

    relay = tasks.to_gui(record)
    worker = threading.Thread(target=lambda: [relay(i, "x") for i in range(3)])
    worker.start()
    worker.join()
    assert seen == []  # queued, not run in the worker
    qtbot.waitUntil(lambda: len(seen) == 3)
    assert seen == [((i, "x"), True) for i in range(3)]


def test_call_in_gui_returns_the_value_computed_in_the_gui_thread(qtbot, tasks):
    def where(a, b):
        return a + b, QThread.currentThread() is qtbot_app_thread()

    task = tasks.run(lambda: tasks.call_in_gui(where, 40, 2))
    with qtbot.waitSignal(task.sig_done, timeout=5000) as blocker:
        pass
    assert blocker.args == [(42, True)]


def test_call_in_gui_raises_the_exception_in_the_worker(qtbot, tasks):
    def refuse():
        raise OSError("no room on the disk")

    def work():
        try:
            tasks.call_in_gui(refuse)
        except OSError as exc:
            return f"worker caught: {exc}"

    task = tasks.run(work)
    with qtbot.waitSignal(task.sig_done, timeout=5000) as blocker:
        pass
    assert blocker.args == ["worker caught: no room on the disk"]


def test_call_in_gui_returns_early_when_cancelled_and_the_call_never_runs(qtbot, tasks):
    asking = threading.Event()
    ran = []

    def work(progress, cancelled):
        asking.set()
        try:
            tasks.call_in_gui(ran.append, "shown", cancelled=cancelled)
        except GuiCallCancelled as exc:
            return str(exc)
        return "answered"

    task = tasks.run(work, with_progress=True)
    assert asking.wait(5)  # the GUI thread is held here: the call cannot have run yet
    task.cancel()
    with qtbot.waitSignal(task.sig_done, timeout=5000) as blocker:
        pass
    assert blocker.args[0].startswith("Cancelled while waiting for the window")
    assert ran == []  # its post came before the worker's result, and found it cancelled


def test_call_in_gui_from_the_gui_thread_runs_at_once(tasks):
    assert tasks.call_in_gui(threading.get_ident) == threading.get_ident()


def test_a_timed_out_call_in_gui_never_runs(qtbot, tasks):
    returned = threading.Event()
    ran = []

    def work():
        try:
            return tasks.call_in_gui(ran.append, "late", timeout=0.05)
        except TimeoutError:
            return "timed out"
        finally:
            returned.set()

    task = tasks.run(work)
    assert returned.wait(5)  # the GUI thread is held here until the wait gave up
    with qtbot.waitSignal(task.sig_finished, timeout=5000):
        pass
    assert ran == []


def test_stop_services_stops_every_service_even_when_one_fails(tasks, caplog):
    stopped = []

    def broken(_timeout):
        stopped.append("broken")
        raise RuntimeError("stuck thread")

    tasks.register_service("metrics recorder", lambda timeout: stopped.append(("mr", timeout)))
    tasks.register_service("log watch", broken)
    tasks.register_service("rollout", lambda _timeout: stopped.append("rollout"))
    assert tasks.services == ["metrics recorder", "log watch", "rollout"]

    with caplog.at_level(logging.ERROR, logger="themis_desktop.ui.tasks"):
        assert tasks.stop_services(timeout=3.0) is False
    assert [s if isinstance(s, str) else s[0] for s in stopped] == ["mr", "broken", "rollout"]
    assert 0 < stopped[0][1] <= 3.0  # each stop is told how long it may wait
    assert tasks.services == []
    assert "Stopping the log watch failed" in caplog.text and "stuck thread" in caplog.text
    assert tasks.stop_services() is True  # nothing left to stop


def test_a_service_that_ended_on_its_own_is_forgotten(tasks):
    stopped = []
    unregister = tasks.register_service("log watch", stopped.append)
    unregister()
    unregister()  # twice is fine
    assert tasks.services == []
    tasks.shutdown()
    assert stopped == []


def test_shutdown_stops_the_services_too(tasks):
    stopped = []
    tasks.register_service("rollout", stopped.append)
    assert tasks.shutdown()
    assert len(stopped) == 1 and tasks.services == []


def test_closing_the_window_stops_the_metrics_recorder_and_the_log_watch(qtbot, controlled_cluster):
    from themis_desktop.ui.app import application, build_main_window

    _, _, profile = controlled_cluster(nodes=1)
    application()
    window = build_main_window(poll_interval_ms=200, sample_interval_s=0.2)
    qtbot.addWidget(window)
    workspace = window.workspace
    workspace.connect_profile(profile)
    qtbot.waitUntil(lambda: workspace.metrics.sampling and workspace.logs.following, timeout=10_000)
    services = ["log watch", "metrics recorder", "rollback cost meter"]  # the header's meter
    assert sorted(workspace.tasks.services) == services
    threads = [t for t in threading.enumerate() if t.name in ("sampler-n1", "log-watch")]
    assert len(threads) == 2

    window.close()
    assert workspace.tasks.services == []
    assert not any(t.is_alive() for t in threads)
    assert not workspace.metrics.sampling and not workspace.logs.following
