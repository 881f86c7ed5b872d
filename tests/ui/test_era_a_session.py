"""On the demo's 1.0.x (its known issues on, as the real server behaves): the pre-checks
name the known issues, a failed restart is explained in the server's own words, the node is
never shown ready, and Roll back now warns that 1.0.0 meets the same wall."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from tests.ui.test_session_page import YES, _question, _start, _step, click
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade

REASON = "Column families not opened: prompt_templates"


def test_a_1_0_hop_fails_with_the_servers_reason_and_the_rollback_warns(
    qtbot, main_window, controlled_cluster
):
    from themis_desktop.ui.settings import settings

    profile = controlled_cluster(nodes=1, version="1.0.0")[2]
    settings().setValue("backup_dir", str(profile.nodes[0].data_dir) + "-backups")
    main_window.workspace.connect_profile(profile)
    qtbot.waitUntil(lambda: all(s and s.up for s in main_window.workspace.statuses), timeout=10_000)
    main_window.workspace.set_plan(plan_upgrade(load_catalogue(with_user=False), "1.0.0", "1.0.1"))
    main_window.show_page("session")
    page = main_window.pages["session"]
    _start(qtbot, page)
    _step(qtbot, page, "pre-checks")
    log = page.log.toPlainText()
    assert "known issue" in log and "cannot open a data directory it has opened before" in log
    assert "serves data" in log
    _step(qtbot, page, "backup")

    box = _question(qtbot, page)
    with qtbot.waitSignal(page.model.sig_step_failed, timeout=60_000) as failed:
        click(qtbot, box.button(YES))
    step, message = failed.args
    assert step == "upgrade" and REASON in message and "known issue of 1.0.1" in message
    qtbot.waitUntil(lambda: getattr(page, "error_box", None) is not None, timeout=5000)
    assert REASON in page.error_box.text()
    page.error_box.close()
    qtbot.waitUntil(lambda: not page.model.busy, timeout=5000)
    qtbot.waitUntil(lambda: not main_window.workspace.statuses[0].up, timeout=10_000)

    page.rollback_dialog = None
    qtbot.waitUntil(page.rollback_button.isEnabled, timeout=5000)
    click(qtbot, page.rollback_button)
    qtbot.waitUntil(lambda: getattr(page, "rollback_dialog", None) is not None, timeout=5000)
    dialog = page.rollback_dialog
    label = dialog.findChildren(QLabel)[0].text()
    assert "Rolling back to 1.0.0: known issue" in label
    assert dialog.question.known_issues[0] in dialog.question.text  # `session rollback` too
    dialog.reject()
