"""The session page's predicted durations of the current hop, on a real demo node: the
default assumptions before anything ran, then what the backup took beside the prediction
journaled before it; in its tab the whole text, wrapped, at 1180×760."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.ui.layout_checks import clipped_text, show_at
from tests.ui.session_tabs import click_tab
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade


@pytest.fixture
def demo_lab(controlled_cluster):
    return controlled_cluster(nodes=2)[2]


def test_the_session_page_shows_the_hops_prediction_and_the_steps_taken(
    qtbot, main_window, demo_lab
):
    from themis_desktop.ui.settings import settings

    settings().setValue("backup_dir", str(demo_lab.nodes[0].data_dir) + "-backups")
    main_window.workspace.connect_profile(demo_lab)
    qtbot.waitUntil(lambda: all(s and s.up for s in main_window.workspace.statuses), timeout=10_000)
    main_window.workspace.set_plan(plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8"))
    main_window.show_page("session")
    page = main_window.pages["session"]
    panel = page.prediction_panel
    assert panel.isHidden()  # no session, no hop to predict
    qtbot.waitUntil(page.new_button.isEnabled, timeout=5000)
    with qtbot.waitSignal(page.model.sig_session, timeout=10_000, check_params_cb=bool):
        qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.prediction is not None, timeout=10_000)
    click_tab(qtbot, page, "prediction")
    assert panel.isVisible()
    assert panel.text().startswith("Predicted 1.7.0 → 1.8.2:")
    assert "each node down" in panel.text() and "no measurement yet" in panel.text()
    tip = panel.toolTip()
    assert "n1 (" in tip and "n2 (" in tip and "if rolled back:" in tip
    assert "taken so far" not in panel.text()

    button = page.buttons["backup"]
    qtbot.waitUntil(button.isEnabled, timeout=10_000)
    with qtbot.waitSignal(page.model.sig_step_done, timeout=60_000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "taken so far" in panel.text(), timeout=10_000)
    rows = {(r.node, r.step) for r in panel.rows if r.actual is not None}
    assert rows == {("n1", "backup"), ("n2", "backup")}
    assert "n1 backup:" in panel.toolTip() and "predicted" in panel.toolTip()

    assert show_at(qtbot, main_window, (1180, 760)) == []
    click_tab(qtbot, page, "prediction")  # a step brought the output to the front
    assert [c for c in clipped_text(page) if "Predicted" in c] == []
    assert panel.wordWrap() and panel.heightForWidth(panel.width()) <= panel.height()
