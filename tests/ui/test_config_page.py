"""The config advisor page on a real demo node at 1.4.2: check its config.yaml against
1.5, pick the memtable recommendation, see it side by side, apply it (old file kept)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt


def test_check_pick_preview_and_apply_a_recommendation(qtbot, main_window, controlled_cluster):
    _, _, profile = controlled_cluster(nodes=1, version="1.4.2")
    config = Path(profile.nodes[0].config_path)
    original = config.read_text()
    assert "memtable_size_mb: 128" in original  # the 1.4 default, written explicitly
    main_window.workspace.connect_profile(profile)
    qtbot.waitUntil(lambda: all(s and s.up for s in main_window.workspace.statuses), timeout=10_000)
    main_window.show_page("config")
    page = main_window.pages["config"]
    assert page.source.currentData() == str(config)
    page.target.setText("1.5")
    with qtbot.waitSignal(page.sig_checked, timeout=10_000, check_params_cb=bool):
        page.check_button.click()
    keys = [page.table.item(r, 2).text() for r in range(page.table.rowCount())]
    row = keys.index("storage.memtable_size_mb")
    assert page.table.item(row, 1).text() == "recommended"
    assert (page.table.item(row, 3).text(), page.table.item(row, 4).text()) == ("128", "512")
    assert "1.4.2 → 1.5" in page.summary.text()
    assert not page.apply_button.isEnabled()  # nothing picked yet

    page.table.item(row, 0).setCheckState(Qt.CheckState.Checked)
    assert "memtable_size_mb: 512" in page.after.toPlainText()
    assert "memtable_size_mb: 128" in page.before.toPlainText()
    assert page.after.extraSelections()  # the changed line is marked
    assert page.apply_button.isEnabled()

    page.ask_apply()  # asks first: nothing is written before the confirmation
    assert page.confirm_box.isVisible() and config.read_text() == original
    page.confirm_box.reject()
    assert config.read_text() == original
    with qtbot.waitSignal(page.sig_applied, timeout=10_000):
        page.ask_apply(confirm=False)
    assert "memtable_size_mb: 512" in config.read_text()
    (kept,) = config.parent.glob("config.yaml.*.bak")
    assert kept.read_text() == original
    assert "kept" in page.status.text()
    qtbot.waitUntil(
        lambda: page.checked and page.checked.doc.get("storage.memtable_size_mb") == 512
    )
    keys = [page.table.item(r, 2).text() for r in range(page.table.rowCount())]
    assert "storage.memtable_size_mb" not in keys


def test_an_unparsable_config_is_a_clear_error_with_its_line(
    qtbot, main_window, controlled_cluster
):
    _, _, profile = controlled_cluster(nodes=1, version="1.4.2")
    config = Path(profile.nodes[0].config_path)
    config.write_text("server:\n  port: 8765\n  host: [unclosed\nstorage:\n  a: 1\n")
    main_window.workspace.connect_profile(profile)
    main_window.show_page("config")
    page = main_window.pages["config"]
    page.target.setText("1.5")
    with qtbot.waitSignal(page.sig_checked, timeout=10_000):
        page.check_button.click()
    assert "could not be checked" in page.status.text() and f"{config}:" in page.status.text()
    assert page.table.rowCount() == 0 and not page.apply_button.isEnabled()


def test_a_15_node_going_to_17_sees_the_built_in_buffers_and_moves_its_policies_path(
    qtbot, main_window, controlled_cluster
):
    """The demo's 1.5 config names the flat retention policies file (a key upstream reads);
    1.7 moves it to data_management/ (config_path_resolver.cpp) and changes built-in RocksDB
    defaults no file key sets (rocksdb_wrapper.h): one row can be ticked, the other cannot."""
    _, _, profile = controlled_cluster(nodes=1, version="1.5.0")
    config = Path(profile.nodes[0].config_path)
    assert "enable_vector_index" not in config.read_text()  # no key upstream never reads
    main_window.workspace.connect_profile(profile)
    qtbot.waitUntil(lambda: all(s and s.up for s in main_window.workspace.statuses), timeout=10_000)
    main_window.show_page("config")
    page = main_window.pages["config"]
    page.target.setText("1.7")
    with qtbot.waitSignal(page.sig_checked, timeout=10_000, check_params_cb=bool):
        page.check_button.click()
    keys = [page.table.item(r, 2).text() for r in range(page.table.rowCount())]
    buffers = keys.index("rocksdb.max_write_buffer_number")
    pick = page.table.item(buffers, 0)
    assert not pick.flags() & Qt.ItemFlag.ItemIsUserCheckable
    assert pick.text() == "built in"  # nothing to do, as `config check` says: not "by hand"
    assert page.table.item(buffers, 4).text() == "6"
    policies = keys.index("features.retention.policies_path")
    assert page.table.item(policies, 4).text() == "./config/data_management/retention_policies.yaml"
    page.table.item(policies, 0).setCheckState(Qt.CheckState.Checked)
    with qtbot.waitSignal(page.sig_applied, timeout=10_000):
        page.ask_apply(confirm=False)
    assert "policies_path: ./config/data_management/retention_policies.yaml" in config.read_text()
