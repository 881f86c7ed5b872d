"""Baselines from a real Prometheus that scrapes demo nodes, and its failures against tiny
loopback servers."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import wait_until
from tests.core.loopback import canned_http, free_port, silent_listener
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.metrics import exposition
from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.metrics.prometheus_source import (
    MAX_POINTS,
    METRIC_QUERIES,
    PrometheusError,
    PrometheusSource,
    auto_rate_window,
    fit_step,
    parse_duration,
    promql_duration,
)
from themis_desktop.core.metrics.store import baselines, save_baseline
from themis_desktop.core.server import errors
from themis_desktop.demo.node import DemoNode, NodeOptions

PROMETHEUS = shutil.which("prometheus")
MIN_SCRAPES = 7  # samples per node before the tests start: enough for several rate values
START_DEADLINE_S = 40.0  # Prometheus 2.x applies its targets up to 5 s after start


@dataclass(frozen=True)
class Scraped:
    url: str
    era_a: DemoNode
    era_b: DemoNode
    since: float

    @staticmethod
    def instance(node: DemoNode) -> str:
        return f"127.0.0.1:{node.port}"


def _config(targets: list[str]) -> str:
    return (
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: themis\n    static_configs:\n"
        f"      - targets: {json.dumps(targets)}\n"
    )


def _wait_until_scraped(proc: subprocess.Popen, url: str, targets: list[str], log: Path) -> None:
    """Poll /-/ready, then the sample count of every target, until each has MIN_SCRAPES."""
    query = "count_over_time(vccdb_requests_total[5m])"
    state: dict = {"ready": False, "counts": {}}
    with httpx.Client(base_url=url, timeout=2.0) as http:

        def scraped() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"prometheus exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if not state["ready"]:
                    state["ready"] = http.get("/-/ready").status_code == 200
                    return False
                result = http.get("/api/v1/query", params={"query": query}).json()
            except httpx.TransportError:
                return False  # not listening yet
            state["counts"] = {
                s["metric"].get("instance", ""): float(s["value"][1])
                for s in result["data"]["result"]
            }
            return all(state["counts"].get(t, 0) >= MIN_SCRAPES for t in targets)

        wait_until(
            scraped,
            timeout=START_DEADLINE_S,
            interval=0.1,
            what=lambda: (
                f"prometheus scraped {targets} (ready={state['ready']}, counts={state['counts']})"
            ),
        )


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    """One Prometheus (1 s scrapes) for the module, scraping an era-A and an era-B node."""
    if PROMETHEUS is None:
        pytest.skip("the `prometheus` binary is not installed (apt-get install prometheus)")
    folder = tmp_path_factory.mktemp("prometheus")
    nodes = [
        DemoNode(NodeOptions(version=v, name=n, data_dir=folder / n, data_size_mb=1, workload=True))
        for v, n in (("1.2.0", "era-a"), ("1.8.0", "era-b"))
    ]
    started: list[DemoNode] = []
    try:
        for node in nodes:
            node.start()
            started.append(node)
        targets = [Scraped.instance(node) for node in nodes]
        (folder / "prometheus.yml").write_text(_config(targets))
        port = free_port()
        log = folder / "prometheus.log"
        since = time.time()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    PROMETHEUS,
                    f"--config.file={folder / 'prometheus.yml'}",
                    f"--storage.tsdb.path={folder / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_scraped(proc, url, targets, log)
            yield Scraped(url, nodes[0], nodes[1], since)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        for node in started:
            node.stop()


def _own_p95_ms(node: DemoNode) -> float:
    """The p95 the node's own cumulative histogram gives (what the app computes itself)."""
    with httpx.Client(timeout=5.0) as http:
        text = http.get(node.url + "/metrics").text
    value = exposition.quantile(exposition.parse(text).buckets(exposition.LATENCY_BUCKETS), 0.95)
    assert value is not None
    return value / 1000


def _own_gauge(node: DemoNode, name: str) -> float:
    with httpx.Client(timeout=5.0) as http:
        value = exposition.parse(http.get(node.url + "/metrics").text).value(name)
    assert value is not None
    return value


# -- a real Prometheus ------------------------------------------------------------------


