"""The session page's pre-flight and decide-by on a real two-node demo cluster at 1.8.2,
driven by clicks: a 1.8 → 1.9 hop blocked by a missing backup, an unacknowledged trigger
and a config key 1.9 removes shows "blocked" with the offending items and holds the upgrade
step back, saying why; each blocker fixed and its check rerun alone clears it, until the
hop is ready and the upgrade step runs; after it the page says when to decide by."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from tests.rehearsal_override import override_rehearsals_on
from tests.ui.session_tabs import click_tab
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import preflight
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.core.util.paths import app_data_dir
from themis_desktop.core.versions.catalogue_file import USER_CATALOGUE, load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade

REMOVED_KEY = "storage.legacy_row_cache_mb"
USER_LINES = f"""\
format: 1
lines:
  - line: "1.9"
    config:
      - {{change: removed, key: {REMOVED_KEY}, severity: breaks,
          reason: "The 1.9 server refuses to start while the key is set."}}
"""


@pytest.fixture
def lab(controlled_cluster):
    """Two demo nodes at 1.8.2; a user catalogue that says 1.9 removes `REMOVED_KEY`, and
    n1's config sets it."""
    _, _, profile = controlled_cluster(nodes=2, version="1.8.2")
    (app_data_dir() / USER_CATALOGUE).write_text(USER_LINES)
    path = Path(profile.nodes[0].config_path)
    text = path.read_text(encoding="utf-8")
    key = REMOVED_KEY.split(".")[1]
    path.write_text(text.replace("storage:\n", f"storage:\n  {key}: 256\n"), encoding="utf-8")
    return profile


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def _page(qtbot, window, profile):
    from themis_desktop.ui.settings import settings

    settings().setValue("backup_dir", str(profile.nodes[0].data_dir) + "-backups")
    window.workspace.connect_profile(profile)
    qtbot.waitUntil(lambda: all(s and s.up for s in window.workspace.statuses), timeout=10_000)
    window.workspace.set_plan(plan_upgrade(load_catalogue(), "1.8.2", "1.9"))
    window.show_page("session")
    page = window.pages["session"]
    qtbot.waitUntil(page.new_button.isEnabled, timeout=5000)
    with qtbot.waitSignal(page.model.sig_session, timeout=10_000, check_params_cb=bool):
        click(qtbot, page.new_button)
    override_rehearsals_on(page)
    return page


def _run(qtbot, page, button) -> None:
    """Click a button that starts a step or a pre-flight run; wait until it is done."""
    qtbot.waitUntil(button.isEnabled, timeout=10_000)
    with qtbot.waitSignal(page.model.sig_step_done, timeout=60_000):
        click(qtbot, button)
    qtbot.waitUntil(lambda: not page.model.busy, timeout=5000)


def _result(page, name: str) -> preflight.CheckResult | None:
    shown = page.preflight_panel.preflight
    return next((r for r in shown.results if r.name == name), None) if shown else None


def _rerun(qtbot, page, name: str, status: str) -> None:
    """Click the check's Rerun; wait until the page shows its new result."""
    before = _result(page, name)
    _run(qtbot, page, page.preflight_panel.rerun_buttons[name])
    qtbot.waitUntil(
        lambda: (r := _result(page, name)) is not None and r != before and r.status == status,
        timeout=10_000,
    )


def _rows(page, name: str) -> list[str]:
    """A check's row and its item rows, as shown."""
    tree = page.preflight_panel.checks
    item = next(
        tree.topLevelItem(i)
        for i in range(tree.topLevelItemCount())
        if tree.topLevelItem(i).text(0).endswith(f" {name}")
    )
    return [item.text(0)] + [item.child(i).text(0) for i in range(item.childCount())]


def _raise_trigger(qtbot, page) -> None:
    page.trigger_kind.setCurrentIndex(page.trigger_kind.findData("critical-bug"))
    click(qtbot, page.raise_button)
    qtbot.waitUntil(lambda: getattr(page, "trigger_dialog", None) is not None, timeout=5000)
    QTest.keyClicks(page.trigger_dialog.note, "orders lose their lines")
    click(qtbot, page.trigger_dialog.ok)
    qtbot.waitUntil(lambda: bool(page.banner.ack_buttons), timeout=10_000)


