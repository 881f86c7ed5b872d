"""Issue 21 on the rollout page, driven by clicks on a demo cluster behind its router: a
canary gate without enough evidence says so, live, and goes on when the evidence arrives;
one whose evidence timeout runs out pauses with that reason, never looking passed, and
going on past it is the admin's decision, with a note in the journal."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.ui.test_rollout_page import YES, _answer, _clipped, _open_page, _question
from themis_desktop.core.journal.store import Journal
from themis_desktop.ui.dialogs.note import NoteDialog


def _start_canary(qtbot, page) -> None:
    """Canary n1 at 50 %, one gate, soaking 1 s (about 5 samples at 0.2 s)."""
    page.strategy.setCurrentText("canary")
    page.steps.setText("50")
    page.soak.setValue(1)
    qtbot.waitUntil(page.start_button.isEnabled, timeout=5000)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(page.model.sig_running, timeout=10_000, check_params_cb=bool):
        _answer(qtbot, _question(qtbot), YES)


def _gate_line(page) -> str:
    """The timeline's line of the canary's soak (its gate)."""
    lines = [page.timeline.item(i).text() for i in range(page.timeline.count())]
    return next(line for line in lines if "Soak at 50 %" in line)


def test_a_canary_gate_waits_for_evidence_then_goes_on(
    qtbot, main_window, controlled_cluster, tmp_path
):
    _, _, profile = controlled_cluster(nodes=2, control_options={"router": True})
    page = _open_page(qtbot, main_window, profile, tmp_path)
    page.model.min_samples = 15  # more than the 1 s soak gives: the gate waits past it
    seen: list[tuple[str, str]] = []
    page.model.sig_rollout.connect(  # after the page's own slot: what it shows
        lambda _: (
            "waiting for evidence" in page.status.text()
            and seen.append((page.status.text(), _gate_line(page)))
        )
    )
    _start_canary(qtbot, page)
    qtbot.waitUntil(lambda: bool(seen), timeout=90_000)
    status, line = seen[0]
    assert "<b>running</b> — canary gate: waiting for evidence — " in status
    assert " of 15 samples, about " in status and " more at the current rate" in status
    assert line.startswith("▶ Soak at 50 %") and "waiting for evidence" in line
    assert "pass" not in line and "✓" not in line  # waiting is no pass

    qtbot.waitUntil(lambda: not page.model.running, timeout=120_000)
    rollout = page.model.rollout
    assert rollout.status == "done", rollout.reason
    (gate,) = rollout.gates
    assert gate["verdict"] == "pass" and gate["metrics"]["probe_ms"]["n"][1] >= 15
    assert _gate_line(page).startswith("✓ Soak at 50 %") and "gate ✓ pass" in _gate_line(page)
    assert "waiting for evidence" not in page.status.text()


def test_a_canary_without_evidence_pauses_and_resume_goes_on_past_the_gate(
    qtbot, main_window, controlled_cluster, tmp_path
):
    _, _, profile = controlled_cluster(nodes=2, control_options={"router": True})
    page = _open_page(qtbot, main_window, profile, tmp_path)
    page.model.min_samples = 1000  # never enough here
    page.model.evidence_timeout_s = 2.0  # then it asks a human
    _start_canary(qtbot, page)
    qtbot.waitUntil(lambda: not page.model.running, timeout=120_000)

    rollout = page.model.rollout
    assert rollout.status == "paused" and rollout.position < len(rollout.steps)
    status = page.status.text()
    assert "<b>paused</b> — the canary gate" in status
    assert "had too little evidence after 2 s" in status and "so it did not pass" in status
    assert "resume to go on past it, or abort" in status
    line = _gate_line(page)
    assert line.startswith("… Soak at 50 %")  # not ✓: it did not pass
    assert "gate … inconclusive: too little evidence, not a pass" in line
    assert page.resume_button.isEnabled() and page.abort_button.isEnabled()
    assert page.resume_button.text() == "Go on past the gate…"
    assert not page.start_button.isEnabled()
    assert _clipped(qtbot, main_window, page) == {}

    qtbot.mouseClick(page.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.note_dialog is not None and page.note_dialog.isVisible())
    dialog: NoteDialog = page.note_dialog
    assert "did not pass" in dialog.findChild(type(page.status)).text()
    assert not dialog.ok.isEnabled()  # a note is required
    QTest.keyClicks(dialog.note, "n1 checked by hand, low traffic tonight")
    with qtbot.waitSignal(page.model.sig_running, timeout=10_000, check_params_cb=bool):
        qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.model.running, timeout=120_000)
    assert page.model.rollout.status == "done", page.model.rollout.reason
    assert page.resume_button.text() == "Resume"
    assert _gate_line(page).startswith("… Soak at 50 %")  # still no pass, afterwards too

    with Journal(page.model.tasks.journal_path) as journal:
        (accepted,) = journal.events(types=["rollout.gate-accepted"])
    assert accepted.data["note"] == "n1 checked by hand, low traffic tonight"
    assert "went on past the gate of “Soak at 50 %: canary vs stable” without a verdict" in (
        accepted.message
    )
    QApplication.processEvents()
