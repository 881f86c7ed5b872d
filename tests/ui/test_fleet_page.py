"""The Fleet page (issue 24): opened with its shortcut and the View menu, rows for every
saved profile, a filter typed in, a header clicked to sort, polling only while shown — by a
child process that is gone once the page hides, and restarted when it dies."""

from __future__ import annotations

import os
import signal
from urllib.parse import urlsplit

import httpx
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from tests.core.fleet.test_fleet_status import make_fleet
from themis_desktop.ui.models.fleet import COLUMNS

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def column_texts(page, column: int) -> list[str]:
    proxy = page.proxy
    return [proxy.index(row, column).data() for row in range(proxy.rowCount())]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (not reaped yet) is dead too
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_fleet_page_by_its_shortcut_filter_and_sort(qtbot, main_window, start_demo_node):
    latest = make_fleet(start_demo_node)
    main_window.activateWindow()
    qtbot.waitUntil(main_window.isActiveWindow)
    QTest.keyClick(main_window, Qt.Key.Key_F, CTRL_SHIFT)
    qtbot.waitUntil(lambda: main_window.current_page == "fleet")
    page = main_window.pages["fleet"]
    qtbot.waitUntil(lambda: page.proxy.rowCount() == 3, timeout=10_000)
    assert page.monitor.running
    pid = page.monitor.child_pid
    assert pid and pid != os.getpid() and alive(pid)  # the rows come from the child
    qtbot.waitUntil(lambda: column_texts(page, COLUMNS.index("Health")).count("up") >= 1)
    assert column_texts(page, 0) == ["current", "moving", "old"]  # sorted by name
    by_name = dict(zip(column_texts(page, 0), range(3), strict=True))
    health = COLUMNS.index("Health")
    assert column_texts(page, health)[by_name["old"]] == "degraded"
    assert column_texts(page, COLUMNS.index("Nodes"))[by_name["old"]] == "1/2 up"
    behind = column_texts(page, COLUMNS.index("Behind latest"))
    assert behind[by_name["current"]] == "no" and behind[by_name["old"]].startswith("yes")
    assert column_texts(page, COLUMNS.index("Rollback band"))[by_name["moving"]] == (
        "Easy rollback"
    )
    assert "validating" in column_texts(page, COLUMNS.index("Session"))[by_name["moving"]]
    assert latest in page.summary.text()

    # polls go on: the rows are updated in place, never reset
    polls = page.monitor.polls
    qtbot.waitUntil(lambda: page.monitor.polls >= polls + 2, timeout=10_000)
    assert page.model.resets == 1

    page.filter.setFocus()
    QTest.keyClicks(page.filter, "1.7.0")
    assert sorted(column_texts(page, 0)) == ["moving", "old"]
    page.filter.clear()
    assert page.proxy.rowCount() == 3

    header = page.table.horizontalHeader()
    x = header.sectionViewportPosition(health) + header.sectionSize(health) // 2
    QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    order = column_texts(page, health)
    assert header.sortIndicatorSection() == health
    ranks = {"up": 0, "degraded": 1, "down": 2}
    keys = [ranks[h] for h in order]
    assert keys in (sorted(keys), sorted(keys, reverse=True)) and len(set(keys)) == 2

    QTest.keyClick(main_window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: main_window.current_page == "overview")
    assert not page.monitor.running  # hidden: no more polls
    assert page.monitor.process is None and page.monitor.child_pid is None
    qtbot.waitUntil(lambda: not alive(pid), timeout=5_000)  # the child is gone


