"""The app shell: pages, header, polling, remembered state, responsiveness."""

from __future__ import annotations

import time

from tests.core.loopback import free_port, silent_listener
from themis_desktop.core.journal import Journal
from themis_desktop.core.profiles import NodeEndpoint, Profile
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
            qtbot.wait(10)
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
    from themis_desktop.core import errors

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
