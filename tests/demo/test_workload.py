"""The synthetic workload moves counters and gauges over time."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import wait_until


def values(c) -> dict[str, float]:
    out = {}
    for family in text_string_to_metric_families(c.get("/metrics").text):
        for s in family.samples:
            name = s.name.removesuffix("_total") if family.type == "counter" else s.name
            key = name + (f'{{le="{s.labels["le"]}"}}' if "le" in s.labels else "")
            out[key] = s.value
    return out


def test_workload_moves_era_a_counters(make_node, client):
    c = client(make_node("1.2.0", workload=True))
    first = values(c)
    wait_until(lambda: values(c)["vccdb_requests"] > first["vccdb_requests"] + 20)
    now = values(c)
    assert now["vccdb_latency_count"] > first["vccdb_latency_count"] + 20
    # latencies around 2 ms: most samples fall into the le=5000 bucket
    assert now['vccdb_latency_bucket_microseconds{le="5000"}'] > 0.6 * now["vccdb_latency_count"]
    assert now["rocksdb_memtable_size_bytes"] > first["rocksdb_memtable_size_bytes"]
    assert now["rocksdb_estimate_num_keys"] > first["rocksdb_estimate_num_keys"]
    assert now["rocksdb_block_cache_usage_bytes"] > 0
    assert now["vccdb_range_scan_steps"] > 0


def test_workload_error_rate_and_era_b_tracing(make_node, client):
    c = client(make_node("1.7.3", workload=True, error_rate=0.5))
    wait_until(lambda: values(c)["vccdb_errors"] > 10)
    now = values(c)
    assert now["themis_trace_spans"] > 0
    assert 0.2 < now["vccdb_errors"] / now["vccdb_requests"] < 0.8
    wait_until(lambda: c.get("/stats").json()["server"]["queries_per_second"] > 0, timeout=3)


def test_stop_joins_the_workload_thread(make_node):
    import threading

    node = make_node("1.7.3", workload=True)
    assert any(t.name == "demo-node-1-load" for t in threading.enumerate())
    node.stop()
    node.stop()  # idempotent
    assert not any(t.name.startswith("demo-node-1") for t in threading.enumerate())
