"""Rollback state in the window, on a real demo node (workload off: every write is one of
ours): after a 1.7 → 1.8 upgrade the header countdown says "binary swap" until 1.8 writes,
then "restore only"; the session page's meter counts the writes since the last verified
backup and drops to 0 after a new one; Roll back now names them; a session left half done
warns on the page and as a notification once its time has passed (an injected clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.rehearsal_override import override_rehearsals
from tests.ui.session_tabs import click_tab
from themis_desktop.core.backup.operations import NodeJob, back_up_and_record_all
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.server.client import ThemisClient
from themis_desktop.core.service.control import controller_for
from themis_desktop.core.upgrade.hop_runner import HopContext, back_up, upgrade
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.core.util.paths import journal_path
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade
from themis_desktop.ui.models import rollback_cost as cost_model
from themis_desktop.ui.models.rollback_cost import RollbackCostMonitor


@pytest.fixture
def upgraded_lab(tmp_path, controlled_cluster):
    """One demo node upgraded 1.7 → 1.8 in a session (backed up, 3 writes before, the
    rehearsal gate overridden), in the test's journal; no write since the upgrade."""
    _, _, profile = controlled_cluster(nodes=1)
    with Journal(journal_path()) as journal:
        profile = profile_store.save(journal, profile)
        plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
        session = UpgradeSession.create(journal, profile, plan)
    ctx = HopContext(
        profile, None, controller_for(profile.service), journal_path(), tmp_path / "backups"
    )
    back_up(ctx, session, session.hops[0])
    _write(profile, 3, "before")
    override_rehearsals(journal_path(), profile)
    upgrade(ctx, session, session.hops[0])
    return profile, ctx


def _write(profile, count: int, prefix: str) -> None:
    with ThemisClient(profile.nodes[0].url) as client:
        for i in range(count):
            client.put_entity(f"{prefix}{i}", "v")


def test_the_countdown_and_the_meter_follow_the_writes(qtbot, main_window, upgraded_lab):
    from themis_desktop.ui.settings import settings

    profile, ctx = upgraded_lab
    settings().setValue(cost_model.POLL_KEY, 0.2)
    window = main_window
    countdown = window.header.countdown
    window.workspace.connect_profile(profile)
    window.show_page("session")
    page = window.pages["session"]
    panel = page.rollback_cost
    qtbot.waitUntil(lambda: countdown.text().endswith("· binary swap"), timeout=10_000)
    assert countdown.text().startswith("Easy rollback")
    assert "no write since the upgrade yet" in countdown.toolTip()
    qtbot.waitUntil(lambda: "3 writes since its last verified backup" in panel.meter.text())
    click_tab(qtbot, page, "rollback-cost")
    assert panel.isVisible() and "binary swap" in panel.mode_label.text()
    assert page.tabs.title("rollback-cost") == "Rollback cost · binary swap"

    _write(profile, 2, "after")  # 1.8 writes: 1.7 can no longer read the data
    qtbot.waitUntil(lambda: countdown.text().endswith("· restore only"), timeout=10_000)
    qtbot.waitUntil(lambda: "5 writes since its last verified backup" in panel.meter.text())
    assert "restore only" in panel.mode_label.text()
    assert page.tabs.title("rollback-cost") == "Rollback cost · restore only"  # live
    assert "only a restore brings it back" in panel.mode_label.text()

    # Roll back now names the writes the restore loses; cancelled, nothing happens
    qtbot.waitUntil(page.rollback_button.isEnabled, timeout=10_000)
    qtbot.mouseClick(page.rollback_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(page, "rollback_dialog", None) is not None, timeout=5000)
    dialog = page.rollback_dialog
    assert "n1: 5 writes since that backup" in "\n".join(dialog.question.writes_at_risk)
    dialog.reject()

    # a new verified backup: nothing at risk any more (the hop stays restore only)
    outcomes = back_up_and_record_all(
        profile, None, [NodeJob(profile.nodes[0], "1.8.0")], ctx.backup_dir / "new"
    )
    assert outcomes[0].verified
    qtbot.waitUntil(lambda: "n1: 0 writes since its last" in panel.meter.text(), timeout=10_000)
    assert countdown.text().endswith("· restore only")


