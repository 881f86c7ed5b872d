"""`GET /metrics`: the hand-written Prometheus exposition of each era, quirks included.

Era A (< 1.3): the latency histogram `vccdb_latency_bucket_microseconds{le=...}` has no
HELP/TYPE lines; the page-fetch histogram's TYPE line names `..._bucket`; `vccdb_*`
names throughout. Era B (>= 1.3): the first line is `themis_build_info{...} 1`, the index,
cursor, range-scan and authz counters are renamed `themis_*`, tracing counters are added,
and there is no latency histogram. `rocksdb_files_level` has no HELP/TYPE in both eras.
Integers print plainly, doubles with six decimals (C++ `std::to_string`).
"""

from __future__ import annotations

from themis_desktop.demo import versions
from themis_desktop.demo.state import LATENCY_BOUNDS_US, PAGE_FETCH_BOUNDS_MS
from themis_desktop.demo.versions import VersionInfo


def fmt(value: float | int) -> str:
    """C++ std::to_string: integers plainly, doubles as %f."""
    return str(value) if isinstance(value, int) else f"{value:f}"


class _Out:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str, value: float | int) -> None:
        self.lines += [
            f"# HELP {name} {help_text}",
            f"# TYPE {name} {kind}",
            f"{name} {fmt(value)}",
        ]

    def sample(self, name: str, value: float | int, **labels: str) -> None:
        if labels:
            inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
            name = f"{name}{{{inner}}}"
        self.lines.append(f"{name} {fmt(value)}")


def exposition(info: VersionInfo, snap: dict, storage: dict, auth_enabled: bool) -> str:
    """The full `/metrics` body for a node of version `info`."""
    out = _Out()
    era_b = info.era == "B"
    prefix = "themis" if era_b else "vccdb"
    c = snap["counters"]
    if era_b:
        out.sample(
            "themis_build_info",
            1,
            version=info.text,
            build_type=versions.BUILD_TYPE,
            compiler=versions.COMPILER,
            edition=versions.EDITION,
        )
    out.metric(
        "process_uptime_seconds", "gauge", "Process uptime in seconds", snap["uptime_seconds"]
    )
    out.metric(
        "vccdb_requests_total", "counter", "Total HTTP requests handled", snap["total_requests"]
    )
    out.metric("vccdb_errors_total", "counter", "Total HTTP errors returned", snap["total_errors"])
    out.metric("vccdb_qps", "gauge", "Queries per second (approx)", float(snap["qps"]))
    if auth_enabled:
        out.metric(
            f"{prefix}_authz_success_total",
            "counter",
            "Successful authorizations",
            c.get("authz_success", 0),
        )
        out.metric(
            f"{prefix}_authz_denied_total",
            "counter",
            "Denied authorizations (forbidden)",
            c.get("authz_denied", 0),
        )
        out.metric(
            f"{prefix}_authz_invalid_token_total",
            "counter",
            "Invalid or missing tokens",
            c.get("authz_invalid_token", 0),
        )
    if not era_b:
        out.metric(
            "vccdb_policy_eval_total", "counter", "Policy evaluations", c.get("policy_eval", 0)
        )
        out.metric(
            "vccdb_policy_allow_total",
            "counter",
            "Policy decisions: allow",
            c.get("policy_allow", 0),
        )
        out.metric(
            "vccdb_policy_deny_total", "counter", "Policy decisions: deny", c.get("policy_deny", 0)
        )

    rocks = storage.get("rocksdb", {})
    for name, key, help_text in _ROCKSDB_GAUGES:
        out.metric(name, "gauge", help_text, int(rocks.get(key, 0)))
    for level, count in rocks.get("files_per_level", {}).items():
        out.sample("rocksdb_files_level", int(count), level=level)

    if not era_b:
        buckets, total, count = snap["latency"]
        for bound, value in zip((*LATENCY_BOUNDS_US, "+Inf"), buckets, strict=True):
            out.sample("vccdb_latency_bucket_microseconds", value, le=str(bound))
        out.metric(
            "vccdb_latency_sum_microseconds",
            "counter",
            "Total request latency in microseconds",
            total,
        )
        out.metric(
            "vccdb_latency_count", "counter", "Total recorded requests for latency histogram", count
        )

    out.metric(
        f"{prefix}_index_rebuilds_total",
        "counter",
        "Total number of index rebuilds performed",
        c.get("index_rebuilds", 0),
    )
    out.metric(
        f"{prefix}_index_rebuild_duration_milliseconds_total",
        "counter",
        "Total duration of all index rebuilds in milliseconds",
        c.get("index_rebuild_ms", 0),
    )
    out.metric(
        f"{prefix}_index_rebuild_entities_total",
        "counter",
        "Total number of entities processed during index rebuilds",
        c.get("index_rebuild_entities", 0),
    )
    out.metric(
        f"{prefix}_cursor_anchor_hits_total",
        "counter",
        "Total number of cursor anchor usages in ORDER BY pagination",
        c.get("cursor_anchor_hits", 0),
    )
    out.metric(
        f"{prefix}_range_scan_steps_total",
        "counter",
        "Total index scan steps performed during range scans",
        c.get("range_scan_steps", 0),
    )

    if era_b:
        out.metric(
            "themis_trace_spans_total",
            "counter",
            "Total number of trace spans created",
            c.get("trace_spans", 0),
        )
        out.metric(
            "themis_trace_active_spans",
            "gauge",
            "Number of currently active spans",
            snap["gauges"].get("active_spans", 0),
        )
    else:
        _era_a_tail(out, snap)
    return "\n".join(out.lines) + "\n"


