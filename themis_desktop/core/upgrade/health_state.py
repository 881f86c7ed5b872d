"""One health state for an upgrade session and for each of its hops, derived from
everything that judges them; the worst evidence wins and every piece is listed as a reason.

    healthy   nothing wrong is known, and the evidence is there
    watch     nothing wrong is known, but evidence is missing or asks for attention (not
              validated yet, no metrics verdict, a marginal one, errors in the logs, a
              trigger acknowledged, the rollback window past "easy", a hop rolled back)
    degraded  a measured degradation: the metrics verdict fails (hop or path baseline)
    failing   a failed upgrade step or validation, a rollback that stopped half-way, or
              a raised trigger nobody has acknowledged yet

The evidence: the hop's state (validation passed or failed, a rollback), the metrics
verdict (live in the app, else the last one recorded in the journal), the rollback triggers
raised and acknowledged (the log watch and a failing verdict raise them too), the errors in
the nodes' logs since the upgrade, and the rollback-window band. The header badge, the hop
tree, the session page, its banner, `session status` and the report all show this state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from themis_desktop.core.journal.store import Journal, parse_utc
from themis_desktop.core.logs.store import phase_counts
from themis_desktop.core.logs.watch import UPGRADED_PHASES
from themis_desktop.core.upgrade.rollback_window import window
from themis_desktop.core.upgrade.session import Hop, Trigger, UpgradeSession

if TYPE_CHECKING:
    from themis_desktop.core.metrics.verdict import Evaluation

LEVELS = ("healthy", "watch", "degraded", "failing")
TITLES = {"healthy": "Healthy", "watch": "Watch", "degraded": "Degraded", "failing": "Failing"}
COLOURS = {  # foreground, background
    "healthy": ("#1f7a3a", "#e3f4e8"),
    "watch": ("#8a5a00", "#fff2d6"),
    "degraded": ("#c2410c", "#ffe8d9"),
    "failing": ("#a4161a", "#fde2e1"),
}


@dataclass(frozen=True)
class Reason:
    level: str
    text: str
    source: str = ""  # "hop", "metrics", "trigger", "logs", "window"


@dataclass(frozen=True)
class Health:
    level: str
    reasons: tuple[Reason, ...] = ()  # worst first

    @property
    def title(self) -> str:
        return TITLES[self.level]

    @property
    def colour(self) -> str:
        return COLOURS[self.level][0]

    @property
    def background(self) -> str:
        return COLOURS[self.level][1]

    @property
    def headline(self) -> str:
        """The worst reason (what the state rests on)."""
        return self.reasons[0].text if self.reasons else ""

    def describe(self) -> str:
        """`Degraded: reason; reason`."""
        worst = [r.text for r in self.reasons if r.level == self.level]
        return f"{self.title}: {'; '.join(worst)}" if worst else self.title


@dataclass(frozen=True)
class SessionHealth(Health):
    hops: Mapping[int, Health] = field(default_factory=dict)  # by hop id
    open_triggers: tuple[Trigger, ...] = ()  # raised, not acknowledged, hop not rolled back


@dataclass(frozen=True)
class VerdictSeen:
    """What the metrics said: the overall verdict, when, and its one-line summary."""

    overall: str  # pass / marginal / fail / no data
    at: float  # unix time
    summary: str = ""
    since: float | None = None  # when this verdict was adopted (the hold's start)


@dataclass
class Evidence:
    """What the journal holds about a session, for `assess`."""

    triggers: list[Trigger] = field(default_factory=list)
    failures: dict[int, str] = field(default_factory=dict)  # hop id -> its last failure
    verdicts: list[VerdictSeen] = field(default_factory=list)  # recorded, oldest first
    log_counts: dict[int, dict[str, dict[str, int]]] = field(default_factory=dict)


def gather(journal: Journal, session: UpgradeSession) -> Evidence:
    """The evidence about `session` kept in the journal."""
    failures = {}
    for event in journal.events(session_id=session.id, types=["hop.failed"]):
        hop = (event.data or {}).get("hop")
        if hop is not None:
            failures[hop] = event.message
    verdicts = [
        VerdictSeen(
            str(e.data.get("overall", "no data")),
            parse_utc(e.ts).timestamp(),
            e.message,
        )
        for e in journal.events(types=["metrics.verdict"])
        if e.data
        and e.data.get("profile") == session.profile
        and e.ts >= session.session.created_at
    ]
    return Evidence(
        session.triggers(journal), failures, verdicts, phase_counts(journal, session.id)
    )


def seen(evaluation: Evaluation | None) -> VerdictSeen | None:
    """A live `metrics_verdict.Evaluation` (the one shown, after its hold) as evidence."""
    if evaluation is None:
        return None
    trigger = evaluation.trigger
    summary = trigger.summary if trigger else (evaluation.inconclusive or "")
    return VerdictSeen(evaluation.overall, evaluation.at, summary)


def assess(
    session: UpgradeSession,
    evidence: Evidence,
    *,
    live: VerdictSeen | None = None,
    log_counts: dict[int, dict[str, dict[str, int]]] | None = None,
    now: datetime | None = None,
) -> SessionHealth:
    """The session's health and each hop's. `live` is the metrics verdict shown now (it
    judges the hop a rollback would undo); `log_counts` the live counts if fresher."""
    now = now or datetime.now(UTC)
    counts = log_counts if log_counts is not None else evidence.log_counts
    judged = session.rollback_hop
    hops: dict[int, Health] = {}
    for hop in session.hops:
        is_judged = judged is not None and hop.id == judged.id
        hops[hop.id] = _hop_health(
            session, hop, evidence, live if is_judged else None, counts, now, is_judged
        )
    rolled = {h.id for h in session.hops if h.state == "rolled-back"}
    open_triggers = tuple(
        t for t in evidence.triggers if t.open and (t.hop not in rolled or t.after_rollback)
    )
    reasons: list[Reason] = []
    several = len(session.hops) > 1
    for hop in session.hops:
        if hop.state in ("planned",) and not _triggers_of(evidence, hop):
            continue
        for reason in hops[hop.id].reasons:
            text = f"{hop.label}: {reason.text}" if several else reason.text
            reasons.append(Reason(reason.level, text, reason.source))
    if not reasons:
        reasons.append(Reason("healthy", "no hop upgraded yet", "hop"))
    ordered = _worst_first(reasons)
    return SessionHealth(ordered[0].level, ordered, hops, open_triggers)


def _hop_health(
    session: UpgradeSession,
    hop: Hop,
    evidence: Evidence,
    live: VerdictSeen | None,
    counts: dict[int, dict[str, dict[str, int]]],
    now: datetime,
    judged: bool,
) -> Health:
    """A hop's health; the metrics verdict, the logs and the window count for the hop a
    rollback would undo (`judged`), an earlier hop keeps the verdict it ended with."""
    reasons = [_state_reason(hop, evidence)]
    rolled_back = hop.state == "rolled-back"
    for trigger in _triggers_of(evidence, hop):
        reasons.append(_trigger_reason(trigger, rolled_back and not trigger.after_rollback))
    verdict = live or _recorded_verdict(session, hop, evidence)
    if hop.finished_at and not rolled_back and (judged or verdict is not None):
        reasons.append(_verdict_reason(verdict))
    if judged and hop.finished_at:
        errors = sum(
            levels.get("error", 0) + levels.get("critical", 0)
            for phase, levels in counts.get(hop.id, {}).items()
            if phase in UPGRADED_PHASES
        )
        if errors:
            reasons.append(
                Reason(
                    "watch",
                    f"{errors} error line(s) in the nodes' logs since the upgrade (Logs page)",
                    "logs",
                )
            )
        if hop.finished is not None and hop.state != "rolling-back":
            state = window(hop.finished, now)
            band = state.band
            if band.key == "easy":
                reasons.append(Reason("healthy", "rollback window: easy", "window"))
            else:
                reasons.append(Reason("watch", f"{band.title}: {band.meaning}", "window"))
    ordered = _worst_first(reasons)
    return Health(ordered[0].level, ordered)


def _state_reason(hop: Hop, evidence: Evidence) -> Reason:
    state = hop.state
    if state in ("planned", "pre-checks", "backed-up"):
        return Reason("healthy", "not upgraded yet", "hop")
    if state == "upgrading":
        return Reason("watch", "the upgrade step is running (or was interrupted)", "hop")
    if state == "validating":
        return Reason("watch", f"{hop.to_version} answers; not validated yet (Validate)", "hop")
    if state == "done":
        return Reason("healthy", "validated", "hop")
    if state == "rolling-back":
        return Reason(
            "failing",
            "a rollback started and did not finish: run Roll back now again",
            "hop",
        )
    if state == "rolled-back":
        note = f": {hop.note}" if hop.note else ""
        return Reason("watch", f"rolled back to {hop.from_version}{note}", "hop")
    failure = evidence.failures.get(hop.id, "failed")
    if hop.started_at:
        return Reason("failing", failure, "hop")
    return Reason("watch", f"{failure} (before the upgrade: nothing was changed)", "hop")


def _triggers_of(evidence: Evidence, hop: Hop) -> list[Trigger]:
    return [t for t in evidence.triggers if t.hop == hop.id]


def _trigger_reason(trigger: Trigger, rolled_back: bool) -> Reason:
    who = f"({trigger.user}, {_clock(trigger.at)}): {trigger.note}"
    if rolled_back:
        return Reason("healthy", f"{trigger.title}, answered by the rollback {who}", "trigger")
    if trigger.acknowledged is None:
        return Reason("failing", f"{trigger.title}, not acknowledged {who}", "trigger")
    ack = trigger.acknowledged
    return Reason(
        "watch",
        f"{trigger.title}, acknowledged by {ack.user} ({_clock(ack.at)}): {ack.note}",
        "trigger",
    )


def _recorded_verdict(session: UpgradeSession, hop: Hop, evidence: Evidence) -> VerdictSeen | None:
    """The last verdict recorded while `hop` was the newest upgraded one."""
    start = hop.finished.timestamp() if hop.finished else None
    if start is None:
        return None
    following = [h.started_at for h in session.hops if h.position > hop.position and h.started_at]
    end = parse_utc(following[0]).timestamp() if following else float("inf")
    inside = [v for v in evidence.verdicts if start <= v.at < end]
    return inside[-1] if inside else None


def _verdict_reason(verdict: VerdictSeen | None) -> Reason:
    if verdict is None:
        return Reason(
            "watch",
            "no metrics verdict yet (a baseline is captured when the upgrade step starts; "
            "Metrics page)",
            "metrics",
        )
    summary = f": {verdict.summary}" if verdict.summary else ""
    level = {"pass": "healthy", "marginal": "watch", "fail": "degraded"}.get(
        verdict.overall, "watch"
    )
    if verdict.overall in ("no data", "inconclusive"):  # wait for evidence, never a pass
        summary = summary.replace(": inconclusive: ", ": ", 1)
        return Reason("watch", f"metrics verdict inconclusive{summary}", "metrics")
    if verdict.overall == "pass":
        summary = ""
    return Reason(level, f"metrics verdict {verdict.overall.upper()}{summary}", "metrics")


def _worst_first(reasons: list[Reason]) -> tuple[Reason, ...]:
    return tuple(sorted(reasons, key=lambda r: -LEVELS.index(r.level)))


def _clock(iso: str) -> str:
    """`2026-11-26T12:03:04.123Z` as local `12:03`."""
    try:
        return parse_utc(iso).astimezone().strftime("%H:%M")
    except ValueError:
        return iso
