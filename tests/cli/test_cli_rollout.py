"""`themis-desktop rollout` on a real demo cluster: events as JSON lines, exit codes; after
an abort, the cluster's state and the same next steps as the GUI, and the way back."""

from __future__ import annotations

import json

from themis_desktop.cli import main
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.rollout import next_steps as rollout_next
from themis_desktop.core.rollout import runner as rollouts
from themis_desktop.core.rollout.runner import RolloutRunner, plan
from themis_desktop.core.rollout.traffic import router_for
from themis_desktop.core.service.control import controller_for
from themis_desktop.core.upgrade.hop_runner import HopContext


def _saved(controlled_cluster, slower: float = 1.0):
    *_, profile = controlled_cluster(
        nodes=2,
        control_options={"router": True},
        latency_factors={"1.7": 15.0, "1.8": 15.0 * slower},
        error_rates={"1.7": 0.0, "1.8": 0.0},
        latency_sigma=0.05,
    )
    with Journal() as journal:
        profile_store.save(journal, profile)
    return profile


def _rollout(tmp_path, *extra: str) -> int:
    return main(
        [
            "rollout",
            "--profile",
            "lab",
            "--soak",
            "1",
            "--interval",
            "0.1",
            "--min-samples",
            "15",  # a gate's evidence here; 50 by default
            "--backup-dir",
            str(tmp_path / "b"),
            "--json-events",
            *extra,
        ]
    )


def test_a_rolling_rollout_prints_json_events_and_exits_0(capsys, tmp_path, controlled_cluster):
    _saved(controlled_cluster)
    assert _rollout(tmp_path, "--to", "1.8", "--strategy", "rolling") == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[-1] == "done" and kinds.count("upgraded") == 2 and kinds.count("gate") == 2
    assert all({"event", "message", "at", "status"} <= set(e) for e in events)


def test_a_slower_canary_aborts_with_exit_3(capsys, tmp_path, controlled_cluster):
    _saved(controlled_cluster, slower=2.0)  # clearly worse: this is about the exit code
    assert _rollout(tmp_path, "--to", "1.8", "--strategy", "canary", "--steps", "20,100") == 3
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in events][-2:] == ["aborted", "state"]  # then the next steps
    assert any(e["event"] == "restored" for e in events)
    assert not events[-1]["state"]["mixed"]  # the canary restored: one version again


def test_a_rollout_is_one_hop(capsys, tmp_path, controlled_cluster):
    _saved(controlled_cluster)
    assert _rollout(tmp_path, "--to", "2.4", "--strategy", "rolling") == 1
    assert "A rollout is one hop" in capsys.readouterr().err


def _paused_after_first_upgrade(profile, tmp_path):
    """A rolling rollout of the saved profile, paused once n1 runs 1.8.0 (as Ctrl+C does)."""
    ctx = HopContext(profile, None, controller_for(profile.service), None, tmp_path / "b")
    r = plan(profile, "rolling", "1.7.0", "1.8.0", soak=1.0)
    with Journal() as journal:
        rollouts.save(journal, r)
    runner = RolloutRunner(r, ctx, router_for(profile.router), interval=0.1, min_samples=15)
    runner.on_event = lambda e: e["event"] == "upgraded" and runner.pause()
    assert runner.run().status == "paused"


def _states(out: str) -> list[dict]:
    return [e["state"] for e in map(json.loads, out.splitlines()) if e["event"] == "state"]


