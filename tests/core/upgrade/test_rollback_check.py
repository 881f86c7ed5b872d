"""The check after a rollback on a real demo node: the restored cluster sampled and judged
against the hop's pre-upgrade reference with the metrics verdict, journaled, in the
report; a restored cluster worse than before raises the post-rollback trigger."""

from __future__ import annotations

import time

import pytest

from tests.conftest import wait_until
from tests.rehearsal_override import override_rehearsals
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.metrics import store as metrics_store
from themis_desktop.core.metrics.sampler import Recorder
from themis_desktop.core.metrics.sampling import NodeSampler
from themis_desktop.core.service.control import controller_for
from themis_desktop.core.upgrade import health_state, rehearsal_gate, report, rollback_check
from themis_desktop.core.upgrade.hop_runner import HopContext, back_up, rollback, upgrade
from themis_desktop.core.upgrade.session import Hop, SessionError, UpgradeSession
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade

MIN = 4  # samples a side before a metric is judged (the app's default is 50)


@pytest.fixture
def lab(tmp_path, controlled_cluster):
    """One demo node at 1.7.0 behind its control endpoint, a saved profile, a journal."""
    cluster, _, profile = controlled_cluster(nodes=1)
    journal_path = tmp_path / "journal.sqlite"
    with Journal(journal_path) as journal:
        profile = profile_store.save(journal, profile)
    lines: list[str] = []
    ctx = HopContext(
        profile,
        None,
        controller_for(profile.service),
        journal_path,
        tmp_path / "backups",
        lines.append,
    )
    return cluster, ctx, lines


def _session(ctx: HopContext) -> UpgradeSession:
    plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
    with ctx.journal() as journal:
        session = UpgradeSession.create(journal, ctx.profile, plan)
    override_rehearsals(ctx.journal_path)
    return session


def _record_samples(ctx: HopContext, count: int) -> tuple[float, float]:
    """The app's background sampler on every node until the journal holds `count` samples
    of each (as the window's metrics monitor records them); the window they cover."""
    samplers = [
        NodeSampler(ctx.profile.client(node, None, timeout=2.0), node.name)
        for node in ctx.profile.nodes
    ]
    recorder = Recorder(ctx.profile.name, samplers, interval=0.2, journal_path=ctx.journal_path)
    start = time.time()
    recorder.start()

    def enough() -> bool:
        with ctx.journal() as journal:
            series = metrics_store.load_series(journal, ctx.profile.name, start)
        return len(series) == len(samplers) and all(len(s.at) >= count for s in series.values())

    try:
        wait_until(enough, timeout=20)
    finally:
        recorder.stop()
        for sampler in samplers:
            sampler.client.close()
    return start, time.time()


def _backed_up_and_upgraded(ctx: HopContext, session: UpgradeSession, hop: Hop) -> Hop:
    """Back up, then run the upgrade step (the rehearsal gate overridden with a note)."""
    back_up(ctx, session, hop)
    with ctx.journal() as journal:
        hop = session.reload(journal).hop(hop.id)
        rehearsal_gate.override(journal, session, hop, ctx.profile, "checked after a rollback")
    return upgrade(ctx, session, hop)


def test_a_rolled_back_hop_is_checked_against_its_baseline_and_journaled(lab):
    _, ctx, lines = lab
    session = _session(ctx)
    hop = session.hops[0]
    # the baseline the session page captures before the upgrade step ("before <hop>")
    start, end = _record_samples(ctx, MIN + 4)
    with ctx.journal() as journal:
        baseline = metrics_store.capture_baseline(
            journal, ctx.profile.name, start, end, kind="hop", label=f"before {hop.label}"
        )
    upgraded = _backed_up_and_upgraded(ctx, session, hop)
    with pytest.raises(SessionError, match="not rolled back"):
        rollback_check.verify_rollback(ctx, session, upgraded, seconds=1, min_samples=MIN)
    rolled = rollback(ctx, session, upgraded, "p99 doubled")

    # too little evidence is inconclusive, with what it still needed: never a pass
    short = rollback_check.verify_rollback(
        ctx, session, rolled, seconds=0.5, min_samples=200, interval=0.2
    )
    assert short.verdict == "inconclusive" and not short.passed
    assert short.needed > 0 and f"needs {short.needed} more samples" in short.summary
    assert short.trigger_id is None

    check = rollback_check.verify_rollback(
        ctx, session, rolled, seconds=2.5, min_samples=MIN, interval=0.2
    )
    assert check.verdict == "pass", check.lines()
    assert check.reference_source == "baseline" and f"baseline {baseline.id}" in check.reference
    assert check.seconds >= 2.5 and check.nodes == ("n1",)
    probe = check.metrics["probe_ms"]
    assert probe["verdict"] == "pass" and probe["n"][0] >= MIN and probe["n"][1] >= MIN
    assert any(f"Post-rollback check of {hop.label}: PASS" in line for line in lines)

    with ctx.journal() as journal:
        events = journal.events(session_id=session.id, types=[rollback_check.EVENT])
        assert [e.data["verdict"] for e in events] == ["inconclusive", "pass"]
        assert events[-1].data["metrics"]["probe_ms"]["verdict"] == "pass"
        latest = rollback_check.latest(journal, session.reload(journal))
        assert latest is not None and latest.event_id == check.event_id
        assert latest.verdict == "pass" and latest.metrics == check.metrics
        assert not [t for t in session.triggers(journal) if t.kind == "post-rollback"]
        page = report.render_html(report.collect(journal, session.id))
    assert "Check after the rollback" in page and "PASS" in page
    assert "Probe latency" in page and f"baseline {baseline.id}" in page


