"""The upgrade session page on a real demo node: the stepper, each step's button, the
countdown in the header, Roll back now with its confirmation, manual steps, triggers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from themis_desktop.core.catalogue_file import load_catalogue
from themis_desktop.core.service_config import ServiceConfig
from themis_desktop.core.upgrade_path import plan_upgrade
from themis_desktop.ui.widgets.rollback_countdown import RollbackCountdown


@pytest.fixture
def demo_lab(controlled_cluster):
    return controlled_cluster(nodes=1)[2]


def _page(qtbot, window, profile):
    from themis_desktop.ui.settings import settings

    settings().setValue("backup_dir", str(profile.nodes[0].data_dir) + "-backups")
    window.workspace.connect_profile(profile)
    qtbot.waitUntil(lambda: all(s and s.up for s in window.workspace.statuses), timeout=10_000)
    window.workspace.set_plan(plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8"))
    window.show_page("session")
    return window.pages["session"]


def _step(qtbot, page, name: str) -> None:
    button = page.buttons[name]
    qtbot.waitUntil(button.isEnabled, timeout=10_000)
    with qtbot.waitSignal(page.model.sig_step_done, timeout=60_000):
        button.click()
    qtbot.waitUntil(lambda: not page.model.busy, timeout=5000)


def test_a_whole_hop_and_its_rollback_from_the_page(qtbot, main_window, demo_lab):
    page = _page(qtbot, main_window, demo_lab)
    qtbot.waitUntil(page.new_button.isEnabled, timeout=5000)
    with qtbot.waitSignal(page.model.sig_session, timeout=10_000, check_params_cb=bool):
        page.new_button.click()
    assert page.stepper.topLevelItemCount() == 1
    assert not page.buttons["upgrade"].isEnabled()  # no backup yet
    for step in ("pre-checks", "backup", "upgrade"):
        _step(qtbot, page, step)
    qtbot.waitUntil(lambda: page.hop_title.text().endswith("validating"), timeout=5000)
    countdown = main_window.header.countdown
    assert countdown.isVisible() and "Easy rollback" in countdown.text()
    assert "to moderate" in countdown.text() and "1.7.0 → 1.8" in countdown.toolTip()
    _step(qtbot, page, "validate")
    qtbot.waitUntil(lambda: "— done" in page.stepper.topLevelItem(0).text(0), timeout=5000)
    assert "✓ Validation" in page.stepper.topLevelItem(0).child(3).text(0)

    page.ask_rollback()
    qtbot.waitUntil(lambda: getattr(page, "rollback_dialog", None) is not None, timeout=5000)
    dialog = page.rollback_dialog
    assert "themis-n1-1.7.0-" in dialog.findChildren(type(page.hop_title))[0].text()
    assert not dialog.ok.isEnabled()  # a note is required
    dialog.note.setPlainText("p99 doubled after the hop")
    with qtbot.waitSignal(page.model.sig_step_done, timeout=60_000):
        dialog.ok.click()
    qtbot.waitUntil(
        lambda: page.session is None or page.session.state == "rolled-back", timeout=5000
    )
    qtbot.waitUntil(lambda: "rolled back" in countdown.text(), timeout=5000)
    assert "Step 6/6" in page.log.toPlainText()


def test_a_failed_step_says_why_and_nothing_moves(qtbot, main_window, demo_lab):
    page = _page(qtbot, main_window, demo_lab)
    qtbot.waitUntil(page.new_button.isEnabled, timeout=5000)
    with qtbot.waitSignal(page.model.sig_session, timeout=10_000, check_params_cb=bool):
        page.new_button.click()
    with qtbot.waitSignal(page.model.sig_step_failed, timeout=30_000) as failed:
        page.model.run_step("upgrade")  # the button is off: the model refuses all the same
    assert "No verified backup of n1" in failed.args[1]
    assert page.error_box.isVisible()


def test_manual_steps_ask_and_wait_for_the_user(qtbot, main_window, demo_lab):
    from dataclasses import replace

    profile = replace(demo_lab, service=ServiceConfig(kind="manual"))
    page = _page(qtbot, main_window, profile)
    qtbot.waitUntil(page.new_button.isEnabled, timeout=5000)
    with qtbot.waitSignal(page.model.sig_session, timeout=10_000, check_params_cb=bool):
        page.new_button.click()
    _step(qtbot, page, "backup")
    qtbot.waitUntil(page.buttons["upgrade"].isEnabled, timeout=5000)
    with qtbot.waitSignal(page.model.sig_confirm, timeout=30_000) as asked:
        page.buttons["upgrade"].click()
    assert "Stop" in asked.args[0] and "n1" in asked.args[0]
    with qtbot.waitSignal(page.model.sig_step_failed, timeout=30_000) as failed:
        page.confirm_box.reject()  # the admin cancels: nothing was done on the node
    assert "cancel" in failed.args[1].lower()


def test_a_trigger_needs_a_note_and_is_listed(qtbot, main_window, demo_lab):
    page = _page(qtbot, main_window, demo_lab)
    qtbot.waitUntil(page.new_button.isEnabled, timeout=5000)
    with qtbot.waitSignal(page.model.sig_session, timeout=10_000, check_params_cb=bool):
        page.new_button.click()
    page.trigger_kind.setCurrentIndex(page.trigger_kind.findData("data-integrity"))
    page.ask_trigger()
    dialog = page.trigger_dialog
    from PySide6.QtWidgets import QDialogButtonBox, QPlainTextEdit

    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()
    dialog.findChild(QPlainTextEdit).setPlainText("checksum mismatch on table orders")
    ok.click()
    qtbot.waitUntil(lambda: page.triggers.count() == 1, timeout=5000)
    assert "Data integrity issue: checksum mismatch" in page.triggers.item(0).text()


def test_the_countdown_changes_band_and_notifies(qtbot):
    now = [datetime(2026, 11, 26, 12, 59, 59, tzinfo=UTC)]
    countdown = RollbackCountdown(clock=lambda: now[0])
    qtbot.addWidget(countdown)
    countdown.follow(datetime(2026, 11, 26, 12, 0, tzinfo=UTC), "1.7.0 → 1.8.0", False)
    assert "Easy rollback" in countdown.text() and "1 s to moderate" in countdown.text()
    now[0] += timedelta(seconds=2)
    with qtbot.waitSignal(countdown.sig_band_changed) as changed:
        countdown.tick()
    assert changed.args[0] == "moderate" and "Moderate rollback" in countdown.text()


def test_the_report_button_writes_the_sessions_report(qtbot, main_window, demo_lab, tmp_path):
    page = _page(qtbot, main_window, demo_lab)
    qtbot.waitUntil(page.new_button.isEnabled, timeout=5000)
    with qtbot.waitSignal(page.model.sig_session, timeout=10_000, check_params_cb=bool):
        page.new_button.click()
    _step(qtbot, page, "pre-checks")
    out = page.export_report(tmp_path / "r.html")
    assert out is not None and "Hop 1: 1.7.0 → 1.8" in out.read_text()
