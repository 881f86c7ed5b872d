"""The backups page: one click backs up and verifies every node; verify, restore, delete."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile


def _profile(nodes, name="lab"):
    return Profile(
        name,
        tuple(
            NodeEndpoint(n.url, f"n{i}", data_dir=str(n.data_path), config_path=str(n.config_path))
            for i, n in enumerate(nodes, start=1)
        ),
        uses_auth=True,
    )


def _connect(qtbot, window, profile, token="adm"):
    window.workspace.tokens.set(profile.name, token, persist=False)
    window.workspace.connect_profile(profile)
    qtbot.waitUntil(lambda: all(s and s.up for s in window.workspace.statuses), timeout=10_000)


def _page(window):
    return window.pages["backups"]


def _one_node_backed_up(qtbot, window, start_demo_node):
    """A connected one-node profile with one backup, selected in the table."""
    node = start_demo_node("1.7.3", tokens={"admin": "adm"})
    _connect(qtbot, window, _profile([node]))
    page = _page(window)
    with qtbot.waitSignal(page.sig_job_finished, timeout=30_000):
        page.back_up()
    qtbot.waitUntil(lambda: len(page.records) == 1, timeout=5000)
    page.select_row(0)
    return node, page


def test_one_click_backs_up_and_verifies_every_node(qtbot, main_window, start_demo_node, tmp_path):
    nodes = [start_demo_node("1.7.3", tokens={"admin": "adm"}) for _ in range(2)]
    _connect(qtbot, main_window, _profile(nodes))
    page = _page(main_window)
    with qtbot.waitSignal(page.sig_job_finished, timeout=60_000) as finished:
        page.backup_button.click()
    assert "n1:" in finished.args[0] and "verified ✓" in finished.args[0]
    qtbot.waitUntil(lambda: len(page.records) == 2, timeout=5000)
    assert {r.node for r in page.records} == {"n1", "n2"}
    assert all(r.verified and r.checkpoint and Path(r.path).is_file() for r in page.records)
    assert page.table.item(0, 4).text() == "✓"
    assert not list(nodes[0].data_path.parent.glob(".checkpoint~*"))


def test_without_a_checkpoint_the_user_is_asked_and_can_accept(qtbot, main_window, start_demo_node):
    node = start_demo_node("1.7.3", tokens={"admin": "adm"})
    _connect(qtbot, main_window, _profile([node]), token="wrong-token")
    page = _page(main_window)
    with qtbot.waitSignal(page.sig_job_finished, timeout=30_000):
        page.back_up()
    box = page.inconsistent_box
    assert "refused a checkpoint" in box.text()
    with qtbot.waitSignal(page.sig_job_finished, timeout=30_000) as finished:
        box.button(QMessageBox.StandardButton.Yes).click()
    assert "verified ✓" in finished.args[0]
    qtbot.waitUntil(lambda: len(page.records) == 1, timeout=5000)
    assert not page.records[0].consistent
    assert "possibly inconsistent" in page.table.item(0, 5).text()


def test_verify_names_damage_and_restore_needs_a_stopped_node(qtbot, main_window, start_demo_node):
    node, page = _one_node_backed_up(qtbot, main_window, start_demo_node)
    record = page.selected()

    marker = node.data_path / "CURRENT"
    original = marker.read_bytes()
    with qtbot.waitSignal(page.sig_job_finished, timeout=30_000) as refused:
        page.restore_selected(confirmed=True)
    assert "is running" in refused.args[0]
    node.stop()
    marker.write_text("changed while stopped")
    with qtbot.waitSignal(page.sig_job_finished, timeout=30_000) as restored:
        page.restore_selected(confirmed=True)
    assert "Restored" in restored.args[0] and "pre-restore" in restored.args[0]
    assert marker.read_bytes() == original

    archive = Path(record.path)
    raw = bytearray(archive.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    archive.write_bytes(bytes(raw))
    page.select_row(0)
    with qtbot.waitSignal(page.sig_job_finished, timeout=30_000) as checked:
        page.verify_selected()
    assert "damaged" in checked.args[0]


def test_nodes_without_a_data_dir_are_explained(qtbot, main_window, start_demo_node):
    node = start_demo_node("1.7.3")
    main_window.workspace.connect_profile(Profile("bare", (NodeEndpoint(node.url, "n1"),)))
    page = _page(main_window)
    assert page.back_up() is None
    assert "No data dir set for n1" in page.status.text()


def test_delete_removes_the_archive_and_the_record(qtbot, main_window, start_demo_node):
    _, page = _one_node_backed_up(qtbot, main_window, start_demo_node)
    archive = Path(page.selected().path)
    with qtbot.waitSignal(page.sig_records_loaded, timeout=5000):
        page.delete_selected(confirmed=True)
    assert page.records == [] and not archive.exists()


def test_one_node_can_be_backed_up_alone(qtbot, main_window, start_demo_node):
    nodes = [start_demo_node("1.7.3", tokens={"admin": "adm"}) for _ in range(2)]
    _connect(qtbot, main_window, _profile(nodes))
    page = _page(main_window)
    page.scope.setCurrentIndex(page.scope.findData("n2"))
    with qtbot.waitSignal(page.sig_job_finished, timeout=30_000):
        page.backup_button.click()
    qtbot.waitUntil(lambda: len(page.records) == 1, timeout=5000)
    assert page.records[0].node == "n2"


def test_connecting_finishes_a_restore_that_was_killed_between_its_renames(
    qtbot, main_window, tmp_path
):
    """The app's start (connecting the profile) repairs a half-done swap and says so."""
    import json
    import subprocess

    data = tmp_path / "node" / "data"
    staging = tmp_path / "node" / ".staging~host~1~ab~data"
    (staging / "data").mkdir(parents=True)
    (staging / "data" / "CURRENT").write_text("restored\n")
    kept = tmp_path / "node" / "data.pre-restore-20260101T000000Z"
    kept.mkdir()
    (kept / "CURRENT").write_text("before\n")
    dead = subprocess.Popen(["true"])
    dead.wait()
    plan = {
        "pid": dead.pid,
        "host": __import__("socket").gethostname(),
        "data_dir": str(data),
        "kept": str(kept),
        "staging": str(staging),
        "configs": [],
    }
    (tmp_path / "node" / ".data.restore-intent.json").write_text(json.dumps(plan))
    profile = Profile("lab", (NodeEndpoint("http://127.0.0.1:9", "n1", data_dir=str(data)),))
    main_window.workspace.connect_profile(profile)
    qtbot.waitUntil(
        lambda: "interrupted restore" in main_window.statusBar().currentMessage(), timeout=10_000
    )
    assert (data / "CURRENT").read_text() == "restored\n"
    assert (kept / "CURRENT").read_text() == "before\n"
    assert not staging.exists() and not (tmp_path / "node" / ".data.restore-intent.json").exists()


