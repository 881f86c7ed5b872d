"""The app shell: pages, header, polling, remembered state, responsiveness."""

from __future__ import annotations

import time

from tests.core.loopback import free_port, silent_listener
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal
from themis_desktop.ui.app import build_main_window


def _wait_for_cards(qtbot, window, predicate, timeout=10_000):
    overview = window.pages["overview"]
    qtbot.waitUntil(
        lambda: overview.cards and all(predicate(c) for c in overview.cards), timeout=timeout
    )
    return overview.cards


def test_without_a_profile_the_overview_invites_to_connect(main_window):
    overview = main_window.pages["overview"]
    assert overview.empty.isVisible()
    assert main_window.header.profile_label.text() == "Not connected"


def test_nodes_of_both_eras_show_version_and_health(qtbot, main_window, start_demo_node):
    old, new = start_demo_node("1.0.2"), start_demo_node("1.7.3")
    profile = Profile("lab", (NodeEndpoint(old.url, "old"), NodeEndpoint(new.url, "new")))
    main_window.workspace.connect_profile(profile)
    cards = _wait_for_cards(qtbot, main_window, lambda c: c.pill.property("state") == "up")
    assert [c.version.text() for c in cards] == ["≈ v1.0.0", "v1.7.3"]
    assert "exact version" in cards[0].message.text()
    assert "API v" in cards[1].build.text()
    assert cards[1].values["keys"].text() != "—"
    assert "mixed versions" in main_window.pages["overview"].summary.text()
    assert [chip.text() for chip in main_window.header.chips] == ["● old ≈ v1.0.0", "● new v1.7.3"]


def test_unreachable_node_is_down_with_the_reason_and_the_event_is_journaled(qtbot, main_window):
    profile = Profile("gone", (NodeEndpoint(f"http://127.0.0.1:{free_port()}", "ghost"),))
    main_window.workspace.connect_profile(profile)
    (card,) = _wait_for_cards(qtbot, main_window, lambda c: c.pill.property("state") == "down")
    assert "refused" in card.message.text()
    assert card.message.isVisible()

    def journaled():
        with Journal() as journal:
            return [e.node for e in journal.events(types=["node.down"])] == ["ghost"]

    qtbot.waitUntil(journaled, timeout=5000)


def test_a_hung_node_does_not_freeze_the_window(qtbot, main_window):
    with silent_listener() as url:
        main_window.workspace.connect_profile(Profile("hung", (NodeEndpoint(url, "hung"),)))
        assert main_window.workspace.polls_in_flight == 1  # a poll waits on the hung node
        longest = 0.0
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            started = time.monotonic()
            qtbot.wait(10)  # not a wait for a condition: how long one turn takes is measured
            longest = max(longest, time.monotonic() - started)
        assert longest < 0.5  # the event loop kept turning while the poll waited
        main_window.workspace.connect_profile(None)
        main_window.workspace.tasks.shutdown()


def test_window_geometry_and_last_page_are_remembered(qtbot):
    first = build_main_window()
    qtbot.addWidget(first)
    first.show()
    first.resize(780, 560)  # within the offscreen screen (800x600)
    qtbot.waitUntil(lambda: first.width() == 780)
    first.close()
    second = build_main_window()
    qtbot.addWidget(second)
    second.show()
    assert (second.width(), second.height()) == (780, 560)
    assert second.current_page == "overview"
    second.close()


def test_a_token_no_keyring_kept_is_asked_for_and_used(qtbot, main_window, start_demo_node):
    from themis_desktop.core.server import errors

    node = start_demo_node("1.7.3", tokens={"admin": "adm-token"})
    profile = Profile("secured", (NodeEndpoint(node.url, "n1"),), uses_auth=True)
    main_window.workspace.connect_profile(profile)
    dialog = main_window.token_dialog
    assert dialog.isVisible()
    dialog.setTextValue("adm-token")
    with qtbot.waitSignal(main_window.workspace.sig_profile_changed, timeout=5000):
        dialog.accept()
    assert main_window.workspace.tokens.get("secured") == "adm-token"
    token = main_window.workspace.tokens.get("secured")
    with profile.client(profile.nodes[0], token) as client:
        assert client.config()  # the admin-only route works with the token given
    with Profile("x", (NodeEndpoint(node.url),)).client(profile.nodes[0], None) as anonymous:
        try:
            anonymous.config()
        except errors.Unauthorized:
            pass
        else:
            raise AssertionError("the node should refuse /config without a token")


def test_a_late_connection_after_the_window_closed_is_ignored(qtbot, start_demo_node):
    window = build_main_window(poll_interval_ms=50)
    qtbot.addWidget(window)
    window.close()  # stops the workspace, as closing the app does
    node = start_demo_node("1.7.3")
    window.workspace.connect_profile(Profile("late", (NodeEndpoint(node.url, "n1"),)))
    window.workspace.poll_now()
    assert window.workspace.profile is None and window.workspace.polls_in_flight == 0


# -- issue 17: the header follows the newest change of the cluster's version --------------


def test_while_connecting_the_header_says_what_is_done_not_not_connected(
    qtbot, main_window, start_demo_node
):
    """Issue 17, defect 7: `--demo` first showed "Not connected" in the header."""
    header, workspace = main_window.header, main_window.workspace
    workspace.set_connecting("Starting the demo instance…")
    assert header.profile_label.text() == "Starting the demo instance…"
    node = start_demo_node("1.7.3")
    workspace.connect_profile(Profile("lab", (NodeEndpoint(node.url, "n1"),)))
    assert header.profile_label.text() == "lab"
    workspace.set_connecting("The demo instance could not start: no port")  # a later attempt
    assert header.profile_label.text() == "lab"  # connected: the profile stays named
    workspace.connect_profile(None)
    assert header.profile_label.text() == "Not connected"


