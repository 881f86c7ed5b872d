"""The steps allowed now with the hop's latest pre-flight (the session page's and `session
status`'s rule), and decide-by for a session (the page's and `session status --json`'s)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from themis_desktop.core.metrics.verdict import Evaluation
from themis_desktop.core.upgrade.decide_by import for_session
from themis_desktop.core.upgrade.preflight import CheckResult, Preflight
from themis_desktop.core.upgrade.session import Hop, UpgradeSession
from themis_desktop.core.upgrade.session_store import Session
from themis_desktop.core.upgrade.steps import steps_now

NOW = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)


def _session(state: str, finished: datetime | None = None) -> UpgradeSession:
    at = finished.strftime("%Y-%m-%dT%H:%M:%S.000Z") if finished else None
    hop = Hop(1, 1, 0, "1.8.2", "1.9.1", state, started_at=at, finished_at=at)
    return UpgradeSession(Session(1, 1, "1.8.2", "1.9.1", "in-progress", "x", "ann"), [hop], "p")


def _preflight(hop: Hop, *failed: tuple[str, str]) -> Preflight:
    results = [CheckResult("nodes", "blocking", "pass", "every node answers")]
    results += [CheckResult(name, severity, "fail", "no") for name, severity in failed]
    return Preflight(hop, tuple(results))


def test_a_blocked_pre_flight_holds_back_the_upgrade_step_and_names_its_checks():
    session = _session("backed-up")
    hop = session.hops[0]
    assert steps_now(session).allowed("upgrade")
    blocked = steps_now(session, _preflight(hop, ("backup", "blocking"), ("disk", "blocking")))
    assert not blocked.allowed("upgrade") and blocked.allowed("backup")
    assert blocked.why_not("upgrade").startswith(
        "The pre-flight of hop 1.8.2 → 1.9.1 is blocked by backup, disk: fix them"
    )
    assert steps_now(session, _preflight(hop, ("clients", "warning"))).allowed("upgrade")
    assert steps_now(session, _preflight(hop)).allowed("upgrade")


def test_the_state_of_the_hop_speaks_first():
    """Without a backup the upgrade step waits for that, whatever the pre-flight says."""
    session = _session("planned")
    steps = steps_now(session, _preflight(session.hops[0], ("backup", "blocking")))
    assert "has no verified backup yet" in steps.why_not("upgrade")


def test_another_hops_pre_flight_changes_nothing():
    session = _session("backed-up")
    other = Hop(2, 1, 1, "1.9.1", "2.0.0", "planned")
    assert steps_now(session, _preflight(other, ("backup", "blocking"))).allowed("upgrade")


def test_decide_by_for_a_session_from_the_record_or_a_newer_live_verdict():
    assert for_session(_session("backed-up"), None, NOW) is None  # nothing upgraded yet
    upgraded = NOW - timedelta(minutes=19)
    session = _session("validating", upgraded)
    none_yet = for_session(session, None, NOW)
    assert none_yet.verdict == "no data" and "decide by 14:41" in none_yet.text
    record = {"overall": "inconclusive", "needed": 720, "rate": 1.0}
    assert for_session(session, record, NOW).text.startswith("inconclusive: 12 min 0 s more data")
    live = Evaluation([], "pass", at=(NOW - timedelta(minutes=1)).timestamp())
    assert for_session(session, record, NOW, live).text.startswith("pass;")
    stale = Evaluation([], "pass", at=(upgraded - timedelta(minutes=1)).timestamp())
    assert for_session(session, record, NOW, stale).verdict == "inconclusive"