def _era_a_tail(out: _Out, snap: dict) -> None:
    """Page-fetch histogram, vector index, SSE and rate-limiter families (era A only)."""
    c = snap["counters"]
    buckets, total, count = snap["page_fetch"]
    out.lines += [
        "# HELP vccdb_page_fetch_time_ms_bucket Cursor page fetch time histogram buckets (ms)",
        "# TYPE vccdb_page_fetch_time_ms_bucket histogram",
    ]
    for bound, value in zip((*PAGE_FETCH_BOUNDS_MS, "+Inf"), buckets, strict=True):
        out.sample("vccdb_page_fetch_time_ms_bucket", value, le=str(bound))
    out.metric(
        "vccdb_page_fetch_time_ms_sum",
        "counter",
        "Total cursor page fetch time in milliseconds",
        total,
    )
    out.metric(
        "vccdb_page_fetch_time_ms_count", "counter", "Total number of cursor pages fetched", count
    )
    out.metric(
        "vccdb_vector_index_vectors",
        "gauge",
        "Vectors in the vector index",
        snap.get("vector_count", 0),
    )
    out.metric(
        "vccdb_vector_index_dimension",
        "gauge",
        "Vector index dimension",
        snap.get("vector_dimension", 0),
    )
    out.metric(
        "vccdb_vector_index_searches_total",
        "counter",
        "Vector searches served",
        c.get("vector_searches", 0),
    )
    out.metric(
        "vccdb_sse_active_connections",
        "gauge",
        "Open SSE change-feed connections",
        snap["gauges"].get("sse_connections", 0),
    )
    out.metric(
        "vccdb_sse_events_sent_total", "counter", "SSE events sent", c.get("sse_events_sent", 0)
    )
    out.metric(
        "vccdb_sse_events_dropped_total",
        "counter",
        "SSE events dropped (slow clients)",
        c.get("sse_events_dropped", 0),
    )
    out.metric(
        "vccdb_rate_limit_allowed_total",
        "counter",
        "Requests allowed by the rate limiter",
        c.get("rate_limit_allowed", 0),
    )
    out.metric(
        "vccdb_rate_limit_rejected_total",
        "counter",
        "Requests rejected by the rate limiter (429)",
        c.get("rate_limit_rejected", 0),
    )


_ROCKSDB_GAUGES = (
    (
        "rocksdb_block_cache_usage_bytes",
        "block_cache_usage_bytes",
        "RocksDB block cache usage in bytes",
    ),
    (
        "rocksdb_block_cache_capacity_bytes",
        "block_cache_capacity_bytes",
        "RocksDB block cache capacity in bytes",
    ),
    ("rocksdb_estimate_num_keys", "estimate_num_keys", "Estimated number of keys in DB"),
    (
        "rocksdb_pending_compaction_bytes",
        "estimate_pending_compaction_bytes",
        "Estimated pending compaction bytes",
    ),
    ("rocksdb_memtable_size_bytes", "memtable_size_bytes", "Current memtable size in bytes"),
)
