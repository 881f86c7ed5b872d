"""`themis-desktop rollout` on a real demo cluster: events as JSON lines, exit codes."""

from __future__ import annotations

import json

from themis_desktop.cli import main
from themis_desktop.core.journal import Journal


def _saved(controlled_cluster, slower: float = 1.0):
    *_, profile = controlled_cluster(
        nodes=2,
        control_options={"router": True},
        latency_factors={"1.7": 15.0, "1.8": 15.0 * slower},
        error_rates={"1.7": 0.0, "1.8": 0.0},
        latency_sigma=0.05,
    )
    with Journal() as journal:
        journal.save_profile(profile)
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
    assert [e["event"] for e in events][-1] == "aborted"
    assert any(e["event"] == "restored" for e in events)


def test_a_rollout_is_one_hop(capsys, tmp_path, controlled_cluster):
    _saved(controlled_cluster)
    assert _rollout(tmp_path, "--to", "2.4", "--strategy", "rolling") == 1
    assert "A rollout is one hop" in capsys.readouterr().err
