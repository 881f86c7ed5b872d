"""The check after a rollback: is the restored cluster as it was before the hop?

After every rollback the GUI (session page) and the command line (`session rollback`,
`session verify-rollback`) call `verify_rollback`: it samples every node of the profile
for a set time (`metrics.soak`, `DEFAULT_SECONDS` unless configured; 0 skips the check
with a journaled note) and judges the samples against the hop's pre-upgrade reference
with the metrics verdict (`metrics.verdict.evaluate`), the same rule a hop is judged by.

The reference (`reference_for`), in this order: the hop's own baseline (`baseline_id`),
the baseline the session page captured before the hop's upgrade step ("before <hop>"),
else the samples the journal holds of the `BEFORE_WINDOW_S` before the hop started (said
so); without any, the outcome is "no baseline" and nothing is sampled: there is nothing
to compare with, and that is said rather than a pass.

Every outcome is one `rollback.verified` event of the session with the per-metric
evidence. A failing check raises the "post-rollback" trigger of the hop (a rollback does
not answer it: it stays open until acknowledged); inconclusive stays inconclusive, with
the samples it still needed, never a pass. `latest` reads the newest check of a hop back
(`session status --json`, the session page), `report_html` renders it in the report.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from themis_desktop.core.journal.store import Event, Journal, parse_utc, utc_now
from themis_desktop.core.metrics import store as metrics_store
from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.metrics.comparison import MIN_SAMPLES
from themis_desktop.core.metrics.soak import close_clients, open_clients, soak
from themis_desktop.core.metrics.verdict import Evaluation, describe, evaluate, pooled
from themis_desktop.core.upgrade.session import Hop, SessionError, UpgradeSession
from themis_desktop.core.util.changes import Topic
from themis_desktop.core.util.formatting import format_quantity, human_duration

if TYPE_CHECKING:
    from themis_desktop.core.upgrade.hop_runner import HopContext

logger = logging.getLogger(__name__)

EVENT = "rollback.verified"
TRIGGER = "post-rollback"
TRIGGER_USER = "post-rollback check"
DEFAULT_SECONDS = 120.0  # sampling after a rollback unless configured (0 skips)
BEFORE_WINDOW_S = 15 * 60.0  # without a baseline: the samples of this window before the hop
SAMPLE_INTERVAL_S = 1.0
# outcome -> `session verify-rollback` exit code: only a pass is 0; marginal (a change near
# the band's edge), inconclusive, no data, no baseline and skipped are no pass either
PASSED = ("pass",)
FAILED = ("fail",)

Progress = Callable[[float, float], None]  # seconds sampled, seconds planned


@dataclass(frozen=True)
class Reference:
    """What the restored cluster is compared with: pooled metric -> values."""

    values: dict[str, list[float]]
    source: str  # "baseline", "samples" or "none"
    description: str
    baseline_id: int | None = None
    window: tuple[float, float] | None = None  # unix seconds

    @property
    def empty(self) -> bool:
        return not any(self.values.values())


@dataclass(frozen=True)
class RollbackCheck:
    """One post-rollback check as journaled (`rollback.verified`)."""

    session_id: int
    hop_id: int
    hop_label: str
    verdict: str  # pass, marginal, fail, inconclusive, no data, no baseline, skipped
    summary: str
    reference: str  # what it was compared with, in words
    reference_source: str  # "baseline", "samples", "none"
    seconds: float  # sampled
    requested_seconds: float
    min_samples: int
    at: str
    needed: int = 0  # more samples after the rollback a verdict needed (inconclusive)
    inconclusive: str | None = None
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    nodes: tuple[str, ...] = ()
    cancelled: bool = False
    trigger_id: int | None = None
    event_id: int | None = None

    @property
    def passed(self) -> bool:
        return self.verdict in PASSED

    @property
    def failed(self) -> bool:
        return self.verdict in FAILED

    @property
    def headline(self) -> str:
        """One line: the verdict and why."""
        return f"Post-rollback check of {self.hop_label}: {self.verdict.upper()} — {self.summary}"

    def as_json(self) -> dict[str, Any]:
        return {
            "hop": self.hop_id,
            "hop_label": self.hop_label,
            "verdict": self.verdict,
            "summary": self.summary,
            "reference": {"source": self.reference_source, "description": self.reference},
            "seconds": self.seconds,
            "requested_seconds": self.requested_seconds,
            "min_samples": self.min_samples,
            "needed": self.needed,
            "inconclusive": self.inconclusive,
            "cancelled": self.cancelled,
            "nodes": list(self.nodes),
            "metrics": self.metrics,
            "trigger": self.trigger_id,
            "at": self.at,
            "event": self.event_id,
        }

    def lines(self) -> list[str]:
        """The check in plain text: the headline, the reference, each judged metric."""
        out = [self.headline, f"  compared with: {self.reference}"]
        if self.verdict not in ("skipped", "no baseline"):
            took = human_duration(self.seconds)
            out.append(
                f"  sampled {took} of {', '.join(self.nodes) or 'no node'}"
                + (" (cancelled)" if self.cancelled else "")
            )
        if self.inconclusive:
            out.append(f"  {self.inconclusive}")
        for key, value in self.metrics.items():
            if value.get("verdict") in ("no data",):
                continue
            title = METRICS[key].title if key in METRICS else key
            out.append(f"  {title:<22} {value.get('verdict', ''):<12} {value.get('reason', '')}")
        if self.trigger_id is not None:
            out.append(f"  trigger {self.trigger_id} raised: {TRIGGER}")
        return out


def reference_for(journal: Journal, session: UpgradeSession, hop: Hop) -> Reference:
    """What the hop's post-rollback check compares with (see the module docstring)."""
    profile = session.profile or ""
    found = {b.id: b for b in metrics_store.baselines(journal, profile)}
    baseline = found.get(hop.baseline_id) if hop.baseline_id is not None else None
    started = parse_utc(hop.started_at).timestamp() if hop.started_at else None
    if baseline is None and started is not None:
        label = f"before {hop.label}"
        baseline = next(  # the one the session page captured before the upgrade step
            (
                b
                for b in found.values()  # newest first
                if b.kind == "hop"
                and b.label == label
                and b.created_at >= session.session.created_at
                and b.start <= started
            ),
            None,
        )
    if baseline is not None:
        values = pooled(baseline.data)
        when = human_duration(max(0.0, baseline.end - baseline.start))
        return Reference(
            values,
            "baseline",
            f"baseline {baseline.id} ({baseline.label or baseline.kind}, {when} of samples)",
            baseline.id,
            (baseline.start, baseline.end),
        )
    if started is None:
        return Reference({}, "none", f"no baseline: hop {hop.label} never started")
    start = started - BEFORE_WINDOW_S
    values = pooled(metrics_store.window_values(journal, profile, start, started))
    minutes = f"{BEFORE_WINDOW_S / 60:g} min"
    if any(values.values()):
        return Reference(
            values,
            "samples",
            f"no baseline was captured for {hop.label}: the journal's samples of the {minutes} "
            "before the hop started",
            None,
            (start, started),
        )
    return Reference(
        {},
        "none",
        f"no baseline: none was captured for {hop.label} and the journal holds no samples of "
        f"the {minutes} before the hop started",
    )


