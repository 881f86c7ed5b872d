"""The Versions page's plan shows the predicted durations of its hops for the connected
demo profile: per hop, per node and step, with the default assumptions stated."""

from __future__ import annotations

import pytest

from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import step_timing


@pytest.fixture
def page(qtbot, main_window):
    main_window.show_page("versions")
    page = main_window.pages["versions"]
    qtbot.waitUntil(lambda: page.view.viewport().width() > 300)
    return page


def test_the_plan_shows_predicted_durations_per_hop_node_and_step(
    qtbot, main_window, page, start_demo_node
):
    node = start_demo_node("1.7.3")
    profile = Profile("lab", (NodeEndpoint(node.url, "n1", data_dir=str(node.data_path)),))
    main_window.workspace.connect_profile(profile)
    qtbot.waitUntil(lambda: page.plan is not None, timeout=15_000)
    qtbot.waitUntil(lambda: "Predicted duration" in page.summary.toPlainText(), timeout=15_000)
    text = page.summary.toPlainText()
    assert "1. 1.7.3 → 1.8" in text and "Each node down" in text
    assert "Per node and step" in text and "n1" in text
    for step in ("backup", "stop", "install", "start", "ready", "validation"):
        assert step in text, step
    assert "No measurement yet" in text and "default assumption" in text

    assert "0.21–0.73 s" not in text

    # the journal learns two stops (0.4 s, 0.5 s): the plan's prediction narrows to them
    with Journal() as journal:
        for seconds in (0.4, 0.5):
            step_timing.record(journal, None, None, "n1", "stop", seconds, phase="upgrade")
    main_window.workspace.connect_profile(Profile("lab", profile.nodes))
    qtbot.waitUntil(
        lambda: "2 of 11 steps measured here" in page.summary.toPlainText(), timeout=15_000
    )
    assert "0.21–0.73 s" in page.summary.toPlainText()  # 0.4–0.5 s widened by 50 %/√2
