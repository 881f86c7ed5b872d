"""The test harness itself: an exception in a slot fails a test, and so does a thread or a
thread-pool job a test leaves running.

Each case runs in a pytest of its own (pytester, in a subprocess) with this project's
conftest files, and the outcome of that run is checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QAction

TESTS = Path(__file__).resolve().parents[1]
INI = """
[pytest]
qt_api = pyside6
qt_log_level_fail = WARNING
qt_log_ignore = This plugin does not support propagateSizeHints
"""


@pytest.fixture
def inner(pytester):
    """A pytest project with our conftest files (`grace_s`: the leak check's grace)."""

    def make(tests: str, grace_s: float | None = None) -> pytest.RunResult:
        conftest = (TESTS / "conftest.py").read_text(encoding="utf-8")
        if grace_s is not None:
            conftest += f"\nTHREAD_GRACE_S = {grace_s}\n"
        pytester.makeini(INI)
        pytester.makeconftest(conftest)
        ui = pytester.mkpydir("ui")
        (ui / "conftest.py").write_text((TESTS / "ui" / "conftest.py").read_text("utf-8"))
        (ui / "test_inner.py").write_text(tests, encoding="utf-8")
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)

    return make


def test_an_exception_in_a_main_window_slot_fails_the_test(inner):
    result = inner(
        """
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction


def test_a_menu_entry_whose_slot_raises(qtbot, main_window):
    action = QAction("Overview", main_window)
    # the View menu's old slot: `triggered` passes checked=False into `key`
    action.triggered.connect(lambda key="overview": main_window.show_page(key))
    action.trigger()


def test_a_timer_slot_that_raises(qtbot, main_window):
    def on_timeout():
        raise OSError("disk on fire")

    QTimer.singleShot(0, main_window, on_timeout)
    qtbot.wait(50)  # not a wait for a condition: the slot runs (and raises) meanwhile


def test_a_quiet_slot_passes(qtbot, main_window):
    action = QAction("Overview", main_window)
    action.triggered.connect(lambda: main_window.show_page("versions"))
    action.trigger()
    assert main_window.current_page == "versions"
"""
    )
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*Exceptions caught in Qt event loop*",
            "*ValueError: False is not in list*",
            "*OSError: disk on fire*",
        ]
    )


def test_qtbot_sees_an_exception_raised_in_a_main_window_slot(qtbot, main_window):
    with qtbot.captureExceptions() as caught:
        action = QAction("Overview", main_window)
        action.triggered.connect(lambda key="overview": main_window.show_page(key))
        action.trigger()
    assert [(kind, str(error)) for kind, error, _tb in caught] == [
        (ValueError, "False is not in list")
    ]
    caught.clear()  # the traceback holds this test's frames


def test_a_job_left_running_in_a_thread_pool_fails_the_test(inner):
    result = inner(
        """
import threading
import time

from PySide6.QtCore import QThreadPool

from themis_desktop.ui.tasks import TaskManager

release = threading.Event()
kept = []  # what outlives a test, as a window does until Qt deletes it


def test_leaves_a_task_running(qtbot):
    tasks = TaskManager()
    kept.append(tasks)
    tasks.run(release.wait, 60)


def test_leaves_a_job_in_the_global_pool(qtbot):
    QThreadPool.globalInstance().start(lambda: release.wait(60))


def test_a_task_that_ends_soon_after_the_test_passes(qtbot):
    tasks = TaskManager()
    kept.append(tasks)
    tasks.run(time.sleep, 0.2)  # a job that ends 0.2 s after the test: the grace is tested


def test_leaves_a_python_thread_running(qtbot):
    threading.Thread(target=release.wait, args=(60,), name="straggler").start()


def test_zz_release_everything():
    release.set()
    assert all(tasks.shutdown() for tasks in kept)
    assert QThreadPool.globalInstance().waitForDone(5000)
""",
        grace_s=1.0,
    )
    result.assert_outcomes(passed=5, errors=3)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaves_a_task_running*",
            "*left running after the test: 1 job(s) in a TaskManager's pool*",
            "*ERROR at teardown of test_leaves_a_job_in_the_global_pool*",
            "*left running after the test: 1 job(s) in the global QThreadPool*",
            "*ERROR at teardown of test_leaves_a_python_thread_running*",
            "*left running after the test: thread straggler*",
        ]
    )


def test_a_qt_timer_or_qthread_left_running_fails_the_test(inner):
    result = inner(
        """
import threading

from PySide6.QtCore import QObject, QThread, QTimer
from PySide6.QtWidgets import QWidget

release = threading.Event()
kept = []  # what outlives a test


def test_leaves_a_parentless_timer_running(qtbot):
    timer = QTimer()
    timer.start(1000)
    kept.append(timer)


def test_leaves_a_timer_of_a_window_it_keeps(qapp):
    window = QWidget()
    window.timer = QTimer(window)
    window.timer.start(1000)
    kept.append(window)  # never closed nor deleted


def test_leaves_a_qthread_running(qtbot):
    thread = QThread()
    thread.run = lambda: release.wait(60)
    thread.start()
    kept.append(thread)


def test_a_stopped_timer_and_a_closed_window_pass(qtbot):
    timer = QTimer()
    timer.start(1000)
    timer.stop()
    window = QWidget()
    qtbot.addWidget(window)  # closed and deleted after the test, its timer with it
    QTimer(window).start(1000)
    kept.append(timer)


def test_the_apps_own_garbage_collection_timer_passes(qtbot):
    from themis_desktop.ui.app import application

    application()


def test_zz_release_everything():
    release.set()
    for thing in kept:
        if isinstance(thing, QThread):
            assert thing.wait(5000)
        elif isinstance(thing, QTimer):
            thing.stop()
        else:
            thing.timer.stop()
""",
        grace_s=1.0,
    )
    result.assert_outcomes(passed=6, errors=3)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaves_a_parentless_timer_running*",
            "*left running after the test: an active QTimer (1000 ms) without parent, "
            "started at *test_inner.py:13*",
            "*ERROR at teardown of test_leaves_a_timer_of_a_window_it_keeps*",
            "*left running after the test: an active QTimer (1000 ms) of a QWidget*",
            "*ERROR at teardown of test_leaves_a_qthread_running*",
            "*left running after the test: a running QThread without parent*",
        ]
    )
