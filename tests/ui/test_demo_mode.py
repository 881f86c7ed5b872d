"""`themis-desktop --demo`: a 3-node demo cluster at 1.7 in its own process, connected."""

from __future__ import annotations

import httpx
import pytest
from PySide6.QtWidgets import QLabel

from themis_desktop.core.server.client import ThemisClient
from themis_desktop.ui.demo_mode import DEMO_PROFILE, DemoMode


@pytest.mark.slow
def test_demo_mode_connects_and_shows_three_nodes(qtbot, main_window):
    demo = DemoMode(main_window.workspace, data_size_mb=2, parent=main_window)
    try:
        with qtbot.waitSignal(demo.sig_ready, timeout=60_000) as blocker:
            demo.start()
        profile = blocker.args[0]
        assert profile.demo and profile.name == DEMO_PROFILE
        assert len(profile.nodes) == 3
        assert len({n.url for n in profile.nodes}) == 3
        assert profile.service.kind == "demo"  # upgrades stop/start nodes via its control API
        assert profile.service.control_url == demo.launcher.control_url
        ports = {n["url"] for n in httpx.get(profile.service.control_url + "/nodes").json()}
        assert ports == {n.url for n in profile.nodes}
        overview = main_window.pages["overview"]
        qtbot.waitUntil(
            lambda: (
                len(overview.cards) == 3
                and all(
                    c.version.text() == "v1.7.0" and c.pill.property("state") == "up"
                    for c in overview.cards
                )
            ),
            timeout=15_000,
        )
        assert main_window.header.demo_badge.isVisible()
        assert "demo instance" in main_window.windowTitle()
        token = main_window.workspace.tokens.get(DEMO_PROFILE)
        with ThemisClient(profile.nodes[0].url, token) as client:  # the demo's admin token works
            assert client.config()
    finally:
        main_window.workspace.stop()
        demo.stop()
    assert not demo.launcher.running
    assert not demo.data_dir.exists()


def visible_texts(page) -> str:
    return "\n".join(label.text() for label in page.findChildren(QLabel) if label.isVisible())


@pytest.mark.slow
def test_while_the_demo_starts_the_pages_say_so(qtbot, main_window):
    """Not "Not connected … start the app with --demo" while it is starting with --demo."""
    demo = DemoMode(main_window.workspace, data_size_mb=2, parent=main_window)
    overview, versions = main_window.pages["overview"], main_window.pages["versions"]
    try:
        with qtbot.waitSignal(demo.sig_ready, timeout=60_000):
            demo.start()
            # what the window shows from the start, long before the demo answers
            assert main_window.current_page == "overview"
            assert "Starting the demo instance…" in visible_texts(overview)
            assert "Not connected" not in visible_texts(overview)
            assert "--demo" not in visible_texts(overview)
            assert versions.source_label.text().startswith("Starting the demo instance…")
            header = main_window.header.profile_label
            assert header.text() == "Starting the demo instance…"  # not "Not connected"
            assert header.isVisible()
        qtbot.waitUntil(lambda: len(overview.cards) == 3, timeout=10_000)
        assert header.text() == DEMO_PROFILE
        assert not overview.empty.isVisible()
        assert not main_window.workspace.connecting
    finally:
        main_window.workspace.stop()
        demo.stop()


@pytest.mark.slow
def test_a_demo_that_cannot_start_says_why_where_it_said_starting(qtbot, main_window):
    demo = DemoMode(main_window.workspace, version="not-a-version", parent=main_window)
    overview = main_window.pages["overview"]
    try:
        with qtbot.waitSignal(demo.sig_failed, timeout=60_000):
            demo.start()
        assert "The demo instance could not start" in visible_texts(overview)
        assert "Starting the demo instance" not in visible_texts(overview)
        header = main_window.header.profile_label.text()
        assert header.startswith("The demo instance could not start")
    finally:
        main_window.workspace.stop()
        demo.stop()
