"""The upgrade's side of the log watch: the hop phase a profile's log lines belong to now,
and the rollback trigger a burst of errors raises. `logs.watch.LogWatch` is given both
(`phase_of=current_phase, raise_trigger=raise_burst_trigger`), so the log package needs
no upgrade session."""

from __future__ import annotations

import time

from themis_desktop.core.journal.store import Journal, parse_utc
from themis_desktop.core.logs.watch import WATCH_AFTER_S, Burst, HopPhase
from themis_desktop.core.upgrade.session import EVENT_OF_STATE, UpgradeSession


def current_phase(journal: Journal, profile: str) -> HopPhase | None:
    """The phase of the profile's newest session, or None when there is none to count for."""
    session = UpgradeSession.latest_for(journal, profile)
    if session is None:
        return None
    hop = session.current
    if hop is None or (hop.state == "planned" and session.previous(hop) is not None):
        hop = session.rolled_back or session.last_finished or hop
    if hop is None:
        return None
    upgraded = hop.finished.timestamp() if hop.finished else None
    if hop.state == "done" and upgraded is not None and time.time() - upgraded > WATCH_AFTER_S:
        return None  # past the rollback window: the hop is history
    transitions = tuple(
        (parse_utc(e.ts).timestamp(), e.data["to"])
        for e in journal.events(session_id=session.id, types=set(EVENT_OF_STATE.values()))
        if e.data and e.data.get("hop") == hop.id and "to" in e.data
    )
    return HopPhase(session.id, hop.id, hop.label, hop.state, upgraded, transitions)


def raise_burst_trigger(journal: Journal, burst: Burst) -> None:
    """Raise the failed-validation trigger of the burst's session, with its evidence."""
    session = UpgradeSession.load(journal, burst.phase.session_id)
    session.raise_trigger(
        journal, "failed-validation", burst.note, evidence=burst.evidence(), user="log watch"
    )
