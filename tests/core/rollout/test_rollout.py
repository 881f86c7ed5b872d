"""Rollouts on a real 3-node demo cluster behind its router: rolling, canary (healthy and
30 % slower), blue-green with switch-back, pause/resume across a restart; after an abort,
the cluster's state and the next steps; the questions asked before Start and Abort."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.rollout import explain as rollout_explain
from themis_desktop.core.rollout import next_steps as rollout_next
from themis_desktop.core.rollout import runner as rollouts
from themis_desktop.core.rollout.runner import RolloutRunner, plan, switch_back
from themis_desktop.core.rollout.traffic import RouterConfig, router_for
from themis_desktop.core.server.client import ThemisClient
from themis_desktop.core.service.control import controller_for
from themis_desktop.core.upgrade.hop_runner import HopContext
from themis_desktop.demo.control import DemoControl

SOAK = 1.2
EVIDENCE = 15  # samples a gate needs here (50 by default: a minute at 1 s per sample)


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
    runner = RolloutRunner(
        r, ctx, router, interval=0.1, min_samples=EVIDENCE, on_event=events.append
    )
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
    runner = RolloutRunner(r, ctx, router, interval=0.1, min_samples=EVIDENCE)
    runner.on_event = lambda e: e["event"] == "upgraded" and runner.pause()
    paused = runner.run()
    assert paused.status == "paused" and 0 < paused.position < len(paused.steps)
    assert paused.reason.startswith("paused by the user before")  # the page says why
    with Journal(ctx.journal_path) as journal:  # the app restarted: only the journal is left
        again = rollouts.latest(journal, "lab")
    assert again is not None and again.position == paused.position and again.backups
    result = RolloutRunner(again, ctx, router, interval=0.1, min_samples=EVIDENCE).run()
    assert result.status == "done"
    assert _versions(ctx.profile) == ["1.8.0"] * 3


def test_a_rolling_gate_failure_restores_that_node_and_stops(lab):
    ctx, router, control, events = lab(slower=1.5)
    _, result = _run(ctx, router, "rolling", events)
    assert result.status == "aborted" and [g["verdict"] for g in result.gates] == ["fail"]
    assert _versions(ctx.profile) == ["1.7.0"] * 3  # n1 restored, n2 and n3 never touched
    assert result.roles["n1"] == "stable (restored)"
    assert all(w > 0 for w in _router(control)["weights"].values())  # every node serves again


# -- after an abort: the cluster as it is, and the way back (issue 17, item 6) -----------


def _abort_after_first_upgrade(ctx, router, strategy="rolling"):
    """Run `strategy` and abort it as soon as its first node runs the new version."""
    r = plan(ctx.profile, strategy, "1.7.0", "1.8.0", soak=SOAK)
    with ctx.journal() as journal:
        rollouts.save(journal, r)
    runner = RolloutRunner(r, ctx, router, interval=0.1, min_samples=EVIDENCE)
    runner.on_event = lambda e: e["event"] == "upgraded" and runner.abort()
    return runner.run()


def test_a_rolling_rollout_aborted_after_its_first_node_says_how_to_get_back(lab):
    ctx, router, control, _ = lab()
    aborted = _abort_after_first_upgrade(ctx, router)
    assert aborted.status == "aborted"
    assert _versions(ctx.profile) == ["1.8.0", "1.7.0", "1.7.0"]  # mixed, as the user saw it

    state = rollout_next.assess(aborted, ctx.profile, None, ctx.journal_path)
    assert state.mixed
    assert [(n.name, n.version, n.share) for n in state.nodes] == [
        ("n1", "1.8.0", 0),
        ("n2", "1.7.0", 50),
        ("n3", "1.7.0", 50),
    ]
    assert state.summary.startswith("Mixed versions: n1 runs 1.8.0 without traffic")
    assert [s.action for s in state.steps] == ["roll-back", "resume", "return-traffic"]
    back = state.steps[0]
    assert back.title.startswith("Roll n1 back to 1.7.0 from its backup of ")
    assert back.nodes == ("n1",) and "lost" in back.detail
    assert back.command.endswith("--roll-back n1 --yes")
    assert state.steps[2].title == "Return traffic to n1 at 1.8.0"

    with Journal(ctx.journal_path) as journal:  # the way back, as the page or the CLI runs it
        again = rollouts.latest(journal, "lab")
    RolloutRunner(again, ctx, router, interval=0.1, min_samples=EVIDENCE).roll_back(
        list(back.nodes)
    )
    assert _versions(ctx.profile) == ["1.7.0"] * 3
    assert all(w > 0 for w in _router(control)["weights"].values())
    after = rollout_next.assess(again, ctx.profile, None, ctx.journal_path)
    assert not after.mixed and after.nodes[0].restored
    assert [s.action for s in after.steps] == ["start"]


def test_an_aborted_rolling_rollout_resumes_to_one_version(lab):
    ctx, router, control, _ = lab()
    aborted = _abort_after_first_upgrade(ctx, router)
    with Journal(ctx.journal_path) as journal:
        again = rollouts.latest(journal, "lab")
    assert again.continuable
    result = RolloutRunner(again, ctx, router, interval=0.1, min_samples=EVIDENCE).run()
    assert result.status == "done", result.reason
    assert _versions(ctx.profile) == ["1.8.0"] * 3
    assert aborted.position <= result.position
    assert all(w > 0 for w in _router(control)["weights"].values())


def _synthetic(strategy="rolling", status="aborted", position=4, **fields):
    profile = Profile(
        "lab",
        tuple(NodeEndpoint(f"http://127.0.0.1:{9000 + i}", f"n{i}") for i in (1, 2, 3)),
        router=RouterConfig("manual"),
    )
    r = plan(profile, strategy, "1.7.0", "1.8.0", soak=SOAK)
    r.status, r.position = status, position
    for key, value in fields.items():
        setattr(r, key, value)
    return r


def test_a_failed_step_is_retried_first_and_a_silent_node_is_checked_first():
    r = _synthetic(
        status="failed",
        position=4,
        weights={"n1": 0.0, "n2": 50.0, "n3": 50.0},
        roles={"n1": "upgraded", "n2": "stable", "n3": "stable"},
        backups={"n1": 1},
    )
    at = "2026-12-04T10:00:00.000Z"
    state = rollout_next.decide(r, {"n1": "1.8.0", "n2": "1.7.0", "n3": "1.7.0"}, {"n1": at})
    assert [s.action for s in state.steps] == ["resume", "roll-back", "return-traffic"]
    assert state.steps[0].title == "Retry the failed step"
    down = rollout_next.decide(r, {"n1": "1.8.0", "n2": None, "n3": "1.7.0"}, {"n1": at})
    assert down.steps[0].action == "check" and down.steps[0].nodes == ("n2",)
    assert "resume" not in [s.action for s in down.steps]  # not with a node unaccounted for
    assert "n2 does not answer" in down.summary


def test_a_restored_canary_leaves_a_cluster_on_one_version_and_no_resume():
    r = _synthetic(
        strategy="canary",
        position=4,
        weights={"n1": 100 / 3, "n2": 100 / 3, "n3": 100 / 3},
        roles={"n1": "stable (restored)", "n2": "stable", "n3": "stable"},
        backups={"n1": 1},
        reason="the gate of “Soak at 5 %: canary vs stable” failed",
    )
    state = rollout_next.decide(r, dict.fromkeys(("n1", "n2", "n3"), "1.7.0"))
    assert not state.mixed and not r.continuable
    assert [s.action for s in state.steps] == ["start"]
    assert "restored from backup" in state.summary
    assert "gate" in state.steps[0].detail  # why it stopped, before starting again


# -- strategies a profile cannot run (issue 17, item 13) -----------------------------------


def test_canary_and_blue_green_need_two_nodes_and_a_router():
    one = Profile("solo", (NodeEndpoint("http://127.0.0.1:9001", "n1"),))
    for strategy in ("canary", "blue-green"):
        problem = rollouts.strategy_problem(one, strategy)
        assert problem and "at least two nodes" in problem and "rolling" in problem
        with pytest.raises(rollouts.RolloutError, match="at least two nodes"):
            plan(one, strategy, "1.7.0", "1.8.0")
    assert rollouts.strategy_problem(one, "rolling") is None
    two = Profile("duo", (*one.nodes, NodeEndpoint("http://127.0.0.1:9002", "n2")))
    assert "traffic router" in rollouts.strategy_problem(two, "canary")


def test_a_rolling_rollout_of_one_node_without_a_router_completes(controlled_cluster, tmp_path):
    _, _, profile = controlled_cluster(nodes=1)
    profile = dataclasses.replace(profile, router=RouterConfig())  # no router: nobody to ask
    ctx = HopContext(
        profile, None, controller_for(profile.service), tmp_path / "j.sqlite", tmp_path / "b"
    )
    _, result = _run(ctx, router_for(profile.router), "rolling", [])
    assert result.status == "done", result.reason
    assert _versions(profile) == ["1.8.0"]


# -- the questions asked before Start and Abort (issue 17, item 5) --------------------------


def test_the_start_question_names_nodes_version_strategy_backups_and_the_point_of_no_return():
    r = _synthetic(status="planned", position=0)
    question = rollout_explain.start_question(r, "lab", "restore-backup", "1.7 cannot read 1.8.")
    assert question.text == (
        "Upgrade n1, n2 and n3 of “lab” from 1.7.0 to 1.8.0 with a rolling rollout?"
    )
    words = " ".join(question.details)
    assert "Each node is backed up first" in words
    assert "point of no return" in words and "writes made after the upgrade are lost" in words
    swap = rollout_explain.start_question(r, "lab", "binary-swap")
    assert "point of no return" not in " ".join(swap.details)
    canary = rollout_explain.start_question(_synthetic("canary", "planned", 0), "lab")
    assert (
        "n1 is the canary" in canary.details[0]
        and "5 % → 20 % → 50 % → 100 %" in (canary.details[0])
    )


def test_the_abort_question_says_what_happens_per_strategy():
    rolling = _synthetic(position=4, roles={"n1": "upgraded", "n2": "stable", "n3": "stable"})
    words = " ".join(rollout_explain.abort_question(rolling).details)
    assert "Traffic goes back to n2 and n3, still on 1.7.0." in words
    assert "n1 stays on 1.8.0 without traffic" in words
    canary = _synthetic("canary", position=5, backups={"n1": 1})
    roles = {"n1": "canary", "n2": "stable", "n3": "stable"}
    canary.roles = roles
    words = " ".join(rollout_explain.abort_question(canary).details)
    assert "n1 (canary) is stopped, restored from the backup" in words
    assert "cannot be undone" in words
    green = _synthetic("blue-green", position=3)
    words = " ".join(rollout_explain.abort_question(green).details)
    assert "Traffic goes back to blue (n1 and n2), still on 1.7.0." in words
    assert "n3 stays on 1.8.0 without traffic" in words


def test_the_switch_back_question_says_what_green_keeps_and_leaves_behind():
    """The words the window and `rollout --switch-back` both ask with (issue 17, item 5)."""
    green = _synthetic("blue-green", position=3)
    green.roles = {"n1": "blue", "n2": "blue", "n3": "green"}
    question = rollout_explain.switch_back_question(green)
    assert question.text == "Switch traffic back to blue?"
    words = " ".join(question.details)
    assert "Traffic goes back to blue (n1 and n2), still on 1.7.0; green (n3) keeps 1.8.0" in (
        words
    )
    assert "the rollout is marked aborted" in words
    assert "Green has not served traffic yet" in words
    green.roles = {**green.roles, "n3": "green (serving)"}
    words = " ".join(rollout_explain.switch_back_question(green).details)
    assert "Writes that green took while it served" in words
    assert "switching back cannot bring them over" in words
