"""The session page checks the restored cluster after Roll back now: the check runs in the
background (progress, seconds left, Cancel), then the page shows its outcome, which is
also in the journal. On a real demo node, driven by clicks."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import rehearsal_gate, rollback_check
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.core.util.paths import journal_path
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade
from themis_desktop.ui.models import rollback_check as check_model

YES = QMessageBox.StandardButton.Yes


@pytest.fixture
def demo_lab(controlled_cluster):
    return controlled_cluster(nodes=1)[2]


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def _step(qtbot, page, name: str) -> None:
    button = page.buttons[name]
    qtbot.waitUntil(button.isEnabled, timeout=10_000)
    with qtbot.waitSignal(page.model.sig_step_done, timeout=60_000):
        click(qtbot, button)
    qtbot.waitUntil(lambda: not page.model.busy, timeout=5000)


def _samples(profile: str) -> int:
    with Journal(journal_path()) as journal:
        row = journal.db.execute(
            "SELECT COUNT(*) FROM samples WHERE profile = ? AND up = 1", [profile]
        ).fetchone()
    return int(row[0])


def test_after_roll_back_now_the_page_shows_the_check_running_then_its_outcome(
    qtbot, main_window, demo_lab
):
    from themis_desktop.ui.settings import settings

    store = settings()
    store.setValue("backup_dir", str(demo_lab.nodes[0].data_dir) + "-backups")
    store.setValue(check_model.SECONDS_KEY, 2.5)  # short, and little evidence a side
    store.setValue(check_model.MIN_SAMPLES_KEY, 3)
    store.setValue(check_model.INTERVAL_KEY, 0.2)
    window = main_window
    window.workspace.connect_profile(demo_lab)
    qtbot.waitUntil(lambda: all(s and s.up for s in window.workspace.statuses), timeout=10_000)
    window.workspace.set_plan(plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8"))
    window.show_page("session")
    page = window.pages["session"]
    panel = page.rollback_check
    assert panel.isHidden()  # no rollback, no check

    qtbot.waitUntil(page.new_button.isEnabled, timeout=5000)
    with qtbot.waitSignal(page.model.sig_session, timeout=10_000, check_params_cb=bool):
        click(qtbot, page.new_button)
    _step(qtbot, page, "pre-checks")
    _step(qtbot, page, "backup")
    # the window's monitor samples in the background: enough before the upgrade step
    # captures its baseline ("before <hop>", the last 15 min)
    qtbot.waitUntil(lambda: _samples(demo_lab.name) >= 8, timeout=20_000)
    with Journal(journal_path()) as journal:  # the rehearsal gate, overridden with a note
        session = UpgradeSession.latest_for(journal, demo_lab.name)
        rehearsal_gate.override(journal, session, session.hops[0], demo_lab, "ui test")
    page.model.reload()
    page.upgrade_question = None
    qtbot.waitUntil(page.buttons["upgrade"].isEnabled, timeout=10_000)
    click(qtbot, page.buttons["upgrade"])
    qtbot.waitUntil(lambda: getattr(page, "upgrade_question", None) is not None, timeout=10_000)
    with qtbot.waitSignal(page.model.sig_step_done, timeout=60_000):
        click(qtbot, page.upgrade_question.button(YES))
    qtbot.waitUntil(lambda: not page.model.busy, timeout=5000)

    qtbot.waitUntil(page.rollback_button.isEnabled, timeout=10_000)
    click(qtbot, page.rollback_button)
    qtbot.waitUntil(lambda: getattr(page, "rollback_dialog", None) is not None, timeout=5000)
    QTest.keyClicks(page.rollback_dialog.note, "p99 doubled")
    with qtbot.waitSignal(panel.model.sig_running, timeout=60_000):
        click(qtbot, page.rollback_dialog.ok)
    # running: its tab in front with progress, the seconds left and Cancel
    assert panel.isVisible() and panel.cancel_button.isVisible()
    assert page.tabs.title("rollback-check") == "Rollback check · running…"
    assert not panel.again_button.isVisible()
    assert "left" in panel.left.text() and "Sampling the restored cluster" in panel.outcome.text()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=10_000)

    with qtbot.waitSignal(panel.model.sig_outcome, timeout=30_000, check_params_cb=bool):
        pass
    check = panel.model.check
    assert check is not None and check.verdict == "pass", check.lines()
    assert not panel.cancel_button.isVisible() and panel.again_button.isVisible()
    assert page.tabs.title("rollback-check") == "Rollback check ● pass"
    text = panel.outcome.text()
    assert "PASS" in text and "performs as before the hop" in text
    assert "baseline" in text and "before 1.7.0 → 1.8" in text
    assert "Post-rollback check of 1.7.0 → 1.8.2: PASS" in page.log.toPlainText()
    with Journal(journal_path()) as journal:
        session = UpgradeSession.latest_for(journal, demo_lab.name)
        stored = rollback_check.latest(journal, session)
    assert stored is not None and stored.event_id == check.event_id

    # Check again, cancelled: what was sampled is judged and says it was cancelled
    store.setValue(check_model.SECONDS_KEY, 60)
    with qtbot.waitSignal(panel.model.sig_running, timeout=5000):
        click(qtbot, panel.again_button)
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=10_000)
    with qtbot.waitSignal(panel.model.sig_outcome, timeout=10_000):
        click(qtbot, panel.cancel_button)
    assert panel.model.check.cancelled and "cancelled after" in panel.outcome.text()
