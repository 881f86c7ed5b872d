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
from PySide6.QtWidgets import QMessageBox

from tests.rehearsal_override import override_rehearsals_on
from tests.ui.layout_checks import (
    LAYOUT_SIZES,
    clipped_text,
    narrower_than_text,
    settle,
    show_at,
)

SHORTCUT = {  # the page's digit key with Ctrl
    "overview": Qt.Key.Key_1,
    "versions": Qt.Key.Key_2,
    "guides": Qt.Key.Key_3,
    "backups": Qt.Key.Key_4,
    "metrics": Qt.Key.Key_5,
    "session": Qt.Key.Key_6,
    "rollout": Qt.Key.Key_7,
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

    def connect(version: str = "1.7.0", nodes: int = 3, demo: bool = False, **options):
        cluster, _, profile = controlled_cluster(
            nodes=nodes, version=version, workload=True, tokens={"admin": "adm"}, **options
        )
        profile = dataclasses.replace(profile, uses_auth=True)
        if demo:  # as the app's demo names it and its nodes: the longest header
            profile = dataclasses.replace(
                profile,
                name="Demo instance",
                demo=True,
                nodes=tuple(
                    dataclasses.replace(n, name=f"node-{i}")
                    for i, n in enumerate(profile.nodes, start=1)
                ),
            )
        window.workspace.tokens.set(profile.name, "adm", persist=False)
        window.workspace.connect_profile(profile)
        qtbot.waitUntil(
            lambda: (
                len(window.workspace.statuses) == nodes
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
    page.monitor.hold.min_samples = 5  # seconds of samples here; the 50-sample rule: core tests

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
    # a healthy start: info lines; a warning only for the occasional slow request a healthy
    # node logs too (about one per node in five minutes: how many depends on how long the
    # start took, so one may come in before the profile below makes them common)
    unexpected = [
        r
        for r in page.model.rows
        if r.level != "info" and not (r.level == "warning" and r.message.startswith("Slow request"))
    ]
    assert not unexpected
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


# -- the session page, the header and the rollout page in their busy states ---------------

LONG_NOTE = "p99 of the orders endpoint doubled after the hop; the nightly import ran 40 % slower"


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def plan_to(window, target: str) -> None:
    """The path from 1.7.0 to `target`, as the Versions page plans it."""
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    window.workspace.set_plan(plan_upgrade(load_catalogue(with_user=False), "1.7.0", target))


def session_step(qtbot, page, name: str) -> None:
    button = page.buttons[name]
    qtbot.waitUntil(button.isEnabled, timeout=10_000)
    with qtbot.waitSignal(page.model.sig_step_done, timeout=60_000):
        click(qtbot, button)
    qtbot.waitUntil(lambda: not page.model.busy, timeout=5000)


def start_upgrade(qtbot, page) -> None:
    """Run upgrade step…, answered Yes; returns while the step runs."""
    page.upgrade_question = None
    qtbot.waitUntil(page.buttons["upgrade"].isEnabled, timeout=10_000)
    click(qtbot, page.buttons["upgrade"])
    qtbot.waitUntil(lambda: getattr(page, "upgrade_question", None) is not None, timeout=10_000)
    box = page.upgrade_question
    qtbot.waitUntil(box.isVisible, timeout=5000)
    click(qtbot, box.button(QMessageBox.StandardButton.Yes))


def raise_trigger(qtbot, page, kind: str = "performance") -> None:
    page.trigger_kind.setCurrentIndex(page.trigger_kind.findData(kind))
    click(qtbot, page.raise_button)
    qtbot.waitUntil(lambda: getattr(page, "trigger_dialog", None) is not None, timeout=5000)
    QTest.keyClicks(page.trigger_dialog.note, LONG_NOTE)
    click(qtbot, page.trigger_dialog.ok)
    qtbot.waitUntil(lambda: bool(page.banner.ack_buttons), timeout=10_000)


def assert_header_whole(qtbot, window) -> None:
    """At each size nothing in the header is cut, and no chip or badge is elided."""
    header = window.header
    found = {}
    for size in LAYOUT_SIZES:
        problems = show_at(qtbot, window, size) + clipped_text(header)
        problems += narrower_than_text(
            [*header.chips, header.countdown, header.health_badge, header.demo_badge]
        )
        if problems:
            found[f"{size[0]}×{size[1]}"] = problems
    assert not found, "\n".join(
        f"at {size}:\n  " + "\n  ".join(problems) for size, problems in found.items()
    )


def test_session_fits_through_an_upgrade_with_a_raised_trigger(qtbot, window, connected):
    """A two-hop session on the demo cluster: planned, the upgrade step running (progress
    and Cancel), the hop upgraded with a raised trigger in the banner and the rollback
    window's band in the header, then validated."""
    connected()
    plan_to(window, "1.9")
    page = open_page(qtbot, window, "session")
    qtbot.waitUntil(page.new_button.isEnabled, timeout=10_000)
    with qtbot.waitSignal(page.model.sig_session, timeout=10_000, check_params_cb=bool):
        click(qtbot, page.new_button)
    override_rehearsals_on(page)
    assert page.stepper.topLevelItemCount() == 2
    assert_nothing_cut(qtbot, window, page)  # planned: two hops in the stepper

    session_step(qtbot, page, "pre-checks")
    session_step(qtbot, page, "backup")
    with qtbot.waitSignal(page.model.sig_step_done, timeout=60_000):
        start_upgrade(qtbot, page)
        qtbot.waitUntil(page.progress.isVisible, timeout=5000)
        assert_nothing_cut(qtbot, window, page)  # busy: progress bar and Cancel shown
    qtbot.waitUntil(lambda: not page.model.busy, timeout=5000)

    raise_trigger(qtbot, page)
    header = window.header
    qtbot.waitUntil(lambda: header.countdown.isVisible() and header.health_badge.isVisible())
    assert page.banner.isVisible() and "Easy rollback" in header.countdown.text()
    assert_nothing_cut(qtbot, window, page)  # the banner, the health panel, the trigger
    assert_header_whole(qtbot, window)

    session_step(qtbot, page, "validate")
    qtbot.waitUntil(lambda: "— done" in page.stepper.topLevelItem(0).text(0), timeout=5000)
    page.stepper.expandAll()  # every hop's phases and health lines
    assert_nothing_cut(qtbot, window, page)


def session_scroll_bars(page) -> list[str]:
    """The session page's own scroll bars that show (the page scrolls as a whole)."""
    bars = {
        "horizontal": page.scroll.horizontalScrollBar(),
        "vertical": page.scroll.verticalScrollBar(),
    }
    return [name for name, bar in bars.items() if bar.isVisible()]


def test_session_fits_without_scrolling_sideways_once_started(qtbot, window, connected):
    """As the demo shows it after Start session for the planned path: at 1180×760 nothing
    scrolls, nothing is cut and every tab's title shows; at 1024×700 the page may scroll
    down, never sideways; in each tab of the hop's panels nothing is cut."""
    connected(demo=True)
    plan_to(window, "1.8")
    page = open_page(qtbot, window, "session")
    qtbot.waitUntil(page.new_button.isEnabled, timeout=10_000)
    with qtbot.waitSignal(page.model.sig_session, timeout=10_000, check_params_cb=bool):
        click(qtbot, page.new_button)
    qtbot.waitUntil(lambda: page.prediction_panel.prediction is not None, timeout=10_000)
    qtbot.waitUntil(lambda: page.rehearsal_panel.gate is not None, timeout=10_000)
    for size, allowed in (((1180, 760), []), ((1024, 700), ["vertical"])):
        assert show_at(qtbot, window, size) == []
        bars = [b for b in session_scroll_bars(page) if b not in allowed]
        assert bars == [], f"at {size}: the page shows its {bars} scroll bar"
        tabs = page.tabs.tabBar()
        shown = [i for i in range(tabs.count()) if tabs.isTabVisible(i)]
        if size == (1180, 760):  # narrower, the tab bar scrolls (and Ctrl+Tab goes on)
            last = tabs.tabRect(shown[-1])
            assert last.right() <= tabs.width(), f"at {size}: the tabs do not fit their row"
        for index in shown:  # each tab as a person clicks it: nothing in it is cut
            click_tab(qtbot, page, index)
            assert clipped_text(page) == [], f"at {size}, tab {tabs.tabText(index)}"
        click_tab(qtbot, page, 0)
    assert_nothing_cut(qtbot, window, page)


def click_tab(qtbot, page, index: int) -> None:
    tabs = page.tabs.tabBar()
    qtbot.mouseClick(tabs, Qt.MouseButton.LeftButton, pos=tabs.tabRect(index).center())
    qtbot.waitUntil(lambda: page.tabs.currentIndex() == index, timeout=2000)
    settle(qtbot)


@pytest.mark.parametrize(
    "nodes",
    [3, 5],  # five do not fit one row at 1024×700: they wrap onto a second
)
def test_header_keeps_the_chips_and_the_countdown_whole(qtbot, window, connected, nodes):
    """The demo's nodes at their new version, the health badge and the rollback window's
    countdown: no chip is narrower than its text at any size."""
    connected(nodes=nodes, demo=True)
    plan_to(window, "1.8")
    header = window.header
    assert_header_whole(qtbot, window)  # before any session: the chips alone
    page = open_page(qtbot, window, "session")
    qtbot.waitUntil(page.new_button.isEnabled, timeout=10_000)
    with qtbot.waitSignal(page.model.sig_session, timeout=10_000, check_params_cb=bool):
        click(qtbot, page.new_button)
    override_rehearsals_on(page)
    session_step(qtbot, page, "backup")
    with qtbot.waitSignal(page.model.sig_step_done, timeout=120_000):
        start_upgrade(qtbot, page)
    qtbot.waitUntil(lambda: not page.model.busy, timeout=5000)
    raise_trigger(qtbot, page)
    qtbot.waitUntil(lambda: header.countdown.isVisible() and header.health_badge.isVisible())
    qtbot.waitUntil(lambda: all("1.8" in chip.text() for chip in header.chips), timeout=10_000)
    assert len(header.chips) == nodes and "to moderate" in header.countdown.text()
    assert_header_whole(qtbot, window)


def test_rollout_fits_while_running_and_after_an_abort(qtbot, window, connected):
    """A rolling rollout on the demo cluster behind its router: while node 1 soaks at the
    new version, then after the abort (the cluster as it is, the next steps)."""
    connected(nodes=3, control_options={"router": True})
    plan_to(window, "1.8")
    page = open_page(qtbot, window, "rollout")
    page.soak.setValue(30)  # long enough to look while node 1 soaks
    upgraded: list[str] = []
    page.model.sig_event.connect(
        lambda e: e["event"] == "upgraded" and upgraded.append(e["message"])
    )
    qtbot.waitUntil(page.start_button.isEnabled, timeout=10_000)
    click(qtbot, page.start_button)
    qtbot.waitUntil(lambda: page.question is not None and page.question.isVisible(), timeout=5000)
    click(qtbot, page.question.button(QMessageBox.StandardButton.Yes))
    qtbot.waitUntil(lambda: bool(upgraded), timeout=60_000)
    qtbot.waitUntil(lambda: page.tiles["n1"].version.text() != "v1.7.0", timeout=10_000)
    assert page.model.running
    assert_nothing_cut(qtbot, window, page)  # running: roles, shares, the soak countdown

    page.question = None
    click(qtbot, page.abort_button)
    qtbot.waitUntil(lambda: page.question is not None and page.question.isVisible(), timeout=5000)
    click(qtbot, page.question.button(QMessageBox.StandardButton.Yes))
    qtbot.waitUntil(lambda: not page.model.running, timeout=30_000)
    qtbot.waitUntil(page.outcome.isVisible, timeout=10_000)
    assert len(page.outcome.buttons) >= 2
    assert_nothing_cut(qtbot, window, page)  # aborted: the mixed cluster and the way back


def test_fleet_fits(qtbot, window, start_demo_node):
    """The Fleet page (Ctrl+Shift+F) with three clusters polled: one degraded, one in a
    session in its rollback window, one at the newest release."""
    from tests.core.fleet.test_fleet_status import make_fleet
    from themis_desktop.ui.models.fleet import COLUMNS

    make_fleet(start_demo_node)
    modifiers = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    QTest.keyClick(window, Qt.Key.Key_F, modifiers)
    qtbot.waitUntil(lambda: window.current_page == "fleet")
    page = window.pages["fleet"]
    health = COLUMNS.index("Health")
    qtbot.waitUntil(
        lambda: (
            page.proxy.rowCount() == 3
            and "degraded" in [page.proxy.index(r, health).data() for r in range(3)]
        ),
        timeout=10_000,
    )
    assert_nothing_cut(qtbot, window, page)
    assert not page.table.horizontalScrollBar().isVisible()  # every column in view
