"""The session page of a profile whose steps run through Ansible: each task's result is a
line of the page's log while the play runs (node, task, status, duration)."""

from __future__ import annotations

import pytest

from tests.core.fleet.test_ansible_export import needs_ansible
from tests.core.fleet.test_ansible_run import ansible_lab
from tests.ui.test_session_page import YES, _page, _question, _start, _step, click


@needs_ansible
@pytest.mark.slow
def test_the_upgrade_steps_tasks_appear_live_in_the_log(
    qtbot, main_window, controlled_cluster, tmp_path
):
    _cluster, control, profile = ansible_lab(controlled_cluster, tmp_path, 1, "1.7.0")
    page = _page(qtbot, main_window, profile)
    _start(qtbot, page)
    _step(qtbot, page, "pre-checks")
    _step(qtbot, page, "backup")
    box = _question(qtbot, page)
    with qtbot.waitSignal(page.model.sig_step_done, timeout=120_000):
        click(qtbot, box.button(YES))
        # live: the stop's line is shown while the play still runs
        qtbot.waitUntil(
            lambda: "✓ n1: Stop the service of the node — changed, " in page.log.toPlainText(),
            timeout=60_000,
        )
        assert page.model.busy == "upgrade"
    qtbot.waitUntil(lambda: not page.model.busy, timeout=5000)
    text = page.log.toPlainText()
    for task in ("Install 1.8.2 on the node", "Start the service of the node", "is ready"):
        assert task in text, text[-3000:]
    assert "Ansible upgrade play: successful" in text
    qtbot.waitUntil(lambda: "— validating" in page.hop_title.text(), timeout=5000)
    assert [n["version"] for n in control.nodes()] == ["1.8.2"]
