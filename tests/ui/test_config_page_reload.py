"""After an Apply the config page says which keys need a restart, and offers Reload (SIGHUP)
only where the node's version handles it (1.8+: TLS certificates only, never config)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

FLAT = "policies_path: ./config/retention_policies.yaml"


def _check_pick_and_apply(qtbot, main_window, profile, target: str, key: str):
    """Connect, check against `target`, tick `key`, click Apply and confirm: the page."""
    main_window.workspace.connect_profile(profile)
    qtbot.waitUntil(lambda: all(s and s.up for s in main_window.workspace.statuses), timeout=10_000)
    main_window.show_page("config")
    page = main_window.pages["config"]
    assert not page.reload_panel.isVisibleTo(page)  # nothing applied yet
    page.target.setText(target)
    with qtbot.waitSignal(page.sig_checked, timeout=10_000, check_params_cb=bool):
        qtbot.mouseClick(page.check_button, Qt.MouseButton.LeftButton)
    keys = [page.table.item(r, 2).text() for r in range(page.table.rowCount())]
    page.table.item(keys.index(key), 0).setCheckState(Qt.CheckState.Checked)
    qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.confirm_box.isVisible())
    with qtbot.waitSignal(page.sig_applied, timeout=10_000):
        apply = page.confirm_box.button(QMessageBox.StandardButton.Apply)
        qtbot.mouseClick(apply, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.reload_panel.isVisibleTo(page))
    return page


def test_a_18_node_is_offered_a_reload_that_rereads_only_its_certificates(
    qtbot, main_window, controlled_cluster
):
    cluster, _, profile = controlled_cluster(nodes=1, version="1.8.0")
    config = Path(profile.nodes[0].config_path)
    text = config.read_text()
    config.write_text(
        text.replace("policies_path: ./config/data_management/", "policies_path: ./config/")
    )
    assert FLAT in config.read_text()  # a flat path kept from an older layout
    page = _check_pick_and_apply(
        qtbot, main_window, profile, "1.8", "features.retention.policies_path"
    )
    assert "data_management/retention_policies.yaml" in config.read_text()
    words = page.reload_words.text()
    assert "n1" in words and "features.retention.policies_path" in words
    assert "Restart the node" in words and "TLS certificate" in words
    assert page.reload_button.isVisibleTo(page) and page.reload_button.isEnabled()

    log = cluster.nodes[0].data_dir / "themis_server.log"
    qtbot.mouseClick(page.reload_button, Qt.MouseButton.LeftButton)  # asks first
    question = page.reload_question
    qtbot.waitUntil(question.isVisible)
    assert "n1" in question.text() and "only its TLS certificate" in question.text()
    assert question.defaultButton() is question.button(QMessageBox.StandardButton.No)
    qtbot.mouseClick(question.button(QMessageBox.StandardButton.No), Qt.MouseButton.LeftButton)
    assert "SIGHUP received" not in log.read_text()  # No: nothing was sent

    qtbot.mouseClick(page.reload_button, Qt.MouseButton.LeftButton)
    question = page.reload_question
    qtbot.waitUntil(question.isVisible)
    with qtbot.waitSignal(page.sig_reloaded, timeout=10_000) as reloaded:
        yes = question.button(QMessageBox.StandardButton.Yes)
        qtbot.mouseClick(yes, Qt.MouseButton.LeftButton)
    assert reloaded.args[0].startswith("Sent SIGHUP to n1")
    assert "Sent SIGHUP to n1" in page.reload_words.text()
    written = log.read_text()
    assert "SIGHUP received - reloading TLS certificates..." in written
    assert "TLS not enabled - continuing with current certificates" in written
    assert cluster.nodes[0].running  # 1.8 keeps running on SIGHUP


def test_a_17_node_needs_a_restart_and_is_offered_no_reload(qtbot, main_window, controlled_cluster):
    cluster, _, profile = controlled_cluster(nodes=1, version="1.7.0")
    page = _check_pick_and_apply(
        qtbot, main_window, profile, "1.8", "storage.stream_writer.compression"
    )
    words = page.reload_words.text()
    assert "Restart the node for these to take effect: storage.stream_writer.compression" in words
    assert "no SIGHUP handler" in words and "use a restart" in words
    assert not page.reload_button.isVisibleTo(page)
    assert cluster.nodes[0].running
    log = (cluster.nodes[0].data_dir / "themis_server.log").read_text()
    assert "SIGHUP" not in log