def _acknowledge(qtbot, page) -> None:
    (ack,) = page.banner.ack_buttons.values()
    click(qtbot, ack)
    qtbot.waitUntil(lambda: getattr(page, "ack_dialog", None) is not None, timeout=5000)
    QTest.keyClicks(page.ack_dialog.note, "a test import; restored from the audit log")
    click(qtbot, page.ack_dialog.ok)
    qtbot.waitUntil(lambda: not page.banner.isVisible(), timeout=10_000)


def test_a_blocked_hop_holds_the_upgrade_back_until_each_blocker_is_fixed_and_rerun(
    qtbot, main_window, lab
):
    page = _page(qtbot, main_window, lab)
    panel, upgrade = page.preflight_panel, page.buttons["upgrade"]
    click_tab(qtbot, page, "preflight")
    qtbot.waitUntil(panel.isVisible, timeout=5000)
    assert panel.verdict.text().startswith("● Pre-flight: Not checked yet")
    _raise_trigger(qtbot, page)

    _run(qtbot, page, panel.run_button)
    qtbot.waitUntil(lambda: panel.verdict.property("verdict") == "blocked", timeout=10_000)
    assert panel.verdict.text().startswith("● Pre-flight: Blocked by backup, config, triggers")
    backup = _rows(page, "backup")
    assert backup[0] == "✗ backup"
    assert [row.split(":")[0] for row in backup[1:]] == ["↳ n1", "↳ n2"]
    assert "run the backup step" in backup[1]
    (config,) = _rows(page, "config")[1:]
    assert config.startswith(f"↳ n1: {REMOVED_KEY} (removed in 1.9)")
    assert "(Critical bug)" in _rows(page, "triggers")[1]
    assert _rows(page, "nodes") == ["✓ nodes"]  # a passing check has no item rows

    _run(qtbot, page, page.buttons["backup"])  # the hop is backed up: only the pre-flight holds
    qtbot.waitUntil(lambda: page.session.current.state == "backed-up", timeout=5000)
    assert not upgrade.isEnabled()
    label = page.session.current.label  # 1.8.2 → 1.9.x
    assert upgrade.toolTip().startswith(
        f"Not now: The pre-flight of hop {label} is blocked by backup, config, triggers"
    )

    _rerun(qtbot, page, "backup", "pass")
    assert panel.verdict.text().startswith("● Pre-flight: Blocked by config, triggers")
    assert "blocked by config, triggers" in upgrade.toolTip() and not upgrade.isEnabled()

    _acknowledge(qtbot, page)
    _rerun(qtbot, page, "triggers", "pass")
    assert "blocked by config:" in upgrade.toolTip()  # one check left: "fix it"

    path = Path(lab.nodes[0].config_path)
    key = REMOVED_KEY.split(".")[1]
    path.write_text("".join(line for line in path.read_text().splitlines(True) if key not in line))
    _rerun(qtbot, page, "config", "pass")
    assert panel.verdict.property("verdict") in ("ready", "warnings")
    assert "Blocked" not in panel.verdict.text()
    qtbot.waitUntil(upgrade.isEnabled, timeout=5000)
    assert not upgrade.toolTip().startswith("Not now")

    page.upgrade_question = None
    click(qtbot, upgrade)
    qtbot.waitUntil(lambda: getattr(page, "upgrade_question", None) is not None, timeout=10_000)
    with qtbot.waitSignal(page.model.sig_step_done, timeout=60_000):
        click(qtbot, page.upgrade_question.button(QMessageBox.StandardButton.Yes))
    qtbot.waitUntil(lambda: page.session.hops[0].state == "validating", timeout=10_000)
    qtbot.waitUntil(lambda: not panel.isVisible(), timeout=5000)  # upgraded: no pre-flight
    decide = page.decide_label
    qtbot.waitUntil(decide.isVisible, timeout=5000)
    assert "Decide by" in decide.text()
    assert "easy rollback ends in" in decide.text() and "decide by " in decide.text()