def test_a_stopped_node_updates_its_row_and_a_killed_child_is_restarted(
    qtbot, main_window, controlled_cluster
):
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.journal.store import Journal

    _cluster, control, profile = controlled_cluster(nodes=2)
    with Journal() as journal:
        profile_store.save(journal, profile)
    main_window.show_page("fleet")
    page = main_window.pages["fleet"]
    nodes = COLUMNS.index("Nodes")
    qtbot.waitUntil(lambda: column_texts(page, nodes) == ["2/2 up"], timeout=10_000)
    changed = page.model.rows_changed

    # a real stop through the demo's control API: the row follows, in place
    port = urlsplit(profile.nodes[1].url).port
    httpx.post(f"{control.url}/nodes/{port}/stop", timeout=10).raise_for_status()
    qtbot.waitUntil(lambda: column_texts(page, nodes) == ["1/2 up"], timeout=10_000)
    assert column_texts(page, COLUMNS.index("Health")) == ["degraded"]
    assert page.model.rows_changed > changed and page.model.resets == 1

    # the child killed: the page says so, then polls again with a new child
    pid = page.monitor.child_pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(page.problem.isVisible, timeout=5_000)
    assert "crashed" in page.problem.text() and "Restarting" in page.problem.text()
    qtbot.waitUntil(lambda: page.monitor.child_pid not in (None, pid), timeout=10_000)
    polls = page.monitor.polls
    qtbot.waitUntil(lambda: page.monitor.polls > polls, timeout=10_000)
    assert not page.problem.isVisible() and column_texts(page, nodes) == ["1/2 up"]
    new_pid = page.monitor.child_pid
    main_window.show_page("overview")
    qtbot.waitUntil(lambda: not alive(new_pid), timeout=5_000)


def test_garbage_from_the_child_is_a_message_not_a_traceback(qtbot, main_window):
    main_window.show_page("fleet")
    page = main_window.pages["fleet"]
    qtbot.waitUntil(lambda: page.monitor.child_pid is not None, timeout=10_000)
    page.monitor._buffer += b"this is not JSON\n"
    page.monitor._on_output()
    assert page.problem.isVisible() and "unreadable" in page.problem.text()
    assert page.monitor.restarts == 1
    qtbot.waitUntil(lambda: page.monitor.child_pid is not None, timeout=10_000)
    main_window.show_page("overview")
    assert page.monitor.child_pid is None


def test_the_view_menu_opens_the_fleet_page(qtbot, main_window):
    view = next(a.menu() for a in main_window.menuBar().actions() if a.text() == "&View")
    (entry,) = [a for a in view.actions() if a.text() == "Fleet"]
    assert entry.shortcut().toString() == "Ctrl+Shift+F"
    entry.trigger()
    assert main_window.current_page == "fleet"
    page = main_window.pages["fleet"]
    qtbot.waitUntil(lambda: page.monitor.polls >= 1, timeout=10_000)
    assert page.proxy.rowCount() == 0  # no profile saved yet
    main_window.show_page("overview")
    assert page.monitor.child_pid is None and not page.monitor.running


def test_a_review_shows_the_fleet_unpolled(qtbot, tmp_path):
    """A colleague's journal: its clusters and sessions, no server asked, no timer."""
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.ui.app import application
    from themis_desktop.ui.review import build_review_window

    path = tmp_path / "colleague.sqlite"
    with Journal(path) as journal:
        profile_store.save(journal, Profile("far", (NodeEndpoint("http://127.0.0.1:9", "n1"),)))
    application()
    window = build_review_window(path)
    qtbot.addWidget(window)
    window.show()
    try:
        window.show_page("fleet")
        page = window.pages["fleet"]
        qtbot.waitUntil(lambda: page.proxy.rowCount() == 1, timeout=10_000)
        assert column_texts(page, COLUMNS.index("Health")) == ["not polled"]
        assert not page.monitor.running and page.monitor.process is None
        assert "not polled" in page.note.text() and page.note.isVisible()
    finally:
        window.close()


def test_the_connected_profile_is_listed_even_when_not_saved(qtbot, main_window, start_demo_node):
    """The demo instance (connected, never saved) is a cluster of the fleet too."""
    from themis_desktop.core.connection.profiles import NodeEndpoint, Profile

    node = start_demo_node("1.7.0")
    main_window.workspace.connect_profile(Profile("unsaved", (NodeEndpoint(node.url, "n1"),)))
    main_window.activateWindow()
    qtbot.waitUntil(main_window.isActiveWindow)
    QTest.keyClick(main_window, Qt.Key.Key_F, CTRL_SHIFT)
    page = main_window.pages["fleet"]
    qtbot.waitUntil(lambda: "unsaved" in column_texts(page, 0), timeout=10_000)
    row = column_texts(page, 0).index("unsaved")
    health = COLUMNS.index("Health")
    qtbot.waitUntil(lambda: column_texts(page, health)[row] == "up", timeout=10_000)
