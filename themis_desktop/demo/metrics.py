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

# (name after the era prefix, help text, NodeState counter)
_AUTHZ = (
    ("authz_success_total", "Successful authorizations", "authz_success"),
    ("authz_denied_total", "Denied authorizations (forbidden)", "authz_denied"),
    ("authz_invalid_token_total", "Invalid or missing tokens", "authz_invalid_token"),
)
_POLICY = (  # era A only
    ("policy_eval_total", "Policy evaluations", "policy_eval"),
    ("policy_allow_total", "Policy decisions: allow", "policy_allow"),
    ("policy_deny_total", "Policy decisions: deny", "policy_deny"),
)
_INDEX = (
    ("index_rebuilds_total", "Total number of index rebuilds performed", "index_rebuilds"),
    (
        "index_rebuild_duration_milliseconds_total",
        "Total duration of all index rebuilds in milliseconds",
        "index_rebuild_ms",
    ),
    (
        "index_rebuild_entities_total",
        "Total number of entities processed during index rebuilds",
        "index_rebuild_entities",
    ),
    (
        "cursor_anchor_hits_total",
        "Total number of cursor anchor usages in ORDER BY pagination",
        "cursor_anchor_hits",
    ),
    (
        "range_scan_steps_total",
        "Total index scan steps performed during range scans",
        "range_scan_steps",
    ),
)
_RATE_LIMIT = (  # era A only; SSE families appear only with features.cdc, off by default
    ("rate_limit_requests_total", "Requests seen by the rate limiter", "rate_limit_allowed"),
    ("rate_limit_allowed_total", "Requests allowed by the rate limiter", "rate_limit_allowed"),
    (
        "rate_limit_rejected_total",
        "Requests rejected by the rate limiter (429)",
        "rate_limit_rejected",
    ),
)
# Era B servers append a second collector's block that repeats `themis_build_info` with a
# hard-coded version: clients must not take the version from it.
_COLLECTOR_BLOCK = (
    "# === ThemisDB Subsystem Metrics (MetricsCollector) ===",
    "# ThemisDB Metrics",
    "# HELP themis_build_info Build information",
    "# TYPE themis_build_info gauge",
    'themis_build_info{version="0.1.0"} 1',
)
_ROCKSDB_GAUGES = (  # (metric, key in the rocksdb stats, help text)
    ("block_cache_usage_bytes", "block_cache_usage_bytes", "RocksDB block cache usage in bytes"),
    (
        "block_cache_capacity_bytes",
        "block_cache_capacity_bytes",
        "RocksDB block cache capacity in bytes",
    ),
    ("estimate_num_keys", "estimate_num_keys", "Estimated number of keys in DB"),
    (
        "pending_compaction_bytes",
        "estimate_pending_compaction_bytes",
        "Estimated pending compaction bytes",
    ),
    ("memtable_size_bytes", "memtable_size_bytes", "Current memtable size in bytes"),
)


def fmt(value: float | int) -> str:
    """C++ std::to_string: integers plainly, doubles as %f."""
    return str(value) if isinstance(value, int) else f"{value:f}"


class _Out:
    def __init__(self, counters: dict[str, int]) -> None:
        self.lines: list[str] = []
        self.counters = counters

    def metric(self, name: str, kind: str, help_text: str, value: float | int) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        self.sample(name, value)

    def counters_of(self, prefix: str, table: tuple[tuple[str, str, str], ...]) -> None:
        for name, help_text, key in table:
            self.metric(f"{prefix}_{name}", "counter", help_text, self.counters.get(key, 0))

    def sample(self, name: str, value: float | int, **labels: str) -> None:
        if labels:
            name += "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
        self.lines.append(f"{name} {fmt(value)}")

    def buckets(self, name: str, bounds: tuple[int, ...], cumulative: list[int]) -> None:
        for bound, value in zip((*bounds, "+Inf"), cumulative, strict=True):
            self.sample(name, value, le=str(bound))


def exposition(info: VersionInfo, snap: dict, storage: dict, auth_enabled: bool) -> str:
    """The full `/metrics` body for a node of version `info`."""
    era_b = info.era == "B"
    prefix = "themis" if era_b else "vccdb"
    out = _Out(snap["counters"])
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
        out.counters_of(prefix, _AUTHZ)
    if not era_b:
        out.counters_of("vccdb", _POLICY)

    rocks = storage.get("rocksdb", {})  # empty while the database is unavailable
    for name, key, help_text in _ROCKSDB_GAUGES:
        out.metric(f"rocksdb_{name}", "gauge", help_text, int(rocks.get(key, 0)))
    for level, count in rocks.get("files_per_level", {}).items():
        out.sample("rocksdb_files_level", int(count), level=level)

    if not era_b:  # no HELP/TYPE for the buckets: parsers see them as untyped
        cumulative, total, count = snap["latency"]
        out.buckets("vccdb_latency_bucket_microseconds", LATENCY_BOUNDS_US, cumulative)
        out.metric(
            "vccdb_latency_sum_microseconds",
            "counter",
            "Total request latency in microseconds",
            total,
        )
        out.metric("vccdb_latency_count", "counter", "Total recorded latency samples", count)

    out.counters_of(prefix, _INDEX)
    if era_b:
        out.counters_of(
            "themis", (("trace_spans_total", "Total trace spans created", "trace_spans"),)
        )
        active = snap["gauges"].get("active_spans", 0)
        out.metric("themis_trace_active_spans", "gauge", "Number of currently active spans", active)
        out.lines += _COLLECTOR_BLOCK
        return "\n".join(out.lines) + "\n"

    cumulative, total, count = snap["page_fetch"]
    out.lines += [
        "# HELP vccdb_page_fetch_time_ms_bucket Cursor page fetch time histogram buckets (ms)",
        "# TYPE vccdb_page_fetch_time_ms_bucket histogram",  # sic: names _bucket
    ]
    out.buckets("vccdb_page_fetch_time_ms_bucket", PAGE_FETCH_BOUNDS_MS, cumulative)
    out.metric("vccdb_page_fetch_time_ms_sum", "counter", "Total page fetch time (ms)", total)
    out.metric("vccdb_page_fetch_time_ms_count", "counter", "Total cursor pages fetched", count)
    vectors, dimension = snap["vectors"]
    out.metric("vccdb_vector_index_vectors_total", "gauge", "Vectors in the index", vectors)
    out.metric("vccdb_vector_index_dimension", "gauge", "Vector dimension", dimension)
    out.metric("vccdb_vector_index_hnsw_enabled", "gauge", "HNSW index enabled (1/0)", 1)
    out.counters_of("vccdb", _RATE_LIMIT)
    for name in ("ip", "user"):
        out.metric(
            f"vccdb_rate_limit_active_{name}_buckets",
            "gauge",
            f"Active rate-limit buckets per {name}",
            1 if name == "ip" else 0,
        )
    return "\n".join(out.lines) + "\n"
