"""The main job, as an admin does it, on a 3-node demo cluster at 1.7.0, by clicks and keys
only: connect (Ctrl+K), plan to 1.8 on the Versions page, back up, start the session,
pre-checks, backup, the upgrade step (answering its question), validation, a trigger, Roll
back now with a note, and the report. At each step the test reads what the screen says:
the header (nodes, health badge, rollback window), the hop tree, the health panel, the
banner; they must always agree (issue 17)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QMessageBox

from tests.rehearsal_override import override_rehearsals_on
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.demo.versions import default_profile
from themis_desktop.ui.dialogs.connection import ConnectionDialog
from themis_desktop.ui.settings import settings

CTRL = Qt.KeyboardModifier.ControlModifier
STEP_TIMEOUT = 90_000


def click(qtbot, widget, pos=None) -> None:
    if pos is None:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)
    else:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos)


def key(window, k, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(window, k, modifier)


# the offscreen platform cannot raise a window or grab the keyboard (the trigger list's
# popup asks it to): its own limits, not the app's warnings
@pytest.mark.qt_log_ignore(
    "This plugin does not support raise", "This plugin does not support grabbing the keyboard"
)
def test_the_main_job_from_connect_to_report(qtbot, main_window, controlled_cluster, tmp_path):
    target = load_catalogue(with_user=False).resolve("1.8").text
    ratio = default_profile("1.7.0").median_ms / default_profile(target).median_ms
    _, _, profile = controlled_cluster(  # 1.8 as fast as 1.7: no verdict fails by chance
        nodes=3, latency_factors={"1.8": ratio}, latency_sigma=0.05
    )
    with Journal() as journal:
        profile_store.save(journal, profile)  # saved earlier with Connection… (Ctrl+K)
    settings().setValue("backup_dir", str(tmp_path / "backups"))
    settings().setValue("report_dir", str(tmp_path))
    window = main_window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    header = window.header

    # -- connect -------------------------------------------------------------------------
    key(window, Qt.Key.Key_K, CTRL)
    qtbot.waitUntil(lambda: window.findChild(ConnectionDialog) is not None)
    dialog = window.findChild(ConnectionDialog)
    qtbot.waitUntil(lambda: dialog.profile_list.count() == 1, timeout=10_000)
    item = dialog.profile_list.item(0)
    click(qtbot, dialog.profile_list.viewport(), dialog.profile_list.visualItemRect(item).center())
    qtbot.waitUntil(lambda: dialog.name.text() == "lab")
    click(qtbot, dialog.connect_button)
    qtbot.waitUntil(
        lambda: len(header.chips) == 3 and all("1.7.0" in c.text() for c in header.chips),
        timeout=15_000,
    )
    assert header.profile_label.text() == "lab"
    assert not header.session_row.isVisible()  # no session: no health badge, no countdown
    qtbot.waitUntil(lambda: window.findChild(ConnectionDialog) is None)  # closed
    window.activateWindow()  # the window manager gives the main window its focus back
    qtbot.waitUntil(window.isActiveWindow)

    # -- Versions: the target ------------------------------------------------------------
    key(window, Qt.Key.Key_2, CTRL)
    versions = window.pages["versions"]
    qtbot.waitUntil(lambda: window.current_page == "versions")
    click(qtbot, versions.to_edit)
    key(versions.to_edit, Qt.Key.Key_A, CTRL)
    QTest.keyClicks(versions.to_edit, "1.8")
    key(versions.to_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.workspace.plan is not None, timeout=10_000)
    plan = window.workspace.plan
    assert (plan.current.text, plan.target.text) == ("1.7.0", target)
    assert "Point of no return" in versions.summary.toPlainText()

    # -- Backups: a backup before anything else (Ctrl+B) ---------------------------------
    key(window, Qt.Key.Key_4, CTRL)
    backups = window.pages["backups"]
    qtbot.waitUntil(lambda: window.current_page == "backups")
    with qtbot.waitSignal(backups.sig_job_finished, timeout=STEP_TIMEOUT):
        key(window, Qt.Key.Key_B, CTRL)
    qtbot.waitUntil(lambda: backups.table.rowCount() == 3, timeout=10_000)

    # -- the session ---------------------------------------------------------------------
    key(window, Qt.Key.Key_6, CTRL)
    page = window.pages["session"]
    qtbot.waitUntil(lambda: window.current_page == "session")
    qtbot.waitUntil(page.new_button.isEnabled, timeout=10_000)
    with qtbot.waitSignal(page.model.sig_session, timeout=10_000, check_params_cb=bool):
        click(qtbot, page.new_button)
    override_rehearsals_on(page)
    hop_item = page.stepper.topLevelItem
    qtbot.waitUntil(lambda: header.health_badge.text() == "● Healthy", timeout=10_000)
    assert header.health_reason.text() == "no hop upgraded yet"
    assert "1.7.0 → 1.8" in hop_item(0).text(0) and not page.banner.isVisible()

    def step(name: str) -> None:
        button = page.buttons[name]
        qtbot.waitUntil(button.isEnabled, timeout=10_000)
        with qtbot.waitSignal(page.model.sig_step_done, timeout=STEP_TIMEOUT):
            click(qtbot, button)
        qtbot.waitUntil(lambda: not page.model.busy, timeout=10_000)

    def one_state() -> str:
        """The health the header, the tree and the panel show: they must agree."""
        level = header.health_badge.property("state")
        title = header.health_badge.text().removeprefix("● ")
        assert hop_item(0).text(0).endswith(f"\n● {title}"), hop_item(0).text(0)
        assert f"● {title}" in page.health_label.text()
        return level

    step("pre-checks")
    qtbot.waitUntil(lambda: "▶ Pre-checks" in hop_item(0).child(0).text(0), timeout=10_000)
    step("backup")
    qtbot.waitUntil(lambda: hop_item(0).text(0).endswith("— backed-up"), timeout=10_000)
    # the Backups page lists the session's backups without being told twice (defect 14)
    key(window, Qt.Key.Key_4, CTRL)
    qtbot.waitUntil(lambda: backups.table.rowCount() == 6, timeout=10_000)
    key(window, Qt.Key.Key_6, CTRL)
    qtbot.waitUntil(lambda: window.current_page == "session")

    # -- the upgrade step: it asks first ------------------------------------------------
    qtbot.waitUntil(page.buttons["upgrade"].isEnabled, timeout=10_000)
    click(qtbot, page.buttons["upgrade"])
    qtbot.waitUntil(lambda: getattr(page, "upgrade_question", None) is not None, timeout=10_000)
    question = page.upgrade_question
    qtbot.waitUntil(question.isVisible)
    assert "point of no return" in question.text()
    assert "every write made after the upgrade is lost" in question.text()
    assert question.defaultButton() is question.button(QMessageBox.StandardButton.No)
    with qtbot.waitSignal(page.model.sig_step_done, timeout=STEP_TIMEOUT):
        click(qtbot, question.button(QMessageBox.StandardButton.Yes))
    qtbot.waitUntil(lambda: "— validating\n● " in hop_item(0).text(0), timeout=10_000)
    qtbot.waitUntil(lambda: header.countdown.isVisible(), timeout=10_000)
    assert "Easy rollback" in header.countdown.text()
    qtbot.waitUntil(lambda: header.health_badge.text() == "● Watch", timeout=10_000)
    assert "not validated yet" in header.health_badge.toolTip()
    assert one_state() == "watch" and not page.banner.isVisible()
    qtbot.waitUntil(lambda: all(target in c.text() for c in header.chips), timeout=15_000)

    step("validate")
    qtbot.waitUntil(lambda: "— done\n● " in hop_item(0).text(0), timeout=10_000)
    assert "✓ Validation" in hop_item(0).child(3).text(0)
    assert one_state() in ("healthy", "watch")  # pass, or no verdict yet: never green alone
    assert not page.banner.isVisible()

    # -- a critical bug is found: a trigger, with a note ----------------------------------
    click(qtbot, page.trigger_kind)  # the list of the five triggers opens
    popup = page.trigger_kind.view()
    qtbot.waitUntil(popup.isVisible)
    assert page.trigger_kind.currentData() == "performance"
    key(popup, Qt.Key.Key_Down)  # the next one, "Critical bug"
    key(popup, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.trigger_kind.currentData() == "critical-bug")
    click(qtbot, page.raise_button)
    qtbot.waitUntil(lambda: getattr(page, "trigger_dialog", None) is not None)
    QTest.keyClicks(page.trigger_dialog.note, "orders report shows wrong totals")
    click(qtbot, page.trigger_dialog.ok)
    qtbot.waitUntil(page.banner.isVisible, timeout=10_000)
    assert "wrong totals" in page.banner.text.text() + "".join(t.note for t in page.banner.triggers)
    qtbot.waitUntil(lambda: header.health_badge.text() == "● Failing", timeout=10_000)
    assert one_state() == "failing"
    assert "Critical bug" in header.health_reason.text()

    # -- roll back now, with a note -------------------------------------------------------
    qtbot.waitUntil(page.rollback_button.isEnabled)
    page.rollback_dialog = None
    click(qtbot, page.rollback_button)
    qtbot.waitUntil(lambda: page.rollback_dialog is not None, timeout=10_000)
    rollback = page.rollback_dialog
    qtbot.waitUntil(rollback.isVisible)
    assert not rollback.ok.isDefault()
    QTest.keyClicks(rollback.note, "wrong totals in the orders report")
    with qtbot.waitSignal(page.model.sig_step_done, timeout=STEP_TIMEOUT):
        click(qtbot, rollback.ok)
    qtbot.waitUntil(lambda: "rolled back" in header.countdown.text(), timeout=10_000)
    qtbot.waitUntil(lambda: header.health_badge.text() == "● Watch", timeout=10_000)
    assert "rolled back to 1.7.0: wrong totals in the orders report" in header.health_reason.text()
    assert hop_item(0).text(0).endswith("— rolled-back")
    assert not page.banner.isVisible()  # the rollback answered the trigger
    bar = page.log.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() == bar.maximum())  # the last lines are in view
    lines = page.log.toPlainText().splitlines()
    last_step = max(i for i, line in enumerate(lines) if "Step " in line)
    assert "Step 6/6" in lines[last_step]
    assert "Checking the restored cluster" in "\n".join(lines[last_step:])  # then the check
    qtbot.waitUntil(lambda: all("1.7.0" in c.text() for c in header.chips), timeout=15_000)

    # -- the report -------------------------------------------------------------------------
    click(qtbot, page.report_button)
    qtbot.waitUntil(lambda: getattr(page, "report_dialog", None) is not None)
    qtbot.waitUntil(page.report_dialog.isVisible)
    name = page.report_dialog.findChild(QLineEdit, "fileNameEdit")
    name.selectAll()
    QTest.keyClicks(name, "journey.html")
    with qtbot.waitSignal(page.sig_report_written, timeout=STEP_TIMEOUT):
        key(name, Qt.Key.Key_Return)
    report = tmp_path / "journey.html"
    assert page.report_label.isVisible()
    assert page.report_label.text() == f"Report written to {report}"
    text = report.read_text()
    assert "Health: <span" in text and "Watch</span>" in text
    assert "orders report shows wrong totals" in text and "answered by the rollback" in text
