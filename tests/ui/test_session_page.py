"""The upgrade session page on a real demo node, driven as a person does (clicks, keys):
the stepper, each step's button, the question before the upgrade step, the countdown and
the health badge in the header, Roll back now with its confirmation, manual steps, triggers
and their acknowledgement, the live log, the report, and the layout at three sizes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
)

from tests.rehearsal_override import override_rehearsals_on
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.server.client import ThemisClient
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade
from themis_desktop.ui.widgets.rollback_countdown import RollbackCountdown

YES, NO = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No


@pytest.fixture
def demo_lab(controlled_cluster):
    return controlled_cluster(nodes=1)[2]


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def _page(qtbot, window, profile):
    from themis_desktop.ui.settings import settings

    settings().setValue("backup_dir", str(profile.nodes[0].data_dir) + "-backups")
    window.workspace.connect_profile(profile)
    qtbot.waitUntil(lambda: all(s and s.up for s in window.workspace.statuses), timeout=10_000)
    window.workspace.set_plan(plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8"))
    window.show_page("session")
    return window.pages["session"]


def _start(qtbot, page) -> None:
    qtbot.waitUntil(page.new_button.isEnabled, timeout=5000)
    with qtbot.waitSignal(page.model.sig_session, timeout=10_000, check_params_cb=bool):
        click(qtbot, page.new_button)
    override_rehearsals_on(page)  # the rehearsal gate: not what these tests are about


def _step(qtbot, page, name: str) -> None:
    button = page.buttons[name]
    qtbot.waitUntil(button.isEnabled, timeout=10_000)
    with qtbot.waitSignal(page.model.sig_step_done, timeout=60_000):
        click(qtbot, button)
    qtbot.waitUntil(lambda: not page.model.busy, timeout=5000)


def _question(qtbot, page) -> QMessageBox:
    """Click Run upgrade step… and wait for its question."""
    page.upgrade_question = None
    qtbot.waitUntil(page.buttons["upgrade"].isEnabled, timeout=10_000)
    click(qtbot, page.buttons["upgrade"])
    qtbot.waitUntil(lambda: getattr(page, "upgrade_question", None) is not None, timeout=10_000)
    box = page.upgrade_question
    qtbot.waitUntil(box.isVisible, timeout=5000)
    return box


def _upgrade(qtbot, page) -> None:
    box = _question(qtbot, page)
    with qtbot.waitSignal(page.model.sig_step_done, timeout=60_000):
        click(qtbot, box.button(YES))
    qtbot.waitUntil(lambda: not page.model.busy, timeout=5000)


def _version(profile) -> str:
    with ThemisClient(profile.nodes[0].url) as client:
        return client.version(refresh=True).version


def test_a_whole_hop_and_its_rollback_from_the_page(qtbot, main_window, demo_lab):
    page = _page(qtbot, main_window, demo_lab)
    _start(qtbot, page)
    assert page.stepper.topLevelItemCount() == 1
    assert not page.buttons["upgrade"].isEnabled()  # no backup yet
    _step(qtbot, page, "pre-checks")
    _step(qtbot, page, "backup")
    _upgrade(qtbot, page)
    qtbot.waitUntil(lambda: "— validating" in page.hop_title.text(), timeout=5000)
    countdown = main_window.header.countdown
    assert countdown.isVisible() and "Easy rollback" in countdown.text()
    assert "to moderate" in countdown.text() and "1.7.0 → 1.8" in countdown.toolTip()
    _step(qtbot, page, "validate")
    qtbot.waitUntil(lambda: "— done" in page.stepper.topLevelItem(0).text(0), timeout=5000)
    assert "✓ Validation" in page.stepper.topLevelItem(0).child(3).text(0)

    qtbot.waitUntil(page.rollback_button.isEnabled, timeout=5000)
    click(qtbot, page.rollback_button)
    qtbot.waitUntil(lambda: getattr(page, "rollback_dialog", None) is not None, timeout=5000)
    dialog = page.rollback_dialog
    assert "themis-n1-1.7.0-" in dialog.findChildren(QLabel)[0].text()
    assert not dialog.ok.isEnabled()  # a note is required
    QTest.keyClicks(dialog.note, "p99 doubled after the hop")
    with qtbot.waitSignal(page.model.sig_step_done, timeout=60_000):
        click(qtbot, dialog.ok)
    qtbot.waitUntil(
        lambda: page.session is None or page.session.state == "rolled-back", timeout=5000
    )
    qtbot.waitUntil(lambda: "rolled back" in countdown.text(), timeout=5000)
    assert "Step 6/6" in page.log.toPlainText()


def test_the_point_of_no_return_asks_first_and_no_is_the_default(qtbot, main_window, demo_lab):
    """1.7 → 1.8 cannot be undone by reinstalling 1.7: the question says so, names the
    backup a rollback would restore and that later writes are lost; Enter answers No."""
    page = _page(qtbot, main_window, demo_lab)
    _start(qtbot, page)
    _step(qtbot, page, "backup")
    box = _question(qtbot, page)
    text = box.text()
    assert "point of no return" in text
    assert "rolling back means restoring the backup of " + datetime.now().strftime("%Y-%m-%d") in (
        text
    )
    assert "every write made after the upgrade is lost" in text
    assert box.defaultButton() is box.button(NO)
    assert not box.button(YES).isDefault()
    QTest.keyClick(box, Qt.Key.Key_Return)  # the default: nothing happens
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=5000)
    qtbot.wait(300)  # not a wait for a condition: a step wrongly started would show by now
    assert not page.model.busy and page.session.current.state == "backed-up"
    assert _version(demo_lab) == "1.7.0"

    _upgrade(qtbot, page)  # asked again, answered Yes
    assert _version(demo_lab).startswith("1.8")


def test_roll_back_is_never_the_default_button(qtbot, main_window, demo_lab):
    page = _page(qtbot, main_window, demo_lab)
    _start(qtbot, page)
    _step(qtbot, page, "backup")
    _upgrade(qtbot, page)
    qtbot.waitUntil(page.rollback_button.isEnabled, timeout=5000)
    click(qtbot, page.rollback_button)
    qtbot.waitUntil(lambda: getattr(page, "rollback_dialog", None) is not None, timeout=5000)
    dialog = page.rollback_dialog
    QTest.keyClicks(dialog.note, "testing")
    assert dialog.ok.isEnabled() and not dialog.ok.isDefault() and not dialog.ok.autoDefault()
    cancel = dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel)
    assert cancel.isDefault()
    QTest.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    assert not page.model.busy and page.session.hops[0].state == "validating"


def test_a_step_that_waits_is_off_and_its_tooltip_says_why(qtbot, main_window, demo_lab):
    """The buttons show core's rule (`session run STEP` refuses with the same words): a
    step that may not run now is off, and its tooltip says why before what it does."""
    from themis_desktop.core.upgrade.steps import steps_now

    page = _page(qtbot, main_window, demo_lab)
    upgrade, validate, backup = (page.buttons[s] for s in ("upgrade", "validate", "backup"))
    assert "There is no upgrade session" in page.buttons["pre-checks"].toolTip()
    _start(qtbot, page)
    qtbot.waitUntil(backup.isEnabled, timeout=5000)
    assert not upgrade.isEnabled() and not validate.isEnabled()
    why = steps_now(page.session).why_not("upgrade")
    assert "has no verified backup yet" in why
    assert upgrade.toolTip().startswith(f"Not now: {why}")
    assert "Stop, install, start" in upgrade.toolTip()  # what the step does stays
    assert "is not upgraded yet (planned)" in validate.toolTip()
    assert backup.toolTip() == "A verified backup of every node (required first)"
    _step(qtbot, page, "backup")
    qtbot.waitUntil(upgrade.isEnabled, timeout=5000)
    assert not upgrade.toolTip().startswith("Not now")
    assert not validate.isEnabled() and "is not upgraded yet (backed-up)" in validate.toolTip()


def test_a_failed_step_says_why_and_nothing_moves(qtbot, main_window, demo_lab):
    page = _page(qtbot, main_window, demo_lab)
    _start(qtbot, page)
    with qtbot.waitSignal(page.model.sig_step_failed, timeout=30_000) as failed:
        page.model.run_step("upgrade")  # the button is off: the model refuses all the same
    assert "The upgrade step cannot run now" in failed.args[1]
    assert "has no verified backup yet" in failed.args[1]  # core's reason (steps_now)
    assert page.error_box.isVisible()


def test_manual_steps_ask_and_wait_for_the_user(qtbot, main_window, demo_lab):
    from dataclasses import replace

    profile = replace(demo_lab, service=ServiceConfig(kind="manual"))
    page = _page(qtbot, main_window, profile)
    _start(qtbot, page)
    _step(qtbot, page, "backup")
    box = _question(qtbot, page)
    with qtbot.waitSignal(page.model.sig_confirm, timeout=30_000) as asked:
        click(qtbot, box.button(YES))
    assert "Stop" in asked.args[0] and "n1" in asked.args[0]
    with qtbot.waitSignal(page.model.sig_step_failed, timeout=30_000) as failed:
        click(qtbot, page.confirm_box.button(QMessageBox.StandardButton.Cancel))
    assert "cancel" in failed.args[1].lower()  # the admin cancelled: nothing was done


def test_a_trigger_needs_a_note_is_listed_and_shown_until_acknowledged(
    qtbot, main_window, demo_lab
):
    page = _page(qtbot, main_window, demo_lab)
    _start(qtbot, page)
    page.trigger_kind.setCurrentIndex(page.trigger_kind.findData("data-integrity"))
    click(qtbot, page.raise_button)
    dialog = page.trigger_dialog
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()
    QTest.keyClicks(dialog.findChild(QPlainTextEdit), "checksum mismatch on table orders")
    click(qtbot, ok)
    qtbot.waitUntil(lambda: page.triggers.count() == 1, timeout=5000)
    assert "Data integrity issue: checksum mismatch" in page.triggers.item(0).text()
    qtbot.waitUntil(page.banner.isVisible, timeout=5000)
    assert "checksum mismatch" in page.banner.findChild(QLabel, "triggerRow").text()
    header = main_window.header
    assert header.health_badge.text() == "● Failing"

    (ack,) = page.banner.ack_buttons.values()
    click(qtbot, ack)
    qtbot.waitUntil(lambda: getattr(page, "ack_dialog", None) is not None, timeout=5000)
    assert not page.ack_dialog.ok.isEnabled()  # a note is required
    QTest.keyClicks(page.ack_dialog.note, "false alarm: the checker read a stale replica")
    click(qtbot, page.ack_dialog.ok)
    qtbot.waitUntil(lambda: not page.banner.isVisible(), timeout=5000)
    assert "acknowledged by" in page.triggers.item(0).text()
    assert header.health_badge.text() != "● Failing"
    with Journal() as journal:
        (event,) = journal.events(types=["trigger.acknowledged"])
    assert event.user and event.ts and "stale replica" in event.message


def test_one_health_state_after_a_misbehaving_upgrade(qtbot, main_window, controlled_cluster):
    """Issue 17, defect 4: after an upgrade to a slower, failing 1.8 the screen contradicted
    itself. Now the header badge, the hop tree, the health panel and the banner show one
    state, the worst evidence: the raised triggers until acknowledged, then the verdict."""
    _, _, profile = controlled_cluster(
        nodes=1,
        workload=True,
        latency_factors={"1.7": 12.0, "1.8": 12.0 * 2.25},
        error_rates={"1.7": 0.0, "1.8": 0.08},
        latency_sigma=0.05,
    )
    page = _page(qtbot, main_window, profile)
    monitor = main_window.workspace.metrics
    monitor.hold.min_samples = 5  # seconds of samples here; the 50-sample rule: core tests
    qtbot.waitUntil(lambda: len(monitor.store.series.get("n1") or ()) >= 10, timeout=20_000)
    _start(qtbot, page)
    _step(qtbot, page, "backup")
    _upgrade(qtbot, page)  # captures the hop's baseline (1.7) first
    _step(qtbot, page, "validate")  # health, readiness and version pass: the hop is "done"
    header, item = main_window.header, page.stepper.topLevelItem
    qtbot.waitUntil(lambda: len(page.banner.ack_buttons) >= 2, timeout=60_000)
    kinds = {t.kind for t in page.banner.triggers}
    assert kinds == {"performance", "failed-validation"}  # the verdict and the log watch
    assert monitor.evaluation.overall == "fail"
    qtbot.waitUntil(lambda: "Failing" in item(0).text(0), timeout=5000)
    assert item(0).text(0).endswith("— done\n● Failing")
    assert header.health_badge.text() == "● Failing"
    assert header.health_badge.property("state") == "failing"
    assert "Failing" in page.health_label.text()
    assert "not acknowledged" in header.health_badge.toolTip()
    assert "FAIL" in page.verdict.text() and "PASS" not in page.verdict.text()

    for trigger_id in list(page.banner.ack_buttons):
        click(qtbot, page.banner.ack_buttons[trigger_id])
        qtbot.waitUntil(lambda: page.ack_dialog.isVisible(), timeout=5000)
        QTest.keyClicks(page.ack_dialog.note, "seen; deciding with the team")
        with qtbot.waitSignal(page.model.sig_health, timeout=10_000):
            click(qtbot, page.ack_dialog.ok)
    qtbot.waitUntil(lambda: not page.banner.isVisible(), timeout=10_000)
    # acknowledged: the measured degradation remains, everywhere the same
    qtbot.waitUntil(lambda: header.health_badge.text() == "● Degraded", timeout=10_000)
    assert item(0).text(0).endswith("— done\n● Degraded")
    assert "Degraded" in page.health_label.text()
    assert "metrics verdict FAIL" in header.health_reason.text()


def test_the_output_follows_new_lines(qtbot, main_window, demo_lab):
    """Issue 17, defect 9: validation and rollback lines stayed below the fold."""
    main_window.resize(1024, 700)
    page = _page(qtbot, main_window, demo_lab)
    _start(qtbot, page)
    bar = page.log.verticalScrollBar()
    for _ in range(6):
        _step(qtbot, page, "pre-checks")
    assert bar.maximum() > 0  # more lines than fit
    qtbot.waitUntil(lambda: bar.value() == bar.maximum(), timeout=2000)
    last = page.log.document().lastBlock()
    assert last.text().startswith(("✓ n1", "ℹ n1")) or "ready" in last.text()  # a check row

    bar.setValue(0)  # the user scrolls up to read: new lines do not pull the view away
    _step(qtbot, page, "pre-checks")
    assert bar.value() == 0
    bar.setValue(bar.maximum())  # back at the end: it follows again
    _step(qtbot, page, "pre-checks")
    qtbot.waitUntil(lambda: bar.value() == bar.maximum(), timeout=2000)


def test_report_says_where_the_file_went(qtbot, main_window, demo_lab, tmp_path):
    """Issue 17, defect 9: Report… gave no word of where the file went."""
    from themis_desktop.ui.settings import settings

    target = tmp_path / "reports" / "session.html"
    target.parent.mkdir()
    settings().setValue("report_dir", str(target.parent))  # the folder used last time
    page = _page(qtbot, main_window, demo_lab)
    _start(qtbot, page)
    _step(qtbot, page, "pre-checks")
    click(qtbot, page.report_button)
    qtbot.waitUntil(lambda: getattr(page, "report_dialog", None) is not None, timeout=5000)
    dialog = page.report_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    assert dialog.directory().absolutePath() == str(target.parent)
    name = dialog.findChild(QLineEdit, "fileNameEdit")
    name.selectAll()
    QTest.keyClicks(name, target.name)
    with qtbot.waitSignal(page.sig_report_written, timeout=30_000):
        QTest.keyClick(name, Qt.Key.Key_Return)
    assert "Hop 1: 1.7.0 → 1.8" in target.read_text()
    assert page.report_label.isVisible()
    assert page.report_label.text() == f"Report written to {target}"
    assert str(target) in page.report_label.toolTip() or not page.report_label.property("elided")


def test_a_backup_taken_in_the_session_is_on_the_backups_page_at_once(qtbot, main_window, demo_lab):
    """Issue 17, defect 14: the Backups page showed it only after the profile changed.
    The step announces what it changed; the Backups page reloads on that notice."""
    page = _page(qtbot, main_window, demo_lab)
    backups = main_window.pages["backups"]
    _start(qtbot, page)
    qtbot.waitUntil(lambda: backups.table.rowCount() == 0, timeout=5000)
    _step(qtbot, page, "backup")
    main_window.activateWindow()
    qtbot.waitUntil(main_window.isActiveWindow)
    QTest.keyClick(main_window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: main_window.current_page == "backups")
    qtbot.waitUntil(lambda: backups.table.rowCount() == 1, timeout=5000)
    assert backups.records[0].session_id == page.session.id


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


# -- layout: nothing cut at the three sizes ------------------------------------------------

SIZES = ((1024, 700), (1180, 760), (1920, 1080))


def _cut(widgets) -> list[str]:
    """Buttons, labels and combo boxes whose text needs more room than they have and is
    not elided with its whole text in the tooltip."""
    found = []
    for w in widgets:
        if not w.isVisible() or w.width() <= 0:
            continue
        if isinstance(w, QLabel) and w.wordWrap():
            if w.heightForWidth(w.width()) > w.height() + 1:
                found.append(f"{type(w).__name__} {w.text()[:40]!r}: wraps to more than it has")
            continue
        text = w.currentText() if isinstance(w, QComboBox) else w.text()
        if not text:  # no text to cut (a tab bar's scroll arrows)
            continue
        if w.sizeHint().width() <= w.width() + 1:
            continue
        if w.property("elided") and text in w.toolTip():
            continue
        found.append(f"{type(w).__name__} {text[:40]!r}: {w.sizeHint().width()} > {w.width()}")
    return found


def test_nothing_on_the_page_or_in_the_header_is_cut(qtbot, main_window, demo_lab):
    """Issue 17, defect 3: at 1180×760 the buttons read "ack up nov", the trigger kinds
    were cut, and the countdown squeezed the node chips ("node-1 v1.")."""
    from tests.ui.layout_checks import clipped_text, show_at

    page = _page(qtbot, main_window, demo_lab)
    _start(qtbot, page)
    _step(qtbot, page, "backup")
    _upgrade(qtbot, page)
    page.trigger_kind.setCurrentIndex(page.trigger_kind.findData("performance"))  # the longest
    click(qtbot, page.raise_button)
    QTest.keyClicks(page.trigger_dialog.note, "p99 of the orders endpoint doubled")
    click(qtbot, page.trigger_dialog.ok)
    qtbot.waitUntil(page.banner.isVisible, timeout=5000)
    header = main_window.header
    qtbot.waitUntil(lambda: header.countdown.isVisible() and header.health_badge.isVisible())
    qtbot.waitUntil(lambda: "1.8" in header.chips[0].text(), timeout=10_000)
    problems = {}
    for size in SIZES:
        found = show_at(qtbot, main_window, size)
        widgets = page.findChildren(QAbstractButton) + page.findChildren(QLabel)
        widgets += page.findChildren(QComboBox)
        found += _cut(widgets) + _cut([*header.chips, header.countdown, header.health_badge])
        found += clipped_text(page) + clipped_text(header)
        if found:
            problems[size] = found
    assert not problems, problems
    main_window.resize(1180, 760)
    qtbot.waitUntil(lambda: not any(chip.property("elided") for chip in header.chips))
    for chip in header.chips:  # at the default size the chips are whole
        assert not chip.property("elided"), chip.text()


def test_a_step_the_journal_no_longer_allows_is_refused_with_cores_reason(
    qtbot, main_window, demo_lab
):
    """Issue 17: the page still shows "validating" while the command line rolled the hop
    back; Validate is refused by the step itself (the page's usual message, not a trigger
    and a failed hop as before)."""
    from themis_desktop.core.service.control import controller_for
    from themis_desktop.core.upgrade import hop_runner
    from themis_desktop.core.upgrade.hop_runner import HopContext

    page = _page(qtbot, main_window, demo_lab)
    _start(qtbot, page)
    _step(qtbot, page, "backup")
    _upgrade(qtbot, page)
    validate = page.buttons["validate"]
    qtbot.waitUntil(validate.isEnabled, timeout=5000)
    profile, journal_path = main_window.workspace.profile, main_window.workspace.tasks.journal_path
    ctx = HopContext(profile, None, controller_for(profile.service), journal_path, None)
    with Journal(journal_path) as journal:  # as `session rollback` in a terminal does
        session = page.session.reload(journal)
    hop_runner.rollback(ctx, session, session.hops[0], "rolled back from the terminal")
    with Journal(journal_path) as journal:
        checks = len(journal.events(types=["hop.check"]))
    assert validate.isEnabled()  # the page has not heard of it yet

    with qtbot.waitSignal(page.model.sig_step_failed, timeout=30_000) as failed:
        click(qtbot, validate)
    assert failed.args[0] == "validate"
    assert failed.args[1].startswith("Validation cannot run now. Hop 1.7.0 → 1.8")
    assert "was rolled back: the path stopped there" in failed.args[1]
    qtbot.waitUntil(lambda: page.error_box.isVisible(), timeout=5000)
    assert "Validation cannot run now" in page.error_box.text()
    assert "Traceback" not in page.error_box.text()
    with Journal(journal_path) as journal:
        again = session.reload(journal)
        assert again.hops[0].state == "rolled-back" and not again.triggers(journal)
        assert len(journal.events(types=["hop.check"])) == checks  # no node was even asked
    qtbot.waitUntil(lambda: not validate.isEnabled(), timeout=5000)  # reloaded: off now


def test_the_rollback_dialog_says_what_cannot_be_undone_in_cores_words(qtbot):
    """The dialog and `session rollback` ask with one set of words (`rollback_question`)."""
    from html import escape
    from types import SimpleNamespace

    from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
    from themis_desktop.core.upgrade.hop_runner import rollback_question
    from themis_desktop.core.upgrade.session import Hop
    from themis_desktop.ui.dialogs.rollback import RollbackDialog

    finished = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    hop = Hop(1, 1, 0, "1.7.0", "1.8.2", "done", finished_at=finished)
    profile = Profile(
        "lab",
        (
            NodeEndpoint("http://127.0.0.1:1", "n1", data_dir="/srv/themis<1>"),
            NodeEndpoint("http://127.0.0.1:2", "n2", data_dir="/srv/n2"),
        ),
    )
    record = SimpleNamespace(created_at=finished, path="/b/themis-n1-1.7.0-a.tar.zst")
    dialog = RollbackDialog(hop, {"n1": record, "n2": None}, profile)
    qtbot.addWidget(dialog)
    question = rollback_question(hop, profile, {"n1": record, "n2": None})
    label = dialog.findChildren(QLabel)[0].text()
    assert dialog.windowTitle() == question.title == "Roll back 1.7.0 → 1.8.2"
    for part in (question.happens, question.lost, question.missing):
        assert escape(part) in label
    assert "cannot be undone" in question.lost and "Writes made since the backups" in label
    assert "themis-n1-1.7.0-a.tar.zst" in label and "/srv/themis&lt;1&gt;" in label
    assert "Rollback window: Easy rollback" in label
    dialog.show()
    QTest.keyClicks(dialog.note, "p99 doubled")
    assert dialog.ok.isEnabled() and not dialog.ok.isDefault() and not dialog.ok.autoDefault()
    QTest.keyClick(dialog, Qt.Key.Key_Return)  # Enter cancels
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    assert dialog.result() == dialog.DialogCode.Rejected


def test_closing_the_window_while_a_manual_step_waits_ends_the_step(qtbot, main_window, demo_lab):
    """Issue 20: the step waiting for the admin's answer is a service of the task manager;
    closing the window cancels it (the wait wakes, it is not polled) and nothing is left."""
    from dataclasses import replace

    profile = replace(demo_lab, service=ServiceConfig(kind="manual"))
    page = _page(qtbot, main_window, profile)
    _start(qtbot, page)
    _step(qtbot, page, "backup")
    with qtbot.waitSignal(page.model.sig_confirm, timeout=30_000):
        click(qtbot, _question(qtbot, page).button(YES))
    tasks = main_window.workspace.tasks
    assert "upgrade step upgrade" in tasks.services

    main_window.close()
    assert tasks.services == []
    assert all(pool.activeThreadCount() == 0 for pool in tasks.pools())
