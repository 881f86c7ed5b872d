"""`themis-desktop logs follow|show` and `profiles add --log` on a real demo node."""

from __future__ import annotations

import json

from themis_desktop.cli import main
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal


def test_profiles_add_sets_each_nodes_log_source(capsys, tmp_path):
    urls = ["http://127.0.0.1:18001", "http://127.0.0.1:18002"]
    assert main(["profiles", "add", "lab", *urls, "--log", "file:/var/log/{node}.log"]) == 0
    with Journal() as journal:
        nodes = profile_store.get(journal, "lab").nodes
    assert [n.log_source for n in nodes] == [
        "file:/var/log/127.0.0.1:18001.log",
        "file:/var/log/127.0.0.1:18002.log",
    ]
    assert main(["profiles", "add", "lab", *urls, "--log", "journald", "--log", "/tmp/x"]) == 0
    with Journal() as journal:
        assert [n.log_source for n in profile_store.get(journal, "lab").nodes] == [
            "journald:themisdb",
            "file:/tmp/x",
        ]
    assert main(["profiles", "add", "lab", *urls, "--log", "a", "--log", "b", "--log", "c"]) == 2
    assert "one per URL" in capsys.readouterr().err


def test_logs_follow_prints_the_errors_of_a_misbehaving_node(capsys, controlled_cluster):
    _, _, profile = controlled_cluster(nodes=1, workload=True, error_rates={"1.7": 0.2})
    with Journal() as journal:
        profile_store.save(journal, profile)
    code = main(["logs", "follow", "--profile", "lab", "--level", "error", "--duration", "2"])
    assert code == 0  # no session: nothing to raise a trigger for
    out = capsys.readouterr().out.splitlines()
    assert out and all(" ERROR " in x or " CRITICAL " in x for x in out)
    assert any("failed with 500" in x for x in out)

    assert main(["logs", "follow", "--profile", "lab", "--duration", "1", "--json"]) == 0
    records = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert records and {"ts", "node", "level", "message"} <= set(records[0])


def test_logs_without_a_source_or_session_say_what_to_do(capsys, controlled_cluster):
    from dataclasses import replace

    _, _, profile = controlled_cluster(nodes=1)
    with Journal() as journal:
        profile_store.save(
            journal, replace(profile, nodes=(replace(profile.nodes[0], log_source=""),))
        )
    assert main(["logs", "follow", "--profile", "lab", "--duration", "1"]) == 2
    assert "no log source set for n1" in capsys.readouterr().err
    assert main(["logs", "show", "--profile", "lab"]) == 2
    assert "has no upgrade session" in capsys.readouterr().err
    assert main(["logs", "show", "--profile", "nope"]) == 2


def test_logs_show_prints_a_hops_counts_and_stored_lines(capsys, controlled_cluster):
    from themis_desktop.core.logs.line_format import parse_plain
    from themis_desktop.core.logs.watch import HopPhase, store
    from themis_desktop.core.upgrade.session import UpgradeSession
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    _, _, profile = controlled_cluster(nodes=1)
    with Journal() as journal:
        profile = profile_store.save(journal, profile)
        plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
        session = UpgradeSession.create(journal, profile, plan)
        hop = session.hops[0]
        phase = HopPhase(session.id, hop.id, hop.label, "validating")
        lines = [
            parse_plain(
                "n1", f"[2026-11-26 10:00:0{i}.000] [themis] [{level}] [thread 1] {text}", 0
            )
            for i, (level, text) in enumerate(
                [("info", "Server listening"), ("error", "WAL sync failed"), ("warning", "slow")]
            )
        ]
        store(journal, phase, lines, [x for x in lines if x.at_least_warning])
    assert main(["logs", "show", "--profile", "lab", "--json"]) == 0
    (shown,) = json.loads(capsys.readouterr().out)
    assert shown["counts"] == {"validating": {"info": 1, "error": 1, "warning": 1}}
    assert [x["message"] for x in shown["lines"]] == ["WAL sync failed", "slow"]
    assert main(["logs", "show", "--profile", "lab", "--hop", "1", "--level", "error"]) == 0
    out = capsys.readouterr().out
    assert "validating         1 errors      1 warnings" in out and "WAL sync failed" in out
    assert "slow" not in out.split("warnings", 1)[1]