def test_an_aborted_rollout_prints_the_cluster_and_the_way_back(
    capsys, tmp_path, controlled_cluster
):
    profile = _saved(controlled_cluster)
    _paused_after_first_upgrade(profile, tmp_path)

    assert _rollout(tmp_path, "--abort") == 1  # asks first: says what it would do
    out, err = capsys.readouterr()
    assert "n1 stays on 1.8.0 without traffic" in err and "--yes" in err
    assert "not asking without a terminal: add --yes to abort (nothing was changed)" in err
    assert out == ""  # stdout keeps one JSON object a line

    assert _rollout(tmp_path, "--abort", "--yes") == 3
    (state,) = _states(capsys.readouterr().out)
    assert state["mixed"] and state["status"] == "aborted"
    assert [(n["name"], n["version"], n["share"]) for n in state["nodes"]] == [
        ("n1", "1.8.0", 0),
        ("n2", "1.7.0", 100),
    ]
    assert [s["action"] for s in state["steps"]] == ["roll-back", "resume", "return-traffic"]

    assert _rollout(tmp_path, "--status") == 0  # the same next steps, asked again later
    (again,) = _states(capsys.readouterr().out)
    assert again["steps"] == state["steps"]
    with Journal() as journal:
        latest = rollouts.latest(journal, "lab")
    decided = rollout_next.assess(latest, profile, None).to_json()
    assert decided["steps"] == state["steps"]  # the GUI's decision, the same function

    back = state["steps"][0]
    assert back["command"] == "themis-desktop rollout --profile lab --roll-back n1 --yes"
    assert _rollout(tmp_path, "--roll-back", "n1", "--yes") == 0
    (after,) = _states(capsys.readouterr().out)
    assert not after["mixed"] and {n["version"] for n in after["nodes"]} == {"1.7.0"}
    assert [n["share"] for n in after["nodes"]] == [50, 50] and after["nodes"][0]["restored"]
    assert [s["action"] for s in after["steps"]] == ["start"]


def test_status_in_words(capsys, tmp_path, controlled_cluster):
    profile = _saved(controlled_cluster)
    _paused_after_first_upgrade(profile, tmp_path)
    assert _rollout(tmp_path, "--abort", "--yes") == 3
    capsys.readouterr()
    assert main(["rollout", "--profile", "lab", "--status"]) == 0
    out = capsys.readouterr().out
    assert "Mixed versions: n1 runs 1.8.0 without traffic; n2 runs 1.7.0" in out
    assert "next 1: Roll n1 back to 1.7.0 from its backup of " in out
    assert "next 2: Resume the rollout  (themis-desktop rollout --profile lab --resume)" in out


def _latest():
    with Journal() as journal:
        return rollouts.latest(journal, "lab")


def test_switch_back_and_roll_back_ask_first_and_refuse_without_a_terminal(
    capsys, tmp_path, controlled_cluster
):
    """Issue 17: --switch-back changed the traffic without a word; --roll-back and --abort
    say what happens and what cannot be undone, and do nothing without --yes."""
    _saved(controlled_cluster)
    assert _rollout(tmp_path, "--to", "1.8", "--strategy", "blue-green") == 0
    capsys.readouterr()
    assert _latest().status == "done"

    assert main(["rollout", "--profile", "lab", "--switch-back"]) == 1
    out, err = capsys.readouterr()
    to = _latest().to_version
    assert f"Traffic goes back to blue (n1), still on 1.7.0; green (n2) keeps {to}" in out
    assert "switching back cannot bring them over" in out
    assert "not asking without a terminal: add --yes to switch back (nothing was changed)" in err
    assert _latest().status == "done"  # traffic stays on green

    assert _rollout(tmp_path, "--roll-back", "n2") == 1
    out, err = capsys.readouterr()
    assert out == "" and "Roll n2 back to 1.7.0" in err
    assert "Writes made to n2 after" in err and "this cannot be undone" in err
    assert "add --yes to roll back (nothing was changed)" in err
    assert not _latest().restored

    assert main(["rollout", "--profile", "lab", "--switch-back", "--yes"]) == 0
    assert "traffic is back on blue" in capsys.readouterr().out
    assert _latest().status == "aborted"


def test_on_a_terminal_abort_asks_and_no_is_the_default(capsys, tmp_path, controlled_cluster):
    from tests.cli.test_cli_session import _on_a_terminal

    profile = _saved(controlled_cluster)
    _paused_after_first_upgrade(profile, tmp_path)
    abort = ["rollout", "--profile", "lab", "--abort", "--backup-dir", str(tmp_path / "b")]
    abort += ["--soak", "1", "--interval", "0.1"]

    code, out = _on_a_terminal(abort, "")  # Enter: the default is no
    assert code == 1, out
    assert "Abort the rolling rollout 1.7.0 → 1.8.0? [y/N]" in out
    assert "n1 stays on 1.8.0 without traffic" in out and "Nothing was changed." in out
    assert _latest().status == "paused"

    code, out = _on_a_terminal(abort, "y")
    assert code == 3, out  # aborted: the next steps follow
    assert "Nothing was changed." not in out and "Roll n1 back to 1.7.0" in out
    assert _latest().status == "aborted"
