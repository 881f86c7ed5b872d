"""The session page's predicted durations for the current hop, wrapped: the whole hop, each
node's downtime, a rollback, and what the range rests on; its tooltip has every node's steps
and, once they ran, what each took against its prediction (`core.upgrade.prediction.current`,
asked in a worker whenever the session changes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import prediction, prediction_text, step_timing

if TYPE_CHECKING:
    from themis_desktop.core.upgrade.session import UpgradeSession
    from themis_desktop.ui.models.workspace import Workspace


def tooltip(found: prediction.HopPrediction, rows: list[prediction.Compared]) -> str:
    """Every node's steps, then what the hop's steps took so far against the prediction."""
    lines = prediction_text.detail_lines(found)
    ran = [r for r in rows if r.actual is not None]
    if ran:
        lines.append("Taken so far (against the prediction journaled before the hop):")
        for r in ran:
            span = (
                prediction_text.range_text((r.low, r.high))
                if r.low is not None and r.high is not None
                else "—"
            )
            took = prediction_text.seconds_text(r.actual or 0.0)
            step = f"rollback {r.step}" if r.phase == "rollback" else r.step
            lines.append(f"  {r.node} {step}: {took} (predicted {span}, {r.verdict})")
    return "\n".join(lines)


class PredictionPanel(QLabel):
    """The whole line, wrapped; hidden without a hop to predict."""

    def __init__(self, workspace: Workspace) -> None:
        super().__init__("")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.workspace = workspace
        self.prediction: prediction.HopPrediction | None = None
        self.rows: list[prediction.Compared] = []
        self._ask = 0
        self.hide()

    def show_session(self, session: UpgradeSession | None) -> None:
        """Predict the session's current hop (the journaled prediction once it started)."""
        self._ask += 1
        hop = session.current if session is not None else None
        if session is None or hop is None:
            self.prediction, self.rows = None, []
            self.setText("")
            self.hide()
            return
        ws = self.workspace
        path, read_only = ws.tasks.journal_path, ws.read_only
        tokens = None if read_only else ws.tokens
        ask = self._ask

        def work() -> tuple[Any, list[Any]]:  # a worker: the nodes may be asked their sizes
            with Journal(path, read_only=read_only) as journal:
                profile = profile_store.get(journal, session.profile)
                if profile is None:
                    return None, []
                token = tokens.get(profile.name) if tokens is not None else None
                found = prediction.current(journal, session, hop, profile, token, ask=not read_only)
                before = prediction.recorded(journal, session.id, hop.id)
                timings = [
                    t for t in step_timing.session_timings(journal, session.id) if t.hop == hop.id
                ]
            return found, prediction.comparison(before, timings) if timings else []

        ws.tasks.run(
            work,
            on_done=lambda result, a=ask: self._on_done(a, result),
            on_failed=lambda _exc: None,  # no prediction: the page stands without it
        )

    def _on_done(self, ask: int, result: tuple[Any, list[Any]]) -> None:
        if ask != self._ask:
            return
        found, rows = result
        self.prediction, self.rows = found, rows
        if found is None:
            self.hide()
            return
        taken = sum(r.actual for r in rows if r.actual is not None)
        text = f"Predicted {prediction_text.summary_line(found)}"
        if taken:
            text += f" · taken so far {prediction_text.seconds_text(taken)}"
        self.setText(text)
        self.setToolTip(tooltip(found, rows))
        self.show()