def test_era_a_node_values_come_from_prometheus(scraped: Scraped):
    instance = scraped.instance(scraped.era_a)
    with PrometheusSource(scraped.url) as source:
        assert source.scrape_interval(instance) == 1.0
        values = source.node_values(instance, scraped.since, time.time())
    assert set(values) == set(METRICS)
    rates = values["request_rate"]
    assert len(rates) >= 3 and all(r > 0 for r in rates)
    assert 40 <= statistics.median(rates) <= 250, rates  # the demo runs 50-200 req/s
    assert values["error_rate"] and all(0 <= e <= 1 for e in values["error_rate"])
    # histogram_quantile works on the untyped `vccdb_latency_bucket_microseconds`
    p50, p95, p99 = (values[f"server_p{q}_ms"] for q in (50, 95, 99))
    assert p95 and all(v > 0 for v in p95)
    assert statistics.median(p50) <= statistics.median(p95) <= statistics.median(p99)
    own = _own_p95_ms(scraped.era_a)
    assert own / 3 <= statistics.median(p95) <= own * 3, (own, p95)
    keys = _own_gauge(scraped.era_a, "rocksdb_estimate_num_keys")
    assert values["estimated_keys"][-1] == pytest.approx(keys, rel=0.05)
    uptime = values["uptime_seconds"]
    assert uptime == sorted(uptime) and uptime[-1] > uptime[0]
    assert values["block_cache_usage_bytes"] and values["pending_compaction_bytes"]
    assert values["probe_ms"] == []  # the app's own probes: Prometheus cannot know them
    assert values["rss_bytes"] == []  # the demo does not export process_resident_memory_bytes


def test_era_b_node_has_no_server_latency_not_zero(scraped: Scraped):
    with PrometheusSource(scraped.url) as source:
        values = source.node_values(scraped.instance(scraped.era_b), scraped.since, time.time())
    assert values["request_rate"] and all(r > 0 for r in values["request_rate"])
    for key in ("server_p50_ms", "server_p95_ms", "server_p99_ms"):
        assert values[key] == []


def test_baseline_from_prometheus_round_trips_through_the_journal(scraped: Scraped, tmp_path):
    nodes = {"n1": scraped.instance(scraped.era_a), "n2": scraped.instance(scraped.era_b)}
    end = time.time()
    with PrometheusSource(scraped.url) as source:
        baseline = source.baseline("prod", nodes, scraped.since, end, kind="path", label="1.2")
    assert (baseline.source, baseline.kind, baseline.id) == ("prometheus", "path", None)
    assert set(baseline.data) == {"n1", "n2"}
    assert baseline.values("server_p95_ms", "n1") and not baseline.values("server_p95_ms", "n2")
    assert len(baseline.values("request_rate")) >= 6  # both nodes pooled
    journal = Journal(tmp_path / "j.sqlite")
    try:
        saved = save_baseline(journal, baseline)
        assert saved.id is not None and saved.created_at
        (loaded,) = baselines(journal, "prod")
    finally:
        journal.close()
    assert loaded.data == baseline.data
    assert (loaded.source, loaded.kind, loaded.label) == ("prometheus", "path", "1.2")
    assert (loaded.start, loaded.end) == (scraped.since, end)


def test_a_node_prometheus_does_not_know_is_a_clear_error(scraped: Scraped):
    with PrometheusSource(scraped.url) as source, pytest.raises(PrometheusError) as caught:
        source.baseline("prod", {"n1": "10.9.9.9:8765"}, scraped.since, time.time())
    text = str(caught.value)
    assert "10.9.9.9:8765" in text and scraped.instance(scraped.era_a) in text


def test_a_range_beyond_11000_points_gets_a_coarser_step(scraped: Scraped):
    end = time.time()
    with PrometheusSource(scraped.url) as source:  # 2 days at 1 s would be 172,800 points
        series = source.query_range("vccdb_requests_total", end - 2 * 86400, end, 1.0)
    assert series[scraped.instance(scraped.era_a)]


def test_nan_answers_are_dropped_by_a_real_prometheus(scraped: Scraped):
    sel = '{instance="' + scraped.instance(scraped.era_a) + '"}'
    with PrometheusSource(scraped.url) as source:
        series = source.query_range(
            f"vccdb_requests_total{sel} * NaN", scraped.since, time.time(), 1
        )
    assert series == {scraped.instance(scraped.era_a): []}


# -- helpers ------------------------------------------------------------------------


