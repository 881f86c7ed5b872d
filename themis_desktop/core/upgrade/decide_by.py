"""Decide by: when the metrics evidence will be enough, and when the rollback band the hop
is in ends (`rollback_window`), so the admin knows the latest time to decide cheaply:

    inconclusive: 12 min more data; easy rollback ends in 41 min — decide by 15:07

When the evidence cannot be complete before the band changes, a warning says so: decide
on what there is, or accept the next band's rollback. Pure functions of their inputs
(times passed in), so every boundary is testable with a fixed clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from themis_desktop.core.journal.store import Journal, parse_utc
from themis_desktop.core.metrics.verdict import Evaluation
from themis_desktop.core.upgrade.rollback_window import Band, window
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.core.util.formatting import human_duration


@dataclass(frozen=True)
class DecideBy:
    verdict: str
    evidence_in_s: float | None  # until enough evidence: 0 when it is; None at no known rate
    band: Band
    band_ends_in_s: float | None  # None in the last band (it never ends)
    next_band: Band | None
    decide_by: datetime | None  # when the current band ends
    warning: str | None  # the evidence cannot be complete before the band changes
    text: str

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "evidence_in_seconds": self.evidence_in_s,
            "band": self.band.key,
            "band_ends_in_seconds": self.band_ends_in_s,
            "next_band": self.next_band.key if self.next_band else None,
            "decide_by": self.decide_by.isoformat() if self.decide_by else None,
            "warning": self.warning,
            "text": self.text,
        }


def decide_by(
    verdict: str,
    needed: int,
    rate: float | None,
    upgraded_at: datetime,
    now: datetime,
) -> DecideBy:
    """`needed` more samples at `rate` samples a second, for a hop upgraded at
    `upgraded_at`, seen at `now` (both aware datetimes)."""
    state = window(upgraded_at, now)
    waiting = verdict in ("inconclusive", "no data")  # a verdict with enough evidence needs 0
    evidence_in = (needed / rate if needed > 0 and rate else None) if waiting else 0.0
    deadline = now + timedelta(seconds=state.to_next) if state.to_next is not None else None
    if evidence_in == 0.0:
        text = verdict
    elif evidence_in is None:
        missing = f"{needed} more samples" if needed > 0 else "samples on both sides"
        text = f"{verdict}: {missing} (no sample rate yet)"
    else:
        text = f"{verdict}: {human_duration(evidence_in)} more data"
    warning = None
    if deadline is None:
        text += f"; {state.band.title.lower()} — fix forward"
    else:
        assert state.to_next is not None and state.next_band is not None
        text += (
            f"; {state.band.title.lower()} ends in {human_duration(state.to_next)} — "
            f"decide by {deadline:%H:%M}"
        )
        if evidence_in is None or evidence_in > state.to_next:
            more = "at no known rate" if evidence_in is None else human_duration(evidence_in)
            warning = (
                f"the evidence cannot be complete before {state.band.title.lower()} ends "
                f"(it needs {more}, {human_duration(state.to_next)} left): decide on what "
                f"there is, or accept a {state.next_band.key} rollback"
            )
    return DecideBy(
        verdict, evidence_in, state.band, state.to_next, state.next_band, deadline, warning, text
    )


def for_evaluation(evaluation: Evaluation, upgraded_at: datetime, now: datetime) -> DecideBy:
    """`decide_by` for a live evaluation: what it still needs, at its own sample rate."""
    return decide_by(evaluation.overall, evaluation.needed, evaluation.rate, upgraded_at, now)


def for_record(data: Mapping[str, Any], upgraded_at: datetime, now: datetime) -> DecideBy:
    """`decide_by` for a verdict kept in the journal (`verdict.record`'s data)."""
    rate = data.get("rate")
    return decide_by(
        str(data.get("overall", "no data")),
        int(data.get("needed") or 0),
        float(rate) if isinstance(rate, int | float) else None,
        upgraded_at,
        now,
    )


def recorded_verdict(journal: Journal, session: UpgradeSession) -> dict[str, Any] | None:
    """The newest metrics verdict recorded for the session's profile since its last
    finished hop's new version answered (None: none yet, or no hop finished)."""
    last = session.last_finished
    if last is None or last.finished is None:
        return None
    seen = [
        e.data
        for e in journal.events(types=["metrics.verdict"])
        if e.data and e.data.get("profile") == session.profile and parse_utc(e.ts) >= last.finished
    ]
    return seen[-1] if seen else None


def for_session(
    session: UpgradeSession,
    record: Mapping[str, Any] | None,
    now: datetime,
    live: Evaluation | None = None,
) -> DecideBy | None:
    """`decide_by` for the session's last finished hop (None before any hop finished): from
    `live`, the verdict shown now if it judges that hop (evaluated since its upgrade step
    started; it is newer than any record), else from `record` (`recorded_verdict`; None: no
    data yet). `session status` and the session page both ask this."""
    last = session.last_finished
    if last is None or last.finished is None:
        return None
    started = parse_utc(last.started_at) if last.started_at else last.finished
    if live is not None and live.at >= started.timestamp():
        return for_evaluation(live, last.finished, now)
    return for_record(record or {"overall": "no data"}, last.finished, now)
