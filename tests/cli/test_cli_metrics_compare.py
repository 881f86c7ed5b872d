"""`themis-desktop metrics compare`: two stored windows of a profile's samples, after the
fact, on the journal the app and `metrics record` write."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from themis_desktop.cli import main
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.metrics.sampling import Sample
from themis_desktop.core.metrics.store import insert_samples

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC).timestamp()


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


def _window(start: float, seconds: float) -> str:
    return f"{_iso(start)}..{_iso(start + seconds)}"


def _store(start: float, n: int, probe_ms: float, seed: int) -> None:
    rng = random.Random(seed)
    samples = [
        Sample(
            "n1",
            start + i,
            True,
            {
                "probe_ms": probe_ms * (1 + rng.uniform(-0.1, 0.1)),
                "request_rate": 50 * (1 + rng.uniform(-0.1, 0.1)),
                "error_rate": 0.0,
            },
            version="1.7.0",
        )
        for i in range(n)
    ]
    with Journal() as journal:
        insert_samples(journal, "lab", samples)


def test_two_windows_within_the_band_pass_with_the_interval_in_json(capsys):
    _store(START, 60, 40.0, 1)
    _store(START + 3600, 60, 42.0, 2)
    args = ["--before", _window(START, 59), "--after", _window(START + 3600, 59)]
    assert main(["metrics", "compare", "--profile", "lab", *args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["overall"] == "pass" and report["profile"] == "lab"
    load = report["offered_load"]  # the probes: one a second in both windows
    assert load["before"] == load["after"] == pytest.approx(1.0, abs=0.05)
    probe = next(m for m in report["metrics"] if m["metric"] == "probe_ms")
    assert probe["n"] == {"before": 60, "after": 60}
    low, high = probe["interval"]
    assert low <= probe["shift"] <= high < probe["band"]


def test_too_few_samples_are_inconclusive_exit_4(capsys):
    _store(START, 60, 40.0, 1)
    _store(START + 3600, 10, 300.0, 2)  # 650 % slower, but only 10 samples
    args = ["--before", _window(START, 59), "--after", _window(START + 3600, 59)]
    assert main(["metrics", "compare", "--profile", "lab", *args]) == 4
    out = capsys.readouterr().out
    assert "verdict: INCONCLUSIVE" in out and "needs 40 more samples" in out


def test_a_bad_window_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["metrics", "compare", "--profile", "lab", "--before", "x", "--after", "y"])
    assert exited.value.code == 2 and "FROM..TO" in capsys.readouterr().err


def test_samples_recorded_from_a_node_that_got_slower_fail(capsys, start_demo_node):
    node = start_demo_node(
        "1.8.0", latency_factors={"1.8": 12.0}, error_rates={"1.8": 0.0}, latency_sigma=0.05
    )
    common = ["--server", node.url, "--interval", "0.05", "--json"]
    assert main(["metrics", "record", *common, "--duration", "1.5"]) == 0
    before = json.loads(capsys.readouterr().out)
    node.set_profile(latency_factor=12.0 * 1.6)  # the "upgraded" node is 60 % slower
    assert main(["metrics", "record", *common, "--duration", "1.5"]) == 0
    after = json.loads(capsys.readouterr().out)
    windows = [
        "--before",
        f"{_iso(before['from'])}..{_iso(before['to'])}",
        "--after",
        f"{_iso(after['from'])}..{_iso(after['to'])}",
    ]
    code = main(["metrics", "compare", "--profile", "cli", *windows, "--min-samples", "8"])
    out = capsys.readouterr().out
    assert code == 3, out  # the verdict is fail, as `metrics watch` says it
    assert "verdict: FAIL" in out and "rollback trigger" in out