def verify_rollback(
    ctx: HopContext,
    session: UpgradeSession,
    hop: Hop,
    *,
    seconds: float = DEFAULT_SECONDS,
    min_samples: int = MIN_SAMPLES,
    interval: float = SAMPLE_INTERVAL_S,
    progress: Progress | None = None,
    cancelled: threading.Event | None = None,
) -> RollbackCheck:
    """Check the restored cluster of rolled-back `hop` against its pre-upgrade reference
    for `seconds` (0: skipped, journaled); journal the outcome, raise the trigger on a
    fail. `cancelled` (default `ctx.cancelled`) stops the sampling early: what was sampled
    is judged and the check says it was cancelled."""
    if seconds < 0:
        raise SessionError(f"The check after a rollback needs 0 seconds or more, not {seconds}.")
    with ctx.journal() as journal:
        session = session.reload(journal)
        hop = session.hop(hop.id)
        if hop.state != "rolled-back":
            raise SessionError(
                f"Hop {hop.label} is {hop.state}, not rolled back: there is nothing to check "
                "after a rollback yet."
            )
        reference = reference_for(journal, session, hop)
    names = tuple(n.name for n in ctx.profile.nodes)
    base: dict[str, Any] = {
        "session_id": session.id,
        "hop_id": hop.id,
        "hop_label": hop.label,
        "reference": reference.description,
        "reference_source": reference.source,
        "requested_seconds": float(seconds),
        "min_samples": min_samples,
        "nodes": names,
    }
    if seconds == 0:
        check = RollbackCheck(
            verdict="skipped",
            summary="the check after the rollback was skipped (0 seconds asked); the restored "
            "cluster was not compared with its baseline",
            seconds=0.0,
            at=utc_now(),
            **base,
        )
        return _record(ctx, session, hop, check, None)
    if reference.empty:
        check = RollbackCheck(
            verdict="no baseline",
            summary=f"{reference.description}: nothing to compare the restored cluster with",
            seconds=0.0,
            at=utc_now(),
            **base,
        )
        return _record(ctx, session, hop, check, None)
    ctx.log(
        f"Checking the restored cluster for {human_duration(seconds)} against the "
        f"{reference.description}"
    )
    stop = cancelled if cancelled is not None else ctx.cancelled
    endpoints = {n.name: n for n in ctx.profile.nodes}
    clients = open_clients(
        {name: name for name in endpoints},
        lambda name: ctx.profile.client(endpoints[str(name)], ctx.token, timeout=2.0),
    )
    begun = time.time()
    try:
        result = soak(
            clients,
            seconds,
            interval=interval,
            cancel=stop,
            progress=(lambda left: progress(max(0.0, seconds - left), seconds))
            if progress is not None
            else None,
            version_overrides={n.name: n.version_override for n in ctx.profile.nodes},
        )
    finally:
        close_clients(clients)
    evaluation = evaluate(
        reference.values,
        result.pooled(),
        min_samples=min_samples,
        window=(begun, begun + result.seconds),
    )
    check = RollbackCheck(
        verdict=evaluation.overall,
        summary=_summary(evaluation, result.cancelled, result.seconds),
        seconds=result.seconds,
        at=utc_now(),
        needed=evaluation.needed,
        inconclusive=evaluation.inconclusive,
        metrics=_metrics(evaluation),
        cancelled=result.cancelled,
        **base,
    )
    return _record(ctx, session, hop, check, evaluation)


