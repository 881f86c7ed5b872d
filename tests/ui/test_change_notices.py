"""Change notices: a write reports what it changed, the workspace announces it once
(`Workspace.sig_changed(changes, initiator)`), and every view showing a touched topic
reloads by itself — no page calls another's reload."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.ui.test_session_page import _page, _start, _step
from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.util.changes import ChangeLog, Changes, Topic
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade
from themis_desktop.ui.dialogs.connection import ConnectionDialog
from themis_desktop.ui.pages.timeline import TimelinePage
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
        saved = profile_store.save(journal, Profile("staging", (NodeEndpoint(node.url, "db1"),)))
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


def test_a_session_step_appears_on_a_timeline_page_that_is_alone(
    qtbot,
    workspace,
    alone,
    controlled_cluster,
):
    """No session page exists to tell anyone: the timeline follows the session the model
    loads, and reloads on the step's one change notice."""
    timeline = alone(TimelinePage(workspace))
    workspace.connect_profile(controlled_cluster(nodes=1)[2])
    qtbot.waitUntil(lambda: all(s and s.up for s in workspace.statuses), timeout=10_000)
    model = workspace.upgrade
    with qtbot.waitSignal(model.sig_step_done, timeout=10_000):
        model.start_session(plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8"))
    qtbot.waitUntil(lambda: timeline.timeline is not None, timeout=5000)
    assert timeline.timeline.session.id == model.session.id == workspace.session_id
    assert not any(e.type == "hop.check" for e in timeline.timeline.events)
    shown = timeline.table.rowCount()
    heard = _notices(workspace)

    with qtbot.waitSignal(model.sig_step_done, timeout=60_000):
        model.run_step("pre-checks")

    qtbot.waitUntil(
        lambda: (
            "hop.check" in [timeline.type_box.itemText(i) for i in range(timeline.type_box.count())]
        ),
        timeout=5000,
    )
    assert any(e.type == "hop.pre-checks" for e in timeline.timeline.events)
    assert timeline.table.rowCount() == len(timeline.timeline.events) > shown
    assert [c for c, i in heard if i is model] == [Changes.of(Topic.SESSIONS, Topic.EVENTS)]


def test_a_rollout_started_and_aborted_updates_the_overview_header_and_backups(
    qtbot, main_window, controlled_cluster, tmp_path
):
    """The pages follow the rollout by themselves: the overview and the header by the node
    polls and the rollout model, the Backups page by the rollout's one change notice."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    from themis_desktop.ui.settings import settings

    def answer_yes() -> None:
        boxes: list[QMessageBox] = []

        def shown() -> bool:
            boxes[:] = [
                w
                for w in QApplication.topLevelWidgets()
                if isinstance(w, QMessageBox) and w.isVisible()
            ]
            return len(boxes) == 1

        qtbot.waitUntil(shown, timeout=5000)
        qtbot.mouseClick(boxes[0].button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)

    _, _, profile = controlled_cluster(nodes=2, control_options={"router": True})
    settings().setValue("backup_dir", str(tmp_path / "backups"))
    workspace, countdown = main_window.workspace, main_window.header.countdown
    overview, backups = main_window.pages["overview"], main_window.pages["backups"]
    workspace.connect_profile(profile)
    qtbot.waitUntil(lambda: all(s and s.up for s in workspace.statuses), timeout=10_000)
    workspace.set_plan(plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8"))
    qtbot.waitUntil(lambda: backups.table.rowCount() == 0, timeout=5000)
    heard = _notices(workspace)
    main_window.activateWindow()
    qtbot.waitUntil(main_window.isActiveWindow, timeout=5000)
    QTest.keyClick(main_window, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)
    page = main_window.pages["rollout"]
    page.soak.setValue(3)
    upgraded: list[str] = []
    page.model.sig_event.connect(
        lambda e: e["event"] == "upgraded" and upgraded.append(e["message"])
    )

    qtbot.waitUntil(page.start_button.isEnabled, timeout=5000)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    answer_yes()
    qtbot.waitUntil(lambda: bool(upgraded), timeout=60_000)  # n1 runs the new version
    target = page.model.rollout.to_version
    qtbot.waitUntil(lambda: countdown.text().startswith("Easy rollback"), timeout=10_000)
    assert f"rolling rollout 1.7.0 → {target}" in countdown.toolTip()
    qtbot.waitUntil(lambda: target in overview.cards[0].version.text(), timeout=10_000)
    assert "mixed versions" in overview.summary.text()

    qtbot.mouseClick(page.abort_button, Qt.MouseButton.LeftButton)
    answer_yes()
    qtbot.waitUntil(lambda: not page.model.running, timeout=30_000)
    assert page.model.rollout.status == "aborted"
    # the rollout's writes, announced once by the rollout model: n1's backup is listed
    qtbot.waitUntil(lambda: backups.table.rowCount() == 1, timeout=5000)
    assert backups.records[0].node == "n1"
    (notice,) = [c for c, i in heard if i is workspace.rollouts and Topic.BACKUPS in c]
    assert notice >= {Topic.BACKUPS, Topic.ROLLOUTS, Topic.EVENTS}
    assert countdown.text().startswith("Easy rollback")  # n1 stays on the new version


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
