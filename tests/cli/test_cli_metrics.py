"""`themis-desktop metrics snapshot|record|watch` against real demo nodes."""

from __future__ import annotations

import json

from themis_desktop.cli import main

FEW = ("--min-samples", "10")  # two seconds of samples a side; 50 by default


def test_snapshot_json_has_every_metric_with_unit_and_no_data_as_null(capsys, start_demo_node):
    node = start_demo_node("1.2.0", workload=True)
    assert main(["metrics", "snapshot", "--server", node.url, "--interval", "0.3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    values = data["values"]
    assert data["up"] and values["request_rate"]["value"] > 0
    assert values["server_p95_ms"]["unit"] == "ms" and values["server_p95_ms"]["value"] > 0
    assert values["rss_bytes"]["value"] is None  # era A does not say: null, not 0


def test_watch_without_a_baseline_says_how_to_get_one(capsys, start_demo_node):
    node = start_demo_node("1.8.0")
    assert main(["metrics", "watch", "--server", node.url, "--duration", "1"]) == 2
    err = capsys.readouterr().err
    assert "no baseline" in err and "metrics record" in err


def _steady_node(start_demo_node):
    return start_demo_node(
        "1.8.0",
        latency_factors={"1.8": 12.0},
        error_rates={"1.8": 0.0},
        latency_sigma=0.05,
    )


def _watch(node, capsys, *extra: str) -> int:
    common = ["--server", node.url, "--interval", "0.05"]
    assert main(["metrics", "record", *common, "--duration", "2"]) == 0
    assert "recorded" in capsys.readouterr().out
    return main(
        ["metrics", "watch", *common, "--duration", "2", "--baseline-minutes", "1", *FEW, *extra]
    )


def test_watch_of_an_unchanged_node_passes(capsys, start_demo_node):
    node = _steady_node(start_demo_node)
    assert _watch(node, capsys, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    probe = next(m for m in report["metrics"] if m["metric"] == "probe_ms")
    assert probe["verdict"] == "pass" and report["trigger"] is None
    assert report["samples"]["baseline"] >= 5 and report["samples"]["now"] >= 5


def test_watch_of_a_node_that_got_slower_exits_3_with_the_trigger(capsys, start_demo_node):
    node = _steady_node(start_demo_node)
    common = ["--server", node.url, "--interval", "0.05"]
    assert main(["metrics", "record", *common, "--duration", "2"]) == 0
    node.set_profile(latency_factor=12.0 * 1.4)  # the "upgraded" node is 40 % slower
    code = main(["metrics", "watch", *common, "--duration", "2", "--baseline-minutes", "1", *FEW])
    out = capsys.readouterr().out
    assert code == 3
    assert "verdict: FAIL" in out and "rollback trigger: performance degradation" in out
    assert "Probe latency" in out


def test_a_metric_threshold_tightens_the_verdict(capsys, start_demo_node):
    node = start_demo_node(
        "1.8.0", latency_factors={"1.8": 30.0}, error_rates={"1.8": 0.0}, latency_sigma=0.05
    )  # ~70 ms: 15 % of it is above the 5 ms floor
    common = ["--server", node.url, "--interval", "0.05"]
    assert main(["metrics", "record", *common, "--duration", "2"]) == 0
    node.set_profile(latency_factor=30.0 * 1.15)  # 15 % slower: within the default 20 %
    code = main(
        [
            "metrics",
            "watch",
            *common,
            "--duration",
            "2",
            "--baseline-minutes",
            "1",
            "--threshold",
            "probe_ms=5",
            *FEW,
            "--json",
        ]
    )
    report = json.loads(capsys.readouterr().out.split("\n", 1)[1])  # after "recorded ..."
    probe = next(m for m in report["metrics"] if m["metric"] == "probe_ms")
    assert code == 3 and probe["verdict"] == "fail", probe
    assert "band ±5%" in probe["reason"], report["metrics"]


def test_an_unknown_metric_threshold_is_refused(capsys):
    try:
        main(
            [
                "metrics",
                "watch",
                "--server",
                "http://127.0.0.1:1",
                "--duration",
                "1",
                "--threshold",
                "speed=5",
            ]
        )
    except SystemExit as exc:
        assert exc.code == 2
    assert "unknown metric 'speed'" in capsys.readouterr().err


def test_a_watch_of_a_node_that_went_down_is_no_verdict_and_exits_4(capsys, start_demo_node):
    node = _steady_node(start_demo_node)
    common = ["--server", node.url, "--interval", "0.05"]
    assert main(["metrics", "record", *common, "--duration", "1"]) == 0
    node.stop()
    code = main(["metrics", "watch", *common, "--duration", "1", "--baseline-minutes", "1"])
    assert code == 4 and "no verdict" in capsys.readouterr().err
