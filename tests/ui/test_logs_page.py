"""The logs page on real demo nodes: live lines with level filters, search, pause and
grouped repeats; a bounded ring; a hop's lines from the journal, its start and its export;
the session page's counts per phase and the trigger a burst of errors raises."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from tests.rehearsal_override import override_rehearsals_on
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade


def _connect(qtbot, window, profile):
    window.workspace.connect_profile(profile)
    qtbot.waitUntil(lambda: all(s and s.up for s in window.workspace.statuses), timeout=10_000)
    window.show_page("logs")
    return window.pages["logs"]


def test_live_lines_are_filtered_searched_paused_and_grouped(
    qtbot, main_window, controlled_cluster
):
    # 1.7 fails one request in ten here: plenty of errors and some warnings to look at
    _, _, profile = controlled_cluster(nodes=2, workload=True, error_rates={"1.7": 0.1})
    page = _connect(qtbot, main_window, profile)
    qtbot.waitUntil(lambda: page.model.rowCount() > 30, timeout=10_000)
    assert {r.node for r in page.model.rows} == {"n1", "n2"}
    assert "n1: file " in page.sources.text()

    page.level_buttons["Info"].setChecked(False)
    page.level_buttons["Warnings"].setChecked(False)
    assert page.model.rows and {r.level for r in page.model.rows} <= {"error", "critical"}
    page.node.setCurrentIndex(page.node.findData("n2"))
    assert {r.node for r in page.model.rows} == {"n2"}
    page.search.setText("PUT /ENTITIES")  # case does not matter
    qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=10_000)
    assert all("PUT /entities/" in r.message for r in page.model.rows)

    page.search.clear()
    page.pause.setChecked(True)
    frozen = page.model.rowCount()
    # wait for a line the filters let through (an error of n2) to arrive while paused
    qtbot.waitUntil(
        lambda: sum(page.accepts(x.node, x.level, x.message) for x in page.monitor.ring) > frozen,
        timeout=10_000,
    )
    assert page.unseen > 0 and page.model.rowCount() == frozen and "paused" in page.status.text()
    page.pause.setChecked(False)
    assert page.model.rowCount() > frozen and page.unseen == 0

    page.group.setChecked(True)
    top = page.model.rows[0]
    assert top.level == "error" and top.repeats > 1  # one row per kind of failure and node
    assert page.model.data(page.model.index(0, 4)) == f"×{top.repeats}"
    assert len(page.model.rows) < 10


def test_the_ring_of_live_lines_stays_bounded(qtbot, controlled_cluster):
    from themis_desktop.ui.models.log_monitor import LogMonitor
    from themis_desktop.ui.tasks import TaskManager

    _, _, profile = controlled_cluster(nodes=1, workload=True, error_rates={"1.7": 0.5})
    tasks = TaskManager()
    monitor = LogMonitor(tasks, ring_lines=100)
    try:
        monitor.set_profile(profile)
        seen = []
        monitor.sig_lines.connect(seen.extend)
        qtbot.waitUntil(lambda: len(seen) > 300, timeout=15_000)
        assert len(monitor.ring) == 100 and monitor.ring[-1] is seen[-1]
    finally:
        monitor.stop()
        tasks.shutdown()


def test_a_nodes_source_problem_is_shown_and_clears(
    qtbot, main_window, controlled_cluster, tmp_path
):
    from dataclasses import replace

    _, _, profile = controlled_cluster(nodes=1)
    node = replace(profile.nodes[0], log_source="command:/nonexistent/journalctl -f")
    page = _connect(qtbot, main_window, replace(profile, nodes=(node,)))
    qtbot.waitUntil(lambda: "could not be run" in page.sources.text(), timeout=10_000)
    assert "Trying again" in page.sources.text()


def test_a_hops_error_burst_shows_in_counts_trigger_journal_view_and_export(
    qtbot, main_window, controlled_cluster, tmp_path
):
    from themis_desktop.ui.settings import settings

    # the node's 1.8 misbehaves: a burst of errors right after the upgrade step
    _, _, profile = controlled_cluster(nodes=1, workload=True, error_rates={"1.8": 0.3})
    settings().setValue("backup_dir", str(tmp_path / "backups"))
    page = _connect(qtbot, main_window, profile)
    window = main_window
    window.workspace.set_plan(plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8"))
    window.show_page("session")
    session_page = window.pages["session"]
    qtbot.waitUntil(session_page.new_button.isEnabled, timeout=5000)
    with qtbot.waitSignal(session_page.model.sig_session, timeout=10_000, check_params_cb=bool):
        session_page.new_button.click()
    override_rehearsals_on(session_page)
    for step in ("pre-checks", "backup", "upgrade"):
        button = session_page.buttons[step]
        qtbot.waitUntil(button.isEnabled, timeout=10_000)
        with qtbot.waitSignal(session_page.model.sig_step_done, timeout=60_000):
            button.click()
            if step == "upgrade":  # the upgrade step asks first (issue 17)
                qtbot.waitUntil(lambda: hasattr(session_page, "upgrade_question"))
                yes = session_page.upgrade_question.button(QMessageBox.StandardButton.Yes)
                yes.click()

    qtbot.waitUntil(
        lambda: any(
            "Log watch:" in session_page.triggers.item(i).text()
            for i in range(session_page.triggers.count())
        ),
        timeout=30_000,
    )
    # the counts of the validation phase turn red (they refresh every 2 s)
    qtbot.waitUntil(lambda: "color:#a4161a" in session_page.log_counts.text(), timeout=10_000)
    assert "Logs of hop 1.7.0 → 1.8" in session_page.log_counts.text()

    window.show_page("logs")
    assert page.view.count() == 2  # live, and the hop
    assert page.jump_to_hop_start()
    hop_start = window.workspace.upgrade.session.hops[0].started_at
    selected = page.table.selectionModel().selectedRows()[0].row()
    assert page.paused and page.model.rows[selected].ts >= _unix(hop_start)
    assert selected == 0 or page.model.rows[selected - 1].ts < _unix(hop_start)

    with qtbot.waitSignal(page.sig_view_loaded, timeout=10_000):
        page.view.setCurrentIndex(1)
    assert page.hop_rows and {r.level for r in page.hop_rows} <= {"warning", "error", "critical"}
    assert "stored warning/error" in page.status.text()
    target = tmp_path / "hop.log"
    page.export_hop_lines(target)
    qtbot.waitUntil(lambda: "Exported" in page.status.text(), timeout=10_000)
    lines = target.read_text().splitlines()
    assert len(lines) >= len(page.hop_rows) and any("[validating]" in x for x in lines)


def _unix(iso: str) -> float:
    from themis_desktop.core.journal.store import parse_utc

    return parse_utc(iso).timestamp()