def test_a_half_done_session_warns_on_the_page_and_as_a_notification(
    qtbot, main_window, upgraded_lab
):
    from themis_desktop.ui.settings import settings

    profile, _ = upgraded_lab
    settings().setValue(cost_model.POLL_KEY, 0.2)
    window = main_window
    monitor = RollbackCostMonitor.of(window.workspace.upgrade)
    window.workspace.connect_profile(profile)
    window.show_page("session")
    page = window.pages["session"]
    panel = page.rollback_cost
    qtbot.waitUntil(lambda: monitor.cost is not None and monitor.cost.half_done is not None)
    click_tab(qtbot, page, "rollback-cost")
    assert panel.half_done.isHidden()  # validating for a few seconds only
    assert not monitor.cost.half_done.warning

    later = datetime.now(UTC) + timedelta(hours=1)
    monitor.clock = lambda: later  # an hour on: under the default 2 h, still quiet
    qtbot.waitUntil(lambda: monitor.cost.half_done.elapsed_s > 3500, timeout=5000)
    assert panel.half_done.isHidden()
    cost_model.set_half_done_hours(0.5)  # the setting: warn after 30 min
    with qtbot.waitSignal(monitor.sig_half_done, timeout=5000) as warned:
        pass
    assert "not validated" in warned.args[0]
    qtbot.waitUntil(panel.half_done.isVisible, timeout=5000)
    assert page.tabs.title("rollback-cost").endswith("⚠")
    assert "Half done for 1 h" in panel.half_done.text()
    assert "Validate it, or roll it back to 1.7.0" in panel.half_done.text()
    assert "Half done" in window.last_notification  # the desktop notification's text


def test_the_backups_page_refuses_a_newer_backup_onto_an_older_binary(
    qtbot, main_window, controlled_cluster
):
    """A backup 1.8 wrote, restored after 1.7 was installed again: refused, with the reason;
    the data dir is untouched."""
    _, _, profile = controlled_cluster(nodes=1, version="1.8.0")
    window = main_window
    window.workspace.connect_profile(profile)
    qtbot.waitUntil(lambda: all(s and s.up for s in window.workspace.statuses), timeout=10_000)
    page = window.pages["backups"]
    with qtbot.waitSignal(page.sig_job_finished, timeout=30_000):
        page.back_up()
    qtbot.waitUntil(lambda: len(page.records) == 1, timeout=5000)
    page.select_row(0)
    assert page.selected().version == "1.8.0"
    node = profile.nodes[0]
    controller = controller_for(profile.service)
    controller.stop(node)
    controller.install(node, "1.7.0")
    before = sorted(p.name for p in Path(node.data_dir).parent.iterdir())
    with qtbot.waitSignal(page.sig_job_finished, timeout=30_000) as refused:
        page.restore_selected(confirmed=True)
    assert "written by ThemisDB 1.8.0" in refused.args[0]
    assert "would run 1.7.0" in refused.args[0]
    assert sorted(p.name for p in Path(node.data_dir).parent.iterdir()) == before


def test_a_review_shows_the_stored_readings_and_polls_nothing(qtbot, tmp_path):
    """A colleague's journal: the hop's mode and the writes at risk as the readings in it
    say, no server contacted, the file left byte for byte."""
    import hashlib
    import shutil

    from themis_desktop.core.backup import write_readings
    from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
    from themis_desktop.core.journal.store import utc_now
    from themis_desktop.core.server.write_counter import CounterReading
    from themis_desktop.ui.app import application
    from themis_desktop.ui.review import build_review_window

    original = tmp_path / "colleague.sqlite"
    profile = Profile("lab", (NodeEndpoint("http://127.0.0.1:9", "n1", data_dir="/srv/n1"),))
    with Journal(original) as journal:
        profile = profile_store.save(journal, profile)
        plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
        session = UpgradeSession.create(journal, profile, plan)
        hop = session.hops[0]
        for state in ("pre-checks", "backed-up", "upgrading"):
            hop = session.transition(journal, hop, state)
        hop = session.transition(journal, hop, "validating", finished_at=utc_now())
        backups = journal.db["backups"]
        backups.insert(
            {
                "node": "n1",
                "version": "1.7.0",
                "path": str(tmp_path / "n1.tar.zst"),
                "size": 6,
                "sha256": "0" * 64,
                "created_at": utc_now(),
                "verified_at": utc_now(),
                "profile": "lab",
                "session_id": session.id,
                "consistent": 1,
                "checkpoint": 1,
            }
        )
        backup_id = backups.last_pk
        write_readings.record(
            journal,
            "lab",
            "n1",
            CounterReading(10, 100.0, "rocksdb"),
            kind="backup",
            backup_id=backup_id,
            at=utc_now(),
        )
        later = (datetime.now(UTC) + timedelta(seconds=100)).strftime("%Y-%m-%dT%H:%M:%S.%f")
        write_readings.record(  # 100 s on, the same run of the server: 4 more writes
            journal, "lab", "n1", CounterReading(14, 200.0, "rocksdb"), at=later[:-3] + "Z"
        )
    copy = tmp_path / "review" / "journal.sqlite"
    copy.parent.mkdir()
    shutil.copy2(original, copy)
    digest = hashlib.sha256(copy.read_bytes()).hexdigest()

    application()
    window = build_review_window(copy)
    qtbot.addWidget(window)
    window.show()
    panel = window.pages["session"].rollback_cost
    qtbot.waitUntil(lambda: "n1: 4 writes since its last" in panel.meter.text(), timeout=10_000)
    assert "restore only" in panel.mode_label.text()  # its counter rose after the upgrade
    assert window.workspace.tasks.read_only
    window.close()
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == digest
