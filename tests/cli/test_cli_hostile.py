"""`status` and `metrics` against hostile servers: bounded in time, clear errors, honest
exit codes and strict JSON (a strict parser reads every --json output)."""

from __future__ import annotations

import json
import time

import pytest

from tests.core.hostile_http import (
    answer,
    deep_json,
    garbage,
    hostile_server,
    never_answer,
    server_error,
    trickle,
)
from tests.core.server.test_hostile_servers import HEALTH, NAN_METRICS, NAN_READY
from themis_desktop.cli import main
from themis_desktop.cli.common import ExitCode


def strict_loads(text: str):
    """JSON as a strict parser (jq, JavaScript, Go) reads it: NaN/Infinity are errors."""

    def refuse(token: str) -> None:
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def _run(argv: list[str]) -> tuple[int, float]:
    started = time.monotonic()
    code = main(argv)
    return code, time.monotonic() - started


# -- status ----------------------------------------------------------------------------


def test_status_of_a_trickling_node_ends_at_the_timeout_and_says_so(capsys):
    with hostile_server({}, default=trickle(0.1)) as server:
        code, seconds = _run(["status", server.url, "--timeout", "1"])
    out = capsys.readouterr().out
    assert code == 1 and seconds < 2.5
    assert "down" in out and "deadline of 1 s passed" in out


def test_status_of_json_nested_200000_deep_is_a_clear_error_not_a_traceback(capsys):
    routes = {"/health": answer(HEALTH), "/stats": deep_json(200_000)}
    with hostile_server(routes) as server:
        code, _ = _run(["status", server.url])
        assert main(["status", server.url, "--json"]) == 0
    out = capsys.readouterr().out
    assert code == 0  # /health answered; the stats are a note
    assert "nested more than 64 levels" in out


def test_status_json_is_strict_even_when_the_node_sends_nan(capsys):
    routes = {"/health": answer(HEALTH), "/health/ready": answer(NAN_READY)}
    with hostile_server(routes) as server:
        assert main(["status", server.url, "--json"]) == 0
    (node,) = strict_loads(capsys.readouterr().out)
    assert node["readiness"]["checks"] == {"memory_rss_bytes": None, "load": None}


# -- metrics snapshot ------------------------------------------------------------------


@pytest.mark.parametrize("behaviour", [server_error, garbage], ids=["500", "garbage"])
def test_snapshot_of_a_node_answering_500_or_garbage_is_not_up(capsys, behaviour):
    with hostile_server({}, default=behaviour) as server:
        code = main(["metrics", "snapshot", "--server", server.url, "--interval", "0.05"])
    assert code == 1  # down: it does not answer as ThemisDB
    assert "no usable answer" in capsys.readouterr().out


def test_snapshot_of_a_node_that_never_answers_takes_one_timeout(capsys):
    argv = ["metrics", "snapshot", "--interval", "0.05", "--timeout", "1", "--json"]
    with hostile_server({}, default=never_answer) as server:
        code, seconds = _run([*argv, "--server", server.url])
    report = strict_loads(capsys.readouterr().out)
    assert code == 1 and seconds < 2.5
    assert not report["up"] and "No answer within 1 s" in report["error"]


def test_snapshot_of_nan_metrics_is_strict_json_with_nulls_and_exits_4(capsys):
    routes = {
        "/metrics": answer(NAN_METRICS, content_type="text/plain"),
        "/health/ready": answer(NAN_READY),
    }
    with hostile_server(routes) as server:
        argv = ["metrics", "snapshot", "--server", server.url, "--interval", "0.05", "--json"]
        code = main(argv)
    captured = capsys.readouterr()
    report = strict_loads(captured.out)
    assert code == ExitCode.NO_DATA == 4
    assert report["values"]["uptime_seconds"]["value"] is None
    assert "gives no value" in captured.err


# -- metrics watch ---------------------------------------------------------------------


def test_watch_of_a_node_whose_metrics_are_nan_is_inconclusive_not_a_pass(capsys):
    routes = {
        "/metrics": answer(NAN_METRICS, content_type="text/plain"),
        "/health/ready": answer(NAN_READY),
    }
    with hostile_server(routes) as server:
        common = ["--server", server.url, "--interval", "0.05"]
        assert main(["metrics", "record", *common, "--duration", "1"]) == 0
        capsys.readouterr()
        code = main(
            [
                "metrics",
                "watch",
                *common,
                "--duration",
                "1",
                "--baseline-minutes",
                "1",
                "--min-samples",
                "5",  # a second of samples: the rule under test is the error rate missing
                "--json",
            ]
        )
    captured = capsys.readouterr()
    report = strict_loads(captured.out)
    assert code == ExitCode.NO_DATA
    assert report["overall"] == "inconclusive"
    assert report["inconclusive"].startswith("inconclusive: too few samples of error rate")
    probe = next(m for m in report["metrics"] if m["metric"] == "probe_ms")
    assert probe["verdict"] == "pass"  # the one metric with data passes, the whole does not
    assert "no verdict" in captured.err
