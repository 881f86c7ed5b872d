"""Regressions of issue 17 that the page tests pin only through newer widgets or shortcuts.

Driven as a person does: pages are opened by clicking their entry in the sidebar (so these
tests do not depend on the page shortcuts, themselves issue 17, item 1), buttons are
clicked, fields are typed into, and a question a button asks is answered Yes by a timer.
What is checked is what the screen says, not a widget that only exists since the fix.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QMessageBox,
)

from tests.rehearsal_override import override_rehearsals_on
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade


def _open_by_sidebar(qtbot, window, key: str):
    """Click the page's entry in the sidebar, as a person does."""
    row = list(window.pages).index(key)
    item = window.sidebar.item(row)
    window.sidebar.scrollToItem(item)
    rect = window.sidebar.visualItemRect(item)
    qtbot.mouseClick(window.sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.current_page == key, timeout=5000)
    return window.pages[key]


def _visible_text(widget) -> str:
    """Every label and button text shown inside `widget`."""
    texts = [
        w.text()
        for kind in (QLabel, QAbstractButton)
        for w in widget.findChildren(kind)
        if w.isVisible() and w.text()
    ]
    return "\n".join(texts)


def _visible_buttons(widget) -> list[QAbstractButton]:
    return [b for b in widget.findChildren(QAbstractButton) if b.isVisible() and b.text()]


