"""Change notices: a write reports what it changed, the workspace announces it once
(`Workspace.sig_changed(changes, initiator)`), and every view showing a touched topic
reloads by itself — no page calls another's reload."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.ui.test_session_page import _page, _start, _step
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.util.changes import ChangeLog, Changes, Topic
from themis_desktop.ui.dialogs.connection import ConnectionDialog
from themis_desktop.ui.tasks import TaskManager


def _notices(workspace) -> list[tuple[Changes, object]]:
    heard: list[tuple[Changes, object]] = []
    workspace.sig_changed.connect(lambda changes, initiator: heard.append((changes, initiator)))
    return heard


def test_a_backup_made_from_the_session_page_appears_on_the_backups_page(
    qtbot, main_window, controlled_cluster
):
    profile = controlled_cluster(nodes=1)[2]
    page = _page(qtbot, main_window, profile)
    backups = main_window.pages["backups"]
    qtbot.waitUntil(lambda: backups.table.rowCount() == 0, timeout=5000)
    _start(qtbot, page)
    _step(qtbot, page, "pre-checks")
    heard = _notices(main_window.workspace)

    _step(qtbot, page, "backup")

    # the Backups page was never touched: its table shows the session's archive
    qtbot.waitUntil(lambda: backups.table.rowCount() == 1, timeout=5000)
    archive = backups.table.item(0, 6).text()
    assert archive.startswith("themis-n1-1.7.0-") and archive.endswith(".tar.zst")
    assert backups.records[0].session_id == page.session.id
    # one notice for the one operation, naming who asked
    steps = [(c, i) for c, i in heard if i is page.model]
    assert len(steps) == 1
    assert steps[0][0] >= {Topic.BACKUPS, Topic.SESSIONS}


def test_a_profile_saved_in_the_connection_dialog_updates_the_views_of_it(
    qtbot, main_window, start_demo_node
):
    """No page lists profiles; the views of the connected one (the overview's node cards,
    the header) follow an edit saved in the dialog, with no other action."""
    node = start_demo_node("1.7.3")
    with Journal() as journal:
        saved = journal.save_profile(Profile("staging", (NodeEndpoint(node.url, "db1"),)))
    main_window.workspace.connect_profile(saved)
    overview = main_window.pages["overview"]
    assert [c.name.text() for c in overview.cards] == ["db1"]
    heard = _notices(main_window.workspace)

    main_window.activateWindow()
    qtbot.waitUntil(main_window.isActiveWindow)
    QTest.keyClick(main_window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: any(d.isVisible() for d in main_window.findChildren(ConnectionDialog)))
    dialog = next(d for d in main_window.findChildren(ConnectionDialog) if d.isVisible())
    qtbot.waitUntil(lambda: dialog.name.text() == "staging", timeout=5000)
    dialog.nodes.item(0, 1).setText("db-primary")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: [c.name.text() for c in overview.cards] == ["db-primary"], timeout=5000)
    assert main_window.workspace.profile.nodes[0].name == "db-primary"
    assert [(c, i) for c, i in heard if i is dialog] == [(Changes.of(Topic.PROFILES), dialog)]


def test_run_op_announces_once_and_before_on_done(qtbot, tmp_path: Path):
    tasks = TaskManager(tmp_path / "journal.db")
    heard: list[object] = []
    tasks.sig_changed.connect(lambda changes, initiator: heard.append((changes, initiator)))
    initiator = object()

    # declared: announced when it succeeds, first
    with qtbot.waitSignal(
        tasks.run_op(
            lambda: 1,
            changes=Changes.of(Topic.BACKUPS),
            initiator=initiator,
            on_done=lambda _: heard.append("done"),
        ).sig_finished
    ):
        pass
    assert heard == [(Changes.of(Topic.BACKUPS), initiator), "done"]

    # declared, but the operation failed: nothing changed, nothing announced
    heard.clear()

    def fail() -> None:
        raise RuntimeError("no")

    with qtbot.waitSignal(
        tasks.run_op(fail, changes=Changes.of(Topic.BACKUPS), on_failed=heard.append).sig_finished
    ):
        pass
    assert len(heard) == 1 and isinstance(heard[0], RuntimeError)

    # collected: what landed before a failure is announced
    heard.clear()
    log = ChangeLog()

    def half_way() -> None:
        log.add(Topic.BACKUPS)
        raise RuntimeError("the second node failed")

    with qtbot.waitSignal(tasks.run_op(half_way, changes=log, initiator=initiator).sig_finished):
        pass
    assert heard == [(Changes.of(Topic.BACKUPS), initiator)]

    # a journal operation gets the journal first
    heard.clear()
    with qtbot.waitSignal(
        tasks.run_op(
            lambda journal, kind: journal.add_event(kind, "hello"),
            "test.event",
            journal=True,
            changes=Changes.of(Topic.EVENTS),
        ).sig_finished
    ):
        pass
    assert heard == [(Changes.of(Topic.EVENTS), None)]
    assert tasks.shutdown()


def test_changes_are_topics():
    assert Changes.of("backups", Topic.SESSIONS) == {Topic.BACKUPS, Topic.SESSIONS}
    assert Changes.of(Topic.BACKUPS).touches(Topic.EVENTS, Topic.BACKUPS)
    assert not Changes().touches(Topic.BACKUPS) and not Changes()
    log = ChangeLog()
    log.update(("sessions", "events"))
    assert log.changes() == Changes.of(Topic.SESSIONS, Topic.EVENTS) and Topic.EVENTS in log
