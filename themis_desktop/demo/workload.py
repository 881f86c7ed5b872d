"""The synthetic workload: simulated client traffic that moves a node's counters and gauges."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import numpy as np

from themis_desktop.demo.serverlog import ServerLog
from themis_desktop.demo.state import NodeState
from themis_desktop.demo.storage import RocksStore
from themis_desktop.demo.versions import Profile

TICK_SECONDS = 0.1  # one batch per tick keeps the thread at ~1 % CPU
RATE_RANGE = (50.0, 200.0)  # simulated requests per second
WRITE_SHARE = 0.3
SLOW_REQUEST_MS = 25.0  # the server's slow-request warning threshold, as the demo sets it
STALL_SHARE = 2e-5  # requests caught behind a flush or compaction: a slow-request warning
STALL_FACTOR = 16.0  # (about one in five minutes per healthy node)
STATS_TICKS = 300  # a summary line every 30 s of traffic
LOGGED_PER_TICK = 25  # a flood of failures is logged in full up to this, then summed up
_FAILURES = (  # (route, what the server says), as a misbehaving version's failures appear
    ("GET /entities/{key}", "Internal server error: RocksDB Get returned IO error"),
    ("PUT /entities/{key}", "Internal server error: write batch failed (Status: Busy)"),
    ("POST /query/aql", "Query execution failed: cursor expired during range scan"),
    ("GET /entities/{key}", "Internal server error: deserialization of stored blob failed"),
)


class Workload:
    """A thread that, every tick, simulates a batch of requests against the node."""

    def __init__(
        self,
        state: NodeState,
        store: RocksStore,
        profile: Callable[[], Profile],
        log: ServerLog,
        name: str = "workload",
    ):
        self.state = state
        self.store = store
        self.profile = profile
        self.log = log
        self.rng = np.random.default_rng()
        self.rate = float(self.rng.uniform(80.0, 160.0))
        self._window: list[np.ndarray] = []  # the latencies since the last summary line
        self._window_errors = 0
        self._ticks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop and join (idempotent)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.tick()
            except OSError as exc:  # e.g. the data directory vanished under the node
                with self.store.lock:
                    if self.store.available:
                        self.store.available = False
                        self.log.error(f"Storage background error, database now read-only: {exc}")

    def _log_requests(self, latencies: np.ndarray, errors: int, faulty: bool) -> None:
        """A misbehaving version's failed requests as errors, slow ones as warnings, like
        the server logs them. A healthy version's errors are its clients' (4xx), which the
        server logs at debug level only: they show in the summary line."""
        rng = self.rng
        for _ in range(min(errors, LOGGED_PER_TICK) if faulty else 0):
            route, reason = _FAILURES[int(rng.integers(len(_FAILURES)))]
            key = f"orders:{int(rng.integers(1, 10**6))}"
            self.log.error(f"{route.format(key=key)} failed with 500: {reason}")
        if faulty and errors > LOGGED_PER_TICK:
            self.log.error(f"{errors - LOGGED_PER_TICK} more requests failed with 500")
        slow = latencies[latencies > SLOW_REQUEST_MS * 1000.0]
        for micros in slow[:LOGGED_PER_TICK]:
            key = f"orders:{int(rng.integers(1, 10**6))}"
            self.log.warning(
                f"Slow request: GET /entities/{key} took {micros / 1000:.1f} ms "
                f"(threshold {SLOW_REQUEST_MS:g} ms)"
            )

    def _summarise(self, latencies: np.ndarray, errors: int, faulty: bool) -> None:
        """Every STATS_TICKS ticks, one info line on the traffic since the last one."""
        self._window.append(latencies)
        self._window_errors += errors
        self._ticks += 1
        if self._ticks % STATS_TICKS:
            return
        served = np.concatenate(self._window) if self._window else np.empty(0)
        seconds = STATS_TICKS * TICK_SECONDS
        rate = served.size / seconds
        text = f"Served {served.size} requests in {seconds:g} s ({rate:.1f}/s)"
        if served.size:
            p50, p99 = np.percentile(served, [50, 99]) / 1000.0
            text += f", p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        kind = "failed with 500" if faulty else "client errors (4xx)"
        self.log.info(f"{text}; {self._window_errors} {kind}")
        self._window, self._window_errors = [], 0

    def tick(self) -> None:
        """Simulate one tick's worth of requests."""
        rng = self.rng
        self.rate = min(max(self.rate + rng.normal(0.0, 3.0), RATE_RANGE[0]), RATE_RANGE[1])
        n = int(rng.poisson(self.rate * TICK_SECONDS))
        profile = self.profile()
        latencies = rng.lognormal(math.log(profile.median_ms * 1000.0), profile.sigma, n)
        stalled = rng.random(n) < STALL_SHARE
        latencies[stalled] *= STALL_FACTOR * rng.lognormal(0.0, 0.3, int(stalled.sum()))
        errors = int(rng.binomial(n, profile.error_rate)) if n else 0
        self.state.record_requests(latencies, errors)
        self._log_requests(latencies, errors, profile.faulty)
        self._summarise(latencies, errors, profile.faulty)

        writes = int(rng.binomial(n, WRITE_SHARE)) if n else 0
        reads = n - writes
        with self.store.lock:
            events = self.store.tick(writes, reads)
        for event in events:
            self.log.info(event)

        pages = int(rng.binomial(reads, 0.05)) if reads else 0
        self.state.record_page_fetches(rng.lognormal(math.log(3.0), 0.6, pages))
        self.state.add(
            cursor_anchor_hits=pages,
            range_scan_steps=int(rng.poisson(12 * reads)) if reads else 0,
            policy_eval=n,
            policy_allow=n - errors,
            policy_deny=errors,
            vector_searches=int(rng.binomial(reads, 0.1)) if reads else 0,
            sse_events_sent=writes,
            trace_spans=3 * n,
            rate_limit_allowed=n,
        )
        if rng.random() < 0.0005:  # an index rebuild now and then (~every 3 min)
            with self.store.lock:
                entities = self.store.num_keys()
            self.state.add(
                index_rebuilds=1, index_rebuild_ms=entities // 2000, index_rebuild_entities=entities
            )
            self.log.info(f"Index rebuild finished: {entities} entities")
        with self.state.lock:
            self.state.gauges["active_spans"] = int(rng.integers(0, 12))
            self.state.gauges["sse_connections"] = int(rng.integers(1, 4))