class YesToQuestions:
    """Answers Yes to each question a button asks (a visible top-level QMessageBox), and
    remembers its text; a step that asks nothing simply runs."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.timer = QTimer(interval=20)
        self.timer.timeout.connect(self._answer)
        self.timer.start()

    def _answer(self) -> None:
        for w in QApplication.topLevelWidgets():
            if isinstance(w, QMessageBox) and w.isVisible():
                yes = w.button(QMessageBox.StandardButton.Yes)
                if yes is not None:
                    self.asked.append(f"{w.text()} {w.informativeText()}")
                    yes.click()

    def stop(self) -> None:
        self.timer.stop()


def test_an_aborted_rolling_rollout_names_the_mixed_cluster_and_offers_a_way_back(
    qtbot, main_window, controlled_cluster, tmp_path
):
    """issue 17, item 6: a rolling rollout aborted after node-1 reached the new version left
    it there with 0 % traffic and the page said nothing about what to do next."""
    from themis_desktop.ui.settings import settings

    _, _, profile = controlled_cluster(nodes=2, control_options={"router": True})
    settings().setValue("backup_dir", str(tmp_path / "backups"))
    workspace = main_window.workspace
    workspace.connect_profile(profile)
    qtbot.waitUntil(lambda: all(s and s.up for s in workspace.statuses), timeout=10_000)
    workspace.set_plan(plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8"))
    page = _open_by_sidebar(qtbot, main_window, "rollout")
    page.strategy.setCurrentText("rolling")
    page.soak.setValue(4)
    upgraded: list[str] = []
    page.model.sig_event.connect(
        lambda e: e.get("event") == "upgraded" and upgraded.append(e.get("message", ""))
    )
    answers = YesToQuestions()
    try:
        qtbot.waitUntil(page.start_button.isEnabled, timeout=5000)
        qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: bool(upgraded), timeout=60_000)  # n1 on the new version
        target = page.model.rollout.to_version
        qtbot.waitUntil(page.abort_button.isEnabled, timeout=5000)
        qtbot.mouseClick(page.abort_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not page.model.running, timeout=30_000)
        qtbot.waitUntil(lambda: "Mixed versions" in _visible_text(page), timeout=10_000)
    finally:
        answers.stop()

    shown = _visible_text(page)
    assert f"n1 runs {target} without traffic" in shown
    assert "n2 runs 1.7.0 with 100 %" in shown
    way_back = [b for b in _visible_buttons(page) if b.text().startswith("Roll n1 back to 1.7.0")]
    assert way_back and way_back[0].isEnabled(), shown


def test_the_chosen_target_is_the_one_planned_after_a_restart(qtbot, main_window, start_demo_node):
    """issue 17, item 8: the chosen target was not remembered; a restart planned "latest"
    (2.4.0, five hops) again."""
    from themis_desktop.ui.app import build_main_window

    node = start_demo_node("1.7.0")
    main_window.workspace.connect_profile(Profile("lab", (NodeEndpoint(node.url, "n1"),)))
    page = _open_by_sidebar(qtbot, main_window, "versions")
    qtbot.waitUntil(lambda: page.server_version is not None, timeout=15_000)
    page.to_edit.selectAll()
    qtbot.keyClick(page.to_edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(page.to_edit, "1.9")
    qtbot.keyClick(page.to_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: main_window.workspace.plan.target.text == "1.9.1", timeout=5000)
    main_window.close()

    again = build_main_window()
    qtbot.addWidget(again)
    try:
        again.workspace.connect_profile(Profile("lab", (NodeEndpoint(node.url, "n1"),)))
        page = _open_by_sidebar(qtbot, again, "versions")
        qtbot.waitUntil(lambda: page.server_version is not None, timeout=15_000)
        qtbot.waitUntil(lambda: again.workspace.plan is not None, timeout=5000)
        assert page.to_edit.text() == "1.9"
        plan = again.workspace.plan
        assert (plan.target.text, len(plan.hops)) == ("1.9.1", 2)
    finally:
        again.close()


def _session_page(qtbot, window, profile):
    """Connect to `profile`, plan 1.7.0 → 1.8 and open the session page from the sidebar."""
    from themis_desktop.ui.settings import settings

    settings().setValue("backup_dir", str(profile.nodes[0].data_dir) + "-backups")
    window.workspace.connect_profile(profile)
    qtbot.waitUntil(lambda: all(s and s.up for s in window.workspace.statuses), timeout=10_000)
    window.workspace.set_plan(plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8"))
    return _open_by_sidebar(qtbot, window, "session")


def _click_step(qtbot, page, name: str) -> None:
    """Click a step's button (a question it asks is answered by YesToQuestions) and wait
    until the step has run."""
    button = page.buttons[name]
    qtbot.waitUntil(button.isEnabled, timeout=10_000)
    with qtbot.waitSignal(page.model.sig_step_done, timeout=60_000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.model.busy, timeout=5000)


def _start_session(qtbot, page) -> None:
    qtbot.waitUntil(page.new_button.isEnabled, timeout=5000)
    with qtbot.waitSignal(page.model.sig_session, timeout=10_000, check_params_cb=bool):
        qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    override_rehearsals_on(page)


def test_a_failing_metrics_verdict_is_not_shown_as_healthy_anywhere(
    qtbot, main_window, controlled_cluster
):
    """issue 17, item 4: after an upgrade to a slower, erroring 1.8 the hop stayed a green
    "done", the header a green "Easy rollback" and the verdict line said PASS."""
    _, _, profile = controlled_cluster(
        nodes=1,
        workload=True,
        latency_factors={"1.7": 12.0, "1.8": 12.0 * 2.25},
        error_rates={"1.7": 0.0, "1.8": 0.08},
        latency_sigma=0.05,
    )
    page = _session_page(qtbot, main_window, profile)
    monitor = main_window.workspace.metrics
    monitor.hold.min_samples = 5  # seconds of samples here; the 50-sample rule: core tests
    qtbot.waitUntil(lambda: len(monitor.store.series.get("n1") or ()) >= 10, timeout=20_000)
    answers = YesToQuestions()
    try:
        _start_session(qtbot, page)
        _click_step(qtbot, page, "backup")
        _click_step(qtbot, page, "upgrade")
        _click_step(qtbot, page, "validate")
    finally:
        answers.stop()
    qtbot.waitUntil(
        lambda: monitor.evaluation is not None and monitor.evaluation.overall == "fail",
        timeout=60_000,
    )
    qtbot.waitUntil(  # every view takes the verdict in
        lambda: (
            any(w in page.stepper.topLevelItem(0).text(0) for w in ("Failing", "Degraded"))
            and "PASS" not in page.verdict.text()
        ),
        timeout=5000,
    )
    hop = page.stepper.topLevelItem(0).text(0)
    assert "Failing" in hop or "Degraded" in hop, hop
    assert "PASS" not in page.verdict.text()
    header = _visible_text(main_window.header)
    assert "Failing" in header or "Degraded" in header, header


def test_a_backup_taken_in_the_session_is_listed_when_the_backups_page_is_opened(
    qtbot, main_window, controlled_cluster
):
    """issue 17, item 14: a backup made with the session page's step was journaled, but the
    Backups page showed nothing until the profile changed."""
    profile = controlled_cluster(nodes=1)[2]
    page = _session_page(qtbot, main_window, profile)
    backups = main_window.pages["backups"]
    _start_session(qtbot, page)
    qtbot.waitUntil(lambda: backups.table.rowCount() == 0, timeout=5000)
    _click_step(qtbot, page, "backup")
    _open_by_sidebar(qtbot, main_window, "backups")
    qtbot.waitUntil(lambda: backups.table.rowCount() == 1, timeout=5000)