def _summary(evaluation: Evaluation, cancelled: bool, sampled: float) -> str:
    cut = f" (cancelled after {human_duration(sampled)})" if cancelled else ""
    trigger = evaluation.trigger
    if evaluation.overall == "fail" and trigger is not None:
        return f"the restored cluster is worse than before the hop: {trigger.summary}{cut}"
    if evaluation.waits:
        return (evaluation.inconclusive or "too little evidence for a verdict") + cut
    if evaluation.overall == "marginal":
        near = [v.metric for v in evaluation.verdicts if v.verdict == "marginal"]
        return f"near the tolerance band's edge: {', '.join(near)}{cut}"
    return f"the restored cluster performs as before the hop{cut}"


def _metrics(evaluation: Evaluation) -> dict[str, dict[str, Any]]:
    """Per metric: the evidence of its verdict (as `verdict.record` keeps it)."""
    return {
        v.metric: {
            "verdict": v.verdict,
            "baseline_median": v.hop.baseline_median,
            "now_median": v.hop.now_median,
            "change": v.hop.change,
            "p_value": v.hop.p_value,
            "n": [v.hop.n_before, v.hop.n_after],
            "needed": v.hop.needed,
            "shift": v.hop.shift,
            "interval": list(v.hop.interval) if v.hop.interval else None,
            "band": v.hop.band,
            "reason": v.hop.reason,
        }
        for v in evaluation.verdicts
    }


def _record(
    ctx: HopContext,
    session: UpgradeSession,
    hop: Hop,
    check: RollbackCheck,
    evaluation: Evaluation | None,
) -> RollbackCheck:
    """Journal `check` (and on a fail raise the post-rollback trigger first)."""
    trigger_id = None
    with ctx.journal() as journal:
        if check.failed and evaluation is not None and evaluation.trigger is not None:
            found = evaluation.trigger
            evidence: dict[str, Any] = dict(found.evidence)
            evidence.update({"hop": hop.id, "check": "post-rollback"})
            raised = session.raise_trigger(
                journal,
                TRIGGER,
                f"After the rollback of {hop.label}: {describe_worst(evaluation)}",
                evidence=evidence,
                user=TRIGGER_USER,
                hop=hop,
            )
            trigger_id = raised.id
        check = _with(check, trigger_id=trigger_id)
        data = check.as_json()
        data.pop("event")
        event = session.log(journal, EVENT, check.headline, data=data)
    ctx.changed.add(Topic.SESSIONS, Topic.EVENTS)
    logger.info("Session %s: %s", session.id, check.headline)
    for line in check.lines():
        ctx.log(line)
    return _with(check, event_id=event)


def describe_worst(evaluation: Evaluation) -> str:
    """The failing metric that raised the trigger, in one sentence."""
    worst = next(
        (
            v
            for v in evaluation.failing
            if evaluation.trigger is not None and v.metric == evaluation.trigger.metric
        ),
        None,
    )
    return describe(worst) if worst is not None else "a metric failed"


def _with(check: RollbackCheck, **changes: Any) -> RollbackCheck:
    from dataclasses import replace

    return replace(check, **changes)


