"""Every page, with data in it, at 1024×700, 1180×760 and 1920×1080: no text a person has to
read is cut off (labels, buttons, combo boxes, placeholders, table headers and cells), or
where space is short the text is elided and its tooltip holds all of it.

The pages are opened as a person does, with their shortcut (Ctrl+1 … Ctrl+0) on the window,
on a demo cluster at 1.7.0 with its workload running."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.ui.layout_checks import LAYOUT_SIZES, clipped_text, settle, show_at

SHORTCUT = {  # the page's digit key with Ctrl
    "overview": Qt.Key.Key_1,
    "versions": Qt.Key.Key_2,
    "guides": Qt.Key.Key_3,
    "backups": Qt.Key.Key_4,
    "metrics": Qt.Key.Key_5,
    "session": Qt.Key.Key_6,
    "timeline": Qt.Key.Key_8,
    "logs": Qt.Key.Key_9,
    "config": Qt.Key.Key_0,
}


@pytest.fixture
def window(qtbot, main_window):
    """The main window, active (its page shortcuts work in the active window only)."""
    main_window.activateWindow()
    qtbot.waitUntil(main_window.isActiveWindow)
    return main_window


@pytest.fixture
def connected(qtbot, window, controlled_cluster):
    """`connected(version)`: the window on a 3-node demo cluster with its workload and an
    admin token (as the app's demo has), all up; returns the cluster."""

    def connect(version: str = "1.7.0", **options):
        cluster, _, profile = controlled_cluster(
            nodes=3, version=version, workload=True, tokens={"admin": "adm"}, **options
        )
        profile = dataclasses.replace(profile, uses_auth=True)
        window.workspace.tokens.set(profile.name, "adm", persist=False)
        window.workspace.connect_profile(profile)
        qtbot.waitUntil(
            lambda: (
                len(window.workspace.statuses) == 3
                and all(s and s.up for s in window.workspace.statuses)
            ),
            timeout=15_000,
        )
        return cluster

    return connect


def open_page(qtbot, window, key: str):
    QTest.keyClick(window, SHORTCUT[key], Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.current_page == key)
    return window.pages[key]


def assert_nothing_cut(qtbot, window, page) -> None:
    """At each of the three sizes, nothing on the page is cut."""
    found = {}
    for size in LAYOUT_SIZES:
        problems = show_at(qtbot, window, size) + clipped_text(page)
        if problems:
            found[f"{size[0]}×{size[1]}"] = problems
    assert not found, "\n".join(
        f"at {size}:\n  " + "\n  ".join(problems) for size, problems in found.items()
    )


def test_overview_fits(qtbot, window, connected):
    connected()
    page = open_page(qtbot, window, "overview")
    qtbot.waitUntil(
        lambda: len(page.cards) == 3 and all(c.version.text() != "…" for c in page.cards)
    )
    assert_nothing_cut(qtbot, window, page)


def test_overview_fits_when_not_connected(qtbot, window):
    assert_nothing_cut(qtbot, window, open_page(qtbot, window, "overview"))


def test_versions_fits(qtbot, window, connected):
    connected()
    page = open_page(qtbot, window, "versions")
    qtbot.waitUntil(lambda: page.plan is not None, timeout=10_000)
    assert_nothing_cut(qtbot, window, page)


def test_guides_fit_with_the_plan_a_guide_and_its_checklist(qtbot, window, connected):
    connected()
    page = open_page(qtbot, window, "guides")
    qtbot.waitUntil(
        lambda: page.list.count() > 3 and page.view.rendered is not None, timeout=10_000
    )
    assert_nothing_cut(qtbot, window, page)
    assert page.list.currentItem().text() in page.list.currentItem().toolTip()


def test_backups_fit_with_the_archives_listed(qtbot, window, connected):
    connected()
    page = open_page(qtbot, window, "backups")
    with qtbot.waitSignal(page.sig_job_finished, timeout=60_000):
        qtbot.mouseClick(page.backup_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(page.records) == 3, timeout=10_000)
    assert_nothing_cut(qtbot, window, page)
    for row, record in enumerate(page.records):  # the file name is what tells them apart
        assert Path(record.path).name in page.table.item(row, 6).text()


def test_metrics_fit_with_a_baseline_and_its_verdicts(qtbot, window, connected):
    connected()
    page = open_page(qtbot, window, "metrics")

    def samples() -> int:
        return len(page.monitor.store.series.get("n1") or ())

    qtbot.waitUntil(lambda: samples() >= 8, timeout=20_000)
    with qtbot.waitSignal(page.monitor.sig_baselines, timeout=10_000):
        page.minutes.setValue(1)
        qtbot.mouseClick(page.capture, Qt.MouseButton.LeftButton)
    after = samples() + 8  # enough samples on both sides for changes and p-values
    qtbot.waitUntil(lambda: samples() >= after, timeout=20_000)
    with qtbot.waitSignal(page.monitor.sig_evaluation, timeout=10_000) as evaluated:
        page.monitor.evaluate_now()
    assert any(v.hop.p_value is not None for v in evaluated.args[0].verdicts)
    assert_nothing_cut(qtbot, window, page)
    names = [page.table.item(row, 0) for row in range(page.table.rowCount())]
    assert all(page.table.visualItemRect(item).width() >= 80 for item in names)  # whole names


def test_config_advisor_fits_with_findings(qtbot, window, connected):
    connected("1.4.2")
    page = open_page(qtbot, window, "config")
    page.target.setText("1.7")
    with qtbot.waitSignal(page.sig_checked, timeout=10_000, check_params_cb=bool):
        qtbot.mouseClick(page.check_button, Qt.MouseButton.LeftButton)
    assert page.table.rowCount() > 0
    assert_nothing_cut(qtbot, window, page)


def test_logs_fit_with_live_lines_of_every_level(qtbot, window, connected):
    cluster = connected()
    page = open_page(qtbot, window, "logs")
    qtbot.waitUntil(lambda: page.model.rowCount() > 20, timeout=15_000)
    assert {r.level for r in page.model.rows} == {"info"}  # a healthy start
    for node in cluster.nodes:  # then slow and failing: warnings and errors come in
        node.set_profile(latency_factor=20.0, error_rate=0.02)
    qtbot.waitUntil(
        lambda: {"info", "warning", "error"} <= {r.level for r in page.model.rows}, timeout=15_000
    )
    page.pause.click()  # the newest lines, held still
    qtbot.keyClick(page.table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot)
    assert not clipped_text(page)  # as they came in, before any resize lays the table out
    assert_nothing_cut(qtbot, window, page)


def test_timeline_fits_with_a_sessions_events(qtbot, window, connected):
    connected()
    session = open_page(qtbot, window, "session")
    qtbot.waitUntil(session.new_button.isEnabled, timeout=10_000)
    with qtbot.waitSignal(window.workspace.upgrade.sig_session, timeout=10_000):
        qtbot.mouseClick(session.new_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.workspace.upgrade.sig_step_done, timeout=30_000):
        qtbot.mouseClick(session.buttons["pre-checks"], Qt.MouseButton.LeftButton)
    page = open_page(qtbot, window, "timeline")
    qtbot.waitUntil(lambda: page.table.rowCount() > 3, timeout=10_000)
    assert_nothing_cut(qtbot, window, page)
