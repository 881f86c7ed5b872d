"""The clients against servers that trickle, flood, nest, lie or answer garbage.

The rules: every request ends by its total deadline (connect + headers + body; a trickle
does not reset it), reads at most its route's body limit, parses JSON at most 64 levels
deep; a node is "up" only when it answers as ThemisDB; NaN is "no data"; and a verdict
never passes on too little data. Each server is real, on loopback (tests/core/hostile_http).
"""

from __future__ import annotations

import gzip
import json
import math
import time

import pytest

from tests.core.hostile_http import (
    answer,
    deep_json,
    endless,
    garbage,
    head,
    hostile_server,
    lying_length,
    never_answer,
    server_error,
    trickle,
)
from themis_desktop.core.metrics.prometheus_source import PrometheusSource
from themis_desktop.core.metrics.sampling import NodeSampler
from themis_desktop.core.metrics.verdict import evaluate
from themis_desktop.core.server import errors, strict_json
from themis_desktop.core.server.bounded_http import MiB, size_text
from themis_desktop.core.server.client import ThemisClient
from themis_desktop.core.server.node_status import poll_node

DEADLINE = 1.0
LATE = DEADLINE + 1.0  # the deadline plus scheduling slack; a trickle runs for 6 s
HEALTH = {"status": "healthy", "version": "0.1.0", "database": "themis", "uptime_seconds": 5}
NAN_METRICS = "".join(
    f"{name} NaN\n"
    for name in (
        "process_uptime_seconds",
        "vccdb_requests_total",
        "vccdb_errors_total",
        "rocksdb_block_cache_usage_bytes",
        "rocksdb_pending_compaction_bytes",
        "rocksdb_estimate_num_keys",
    )
)
# Python's json module reads (and writes) the non-standard NaN token: a hostile server's
# readiness checks can carry it into the app.
NAN_READY = b'{"status": "ready", "checks": {"memory_rss_bytes": NaN, "load": Infinity}}'


def _timed(call):
    started = time.monotonic()
    try:
        result = call()
    except errors.ThemisError as exc:
        return exc, time.monotonic() - started
    return result, time.monotonic() - started


# -- the total deadline ----------------------------------------------------------------


def test_a_body_trickled_a_byte_at_a_time_ends_at_the_deadline():
    with hostile_server({"/health": trickle(0.1)}) as server:
        with ThemisClient(server.url, timeout=DEADLINE) as client:
            error, seconds = _timed(client.health)
    assert isinstance(error, errors.DeadlineExceeded), error
    assert DEADLINE - 0.05 <= seconds < LATE
    assert "still coming in when the deadline of 1 s passed" in str(error)
    assert "--timeout" in error.hint


def test_headers_trickled_a_byte_at_a_time_end_at_the_deadline():
    with hostile_server({"/stats": trickle(0.1, headers_first=False)}) as server:
        with ThemisClient(server.url, timeout=DEADLINE) as client:
            error, seconds = _timed(client.stats)
    assert isinstance(error, errors.DeadlineExceeded) and seconds < LATE
    assert "No answer within 1 s" in str(error)


def test_a_prometheus_server_that_trickles_ends_at_the_deadline_too():
    with hostile_server({"/api/v1/query_range": trickle(0.1)}) as server:
        with PrometheusSource(server.url, timeout=DEADLINE) as source:
            error, seconds = _timed(lambda: source.query_range("up", 0, 60, 1))
    assert isinstance(error, errors.DeadlineExceeded) and seconds < LATE


def test_a_poll_stops_asking_once_the_node_is_out_of_reach():
    # /health answers, then every other route hangs: one deadline, not one per route
    routes = {"/health": answer(HEALTH)}
    with hostile_server(routes, default=never_answer) as server:
        with ThemisClient(server.url, timeout=DEADLINE) as client:
            status, seconds = _timed(lambda: poll_node(client, "n1"))
    assert status.up and status.stats is None and seconds < LATE
    assert any("No answer within 1 s" in note for note in status.notes)
    assert any("readiness and stats not asked" in note for note in status.notes)


