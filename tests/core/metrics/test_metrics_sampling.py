"""Sampling real nodes: derived values, gaps, restarts, storage with ageing, baselines, and
the verdict of a hop against a demo node made slower."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.core.loopback import free_port
from themis_desktop.core.journal.store import _V4_METRICS, Journal
from themis_desktop.core.metrics import store as metrics_store
from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.metrics.sampler import Recorder
from themis_desktop.core.metrics.sampling import NodeSampler, Sample
from themis_desktop.core.metrics.verdict import evaluate, pooled, record
from themis_desktop.core.server.client import ThemisClient
from themis_desktop.demo.node import DemoNode, NodeOptions


def _take(sampler: NodeSampler, n: int) -> list[Sample]:
    return [sampler.sample() for _ in range(n)]


def test_the_journal_has_a_column_for_every_metric_of_the_table():
    assert tuple(METRICS) == _V4_METRICS


def test_era_a_node_gives_server_and_probe_latency(start_demo_node):
    node = start_demo_node("1.2.0", workload=True)
    with ThemisClient(node.url) as client:
        samples = _take(NodeSampler(client, "n1"), 3)
    first, last = samples[0], samples[-1]
    assert first.values.get("request_rate") is None  # a rate needs two samples
    assert last.up and last.values["request_rate"] > 0
    assert last.values["server_p95_ms"] >= last.values["server_p50_ms"] > 0
    assert last.values["probe_ms"] > 0
    assert last.values["estimated_keys"] > 0
    assert last.values["rss_bytes"] is None  # era A has no /health/ready: no data, not zero


def test_era_b_node_has_no_server_latency_but_probe_latency(start_demo_node):
    node = start_demo_node("1.8.0")
    with ThemisClient(node.url) as client:
        last = _take(NodeSampler(client, "n1"), 3)[-1]
    assert last.version == "1.8.0"
    assert last.values["server_p50_ms"] is None and last.values["server_p99_ms"] is None
    assert last.values["probe_ms"] > 0
    assert last.values["rss_bytes"] > 0


def test_unreachable_node_is_a_gap_not_an_exception():
    with ThemisClient(f"http://127.0.0.1:{free_port()}", timeout=0.5) as client:
        sample = NodeSampler(client, "gone").sample()
    assert not sample.up and "refused" in (sample.error or "").lower()
    assert sample.values == {}


class _Counters(http.server.BaseHTTPRequestHandler):
    """A node whose counters are set by the test (to stage a restart)."""

    uptime = 100.0
    requests = 1000.0

    def do_GET(self) -> None:
        if self.path == "/metrics":
            body = (
                f"process_uptime_seconds {self.uptime}\nvccdb_requests_total {self.requests}\n"
                "vccdb_errors_total 0\n"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
        else:
            body = b'{"error": true, "message": "Not found"}'
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _counter_server() -> Iterator[tuple[str, type[_Counters]]]:
    handler = type("Handler", (_Counters,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_counter_reset_is_a_restart_and_not_a_negative_rate():
    with _counter_server() as (url, handler), ThemisClient(url) as client:
        sampler = NodeSampler(client, "n1", probes=1)
        sampler.sample()
        handler.uptime, handler.requests = 2.0, 30.0  # the process restarted
        sample = sampler.sample()
    assert sample.restarted
    assert sample.values["request_rate"] > 0  # 30 new requests, not -970


def test_recorder_stores_samples_and_reports_a_gap_once(tmp_path, start_demo_node):
    node = start_demo_node("1.8.0")
    journal_file = tmp_path / "journal.sqlite"
    Journal(journal_file).close()
    gone = ThemisClient(f"http://127.0.0.1:{free_port()}", timeout=0.5)
    live = ThemisClient(node.url)
    seen: list[Sample] = []
    done = threading.Event()

    def on_sample(sample: Sample) -> None:
        seen.append(sample)
        if sum(s.node == "live" for s in seen) >= 3 and sum(s.node == "gone" for s in seen) >= 3:
            done.set()

    recorder = Recorder(
        "demo",
        [NodeSampler(live, "live", probes=1), NodeSampler(gone, "gone", probes=1)],
        interval=0.05,
        journal_path=journal_file,
        on_sample=on_sample,
    )
    recorder.start()
    try:
        assert done.wait(15)
    finally:
        recorder.stop()
        live.close()
        gone.close()
    with Journal(journal_file) as journal:
        series = metrics_store.load_series(journal, "demo")
        gaps = journal.events(types=["metrics.gap"])
    assert series["live"].up.all() and not series["gone"].up.any()
    assert (series["live"].values["probe_ms"][1:] > 0).all()
    assert [e.node for e in gaps] == ["gone"]  # one event, however long the gap


def _sample(node: str, at: float, probe: float) -> Sample:
    return Sample(node, at, True, {"probe_ms": probe, "request_rate": 10.0})


def test_samples_age_into_ten_second_then_one_minute_steps(tmp_path):
    now = 1_000_000.0
    with Journal(tmp_path / "j.sqlite") as journal:
        start = (now - 50 * 3600) // 60 * 60  # on a minute boundary, 50 h ago
        old = [_sample("n1", start + i, float(i)) for i in range(120)]
        middle = [_sample("n1", now - 7 * 3600 + i, 1.0) for i in range(60)]  # 7 h ago
        fresh = [_sample("n1", now - 60 + i, 2.0) for i in range(30)]
        metrics_store.insert_samples(journal, "p", old + middle + fresh)
        merged = metrics_store.downsample(journal, now)
        steps = dict(
            journal.db.execute("SELECT step, COUNT(*) FROM samples GROUP BY step").fetchall()
        )
        series = metrics_store.load_series(journal, "p")["n1"]
    assert merged == 120 + 60 + 12  # the 10-second buckets of the old ones merge again
    assert steps == {1: 30, 10: 6, 60: 2}
    assert series.values["probe_ms"][0] == pytest.approx(sum(range(60)) / 60)  # a mean
    assert list(series.at) == sorted(series.at)


def test_a_baseline_keeps_its_values_after_the_samples_aged(tmp_path):
    now = time.time()
    with Journal(tmp_path / "j.sqlite") as journal:
        metrics_store.insert_samples(
            journal, "p", [_sample("n1", now - 900 + i, 40.0 + i % 3) for i in range(600)]
        )
        baseline = metrics_store.capture_baseline(
            journal, "p", now - 900, now - 300, kind="path", label="before 1.7 → 1.8"
        )
        metrics_store.downsample(journal, now + 7 * 3600)
        again = metrics_store.path_baseline(journal, "p")
    assert again is not None and again.id == baseline.id
    assert len(again.values("probe_ms")) == 600
    assert again.values("server_p50_ms") == []  # never measured: no data


def _run_hop(slowdown: float) -> tuple[dict, dict]:
    """Baseline on 1.7.0, then the same node restarted as 1.8.0 running `slowdown` slower."""
    options = NodeOptions(
        version="1.7.0",
        port=free_port(),
        workload=False,
        data_size_mb=1,
        latency_factors={"1.7": 12.0, "1.8": 12.0 * slowdown},
        error_rates={"1.7": 0.0, "1.8": 0.0},
        latency_sigma=0.05,
    )
    node = DemoNode(options)
    node.start()
    try:
        with ThemisClient(node.url) as client:
            sampler = NodeSampler(client, "n1")
            before = _take(sampler, 16)
            node.stop()
            node = DemoNode(
                NodeOptions(**{**options.__dict__, "version": "1.8.0", "data_dir": node.data_dir})
            )
            node.start()
            after = _take(sampler, 16)
    finally:
        node.stop()
    assert {s.version for s in after} == {"1.8.0"}
    return _values(before[1:]), _values(after[1:])


def _values(samples: list[Sample]) -> dict[str, list[float]]:
    return pooled(
        {"n1": {k: [s.values[k] for s in samples if s.values.get(k) is not None] for k in METRICS}}
    )


def test_a_node_thirty_percent_slower_fails_with_evidence(tmp_path):
    baseline, after = _run_hop(1.3)
    evaluation = evaluate(baseline, after, min_samples=10)  # 15 samples a side of a real node
    probe = next(v for v in evaluation.verdicts if v.metric == "probe_ms")
    assert probe.verdict == "fail", probe.explanation
    assert probe.hop.change == pytest.approx(0.3, abs=0.1)
    assert evaluation.overall == "fail"
    trigger = evaluation.trigger
    assert trigger is not None and trigger.metric == "probe_ms"
    assert "Probe latency +" in trigger.summary and "p = " in trigger.summary
    assert not evaluation.blocks  # advisory by default
    with Journal(tmp_path / "j.sqlite") as journal:
        record(journal, "demo", evaluation)
        (event,) = journal.events(types=["metrics.verdict"])
    assert event.data["metrics"]["probe_ms"]["verdict"] == "fail"


def test_a_node_five_percent_slower_passes():
    baseline, after = _run_hop(1.05)
    evaluation = evaluate(baseline, after, min_samples=10)
    probe = next(v for v in evaluation.verdicts if v.metric == "probe_ms")
    assert probe.verdict == "pass", probe.explanation
    assert evaluation.trigger is None or evaluation.trigger.metric != "probe_ms"


def test_server_latency_missing_after_the_hop_is_no_data_not_a_pass_or_fail():
    core = {"probe_ms": [3.0] * 60, "error_rate": [0.0] * 60}
    baseline = {"server_p95_ms": [5.0] * 60, **core}
    after = dict(core)  # era B: no histogram
    evaluation = evaluate(baseline, after, mode="enforcing")
    by_metric = {v.metric: v.verdict for v in evaluation.verdicts}
    assert by_metric["server_p95_ms"] == "no data"
    assert evaluation.overall == "pass" and not evaluation.blocks


def test_three_small_hops_fail_against_the_path_baseline():
    import random

    rng = random.Random(4)

    def around(median: float) -> list[float]:
        return [median * (1 + rng.uniform(-0.05, 0.05)) for _ in range(60)]

    path = around(40)
    hop2, hop3 = around(40 * 1.08**2), around(40 * 1.08**3)
    evaluation = evaluate({"probe_ms": hop2}, {"probe_ms": hop3}, {"probe_ms": path})
    probe = next(v for v in evaluation.verdicts if v.metric == "probe_ms")
    assert probe.hop.verdict in ("pass", "marginal")
    assert probe.path is not None and probe.path.verdict == "fail"
    assert probe.verdict == "fail" and evaluation.overall == "fail"
    assert "path's first baseline" in (evaluation.trigger.summary if evaluation.trigger else "")


def test_era_a_version_is_the_profiles_and_missing_routes_are_not_asked_again(start_demo_node):
    node = start_demo_node("1.2.0")
    requests: list[str] = []
    with ThemisClient(node.url) as client:
        client._http.event_hooks["request"].append(lambda r: requests.append(r.url.path))
        sampler = NodeSampler(client, "n1", version_override="1.2.0")
        first = sampler.sample()
        requests.clear()
        second = sampler.sample()
    assert first.version == second.version == "1.2.0"  # not the era's "1.0.0"
    assert requests == ["/metrics", "/entities/probe:0"]  # no /health/ready, no /stats


def test_after_a_gap_the_node_is_asked_its_version_again(controlled_cluster):
    cluster, _, profile = controlled_cluster(nodes=1)
    with ThemisClient(profile.nodes[0].url, timeout=0.5) as client:
        sampler = NodeSampler(client, "n1")
        assert sampler.sample().version == "1.7.0"
        cluster.stop_node(0)
        assert not sampler.sample().up
        cluster.install(0, "1.8.0")
        cluster.start_node(0)
        assert sampler.sample().version == "1.8.0"


def test_an_idle_era_a_node_has_no_errors_though_it_counts_the_probes_404s(start_demo_node):
    node = start_demo_node("1.2.0", error_rate=0.0)
    with ThemisClient(node.url) as client:
        sampler = NodeSampler(client, "n1")
        samples = [sampler.sample() for _ in range(6)]
        counted = client.stats().total_errors
    assert [s.values["error_rate"] for s in samples[1:]] == [0.0] * 5
    assert counted >= 5  # the node counted each probe of a missing key as an error


def test_the_nodes_failures_of_the_samplers_own_probes_stay_in_the_error_rate(start_demo_node):
    node = start_demo_node("1.7.3", error_rate=1.0)  # every probe fails with a 500
    with ThemisClient(node.url) as client:
        sampler = NodeSampler(client, "n1")
        samples = [sampler.sample() for _ in range(4)]
    # each interval: /metrics, /health/ready and the probe, which failed: 1 in 3 (the first
    # interval also holds the version detection's /version)
    assert [s.values["error_rate"] for s in samples[2:]] == [pytest.approx(1 / 3)] * 2
