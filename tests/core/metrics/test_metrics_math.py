"""Metric parsing, histogram quantiles, counter resets and the degradation verdict."""

from __future__ import annotations

import random

import pytest

from themis_desktop.core.metrics.comparison import compare, cumulative, overall
from themis_desktop.core.metrics.exposition import (
    LATENCY_BUCKETS,
    bucket_delta,
    counter_rate,
    parse,
    quantile,
)
from themis_desktop.core.server.client import ThemisClient

ERA_A = """# HELP vccdb_requests_total Total HTTP requests handled
# TYPE vccdb_requests_total counter
vccdb_requests_total 100
vccdb_latency_bucket_microseconds{le="100"} 10
vccdb_latency_bucket_microseconds{le="500"} 30
vccdb_latency_bucket_microseconds{le="1000"} 50
vccdb_latency_bucket_microseconds{le="5000"} 100
vccdb_latency_bucket_microseconds{le="+Inf"} 100
vccdb_latency_sum_microseconds 123456
vccdb_latency_count 100
query_latency_ms{type="read"}{quantile="0.5"} 3
"""


def test_histogram_quantiles_match_hand_computed_values():
    scrape = parse(ERA_A)
    buckets = scrape.buckets(LATENCY_BUCKETS)
    assert buckets[-1] == (float("inf"), 100)
    assert quantile(buckets, 0.5) == pytest.approx(1000)  # rank 50 ends the 500–1000 bucket
    assert quantile(buckets, 0.95) == pytest.approx(1000 + 4000 * 0.9)  # 4600 µs
    assert quantile(buckets, 0.05) == pytest.approx(50)  # inside the first bucket


def test_bad_lines_are_skipped_and_counted_not_fatal():
    scrape = parse(ERA_A)
    assert scrape.skipped_lines == 1  # the doubled label set of newer servers
    assert scrape.value("vccdb_requests_total") == 100


def test_a_missing_metric_is_no_data_not_zero():
    scrape = parse("vccdb_qps 3.5\n")
    assert scrape.value("vccdb_requests_total") is None
    assert quantile(scrape.buckets(LATENCY_BUCKETS), 0.5) is None


def test_counter_reset_after_a_restart():
    assert counter_rate(1000, 1100, 10) == 10
    assert counter_rate(1000, 50, 10) == 5  # restarted: counted 50 since
    assert counter_rate(None, 50, 10) is None


def test_bucket_deltas_handle_a_restart():
    before = [(100, 10), (float("inf"), 20)]
    after = [(100, 15), (float("inf"), 30)]
    assert bucket_delta(before, after) == [(100, 5), (float("inf"), 10)]
    assert bucket_delta(after, before) == before  # counts fell: a restart


@pytest.mark.parametrize(("version", "histogram"), [("1.2.0", True), ("1.7.3", False)])
def test_real_expositions_of_both_eras(start_demo_node, version, histogram):
    node = start_demo_node(version, workload=True)
    with ThemisClient(node.url) as client:
        client.metrics_text()  # counts one request at least
        scrape = parse(client.metrics_text())
    assert scrape.first("vccdb_requests_total", "vccdb_requests") is not None
    assert bool(scrape.buckets(LATENCY_BUCKETS)) is histogram


def _samples(median, n=60, spread=0.1, seed=1):
    rng = random.Random(seed)
    return [median * (1 + rng.uniform(-spread, spread)) for _ in range(n)]


def test_thirty_percent_slower_fails_five_percent_passes():
    baseline = _samples(40)
    assert compare("probe_ms", baseline, _samples(52, seed=2)).verdict == "fail"
    assert compare("probe_ms", baseline, _samples(42, seed=3)).verdict == "pass"


def test_a_tiny_absolute_change_passes_by_the_floor():
    result = compare("probe_ms", _samples(1.0), _samples(2.0, seed=2))  # +100 %, +1 ms
    assert result.verdict == "pass" and "floor" in result.reason
    assert result.change == pytest.approx(1.0, abs=0.1)


def test_faster_is_never_a_failure_and_neutral_metrics_inform():
    assert compare("probe_ms", _samples(40), _samples(20, seed=2)).verdict == "pass"
    assert compare("request_rate", _samples(100), _samples(10, seed=2)).verdict == "pass"


def test_too_few_samples_is_inconclusive_and_none_is_no_data():
    result = compare("probe_ms", [1, 2], _samples(40))
    assert result.verdict == "inconclusive" and result.shift is None
    assert "2 of 50 samples before" in result.reason
    assert compare("probe_ms", [], _samples(40)).verdict == "no data"


def test_cumulative_drift_over_three_hops_is_caught():
    path_baseline = _samples(40, seed=10)
    hops = [_samples(40 * 1.08**k, seed=20 + k) for k in range(1, 4)]
    each = [
        compare("probe_ms", prev, now).verdict
        for prev, now in zip([path_baseline, *hops[:-1]], hops, strict=True)
    ]
    assert all(v in ("pass", "marginal") for v in each)  # +8 % a hop looks fine alone
    last = compare("probe_ms", hops[1], hops[2])
    against_path = compare("probe_ms", path_baseline, hops[2])  # +26 % in all
    assert against_path.verdict == "fail"
    assert cumulative(last, against_path) == "fail"
    assert overall([last, against_path]) == "fail"


def test_an_error_rate_rising_at_low_traffic_fails_although_most_seconds_have_none():
    rng = random.Random(7)

    def seconds(rate: float, requests: int = 5) -> list[float]:  # 5 req/s: per-second ratios
        return [sum(rng.random() < rate for _ in range(requests)) / requests for _ in range(300)]

    result = compare("error_rate", seconds(0.0), seconds(0.10))
    assert result.verdict == "fail" and "baseline 0" in result.reason
    assert compare("error_rate", seconds(0.001), seconds(0.001)).verdict == "pass"
