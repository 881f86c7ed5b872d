"""The upgrade plan in words: hops, guides, breaking changes, point of no return, downtime."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import QTextBrowser, QWidget

from themis_desktop.core.versions.upgrade_path import Plan
from themis_desktop.ui import palette
from themis_desktop.ui.widgets.graph_style import REVERSIBILITY_TEXT

RED, AMBER, MUTED = palette.BAD_RED, palette.WARN_AMBER, palette.MUTED_TEXT


def downtime_html(nodes: int | None) -> str:
    """What each rollout strategy costs in downtime, qualitatively: no durations are known."""
    rolling = "none for the cluster; one node at a time is out of service"
    if nodes == 1:
        rolling += " (this profile has one node: it is down during each hop)"
    return (
        "<h4>Downtime by strategy</h4><ul>"
        "<li><b>Blue-green:</b> near zero: a traffic switch between two environments.</li>"
        f"<li><b>Rolling:</b> {rolling}.</li>"
        "<li><b>Canary:</b> none: traffic moves in steps (5% → 20% → … → 100%) while metrics "
        "and error rates are watched.</li></ul>"
        f"<p style='color:{MUTED}'>How long a hop takes is not known: the release catalogue "
        "holds no timings. Measure each hop in staging.</p>"
    )


def _count(value: int) -> str:
    return f"<b style='color:{AMBER}'>{value}</b>" if value else f"<b>{value}</b>"


def contested_html(plan: Plan) -> str:
    """The plan's contested stops, each with its evidence and a link to confirm (or take
    back) that the admin has that release: `confirm:<version>` / `unconfirm:<version>`."""
    hops = [h for h in plan.hops if h.target.status == "contested"]
    if not hops:
        return ""
    rows = []
    for hop in hops:
        text = escape(hop.target.text)
        if hop.confirmed:
            action = (
                f"<b>confirmed by you</b> (<a href='unconfirm:{text}'>I do not have {text}</a>)"
            )
        else:
            action = f"<a href='confirm:{text}'>I have {text}</a>"
        rows.append(
            f"<li><b>{text}</b> may never have been released: {escape(hop.target.evidence)}"
            f"<br><span style='color:{MUTED}'>Sources: {escape(', '.join(hop.target.source))}"
            f"</span><br>{action}</li>"
        )
    missing = len(plan.unconfirmed)
    head = (
        f"{missing} contested stop(s) to confirm: check that you can install each before "
        "starting. Do not stop at a release you cannot get: plan a skip-level hop over its "
        "line instead."
        if missing
        else "Contested stops: you confirmed you have each."
    )
    colour = AMBER if missing else MUTED
    return f"<p style='color:{colour}'><b>{head}</b></p><ul>{''.join(rows)}</ul>"


class PlanSummary(QTextBrowser):
    """Shows one `Plan`, or a hint or error when there is none. A click on a contested
    stop's link emits `sig_confirm(version, have)`: the page plans again with it."""

    sig_confirm = Signal(str, bool)  # version, whether the admin has it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("planSummary")
        self.setOpenLinks(False)
        self.plan: Plan | None = None
        self._plan_html = ""  # the plan as shown, before its predicted durations
        self.anchorClicked.connect(self._on_self_anchor_clicked)
        self.show_hint("Type the version you run in From, or connect to a server.")

    def _on_self_anchor_clicked(self, url: QUrl) -> None:
        action, _, version = url.toString().partition(":")
        if action in ("confirm", "unconfirm") and version:
            self.sig_confirm.emit(version, action == "confirm")

    def show_hint(self, text: str) -> None:
        self.plan = None
        self.setHtml(f"<h3>Upgrade plan</h3><p style='color:{MUTED}'>{escape(text)}</p>")

    def show_error(self, text: str) -> None:
        self.plan = None
        self.setHtml(f"<h3>Upgrade plan</h3><p style='color:{RED}'>{escape(text)}</p>")

    def show_plan(self, plan: Plan, nodes: int | None = None) -> None:
        self.plan = plan
        hops = plan.hops
        parts = [f"<h3>Upgrade plan: {escape(plan.current.text)} → {escape(plan.target.text)}</h3>"]
        if hops:
            kind = {"skip-level": " (skip-level)", "patch": " (patch upgrade)"}.get(
                hops[0].kind, ""
            )
            needing = sum(h.guide != "not-needed" for h in hops)
            missing = plan.guides_missing
            parts.append(
                "<table cellspacing='0' cellpadding='2'>"
                f"<tr><td>Hops</td><td><b>{len(hops)}</b>{kind}</td></tr>"
                "<tr><td>Upstream guides missing&nbsp;</td>"
                f"<td>{_count(missing)} of {needing}</td></tr>"
                f"<tr><td>Breaking changes&nbsp;</td><td>{_count(plan.breaking_changes)} on the "
                "way</td></tr></table>"
            )
            parts.append(self._point_of_no_return(plan))
        parts.append(contested_html(plan))
        if plan.warnings:
            rows = "".join(f"<li>{escape(w)}</li>" for w in plan.warnings)
            parts.append(f"<p style='color:{AMBER}'><b>Warnings</b></p><ul>{rows}</ul>")
        if plan.skip_level:
            rows = "".join(f"<li>{escape(c)}</li>" for c in plan.conditions)
            parts.append(f"<p><b>If you skip levels anyway:</b></p><ol>{rows}</ol>")
        if hops:
            parts.append(downtime_html(nodes))
        self._plan_html = "".join(parts)
        self.setHtml(self._plan_html)

    def show_prediction(self, html: str) -> None:
        """The plan's predicted durations (`widgets/plan_prediction.py`) under the plan."""
        if self.plan is not None:
            self.setHtml(self._plan_html + html)

    @staticmethod
    def _point_of_no_return(plan: Plan) -> str:
        at = plan.point_of_no_return
        if at is None:
            return (
                "<p><b>Point of no return:</b> none. Every hop can be undone by reinstalling the "
                "previous binary.</p>"
            )
        hop = plan.hops[at]
        return (
            f"<p><b>Point of no return:</b> <span style='color:{RED}'>hop {at + 1}, "
            f"{escape(hop.title)}</span>. From there on, rolling back means: "
            f"{REVERSIBILITY_TEXT[hop.reversibility]}.</p>"
        )
