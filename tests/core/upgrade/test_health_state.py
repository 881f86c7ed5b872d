"""One health state per hop and session, from all the evidence; the worst wins. And the
metrics verdict held steady, so it does not flap (issue 17, defect 4)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal, parse_utc
from themis_desktop.core.metrics import verdict as metrics_verdict
from themis_desktop.core.metrics.comparison import Comparison
from themis_desktop.core.metrics.verdict import Evaluation, MetricVerdict, VerdictHold
from themis_desktop.core.upgrade import health_state
from themis_desktop.core.upgrade.health_state import VerdictSeen, assess, gather
from themis_desktop.core.upgrade.session import SessionError, UpgradeSession
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade


@pytest.fixture
def journal(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal:
        yield journal


def _session(journal: Journal, to: str = "1.8") -> UpgradeSession:
    profile = Profile("lab", (NodeEndpoint("http://127.0.0.1:1", "n1"),))
    plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", to)
    return UpgradeSession.create(journal, profile, plan)


def _walk(journal: Journal, session: UpgradeSession, hop, *states: str):
    for state in states:
        extra = {"finished_at": _now()} if state == "validating" else {}
        hop = session.transition(journal, hop, state, **extra)
    return hop


def _now() -> str:
    from themis_desktop.core.journal.store import utc_now

    return utc_now()


def _health(journal: Journal, session: UpgradeSession, **kwargs):
    session = session.reload(journal)
    return assess(session, gather(journal, session), **kwargs)


def _record_verdict(journal: Journal, overall: str, summary: str = "") -> None:
    """A verdict as the metrics monitor records it."""
    journal.add_event(
        "metrics.verdict",
        summary or f"metrics verdict: {overall}",
        data={"profile": "lab", "overall": overall},
    )


def test_before_the_upgrade_the_session_is_healthy(journal):
    session = _session(journal)
    health = _health(journal, session)
    assert health.level == "healthy" and health.open_triggers == ()
    hop = _walk(journal, session, session.hops[0], "pre-checks", "backed-up")
    assert _health(journal, session).hops[hop.id].level == "healthy"


def test_the_worst_evidence_wins_and_acknowledging_a_trigger_leaves_the_rest(journal):
    session = _session(journal)
    hop = _walk(journal, session, session.hops[0], "pre-checks", "backed-up", "upgrading")
    hop = _walk(journal, session, hop, "validating")
    health = _health(journal, session)
    assert health.level == "watch"  # not validated, no metrics verdict yet
    texts = " | ".join(r.text for r in health.reasons)
    assert "not validated yet" in texts and "no metrics verdict yet" in texts

    hop = _walk(journal, session, hop, "done")
    _record_verdict(journal, "pass")
    health = _health(journal, session)
    assert health.level == "healthy", health.reasons
    assert health.hops[hop.id].level == "healthy"

    # the log watch raises "failed validation" after the hop was validated
    raised = session.raise_trigger(
        journal, "failed-validation", "Log watch: 14 errors in 60 s", user="log watch"
    )
    _record_verdict(journal, "fail", "Probe latency +125% against the baseline (p = 0.00036)")
    health = _health(journal, session)
    assert health.level == "failing" and health.hops[hop.id].level == "failing"
    assert [t.id for t in health.open_triggers] == [raised.id]
    assert "not acknowledged" in health.headline
    assert any(r.level == "degraded" and "Probe latency +125%" in r.text for r in health.reasons)

    session.acknowledge(journal, raised.id, "known: a noisy client; watching", user="alice")
    health = _health(journal, session)
    assert health.open_triggers == ()
    assert health.level == "degraded"  # the verdict still fails: the evidence stays
    assert any("acknowledged by alice" in r.text for r in health.reasons)

    # a live verdict (the one the app shows now) judges the hop a rollback would undo
    live = VerdictSeen("pass", 0.0)
    assert _health(journal, session, live=live).level == "watch"  # the acknowledged trigger


def test_an_unacknowledged_trigger_keeps_the_session_failing_even_when_metrics_pass(journal):
    """The screen once said "Metrics verdict: PASS" beside a raised performance trigger."""
    session = _session(journal)
    hop = _walk(
        journal, session, session.hops[0], "pre-checks", "backed-up", "upgrading", "validating"
    )
    _walk(journal, session, hop, "done")
    session.raise_trigger(journal, "performance", "Probe latency +125 %", user="metrics")
    health = _health(journal, session, live=VerdictSeen("pass", 0.0))
    assert health.level == "failing"
    assert health.describe().startswith("Failing: Performance degradation")


def test_failed_validation_and_a_stopped_rollback_are_failing(journal):
    session = _session(journal)
    hop = _walk(
        journal, session, session.hops[0], "pre-checks", "backed-up", "upgrading", "validating"
    )
    hop = session.transition(journal, hop, "failed", "Validation failed: n1 ready: starting")
    health = _health(journal, session)
    assert health.level == "failing" and "Validation failed: n1 ready" in health.headline
    session.transition(journal, hop, "rolling-back", "Rolling back")
    assert "did not finish" in _health(journal, session).headline


def test_a_rolled_back_hop_answers_its_triggers(journal):
    session = _session(journal)
    hop = _walk(
        journal, session, session.hops[0], "pre-checks", "backed-up", "upgrading", "validating"
    )
    session.raise_trigger(journal, "critical-bug", "wrong rows in orders")
    hop = _walk(journal, session, hop, "rolling-back")
    session.transition(journal, hop, "rolled-back", note="wrong rows")
    health = _health(journal, session)
    assert health.open_triggers == ()  # no banner: the rollback was the answer
    assert health.level == "watch" and "rolled back to 1.7.0: wrong rows" in health.headline
    assert any("answered by the rollback" in r.text for r in health.reasons)


def test_the_rollback_window_band_is_evidence_too(journal):
    session = _session(journal)
    hop = _walk(
        journal, session, session.hops[0], "pre-checks", "backed-up", "upgrading", "validating"
    )
    _walk(journal, session, hop, "done")
    _record_verdict(journal, "pass")
    finished = parse_utc(session.reload(journal).hops[0].finished_at)
    assert _health(journal, session, now=finished + timedelta(minutes=30)).level == "healthy"
    later = _health(journal, session, now=finished + timedelta(hours=2))
    assert later.level == "watch" and "Moderate rollback" in later.headline


def test_a_trigger_judges_the_hop_being_worked_on_or_the_one_a_rollback_would_undo(journal):
    session = _session(journal, "1.9")  # two hops: 1.7 → 1.8 → 1.9
    first, second = session.hops
    before = session.raise_trigger(journal, "incompatibility", "driver 2.1 refuses 1.8")
    assert before.hop == first.id
    hop = _walk(journal, session, first, "pre-checks", "backed-up", "upgrading", "validating")
    _walk(journal, session, hop, "done")
    after = session.raise_trigger(journal, "performance", "slower")
    assert after.hop == first.id  # the hop a rollback would undo, not the planned next one
    health = _health(journal, session)
    assert health.hops[second.id].level == "healthy"
    assert health.hops[first.id].level == "failing"


def test_acknowledging_needs_a_note_and_a_known_open_trigger(journal):
    session = _session(journal)
    raised = session.raise_trigger(journal, "critical-bug", "crash on startup")
    with pytest.raises(SessionError, match="needs a note"):
        session.acknowledge(journal, raised.id, "  ")
    with pytest.raises(SessionError, match=f"has no trigger {raised.id + 100}"):
        session.acknowledge(journal, raised.id + 100, "x")
    done = session.acknowledge(journal, raised.id, "reproduced in staging", user="bob")
    assert done.acknowledged.user == "bob" and done.acknowledged.note == "reproduced in staging"
    with pytest.raises(SessionError, match="acknowledged already by bob"):
        session.acknowledge(journal, raised.id, "again")
    (event,) = journal.events(session_id=session.id, types=["trigger.acknowledged"])
    assert event.user == "bob" and event.data["trigger"] == raised.id and event.ts


# -- the verdict held steady -----------------------------------------------------------------


def _evaluation(overall: str, at: float, metric: str = "probe_ms") -> Evaluation:
    """An evaluation of a sliding 60-sample window ending at `at` (one sample a second)."""
    comparison = Comparison(metric, 10.0, 20.0, 1.0, 0.001, 0.9, overall, "", 60, 60)  # type: ignore[arg-type]
    verdicts = [MetricVerdict(metric, comparison, None, overall)]  # type: ignore[arg-type]
    return Evaluation(verdicts, overall, at=at, samples=60, window=(at - 60, at))  # type: ignore[arg-type]


def test_one_disagreeing_evaluation_does_not_change_the_verdict():
    """The 48 h watch went FAIL, then PASS 3 s later: a flap."""
    hold = VerdictHold(min_samples=50)
    assert hold.feed(_evaluation("inconclusive", 0.0))  # the first evaluation is shown at once
    assert hold.feed(_evaluation("fail", 5.0))  # enough evidence after inconclusive: at once
    assert not hold.feed(_evaluation("pass", 8.0))  # 3 new samples: not enough evidence
    assert hold.shown.overall == "fail" and hold.pending == "pass"
    assert not hold.feed(_evaluation("fail", 13.0))  # the pass was noise
    assert hold.pending is None and hold.since == 5.0
    for at in (20.0, 30.0, 40.0, 50.0, 60.0):  # pass over 47 new samples: fewer than 50
        assert not hold.feed(_evaluation("pass", at))
    assert hold.feed(_evaluation("pass", 63.0))  # 50 new samples disagree: it changes
    assert hold.shown.overall == "pass" and hold.since == 63.0
    assert [(c.before, c.after) for c in hold.history] == [
        (None, "inconclusive"),
        ("inconclusive", "fail"),
        ("fail", "pass"),
    ]
    assert "first verdict with enough evidence" in hold.history[1].reason
    assert "50 new samples (at least 50)" in hold.history[2].reason
    assert "50 new samples" in hold.rule


def test_a_verdict_does_not_change_on_fewer_than_the_minimum_new_samples():
    hold = VerdictHold(min_samples=50)
    hold.feed(_evaluation("pass", 0.0))
    for at in range(1, 50):  # 49 evaluations, one new sample each
        assert not hold.feed(_evaluation("marginal", float(at)))
    assert hold.shown.overall == "pass" and hold.pending_samples == pytest.approx(49)
    assert hold.feed(_evaluation("marginal", 50.0))
    hold.reset()  # another baseline: a new question, answered at once
    assert hold.shown is None and hold.feed(_evaluation("pass", 51.0))
    assert hold.history[-2].after is None and "another question" in hold.history[-2].reason


def test_a_critical_failure_changes_the_verdict_at_once():
    hold = VerdictHold(min_samples=50)
    hold.feed(_evaluation("pass", 0.0))
    assert not hold.feed(_evaluation("fail", 1.0))  # latency: waits for evidence
    assert hold.feed(_evaluation("fail", 2.0, metric="error_rate"))  # errors: at once
    assert "critical metric error_rate failed" in hold.history[-1].reason


def test_a_live_evaluation_is_evidence_with_its_summary():
    seen = health_state.seen(_evaluation("fail", 7.0))
    assert seen.overall == "fail" and seen.at == 7.0 and "Probe" in seen.summary
    assert health_state.seen(None) is None
    assert metrics_verdict.VerdictHold().min_samples >= 50