def test_step_is_raised_to_stay_within_the_point_limit():
    assert fit_step(0, 3600, 1.0) == 1.0
    step = fit_step(0, 7 * 86400, 1.0)
    assert 7 * 86400 / step <= MAX_POINTS and step < 56
    assert fit_step(0, 7 * 86400, 120.0) == 120.0
    with pytest.raises(ValueError):
        fit_step(0, 10, 0)


def test_rate_window_covers_several_scrapes_and_the_step():
    assert auto_rate_window(1.0, 1.0) == 4.0
    assert auto_rate_window(15.0, 60.0) == 75.0
    assert promql_duration(4.0) == "4s" and promql_duration(1.5) == "1500ms"
    assert parse_duration("1m30s") == 90.0 and parse_duration("500ms") == 0.5
    assert parse_duration("soon") is None


def test_every_query_selects_by_instance_and_probe_latency_has_none():
    assert "probe_ms" not in METRIC_QUERIES
    assert set(METRIC_QUERIES) < set(METRICS)
    assert all("{sel}" in query for query in METRIC_QUERIES.values())


# -- failures without a Prometheus --------------------------------------------------


def test_refused_port_is_a_clear_error():
    with PrometheusSource(f"127.0.0.1:{free_port()}") as source:
        with pytest.raises(errors.ConnectionRefused, match="9090"):
            source.query_range("up", 0, 60, 1)


def test_a_hung_server_times_out():
    with silent_listener() as url, PrometheusSource(url, timeout=0.3) as source:
        with pytest.raises(errors.ConnectTimeout):
            source.query_range("up", 0, 60, 1)


def test_a_promql_error_carries_prometheus_text():
    body = json.dumps({"status": "error", "errorType": "bad_data", "error": "parse error"})
    with canned_http(400, body.encode()) as url, PrometheusSource(url) as source:
        with pytest.raises(PrometheusError, match="parse error") as caught:
            source.query_range("up(", 0, 60, 1)
    assert caught.value.status == 400 and "bad_data" in str(caught.value)


def test_non_json_is_malformed():
    with canned_http(200, b"<html>Grafana</html>", "text/html") as url:
        with PrometheusSource(url) as source, pytest.raises(errors.MalformedResponse):
            source.query_range("up", 0, 60, 1)


def test_wrong_shape_is_malformed():
    body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}})
    with canned_http(200, body.encode()) as url, PrometheusSource(url) as source:
        with pytest.raises(errors.MalformedResponse, match="matrix"):
            source.query_range("up", 0, 60, 1)


def test_not_a_prometheus_api_is_not_found():
    with canned_http(404, b"404 page not found", "text/plain") as url:
        with PrometheusSource(url) as source, pytest.raises(errors.NotFound):
            source.query_range("up", 0, 60, 1)


def test_values_are_parsed_and_non_finite_ones_dropped():
    result = [
        {
            "metric": {"instance": "a:1", "job": "t"},
            "values": [[1, "1.5"], [2, "NaN"], [3, "+Inf"], [4, "2"]],
        },
        {"metric": {"__name__": "up", "job": "t"}, "values": [[1, "1"]]},
    ]
    body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}})
    with canned_http(200, body.encode()) as url, PrometheusSource(url) as source:
        series = source.query_range("up", 0, 60, 1)
    assert series == {"a:1": [(1.0, 1.5), (4.0, 2.0)], 'up{job="t"}': [(1.0, 1.0)]}


def test_cli_watch_takes_its_baseline_from_prometheus(scraped: Scraped, capsys):
    from themis_desktop.cli import main

    code = main(
        [
            "metrics",
            "watch",
            "--server",
            scraped.era_a.url,
            "--prometheus",
            scraped.url,
            "--baseline-minutes",
            "1",
            "--duration",
            "1.5",
            "--interval",
            "0.2",
            "--min-samples",
            "5",  # a few seconds of watch: the rule under test is the baseline's source
            "--json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code in (0, 3) and report["baseline_source"] == f"Prometheus {scraped.url}"
    by_metric = {m["metric"]: m for m in report["metrics"]}
    assert by_metric["request_rate"]["baseline"] > 0
    assert by_metric["server_p95_ms"]["baseline"] > 0
    assert by_metric["probe_ms"]["verdict"] == "no data"  # Prometheus cannot know it
