"""The session page's rehearsal of the current hop, clicked through on a real demo node:
Rehearse runs in the background (progress, then the verdict and why), the Upgrade button
follows the rehearsal gate and says why it waits, Override with a note… opens it, and a
review shows the gate without changing anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import rehearsal_store
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


@pytest.fixture
def page_of(qtbot, main_window, controlled_cluster):
    def make(version: str, to: str, **options):
        from themis_desktop.ui.settings import settings

        profile = controlled_cluster(nodes=1, version=version, **options)[2]
        settings().setValue("backup_dir", str(profile.nodes[0].data_dir) + "-backups")
        workspace = main_window.workspace
        workspace.connect_profile(profile)
        qtbot.waitUntil(lambda: all(s and s.up for s in workspace.statuses), timeout=10_000)
        workspace.set_plan(plan_upgrade(load_catalogue(with_user=False), version, to))
        main_window.show_page("session")
        page = main_window.pages["session"]
        qtbot.waitUntil(page.new_button.isEnabled, timeout=5000)
        with qtbot.waitSignal(page.model.sig_session, timeout=10_000, check_params_cb=bool):
            click(qtbot, page.new_button)
        button = page.buttons["backup"]
        qtbot.waitUntil(button.isEnabled, timeout=10_000)
        with qtbot.waitSignal(page.model.sig_step_done, timeout=60_000):
            click(qtbot, button)
        qtbot.waitUntil(lambda: not page.model.busy, timeout=5000)
        qtbot.waitUntil(lambda: page.session.current.state == "backed-up", timeout=5000)
        panel = page.rehearsal_panel
        panel.options.interval_s, panel.options.min_samples = 0.25, 6  # quick evidence
        panel.options.scratch_root = Path(profile.nodes[0].data_dir).parent.parent
        panel.duration.setValue(5)
        return page, panel

    return make


def _rehearse(qtbot, panel) -> None:
    qtbot.waitUntil(panel.rehearse_button.isEnabled, timeout=10_000)
    click(qtbot, panel.rehearse_button)  # among the page's step buttons
    qtbot.waitUntil(lambda: panel.progress.isVisible(), timeout=5000)  # its tab in front
    assert panel.cancel_button.isVisible() and not panel.rehearse_button.isEnabled()
    qtbot.waitUntil(lambda: "left" in panel.progress_text.text(), timeout=20_000)  # the ETA
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    qtbot.waitUntil(
        lambda: panel.gate is not None and panel.gate.latest is not None, timeout=10_000
    )


def test_a_failed_rehearsal_holds_the_upgrade_until_an_override_with_a_note(qtbot, page_of):
    page, panel = page_of("1.8.0", "1.9", error_rates={"1.9": 0.5})
    upgrade = page.buttons["upgrade"]
    qtbot.waitUntil(lambda: "Not rehearsed yet" in panel.state.text(), timeout=10_000)
    qtbot.waitUntil(lambda: "has not been rehearsed" in upgrade.toolTip(), timeout=10_000)
    assert not upgrade.isEnabled() and "the Rehearsal tab below" in upgrade.toolTip()
    assert page.tabs.title("rehearsal") == "Rehearsal ○"

    _rehearse(qtbot, panel)
    qtbot.waitUntil(lambda: "Rehearsal failed" in panel.state.text(), timeout=10_000)
    assert "error rate" in panel.detail.text().lower()  # the verdict's why
    assert "did not pass" in upgrade.toolTip() and not upgrade.isEnabled()
    assert page.tabs.title("rehearsal") == "Rehearsal ● failed"
    assert panel.override_button.isEnabled()

    click(qtbot, panel.override_button)
    qtbot.waitUntil(lambda: getattr(panel, "override_dialog", None) is not None, timeout=5000)
    dialog = panel.override_dialog
    assert not dialog.ok.isEnabled()  # a note is required
    QTest.keyClicks(dialog.note, "known 1.9 issue, accepted by the DBA")
    click(qtbot, dialog.ok)
    qtbot.waitUntil(lambda: "overridden" in panel.state.text(), timeout=10_000)
    assert "known 1.9 issue" in panel.detail.text()
    qtbot.waitUntil(upgrade.isEnabled, timeout=10_000)
    assert not panel.override_button.isEnabled()


def test_a_passed_rehearsal_opens_the_upgrade_step(qtbot, page_of):
    page, panel = page_of("1.7.0", "1.8")
    _rehearse(qtbot, panel)
    qtbot.waitUntil(lambda: "Rehearsal passed" in panel.state.text(), timeout=10_000)
    assert "Steps: restore" in panel.detail.text()
    qtbot.waitUntil(page.buttons["upgrade"].isEnabled, timeout=10_000)
    assert not panel.override_button.isEnabled()
    with Journal(page.workspace.tasks.journal_path) as journal:
        (row,) = rehearsal_store.for_session(journal, page.session.id)
    assert row.verdict == "pass" and not Path(row.scratch_dir).exists()


def test_a_review_shows_the_gate_and_changes_nothing(qtbot, tmp_path):
    from tests.ui.test_review_mode import _build_journal
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.upgrade import rehearsal_gate
    from themis_desktop.core.upgrade.session import UpgradeSession
    from themis_desktop.ui.app import application
    from themis_desktop.ui.review import build_review_window

    path = tmp_path / "alice.sqlite"
    _build_journal(path, tmp_path / "backups")
    with Journal(path) as journal:  # the second hop's gate, overridden by alice
        session = UpgradeSession.latest_for(journal, "lab")
        profile = profile_store.get(journal, "lab")
        rehearsal_gate.override(journal, session, session.current, profile, "alice: accepted")
    application()
    window = build_review_window(path)
    qtbot.addWidget(window)
    window.show()
    panel = window.pages["session"].rehearsal_panel
    try:
        qtbot.waitUntil(lambda: "overridden" in panel.state.text(), timeout=10_000)
        assert "alice: accepted" in panel.detail.text()
        for widget in (panel.rehearse_button, panel.override_button, panel.duration):
            assert not widget.isEnabled()
        panel.rehearse()  # refused: a review changes nothing
        assert not panel.running
        assert panel.ask_override() is None
    finally:
        window.close()
