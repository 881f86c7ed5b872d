"""`/metrics` exposition per era: parses with prometheus_client, right families, formats."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from tests.demo.conftest import TOKENS

LATENCY_LE = [
    "100", "500", "1000", "5000", "10000", "50000", "100000", "500000", "1000000", "5000000",
    "+Inf",
]  # fmt: skip


def scrape(c) -> tuple[str, dict[str, list]]:
    r = c.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; version=0.0.4"
    samples: dict[str, list] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            # the parser appends _total to samples of counters whose name lacks it
            name = s.name.removesuffix("_total") if family.type == "counter" else s.name
            samples.setdefault(name, []).append(s)
    return r.text, samples


def test_era_a_exposition(make_node, client):
    c = client(make_node("1.2.3"))
    for _ in range(5):
        c.get("/health")
    text, samples = scrape(c)
    lines = text.splitlines()
    assert lines[0] == "# HELP process_uptime_seconds Process uptime in seconds"
    assert "themis_build_info" not in text
    buckets = [s for s in samples["vccdb_latency_bucket_microseconds"]]
    assert [s.labels["le"] for s in buckets] == LATENCY_LE
    values = [s.value for s in buckets]
    assert values == sorted(values)  # cumulative
    assert values[-1] == samples["vccdb_latency_count"][0].value >= 5
    assert "vccdb_latency_sum_microseconds" in samples
    # the histogram has no HELP/TYPE lines; the page-fetch one names _bucket in TYPE
    assert not re.search(r"^# (HELP|TYPE) vccdb_latency_bucket", text, re.M)
    assert "# TYPE vccdb_page_fetch_time_ms_bucket histogram" in lines
    assert 'vccdb_page_fetch_time_ms_bucket{le="+Inf"}' in text
    assert "vccdb_page_fetch_time_ms_sum" in samples
    assert "vccdb_page_fetch_time_ms_count" in samples
    for name in (
        "process_uptime_seconds",
        "vccdb_requests_total",
        "vccdb_errors_total",
        "vccdb_qps",
        "rocksdb_block_cache_usage_bytes",
        "rocksdb_block_cache_capacity_bytes",
        "rocksdb_estimate_num_keys",
        "rocksdb_pending_compaction_bytes",
        "rocksdb_memtable_size_bytes",
        "vccdb_index_rebuilds_total",
        "vccdb_cursor_anchor_hits_total",
        "vccdb_range_scan_steps_total",
        "vccdb_policy_eval_total",
        "vccdb_vector_index_vectors_total",
        "vccdb_vector_index_hnsw_enabled",
        "vccdb_rate_limit_rejected_total",
    ):
        assert name in samples or name.removesuffix("_total") in samples, name
    assert not any(k.startswith("themis_") for k in samples)
    assert "vccdb_authz_success" not in text  # only when auth is on
    assert samples["vccdb_requests"][0].value >= 5


def test_era_b_exposition(make_node, client):
    c = client(make_node("1.7.3"))
    text, samples = scrape(c)
    first = text.splitlines()[0]
    assert first == (
        'themis_build_info{version="1.7.3",build_type="Release",compiler="GCC",'
        'edition="COMMUNITY"} 1'
    )
    assert samples["themis_build_info"][0].labels["version"] == "1.7.3"
    assert "vccdb_latency_bucket_microseconds" not in text
    assert "vccdb_page_fetch_time_ms" not in text
    for name in (
        "themis_index_rebuilds_total",
        "themis_cursor_anchor_hits_total",
        "themis_range_scan_steps_total",
        "themis_trace_spans_total",
        "themis_trace_active_spans",
        "vccdb_requests_total",
        "vccdb_errors_total",
        "vccdb_qps",
        "rocksdb_estimate_num_keys",
    ):
        assert re.search(rf"^{name} ", text, re.M), name
    assert "vccdb_index_rebuilds_total" not in text
    assert "vccdb_cursor_anchor_hits_total" not in text


def test_files_level_and_number_formats(make_node, client):
    era_a, _ = scrape(client(make_node("1.0.0")))
    era_b, _ = scrape(client(make_node("1.4.0")))
    for t in (era_a, era_b):
        levels = re.findall(r'^rocksdb_files_level\{level="(L\d)"\} (\d+)$', t, re.M)
        assert [lvl for lvl, _ in levels] == [f"L{i}" for i in range(7)]
        assert "# HELP rocksdb_files_level" not in t
        assert "# TYPE rocksdb_files_level" not in t
        assert re.search(r"^vccdb_qps \d+\.\d{6}$", t, re.M)  # doubles: six decimals
        assert re.search(r"^vccdb_requests_total \d+$", t, re.M)  # integers plainly
        assert re.search(r"^process_uptime_seconds \d+$", t, re.M)


def test_authz_counters_are_renamed_in_era_b(make_node, client):
    a = make_node("1.1.0", tokens=TOKENS)
    b = make_node("1.3.0", tokens=TOKENS)
    auth = {"Authorization": f"Bearer {TOKENS['admin']}"}
    text_a = client(a).get("/metrics", headers=auth).text
    text_b = client(b).get("/metrics").text
    assert "vccdb_authz_success_total" in text_a
    assert "themis_authz_success_total" in text_b
    list(text_string_to_metric_families(text_a))
    list(text_string_to_metric_families(text_b))
