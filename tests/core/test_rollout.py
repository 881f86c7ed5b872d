"""Rollouts on a real 3-node demo cluster behind its router: rolling, canary (healthy and
30 % slower), blue-green with switch-back, and pause/resume across a restart."""

from __future__ import annotations

import httpx
import pytest

from themis_desktop.core import rollout as rollouts
from themis_desktop.core.hop_runner import HopContext
from themis_desktop.core.journal import Journal
from themis_desktop.core.profiles import Profile
from themis_desktop.core.rollout import RolloutRunner, plan, switch_back
from themis_desktop.core.server import ThemisClient
from themis_desktop.core.service_control import controller_for
from themis_desktop.core.traffic import router_for
from themis_desktop.demo.control import DemoControl

SOAK = 1.2


@pytest.fixture
def lab(tmp_path, controlled_cluster):
    """3 demo nodes at 1.7.0 (steady, ~30 ms reads) behind a router; 1.8 is `slower`."""

    def make(slower: float = 1.0):
        _, control, profile = controlled_cluster(
            nodes=3,
            control_options={"router": True, "router_rate": 60.0},
            latency_factors={"1.7": 15.0, "1.8": 15.0 * slower},
            error_rates={"1.7": 0.0, "1.8": 0.0},
            latency_sigma=0.05,
        )
        ctx = HopContext(
            profile,
            None,
            controller_for(profile.service),
            tmp_path / "j.sqlite",
            tmp_path / "backups",
        )
        return ctx, router_for(profile.router), control, []

    return make


def _versions(profile: Profile) -> list[str]:
    out = []
    for node in profile.nodes:
        with ThemisClient(node.url) as client:
            out.append(client.version(refresh=True).version)
    return out


def _router(control: DemoControl) -> dict:
    return httpx.get(f"{control.url}/router").json()


def _run(ctx, router, strategy, events, **kw):
    r = plan(ctx.profile, strategy, "1.7.0", "1.8.0", soak=SOAK, **kw)
    with ctx.journal() as journal:
        rollouts.save(journal, r)
    runner = RolloutRunner(r, ctx, router, interval=0.1, on_event=events.append)
    return runner, runner.run()


def test_rolling_upgrade_of_three_nodes_never_drops_traffic(lab):
    ctx, router, control, events = lab()
    _runner, result = _run(ctx, router, "rolling", events)
    assert result.status == "done", result.reason
    assert _versions(ctx.profile) == ["1.8.0"] * 3
    served = _router(control)["stats"]["served_per_second"]
    busy = served[-int(len(served) * 0.8) :]  # the seconds of the rollout
    assert busy and min(busy) > 0  # some node served every second
    assert [g["verdict"] for g in result.gates] == ["pass"] * 3


def test_a_healthy_canary_completes(lab):
    ctx, router, _control, events = lab()
    _, result = _run(ctx, router, "canary", events, canary_steps=(5, 50, 100))
    assert result.status == "done", result.reason
    assert [g["verdict"] for g in result.gates] == ["pass"] * 3
    assert _versions(ctx.profile) == ["1.8.0"] * 3
    assert {e["event"] for e in events} >= {"weights", "gate", "upgraded", "done"}


def test_a_canary_thirty_percent_slower_aborts_and_is_restored(lab):
    ctx, router, control, events = lab(slower=1.3)
    _, result = _run(ctx, router, "canary", events)
    assert result.status == "aborted" and "gate" in result.reason
    assert len(result.gates) == 1 and result.gates[0]["verdict"] == "fail"
    assert "Probe latency" in result.gates[0]["summary"]
    assert _versions(ctx.profile) == ["1.7.0"] * 3  # the canary is back on the old version
    assert any(e["event"] == "restored" for e in events)
    weights = _router(control)["weights"]
    canary_port = ctx.profile.nodes[0].url.rsplit(":", 1)[1]
    assert weights[canary_port] == pytest.approx(1 / 3)  # serving again, on the old version


def test_blue_green_switches_and_switches_back(lab):
    ctx, router, control, events = lab()
    _, result = _run(ctx, router, "blue-green", events)
    assert result.status == "done", result.reason
    assert _versions(ctx.profile) == ["1.7.0", "1.7.0", "1.8.0"]  # blue n1, n2; green n3
    ports = [n.url.rsplit(":", 1)[1] for n in ctx.profile.nodes]
    weights = _router(control)["weights"]
    assert weights[ports[2]] == pytest.approx(1.0) and weights[ports[0]] == 0
    back = switch_back(ctx.journal_path, result, router, ctx.profile)
    assert back.status == "aborted"
    weights = _router(control)["weights"]
    assert weights[ports[2]] == 0 and weights[ports[0]] == pytest.approx(0.5)


def test_pause_and_resume_across_an_app_restart(lab):
    ctx, router, _control, _events = lab()
    r = plan(ctx.profile, "rolling", "1.7.0", "1.8.0", soak=SOAK)
    with ctx.journal() as journal:
        rollouts.save(journal, r)
    runner = RolloutRunner(r, ctx, router, interval=0.1)
    runner.on_event = lambda e: e["event"] == "upgraded" and runner.pause()
    paused = runner.run()
    assert paused.status == "paused" and 0 < paused.position < len(paused.steps)
    with Journal(ctx.journal_path) as journal:  # the app restarted: only the journal is left
        again = rollouts.latest(journal, "lab")
    assert again is not None and again.position == paused.position and again.backups
    result = RolloutRunner(again, ctx, router, interval=0.1).run()
    assert result.status == "done"
    assert _versions(ctx.profile) == ["1.8.0"] * 3


def test_a_rolling_gate_failure_restores_that_node_and_stops(lab):
    ctx, router, control, events = lab(slower=1.5)
    _, result = _run(ctx, router, "rolling", events)
    assert result.status == "aborted" and [g["verdict"] for g in result.gates] == ["fail"]
    assert _versions(ctx.profile) == ["1.7.0"] * 3  # n1 restored, n2 and n3 never touched
    assert result.roles["n1"] == "stable (restored)"
    assert all(w > 0 for w in _router(control)["weights"].values())  # every node serves again