def test_the_countdown_follows_a_rollout_after_a_rolled_back_session(
    qtbot, main_window, controlled_cluster, tmp_path
):
    """Issue 17, defect 6: during and after a rollout the header still showed "rolled back"
    from an earlier session. The countdown follows the newer of the two."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QMessageBox

    from themis_desktop.core.upgrade.session import UpgradeSession
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade
    from themis_desktop.ui.settings import settings

    yes = QMessageBox.StandardButton.Yes

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
        qtbot.mouseClick(boxes[0].button(yes), Qt.MouseButton.LeftButton)

    _, _, profile = controlled_cluster(nodes=2, control_options={"router": True})
    settings().setValue("backup_dir", str(tmp_path / "backups"))
    workspace, countdown = main_window.workspace, main_window.header.countdown
    plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
    with Journal() as journal:  # an earlier session of the profile, its hop rolled back
        session = UpgradeSession.create(journal, profile, plan)
        hop = session.hops[0]
        for state in ("pre-checks", "backed-up", "upgrading", "rolling-back", "rolled-back"):
            session.transition(journal, hop, state)
    workspace.connect_profile(profile)
    qtbot.waitUntil(lambda: all(s and s.up for s in workspace.statuses), timeout=10_000)
    qtbot.waitUntil(lambda: countdown.text() == f"{hop.label}: rolled back", timeout=5000)
    workspace.set_plan(plan)

    main_window.activateWindow()
    qtbot.waitUntil(main_window.isActiveWindow, timeout=5000)
    QTest.keyClick(main_window, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)
    page = main_window.pages["rollout"]
    page.soak.setValue(3)
    upgraded: list[str] = []
    page.model.sig_event.connect(
        lambda e: e["event"] == "upgraded" and upgraded.append(e["message"])
    )
    texts: list[str] = []  # what the countdown said while the rollout ran
    page.model.sig_event.connect(
        lambda _: texts.append(countdown.text() if countdown.isVisible() else "")
    )
    qtbot.waitUntil(page.start_button.isEnabled, timeout=5000)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    answer_yes()
    qtbot.waitUntil(lambda: page.model.running, timeout=5000)
    qtbot.waitUntil(lambda: countdown.isHidden(), timeout=5000)  # no stale "rolled back"
    qtbot.waitUntil(lambda: bool(upgraded), timeout=60_000)  # n1 runs the new version
    target = page.model.rollout.to_version
    qtbot.waitUntil(lambda: countdown.text().startswith("Easy rollback"), timeout=10_000)
    assert f"rolling rollout 1.7.0 → {target}" in countdown.toolTip()
    assert not any("rolled back" in t for t in texts)

    qtbot.mouseClick(page.abort_button, Qt.MouseButton.LeftButton)
    answer_yes()
    qtbot.waitUntil(lambda: not page.model.running, timeout=30_000)
    assert page.model.rollout.status == "aborted"
    # n1 stays on the new version without traffic: its window counts on
    assert countdown.text().startswith("Easy rollback") and countdown.isVisible()
    workspace.connect_profile(profile)  # loaded afresh from the journal: the same
    qtbot.waitUntil(lambda: main_window.workspace.rollouts.rollout is not None, timeout=5000)
    qtbot.wait(300)  # not a wait for a condition: a poll (200 ms) passes, the window stays
    assert countdown.text().startswith("Easy rollback")
    assert f"rolling rollout 1.7.0 → {target}" in countdown.toolTip()


def test_the_countdown_alone_keeps_its_width_and_chips_wrap_whole(qtbot):
    """Issue 17, defect 3: without the health badge the countdown box stretched across the
    header; five node chips at 1024 px were elided ("● node-1 v1.…") instead of wrapping."""
    from datetime import UTC, datetime

    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from themis_desktop.ui.app import application
    from themis_desktop.ui.widgets.node_strip import NodeStrip

    application()  # the app's style sheet: the chips' padding and bold text
    window, header = QWidget(), NodeStrip()  # the header above a page, as in the window
    qtbot.addWidget(window)
    layout = QVBoxLayout(window)
    layout.addWidget(header)
    layout.addStretch(1)
    nodes = tuple(NodeEndpoint(f"http://127.0.0.1:{9000 + i}", f"node-{i}") for i in range(1, 6))
    header.show_profile(Profile("Demo instance", nodes, demo=True))
    for i, chip in enumerate(header.chips, start=1):  # each node answered at its new version
        chip.set_state("up")
        chip.setText(f"● node-{i} v1.8.2")
    header.countdown.follow(datetime.now(UTC), "1.7 → 1.8", False)

    def whole() -> bool:
        return header.countdown.width() <= header.countdown.sizeHint().width() + 1 and all(
            chip.isVisible() and chip.width() >= chip.sizeHint().width() for chip in header.chips
        )

    window.resize(1024, 700)
    window.show()
    qtbot.waitUntil(lambda: whole() and len({chip.y() for chip in header.chips}) == 2)
    assert header.health_badge.isHidden() and header.countdown.isVisible()
    assert all(chip.geometry().right() < header._chips_host.width() for chip in header.chips)
    assert header.height() >= header.heightForWidth(1024)  # the second row has its room
    assert header.session_row.geometry().top() > header._chips_host.geometry().bottom()
    window.resize(1920, 1080)
    qtbot.waitUntil(lambda: whole() and len({chip.y() for chip in header.chips}) == 1)