def test_the_page_and_the_command_line_record_a_backup_alike(
    qtbot, main_window, start_demo_node, tmp_path, monkeypatch
):
    """Issue 20: one core function backs up and records; the page's backup and the
    command line's of the same node fill the same columns (profile, node, version,
    verified, session)."""
    from themis_desktop.cli import main
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.upgrade.session import UpgradeSession
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    node = start_demo_node("1.7.3", tokens={"admin": "adm"})
    profile = _profile([node])
    with Journal(main_window.workspace.tasks.journal_path) as journal:
        profile_store.save(journal, profile)
        plan = plan_upgrade(load_catalogue(with_user=False), "1.7.3", "1.8")
        session = UpgradeSession.create(journal, profile_store.get(journal, "lab"), plan)
    _connect(qtbot, main_window, profile)
    page = _page(main_window)
    with qtbot.waitSignal(page.sig_job_finished, timeout=30_000) as finished:
        page.backup_button.click()
    assert "verified ✓" in finished.args[0]
    monkeypatch.setenv("THEMIS_TEST_TOKEN", "adm")
    cli = ["backup", "--server", node.url, "--token-env", "THEMIS_TEST_TOKEN"]
    cli += ["--data-dir", str(node.data_path), "--config", str(node.config_path)]
    assert main([*cli, "-o", str(tmp_path / "cli")]) == 0
    page.reload()
    qtbot.waitUntil(lambda: len(page.records) == 2, timeout=5000)
    columns = {(r.profile, r.node, r.version, r.verified, r.session_id) for r in page.records}
    assert columns == {("lab", "n1", "1.7.3", True, session.id)}