def test_a_restored_cluster_worse_than_before_raises_the_post_rollback_trigger(lab):
    cluster, ctx, _ = lab
    session = _session(ctx)
    hop = session.hops[0]
    # no baseline captured: the journal's samples of the window before the hop count
    _record_samples(ctx, MIN + 4)
    upgraded = _backed_up_and_upgraded(ctx, session, hop)
    # the old version misbehaves once it is back: 1.7 started again is 30 times slower
    cluster.nodes[0].options.latency_factors["1.7"] = 30.0
    rolled = rollback(ctx, session, upgraded, "errors after the hop")
    check = rollback_check.verify_rollback(
        ctx, session, rolled, seconds=2.5, min_samples=MIN, interval=0.2
    )
    assert check.verdict == "fail" and check.failed, check.lines()
    assert check.reference_source == "samples"
    assert "no baseline was captured" in check.reference
    assert check.metrics["probe_ms"]["verdict"] == "fail"
    assert check.metrics["probe_ms"]["change"] > 1.0
    assert check.trigger_id is not None
    assert "worse than before the hop" in check.summary
    with ctx.journal() as journal:
        again = session.reload(journal)
        (trigger,) = [t for t in again.triggers(journal) if t.kind == "post-rollback"]
        assert trigger.id == check.trigger_id and trigger.hop == hop.id
        assert trigger.title == "Post-rollback check failed" and trigger.open
        assert trigger.user == rollback_check.TRIGGER_USER
        assert trigger.evidence["metric"] and trigger.evidence["hop"] == hop.id
        # a rollback does not answer it: it asks for attention until acknowledged
        health = health_state.assess(again, health_state.gather(journal, again))
        assert [t.id for t in health.open_triggers] == [trigger.id]
        assert health.level == "failing"
        (event,) = journal.events(session_id=session.id, types=[rollback_check.EVENT])
        assert event.data["verdict"] == "fail" and event.data["trigger"] == trigger.id
        page = report.render_html(report.collect(journal, session.id))
    assert "Check after the rollback" in page and "FAIL" in page
    listed = page.split("Rollback triggers")[1].split("Rollbacks")[0]
    assert "post-rollback" in listed and "not acknowledged" in listed


def test_without_a_reference_or_time_it_says_so_and_samples_nothing(lab):
    _, ctx, _ = lab
    session = _session(ctx)
    upgraded = _backed_up_and_upgraded(ctx, session, session.hops[0])
    rolled = rollback(ctx, session, upgraded, "testing")
    skipped = rollback_check.verify_rollback(ctx, session, rolled, seconds=0)
    assert skipped.verdict == "skipped" and "skipped" in skipped.summary
    began = time.monotonic()
    none = rollback_check.verify_rollback(ctx, session, rolled, seconds=60)
    assert time.monotonic() - began < 10  # nothing to compare with: no minute of sampling
    assert none.verdict == "no baseline" and not none.passed
    assert "no baseline" in none.summary and none.seconds == 0
    with ctx.journal() as journal:
        verdicts = [
            e.data["verdict"]
            for e in journal.events(session_id=session.id, types=[rollback_check.EVENT])
        ]
        assert verdicts == ["skipped", "no baseline"]
        assert not session.triggers(journal)