def from_event(event: Event) -> RollbackCheck:
    """A journaled `rollback.verified` event as a `RollbackCheck`."""
    data = event.data or {}
    reference = data.get("reference") or {}
    return RollbackCheck(
        session_id=event.session_id or 0,
        hop_id=int(data.get("hop") or 0),
        hop_label=str(data.get("hop_label") or ""),
        verdict=str(data.get("verdict") or "?"),
        summary=str(data.get("summary") or event.message),
        reference=str(reference.get("description") or ""),
        reference_source=str(reference.get("source") or ""),
        seconds=float(data.get("seconds") or 0.0),
        requested_seconds=float(data.get("requested_seconds") or 0.0),
        min_samples=int(data.get("min_samples") or MIN_SAMPLES),
        at=str(data.get("at") or event.ts),
        needed=int(data.get("needed") or 0),
        inconclusive=data.get("inconclusive"),
        metrics=dict(data.get("metrics") or {}),
        nodes=tuple(data.get("nodes") or ()),
        cancelled=bool(data.get("cancelled")),
        trigger_id=data.get("trigger"),
        event_id=event.id,
    )


def checks(journal: Journal, session: UpgradeSession) -> list[RollbackCheck]:
    """Every post-rollback check of the session, oldest first."""
    return [from_event(e) for e in journal.events(session_id=session.id, types=[EVENT])]


def latest(
    journal: Journal, session: UpgradeSession, hop: Hop | None = None
) -> RollbackCheck | None:
    """The newest post-rollback check of `hop` (any hop of the session when None)."""
    found = [c for c in checks(journal, session) if hop is None or c.hop_id == hop.id]
    return found[-1] if found else None


def checked_hop(session: UpgradeSession) -> Hop | None:
    """The hop a post-rollback check judges: the session's rolled-back hop."""
    return session.rolled_back


# -- the report --------------------------------------------------------------------------


def report_html(events: list[Event], hop: Hop, escape: Callable[[object], str]) -> str:
    """The hop's post-rollback checks for the session report ("" when it has none): the
    newest with its per-metric evidence, earlier ones as one line each. `escape` makes a
    text safe (the report's scrubbing escape)."""
    found = [
        from_event(e) for e in events if e.type == EVENT and (e.data or {}).get("hop") == hop.id
    ]
    if not found:
        return ""
    last = found[-1]
    css = {"fail": "bad", "marginal": "warn", "pass": ""}.get(last.verdict, "warn")
    took, asked = human_duration(last.seconds), human_duration(last.requested_seconds)
    parts = [
        "<h3>Check after the rollback</h3>",
        f"<p>{escape(last.at)}: <b class='{css}'>{escape(last.verdict.upper())}</b> — "
        f"{escape(last.summary)}</p>",
        f"<p class='muted'>Compared with: {escape(last.reference)}. Sampled "
        f"{escape(took)} of {escape(asked)}"
        f" asked, at least {last.min_samples} samples a side"
        + (", cancelled" if last.cancelled else "")
        + (f"; trigger {last.trigger_id} raised" if last.trigger_id is not None else "")
        + ".</p>",
    ]
    if last.inconclusive:
        parts.append(f"<p>{escape(last.inconclusive)}</p>")
    rows = [_metric_row(key, value, escape) for key, value in last.metrics.items()]
    if any(rows):
        parts.append(
            "<table border='1'><tr><th>Metric</th><th>Before the hop</th><th>After the "
            "rollback</th><th>Change</th><th>Samples (before / after)</th><th>Verdict</th>"
            f"<th>Why</th></tr>{''.join(rows)}</table>"
        )
    for earlier in found[:-1]:
        parts.append(
            f"<p class='muted'>Earlier: {escape(earlier.at)} {escape(earlier.verdict)} — "
            f"{escape(earlier.summary)}</p>"
        )
    return "".join(parts)


def _metric_row(key: str, value: Mapping[str, Any], escape: Callable[[object], str]) -> str:
    if value.get("verdict") == "no data":
        return ""
    info = METRICS.get(key)
    unit = info.unit if info else ""

    def quantity(x: object) -> str:
        return format_quantity(x, unit) if isinstance(x, int | float) else "—"

    change = value.get("change")
    n = value.get("n") or [0, 0]
    verdict = str(value.get("verdict", ""))
    css = {"fail": "bad", "marginal": "warn"}.get(verdict, "")
    return (
        f"<tr><td>{escape(info.title if info else key)}</td>"
        f"<td>{escape(quantity(value.get('baseline_median')))}</td>"
        f"<td>{escape(quantity(value.get('now_median')))}</td>"
        f"<td>{escape(f'{change:+.1%}' if isinstance(change, int | float) else '—')}</td>"
        f"<td>{escape(f'{n[0]} / {n[1]}')}</td>"
        f"<td class='{css}'>{escape(verdict)}</td><td>{escape(value.get('reason', ''))}</td></tr>"
    )
