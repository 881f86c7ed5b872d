"""A node's live counters: requests, errors, histograms, the smaller per-feature counters."""

from __future__ import annotations

import threading
import time
from collections import Counter

import numpy as np

LATENCY_BOUNDS_US = (100, 500, 1000, 5000, 10000, 50000, 100000, 500000, 1000000, 5000000)
PAGE_FETCH_BOUNDS_MS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000)


class Histogram:
    """Fixed buckets, exported cumulatively (`le`), with an integer sum and count."""

    def __init__(self, bounds: tuple[int, ...]):
        self.bounds = np.asarray(bounds, dtype=np.float64)
        self.counts = np.zeros(len(bounds) + 1, dtype=np.int64)  # last one: above all bounds
        self.sum = 0
        self.count = 0

    def observe(self, values: np.ndarray) -> None:
        """Add observations (already in the histogram's unit)."""
        if values.size == 0:
            return
        idx = np.searchsorted(self.bounds, values, side="left")  # value <= bound
        self.counts += np.bincount(idx, minlength=len(self.counts))
        self.sum += int(values.sum())
        self.count += int(values.size)

    def cumulative(self) -> list[int]:
        """Counts per bound and +Inf, each including all smaller buckets."""
        return [int(x) for x in np.cumsum(self.counts)]


class NodeState:
    """Everything `/stats` and `/metrics` report about the server process itself."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.total_requests = 0
        self.total_errors = 0
        self.latency = Histogram(LATENCY_BOUNDS_US)
        self.page_fetch = Histogram(PAGE_FETCH_BOUNDS_MS)
        self.counters: Counter[str] = Counter()  # the smaller *_total families, by short name
        self.gauges: dict[str, int] = {"active_spans": 0, "sse_connections": 0}
        self.active_connections = 0
        self.active_requests = 0

    def uptime_seconds(self) -> int:
        """Whole seconds since start (like the server's steady_clock cast to seconds)."""
        return int(time.monotonic() - self.started)

    def qps(self) -> float:
        """The server's own figure: total requests / whole seconds of uptime."""
        uptime = self.uptime_seconds()
        return self.total_requests / uptime if uptime > 0 else 0.0

    def record_requests(self, latencies_us: np.ndarray, errors: int) -> None:
        """Count a batch of handled requests (HTTP or simulated) and their latencies."""
        with self.lock:
            self.total_requests += int(latencies_us.size)
            self.total_errors += int(errors)
            self.latency.observe(np.rint(latencies_us))

    def record_page_fetches(self, millis: np.ndarray) -> None:
        with self.lock:
            self.page_fetch.observe(np.floor(millis))

    def add(self, **amounts: int) -> None:
        """Increase named counters, e.g. `add(range_scan_steps=40)`."""
        with self.lock:
            self.counters.update({k: int(v) for k, v in amounts.items()})

    def snapshot(self) -> dict:
        """A consistent copy of everything, for one response."""
        with self.lock:
            return {
                "uptime_seconds": self.uptime_seconds(),
                "total_requests": self.total_requests,
                "total_errors": self.total_errors,
                "qps": self.qps(),
                "latency": (self.latency.cumulative(), self.latency.sum, self.latency.count),
                "page_fetch": (
                    self.page_fetch.cumulative(),
                    self.page_fetch.sum,
                    self.page_fetch.count,
                ),
                "counters": dict(self.counters),
                "gauges": dict(self.gauges),
                "active_connections": self.active_connections,
                "active_requests": self.active_requests,
            }
