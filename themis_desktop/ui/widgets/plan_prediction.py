"""The planned path's predicted durations under the plan summary: per hop the whole hop,
each node's downtime and a rollback; per node and step the range and what it rests on
(`core.upgrade.prediction.for_plan`, asked in a worker whenever the plan or the profile
changes, and when a step or a backup may have taught it a duration)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, SignalInstance

from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import prediction
from themis_desktop.core.upgrade.prediction import HopPrediction
from themis_desktop.core.upgrade.prediction_text import basis_text, range_text, size_text
from themis_desktop.core.util.changes import Changes, Topic
from themis_desktop.ui import palette

if TYPE_CHECKING:
    from themis_desktop.core.versions.upgrade_path import Plan
    from themis_desktop.ui.models.workspace import Workspace
    from themis_desktop.ui.widgets.plan_summary import PlanSummary

MUTED = palette.MUTED_TEXT


def prediction_html(predictions: list[HopPrediction]) -> str:
    """The section: a row per hop, then a row per node with each step's range (the same
    for every hop: the steps do not depend on the versions)."""
    if not predictions:
        return ""
    rows = "".join(
        f"<tr><td>{i}.&nbsp;{escape(p.label)}&nbsp;</td><td>{range_text(p.total)}&nbsp;</td>"
        f"<td>{range_text(p.downtime)}&nbsp;</td><td>{range_text(p.rollback_total)}</td></tr>"
        for i, p in enumerate(predictions, 1)
    )
    first = predictions[0]
    steps = "".join(f"<th>{escape(s)}&nbsp;</th>" for s in prediction.HOP_STEPS)
    per_node = "".join(
        f"<tr><td title='{escape(size_text(n.size))}'>{escape(n.node)}&nbsp;</td>"
        + "".join(
            f"<td title='{escape(s.basis)}'>{range_text((s.low, s.high))}"
            f"{'*' if s.assumed else ''}&nbsp;</td>"
            for s in n.steps
        )
        + "</tr>"
        for n in first.nodes
    )
    assumed = any(s.assumed for n in first.nodes for s in n.steps)
    notes = "".join(f"<br>{escape(n)}" for n in first.notes)
    return (
        "<h4>Predicted duration</h4>"
        "<table cellspacing='0' cellpadding='1'><tr><th>Hop&nbsp;</th><th>In all&nbsp;</th>"
        f"<th>Each node down&nbsp;</th><th>Rollback</th></tr>{rows}</table>"
        "<p><b>Per node and step</b></p>"
        f"<table cellspacing='0' cellpadding='1'><tr><th>Node&nbsp;</th>{steps}</tr>"
        f"{per_node}</table>"
        f"<p style='color:{MUTED}'>{escape(basis_text(first).capitalize())}."
        + (" * no measurement yet: a stated default assumption." if assumed else "")
        + f"{notes}</p>"
    )


class PlanPrediction(QObject):
    """Follows a page's plan (`plan_changed`) and the workspace's profile, and puts the
    prediction of the plan's hops under `summary` once a worker has it."""

    def __init__(
        self, workspace: Workspace, summary: PlanSummary, plan_changed: SignalInstance
    ) -> None:
        super().__init__(summary)
        self.workspace, self.summary = workspace, summary
        self.plan: Plan | None = None
        self.predictions: list[HopPrediction] = []
        self._ask = 0  # the answer still wanted (a newer plan's wins)
        plan_changed.connect(self._on_page_plan_changed)
        workspace.sig_profile_changed.connect(lambda _: self._predict())
        workspace.sig_changed.connect(self._on_workspace_changed)

    def _on_workspace_changed(self, changes: Changes, _initiator: object) -> None:
        """A step finished or a backup landed: the journal may have learned a duration."""
        if changes.touches(Topic.SESSIONS, Topic.BACKUPS):
            self._predict()

    def _on_page_plan_changed(self, plan: Plan | None) -> None:
        self.plan = plan
        self._predict()

    def _predict(self) -> None:
        self._ask += 1
        self.predictions = []
        profile, plan = self.workspace.profile, self.plan
        if profile is None or plan is None or not plan.hops:
            self.summary.show_prediction("")  # no profile: nothing to measure it by
            return
        hops = [(h.source.text, h.target.text) for h in plan.hops]
        ws = self.workspace
        token = ws.tokens.get(profile.name) if not ws.read_only else None
        path, read_only = ws.tasks.journal_path, ws.read_only
        ask = self._ask

        def work() -> list[HopPrediction]:  # a worker: the nodes are asked for their sizes
            with Journal(path, read_only=read_only) as journal:
                return prediction.for_plan(journal, profile, token, hops, ask=not read_only)

        ws.tasks.run(
            work,
            on_done=lambda found, a=ask: self._on_done(a, found),
            on_failed=lambda _exc: None,  # no prediction: the plan stands without one
        )

    def _on_done(self, ask: int, found: Any) -> None:
        if ask != self._ask or self.summary.plan is None:
            return
        self.predictions = list(found)
        self.summary.show_prediction(prediction_html(self.predictions))
