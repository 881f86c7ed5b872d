"""Roll back now on a 1.5+ demo cluster names the server restore point taken before the
hop, beside the archive it restores; the command line asks with the same words."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from tests.ui.test_session_page import _page, _start, _step, _upgrade, click
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import hop_runner, restore_points


def test_the_rollback_dialog_names_the_pre_hop_restore_point(
    qtbot, main_window, controlled_cluster
):
    profile = controlled_cluster(nodes=1, version="1.7.0")[2]
    page = _page(qtbot, main_window, profile)
    _start(qtbot, page)
    _step(qtbot, page, "backup")
    assert "server restore point themis-desktop-pre-1.7.0-to-" in page.log.toPlainText()
    _upgrade(qtbot, page)

    page.rollback_dialog = None
    qtbot.waitUntil(page.rollback_button.isEnabled, timeout=5000)
    click(qtbot, page.rollback_button)
    qtbot.waitUntil(lambda: getattr(page, "rollback_dialog", None) is not None, timeout=5000)
    dialog = page.rollback_dialog
    label = dialog.findChildren(QLabel)[0].text()
    journal_path = main_window.workspace.tasks.journal_path
    with Journal(journal_path) as journal:
        session = page.session.reload(journal)
        hop = hop_runner.rollback_hop(session)
        (point,) = restore_points.hop_restore_points(journal, session, hop)
    assert f"n1: server restore point {point.tag} (sequence {point.sequence}" in label
    assert "the rollback itself restores the archive" in label
    assert "themis-n1-1.7.0-" in label  # the archive is still what the rollback restores
    assert dialog.question.restore_points[0] in dialog.question.text  # `session rollback`
    dialog.reject()
