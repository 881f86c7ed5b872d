"""A rollout gate without enough evidence waits for it (saying how much it has), then pauses
for a human: it never passes and never aborts on too little data; resuming goes on past it
as the admin's decision, journaled. Served requests are judged against the offered load
(issue 21)."""

from __future__ import annotations

import dataclasses

import numpy as np

from themis_desktop.core.metrics.comparison import Load
from themis_desktop.core.metrics.verdict import evaluate
from themis_desktop.core.rollout import runner as rollouts
from themis_desktop.core.rollout.runner import Offered, RolloutRunner, offered_load, plan
from themis_desktop.core.rollout.traffic import RouterConfig, router_for
from themis_desktop.core.service.control import controller_for
from themis_desktop.core.upgrade.hop_runner import HopContext


def _one_node(controlled_cluster, tmp_path) -> HopContext:
    _, _, profile = controlled_cluster(nodes=1)
    profile = dataclasses.replace(profile, router=RouterConfig())  # no router: nobody to ask
    return HopContext(
        profile, None, controller_for(profile.service), tmp_path / "j.sqlite", tmp_path / "b"
    )


def _run(ctx: HopContext, **kw) -> tuple[rollouts.Rollout, list[dict]]:
    r = plan(ctx.profile, "rolling", "1.7.0", "1.8.0", soak=1.0)
    with ctx.journal() as journal:
        rollouts.save(journal, r)
    events: list[dict] = []
    runner = RolloutRunner(r, ctx, router_for(ctx.profile.router), interval=0.1, **kw)
    runner.on_event = events.append
    return runner.run(), events


def test_a_gate_without_enough_evidence_pauses_for_a_human(controlled_cluster, tmp_path):
    ctx = _one_node(controlled_cluster, tmp_path)
    result, events = _run(ctx, min_samples=1000, evidence_timeout_s=2.0)
    assert result.status == "paused"  # neither done nor aborted
    assert "too little evidence after 2 s" in result.reason and "did not pass" in result.reason
    assert "resume to go on past it, or abort" in result.reason
    assert result.waiting_gate is result.gates[-1]
    (gate,) = result.gates
    assert gate["verdict"] == "inconclusive" and "more samples" in gate["inconclusive"]
    assert any(e["event"] == "evidence" for e in events)  # it said what it waited for
    waiting = [e["message"] for e in events if e["event"] == "waiting"]  # live, each look
    assert waiting and waiting[0].startswith("gate of n1: waiting for evidence — ")
    assert " of 1000 samples, about " in waiting[-1] and "more at the current rate" in waiting[-1]
    with ctx.journal() as journal:
        assert rollouts.latest(journal, ctx.profile.name).status == "paused"


def test_a_gate_waits_past_its_soak_until_the_evidence_is_enough(controlled_cluster, tmp_path):
    ctx = _one_node(controlled_cluster, tmp_path)
    result, _ = _run(ctx, min_samples=20)  # a 1 s soak at 0.1 s holds about 10 samples
    assert result.status == "done", result.reason
    (gate,) = result.gates
    assert gate["verdict"] == "pass"
    assert gate["metrics"]["probe_ms"]["n"][1] >= 20
    assert gate["metrics"]["probe_ms"]["interval"] is not None


def test_resuming_goes_on_past_the_gate_as_a_journaled_decision(controlled_cluster, tmp_path):
    ctx = _one_node(controlled_cluster, tmp_path)
    paused, _ = _run(ctx, min_samples=1000, evidence_timeout_s=1.0)
    assert paused.waiting_gate is not None
    with ctx.journal() as journal:
        again = rollouts.latest(journal, ctx.profile.name)
    runner = RolloutRunner(
        again, ctx, router_for(ctx.profile.router), interval=0.1, note="checked n1 by hand"
    )
    result = runner.run()
    assert result.status == "done" and result.waiting_gate is None
    assert [g["verdict"] for g in result.gates] == ["inconclusive"]  # still no pass
    with ctx.journal() as journal:
        (event,) = journal.events(types=["rollout.gate-accepted"])
    assert event.data["note"] == "checked n1 by hand" and event.data["rollout"] == result.id
    assert "went on past the gate of “Soak n1: compare with the cluster before” without a " in (
        event.message
    )


# -- served requests against the offered load ------------------------------------------

STABLE = Offered(probe_rate=3.0, share=0.475, served=31.5)  # 95 % of 60 req/s over two
CANARY = Offered(probe_rate=3.0, share=0.05)  # the canary at 5 %, probed as steadily


def test_a_canary_is_offered_its_share_of_the_traffic_plus_the_probes():
    load = offered_load(STABLE, CANARY)
    assert load == Load(before=31.5, after=6.0)  # 3 req/s routed to it, 3 req/s of probes


def test_without_a_share_on_the_reference_side_served_requests_are_not_judged():
    blue_after_the_switch = Offered(probe_rate=3.0, share=0.0, served=3.0)
    assert offered_load(blue_after_the_switch, CANARY) is None
    assert offered_load(Offered(0.0, 0.5, 0.0), CANARY) is None  # nothing sampled


def _served(rng, mean: float, n: int = 60) -> list[float]:
    return list(rng.normal(mean, mean * 0.1, n))


def test_a_canary_serving_less_than_it_is_offered_fails_its_gate():
    """A small share is no regression; serving a third of it while the probes are steady is."""
    rng = np.random.default_rng(21)
    stable = {"request_rate": _served(rng, 31.5)}
    load = offered_load(STABLE, CANARY)

    def verdict(canary_served: float) -> str:
        now = {"request_rate": _served(rng, canary_served)}
        evaluation = evaluate(stable, now, load=load, thresholds={"request_rate": 0.5})
        return next(v.verdict for v in evaluation.verdicts if v.metric == "request_rate")

    assert verdict(6.0) == "pass"  # 5 % of the traffic and its probes: as offered
    assert verdict(2.0) == "fail"  # the probe load steady, a third of it served
    blind = evaluate(stable, {"request_rate": _served(rng, 2.0)})  # no offered load known
    assert "offered load is unknown" in blind.verdicts[0].hop.reason