def test_a_sample_of_a_hung_node_waits_one_deadline_not_one_per_route():
    with hostile_server({}, default=never_answer) as server:
        with ThemisClient(server.url, timeout=DEADLINE) as client:
            sample, seconds = _timed(NodeSampler(client, server.url).sample)
    assert not sample.up and "No answer within 1 s" in sample.error
    assert seconds < LATE
    assert server.requests == ["/metrics"]


# -- the body limits -------------------------------------------------------------------


def test_an_announced_200_mib_metrics_page_is_refused_before_reading_it():
    with hostile_server({"/metrics": lying_length}) as server:
        with ThemisClient(server.url, timeout=DEADLINE) as client:
            error, seconds = _timed(client.metrics_text)
    assert isinstance(error, errors.ResponseTooLarge) and seconds < DEADLINE
    assert "larger than 16 MiB" in str(error) and "200 MiB announced" in str(error)
    assert "docs/limits.md" in error.hint


@pytest.mark.parametrize(("path", "call"), [("/metrics", "metrics_text"), ("/health", "health")])
def test_an_endless_chunked_body_is_cut_at_the_routes_limit(path, call):
    from themis_desktop.core.server.client import BODY_LIMITS

    offered = 64 * MiB
    with hostile_server({path: endless(offered, chunked=True)}) as server:
        with ThemisClient(server.url, timeout=5.0) as client:
            error, _ = _timed(getattr(client, call))
    assert isinstance(error, errors.ResponseTooLarge), error
    limit = BODY_LIMITS[path]
    assert f"larger than {size_text(limit)}, the limit for this request;" in str(error)
    # reading stopped at the limit: the server could not push much more than socket buffers
    assert server.sent[path] < limit + 16 * MiB < offered


def test_a_routes_limit_can_be_set_per_client():
    with hostile_server({"/metrics": answer("x" * 5000, content_type="text/plain")}) as server:
        with ThemisClient(server.url, body_limits={"/metrics": 4096}) as client:
            with pytest.raises(errors.ResponseTooLarge, match="4 KiB"):
                client.metrics_text()
        with ThemisClient(server.url) as client:
            assert len(client.metrics_text()) == 5000


def test_a_compressed_answer_is_refused_not_inflated():
    bomb = gzip.compress(json.dumps(HEALTH).encode())

    def compressed(conn):
        conn.send(head(200, Content_Encoding="gzip", Content_Length=str(len(bomb))) + bomb)

    with hostile_server({"/health": compressed}) as server, ThemisClient(server.url) as client:
        with pytest.raises(errors.MalformedResponse, match="compressed"):
            client.health()


# -- JSON depth ------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "depth"), [("/stats", 200_000), ("/health", 20_000)])
def test_json_nested_deeper_than_64_levels_is_malformed_not_a_recursion_error(path, depth):
    with hostile_server({path: deep_json(depth)}) as server, ThemisClient(server.url) as client:
        call = client.stats if path == "/stats" else client.health
        with pytest.raises(errors.MalformedResponse, match="nested more than 64 levels"):
            call()


def test_a_deeply_nested_error_body_still_gives_the_status_error():
    def deep_500(conn):
        answer(b"[" * 20_000 + b"]" * 20_000, 500)(conn)

    with hostile_server({"/health": deep_500}) as server, ThemisClient(server.url) as client:
        with pytest.raises(errors.ServerFailure, match="HTTP 500"):
            client.health()