def test_the_latest_pre_flight_is_shown_when_the_page_opens(qtbot, main_window, lab):
    """A pre-flight run elsewhere (`session preflight` in a terminal) is what the page shows,
    and a new run there reaches the page with the change notice of its own runs."""
    page = _page(qtbot, main_window, lab)
    profile = main_window.workspace.profile
    from themis_desktop.core.upgrade.hop_runner import hop_context

    ctx = hop_context(profile, None, journal_path=main_window.workspace.tasks.journal_path)
    with Journal(ctx.journal_path) as journal:
        session = UpgradeSession.latest_for(journal, profile.name)
    preflight.run_preflight(ctx, session, session.hops[0], ["config"])
    assert page.preflight_panel.verdict.text().startswith("● Pre-flight: Not checked yet")

    main_window.workspace.upgrade.reload()  # as the app's start, or a change notice, does
    panel = page.preflight_panel
    qtbot.waitUntil(lambda: panel.verdict.property("verdict") == "blocked", timeout=10_000)
    assert _rows(page, "config")[0] == "✗ config"
    assert _rows(page, "backup") == ["· backup"]  # never run: listed, not judged
    backup = panel.checks.findItems("· backup", Qt.MatchFlag.MatchExactly)[0]
    assert backup.text(2).startswith("not run yet")
    assert not page.buttons["upgrade"].isEnabled()


def test_a_step_brings_its_output_to_the_front_and_the_pre_flight_tab_says_its_verdict(
    qtbot, main_window, lab
):
    """The steps' output is the tab in front, and comes back to the front when a step runs;
    a pre-flight run brings its tab, whose title then carries the verdict; Alt+digit and
    Ctrl+Tab switch tabs from the keys."""
    main_window.activateWindow()
    qtbot.waitUntil(main_window.isActiveWindow)
    page = _page(qtbot, main_window, lab)
    tabs = page.tabs
    preflight_tab = tabs.indexOf(tabs.pages["preflight"])
    assert tabs.current_key() == "output"
    assert tabs.tabText(preflight_tab) == "Pre-flight ○"  # not run yet

    _run(qtbot, page, page.preflight_panel.run_button)  # the step row's Pre-flight
    qtbot.waitUntil(lambda: tabs.tabText(preflight_tab) == "Pre-flight ● blocked", timeout=10_000)
    assert tabs.current_key() == "preflight" and page.preflight_panel.isVisible()
    QTest.keyClick(main_window, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    assert tabs.current_key() == "rehearsal"  # Alt+3: the third tab
    QTest.keyClick(main_window, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert tabs.current_key() == "prediction"  # Ctrl+Tab: the next one
    QTest.keyClick(main_window, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
    assert tabs.current_key() == "output"

    click_tab(qtbot, page, "preflight")
    button = page.buttons["pre-checks"]
    qtbot.waitUntil(button.isEnabled, timeout=10_000)
    with qtbot.waitSignal(page.model.sig_step_done, timeout=60_000):
        click(qtbot, button)
        assert tabs.current_key() == "output"  # at once: the step's lines as they come
    assert "n1" in page.log.toPlainText()


def test_decide_by_warns_when_the_evidence_cannot_be_complete_in_time(qtbot):
    """The label shows core's text and, in its own line, the warning."""
    from datetime import UTC, datetime, timedelta

    from themis_desktop.core.upgrade.decide_by import decide_by
    from themis_desktop.ui.widgets.decide_by_label import DecideByLabel

    label = DecideByLabel()
    qtbot.addWidget(label)
    now = datetime(2026, 11, 26, 14, 26, tzinfo=UTC)
    late = decide_by("inconclusive", 3000, 1.0, now - timedelta(minutes=19), now)
    label.show_decide_by(late)
    assert late.warning and "cannot be complete" in late.warning
    assert late.text in label.text() and "cannot be complete" in label.text()
    assert label.property("warning") is True
    label.show_decide_by(decide_by("pass", 0, 1.0, now - timedelta(minutes=19), now))
    assert "cannot be complete" not in label.text() and label.property("warning") is False
    label.show_decide_by(None)
    assert label.isHidden()
