"""Every derived metric the app shows or compares: name, unit, direction, floor, tolerance
band, critical or load-aware. One table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["lower-is-better", "higher-is-better", "neutral"]


@dataclass(frozen=True)
class MetricInfo:
    key: str
    title: str
    unit: str
    direction: Direction
    floor: float = 0.0  # an absolute change below this never fails (5 → 10 ms is fine)
    fail_ratio: float = 0.20  # the tolerance band: "performance degradation > 20 %"
    group: str = ""
    short: str = ""  # for narrow tables; the title when empty
    center: str = "median"  # "mean" where most samples are 0 (error ratios at low traffic)
    # A high-water mark of the server process: it only rises while the process lives and
    # starts again from zero when it restarts (an upgrade restarts it), so a lower value
    # after a restart is no improvement.
    peak: bool = False
    # a failure of a critical metric fails the whole verdict at once (no hold)
    critical: bool = False
    # judged against the offered load (`comparison.Load`): served requests per offered one
    load_aware: bool = False

    @property
    def label(self) -> str:
        return self.short or self.title


_MiB = 1 << 20

METRICS: dict[str, MetricInfo] = {
    m.key: m
    for m in (
        MetricInfo(
            "request_rate",
            "Requests",
            "req/s",
            "higher-is-better",
            group="traffic",
            load_aware=True,
        ),
        MetricInfo(
            "error_rate",
            "Error rate",
            "ratio",
            "lower-is-better",
            0.005,
            group="traffic",
            short="Errors",
            center="mean",  # most seconds have no error: a median of 0 hides a rise
            critical=True,
        ),
        MetricInfo(
            "server_p50_ms",
            "Server latency p50",
            "ms",
            "lower-is-better",
            5,
            group="latency",
            short="Server p50",
        ),
        MetricInfo(
            "server_p95_ms",
            "Server latency p95",
            "ms",
            "lower-is-better",
            10,
            group="latency",
            short="Server p95",
        ),
        MetricInfo(
            "server_p99_ms",
            "Server latency p99",
            "ms",
            "lower-is-better",
            20,
            group="latency",
            short="Server p99",
        ),
        MetricInfo(
            "probe_ms",
            "Probe latency",
            "ms",
            "lower-is-better",
            5,
            group="latency",
            short="Probe",
        ),
        # /health/ready's memory_rss_bytes is the process's PEAK resident size (getrusage
        # ru_maxrss in upstream's src/server/monitoring_api_handler.cpp, handleReadiness),
        # not its current one
        MetricInfo(
            "rss_bytes",
            "Peak memory (RSS)",
            "bytes",
            "lower-is-better",
            64 * _MiB,
            0.5,
            group="resources",
            short="Peak RSS",
            peak=True,
        ),
        MetricInfo(
            "block_cache_usage_bytes",
            "Block cache usage",
            "bytes",
            "neutral",
            group="storage",
            short="Block cache",
        ),
        MetricInfo(
            "pending_compaction_bytes",
            "Pending compaction",
            "bytes",
            "lower-is-better",
            256 * _MiB,
            1.0,
            group="storage",
            short="Compaction",
        ),
        MetricInfo(
            "estimated_keys", "Estimated keys", "keys", "neutral", group="storage", short="Keys"
        ),
        MetricInfo("uptime_seconds", "Uptime", "s", "neutral", group="process"),
    )
}