def test_nesting_depth_ignores_brackets_inside_strings():
    assert strict_json.nesting_depth(b'{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert strict_json.nesting_depth('"\\"[[[" ') == 0
    assert strict_json.loads("[" * 64 + "]" * 64) is not None
    with pytest.raises(strict_json.JsonTooDeep):
        strict_json.loads("[" * 65 + "]" * 65)


def test_nesting_depth_agrees_with_the_parsed_documents_depth():
    import random

    rng = random.Random(7)
    leaves = ['a[\\"{', "\\\\", '"]', 1, 2.5, None, 'x\\\\\\"y', "}}", "é[{"]

    def document(level: int):
        roll = rng.random()
        if level > 10 or roll < 0.3:
            return rng.choice(leaves)
        if roll < 0.65:
            return [document(level + 1) for _ in range(rng.randrange(4))]
        return {f"k{i}[": document(level + 1) for i in range(rng.randrange(4))}

    def depth(value) -> int:
        children = value.values() if isinstance(value, dict) else value
        if not isinstance(value, dict | list):
            return 0
        return 1 + max((depth(child) for child in children), default=0)

    for _ in range(500):
        value = document(0)
        text = json.dumps(value, ensure_ascii=rng.random() < 0.5)
        assert strict_json.nesting_depth(text, cap=100) == depth(value), text
    assert strict_json.nesting_depth("[" * 1_000_000) == strict_json.MAX_DEPTH + 1  # unclosed


def test_strict_json_writes_nan_and_infinity_as_null():
    text = strict_json.dumps({"a": math.nan, "b": [math.inf, -math.inf, 1.5], "c": (2,)})
    assert json.loads(text, parse_constant=_refuse) == {"a": None, "b": [None, None, 1.5], "c": [2]}


def _refuse(token: str) -> None:
    raise AssertionError(f"non-standard JSON token {token}")


# -- "up" means answering as ThemisDB --------------------------------------------------


@pytest.mark.parametrize("behaviour", [server_error, garbage], ids=["500", "garbage"])
def test_a_node_answering_500_or_garbage_everywhere_is_not_up(behaviour):
    with hostile_server({}, default=behaviour) as server, ThemisClient(server.url) as client:
        sampler = NodeSampler(client, server.url)
        samples = [sampler.sample(), sampler.sample()]
    assert not any(s.up for s in samples)
    assert all(s.error for s in samples)
    if behaviour is server_error:
        assert "HTTP 500" in samples[0].error


def test_a_node_answering_404_everywhere_is_not_up_and_says_why():
    with hostile_server({}) as server, ThemisClient(server.url) as client:
        sample = NodeSampler(client, server.url).sample()
    assert not sample.up and "not as ThemisDB" in sample.error


def test_nan_metrics_are_no_data_never_nan():
    routes = {
        "/metrics": answer(NAN_METRICS, content_type="text/plain"),
        "/health/ready": answer(NAN_READY),
    }
    with hostile_server(routes) as server, ThemisClient(server.url) as client:
        sampler = NodeSampler(client, server.url)
        sampler.sample()
        sample = sampler.sample()
    assert sample.up  # its readiness has ThemisDB's shape
    assert sample.values["probe_ms"] is not None
    others = {k: v for k, v in sample.values.items() if k != "probe_ms"}
    assert others == dict.fromkeys(others)  # every one None: no data, not NaN


# -- no pass on too little data --------------------------------------------------------


def test_a_verdict_resting_on_the_probe_alone_is_inconclusive_not_a_pass():
    evaluation = evaluate({"probe_ms": [3.0] * 60}, {"probe_ms": [3.0] * 60})
    assert evaluation.overall == "inconclusive"
    assert evaluation.missing == ("error rate",)
    assert "too few samples of error rate" in evaluation.inconclusive


def test_a_verdict_with_latency_and_errors_on_both_sides_can_pass():
    data = {"server_p95_ms": [5.0] * 60, "error_rate": [0.0] * 60}  # era A via Prometheus
    evaluation = evaluate(data, data)
    assert evaluation.overall == "pass" and evaluation.inconclusive is None


def test_nan_values_do_not_count_as_samples():
    nan = {"probe_ms": [math.nan] * 20, "error_rate": [math.nan] * 20}
    evaluation = evaluate(nan, nan)
    assert evaluation.overall == "no data"
    assert {v.verdict for v in evaluation.verdicts} == {"no data"}


def test_a_failing_metric_still_fails_when_others_have_no_data():
    evaluation = evaluate({"probe_ms": [10.0] * 60}, {"probe_ms": [40.0] * 60})
    assert evaluation.overall == "fail" and evaluation.trigger is not None
