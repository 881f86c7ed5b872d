"""Sample one node: scrape `/metrics`, `/stats`, `/health/ready`, time probe requests, and
derive the values of `metric_catalog.METRICS` from the difference to the previous sample.

The sampler does not count itself: era A counts each 404 or 400 it answers as an error,
so the requests of the sampler's own that the node counted (its probe of a key that does
not exist, an era-B route asked once) are taken out of the error rate; routes a node does
not have are not asked again (see `ThemisClient.era`). The request rate includes the
sampler's own requests (one or two a sample). On era A with a token, each role may make
100 requests a minute: the probe is left out of a sample when it would spend more than
four fifths of that.

`NodeSampler` keeps that previous sample; it never raises for a node that does not answer:
the sample then has `up=False` and the error, which the caller shows as a gap. A node is up
only when it answers as ThemisDB does (a known metric in `/metrics`, or `/stats` or
`/health/ready` of the right shape): answering 500 or garbage to every route is down.
Non-finite values (NaN, ±Inf) are "no data".
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.metrics.exposition import (
    LATENCY_BUCKETS,
    Scrape,
    bucket_delta,
    parse,
    quantile,
)
from themis_desktop.core.server import errors
from themis_desktop.core.server.models import Readiness, Stats

if TYPE_CHECKING:  # httpx: not on the window's first-paint path
    from themis_desktop.core.server.client import ThemisClient

DEFAULT_PROBE_PATH = "/entities/probe:0"  # a cheap point read; 404 is a fine answer too
DEFAULT_PROBES = 1  # a timed read per sample: at 1 Hz, 900 of them in 15 minutes
_NEEDED = ("process_uptime_seconds", "rocksdb_estimate_num_keys")
SCRAPED = (  # the metrics a sample reads from /metrics (name prefixes)
    "process_uptime_seconds",
    "process_resident_memory_bytes",
    "vccdb_requests_total",
    "vccdb_errors_total",
    "themis_requests_total",
    "themis_errors_total",
    LATENCY_BUCKETS,
    "rocksdb_block_cache_usage_bytes",
    "rocksdb_pending_compaction_bytes",
    "rocksdb_estimate_num_keys",
)
_US_PER_MS = 1000.0
T = TypeVar("T")
_NOT_THEMIS = (
    "It answers, but not as ThemisDB: its /metrics has none of ThemisDB's metrics, and it "
    "has no /stats or /health/ready of ThemisDB's shape. Check that the address points at "
    "a ThemisDB node and not at another service or a proxy page."
)


@dataclass(frozen=True)
class Sample:
    """One node at one moment. A value of None is "no data", never zero."""

    node: str
    at: float  # unix seconds
    up: bool
    values: dict[str, float | None] = field(default_factory=dict)
    version: str | None = None
    restarted: bool = False  # uptime or counters went down since the previous sample
    error: str | None = None
    # what an era-A node tells of its version when `version` is not known: "1.0.x" (its
    # /api/capabilities says 1.0.0; never the "0.1.0" every /health says)
    version_hint: str | None = None

    def __post_init__(self) -> None:
        unknown = set(self.values) - set(METRICS)
        if unknown:
            raise ValueError(f"unknown metrics {sorted(unknown)}")


@dataclass
class _Previous:
    at: float
    uptime: float | None
    requests: float | None
    errors: float | None
    buckets: list[tuple[float, float]]
    own_errors: int = 0  # the client's `own_errors` when the counters were read


class NodeSampler:
    """Takes successive samples of one node and turns counters into rates."""

    def __init__(
        self,
        client: ThemisClient,
        node: str,
        *,
        probe_path: str = DEFAULT_PROBE_PATH,
        probes: int = DEFAULT_PROBES,
        version_override: str | None = None,
    ) -> None:
        self.client = client
        self.node = node
        self.probe_path = probe_path
        self.probes = probes
        self.version_override = version_override
        self._previous: _Previous | None = None
        self._version: str | None = None
        self._hint: str | None = None
        self._missing: set[str] = set()  # routes this version does not have
        self._version_asked = False  # once, and again after each restart

    def sample(self) -> Sample:
        at = time.time()
        failures: list[errors.ThemisError] = []

        def attempt(call: Callable[[], T]) -> T | None:  # a failure is remembered, never raised
            name = call.__name__
            if name in self._missing or (failures and errors.node_unreachable(failures[-1])):
                return None  # not on this version, or the node is out of reach: do not wait
            try:
                result = call()
            except errors.NotFound:
                self._missing.add(name)  # not on this version: not asked again until a restart
                return None
            except errors.ThemisError as exc:
                failures.append(exc)
                return None
            return result

        text = attempt(self.client.metrics_text)
        own_errors = self.client.own_errors  # ours the counters just read include
        scrape = parse(text, at, only=SCRAPED) if text is not None else Scrape(at)
        # /stats says nothing /metrics does not, except when /metrics is missing or refused
        stats: Stats | None = None if _complete(scrape) else attempt(self.client.stats)
        if stats is not None:
            own_errors = self.client.own_errors
        ready: Readiness | None = attempt(self.client.ready)
        probe_ms = self._probe(attempt)
        if not (scrape.samples or stats is not None or ready is not None):
            self._previous = None
            self._version_asked = False  # it may come back as another version
            self._missing.clear()
            self.client.forget()
            error = str(failures[0]) if failures else _NOT_THEMIS
            return Sample(self.node, at, False, version=self._version, error=error)
        values: dict[str, float | None] = dict.fromkeys(METRICS)  # all "no data" at first
        derived, restarted = self._derive(at, scrape, stats, ready, own_errors)
        values.update(derived, probe_ms=probe_ms)
        values = {key: _finite(value) for key, value in values.items()}
        if restarted:
            self._missing.clear()  # maybe another version now, with other routes
            self.client.forget()
        if restarted or not self._version_asked:
            self._version = self._detect_version()
            self._version_asked = True
        hint = None if self._version else self._hint
        return Sample(self.node, at, True, values, self._version, restarted, version_hint=hint)

    def _probe(self, attempt: Callable[[Callable[[], float]], float | None]) -> float | None:
        timings: list[float] = []
        for _ in range(self.probes):
            budget = self.client.token_budget_left
            if budget is not None and budget <= 0:
                break  # era A's per-role rate limit: the metrics come first

            def probe() -> float:
                return self.client.probe(self.probe_path)[1]

            seconds = attempt(probe)
            if seconds is not None:
                timings.append(seconds)
        return statistics.median(timings) * 1000 if timings else None

    def _derive(
        self,
        at: float,
        scrape: Scrape,
        stats: Stats | None,
        ready: Readiness | None,
        own_errors: int = 0,
    ) -> tuple[dict[str, float | None], bool]:
        rocks = stats.rocksdb if stats else None
        uptime = _either(
            scrape.value("process_uptime_seconds"), stats.uptime_seconds if stats else None
        )
        requests = _either(
            scrape.first("vccdb_requests_total", "themis_requests_total"),
            stats.total_requests if stats else None,
        )
        errs = _either(
            scrape.first("vccdb_errors_total", "themis_errors_total"),
            stats.total_errors if stats else None,
        )
        buckets = scrape.buckets(LATENCY_BUCKETS)
        values: dict[str, float | None] = {
            "uptime_seconds": uptime,
            "rss_bytes": _either(
                _number(ready.checks.get("memory_rss_bytes")) if ready else None,
                scrape.value("process_resident_memory_bytes"),
            ),
            "block_cache_usage_bytes": _either(
                scrape.value("rocksdb_block_cache_usage_bytes"),
                rocks.block_cache_usage_bytes if rocks else None,
            ),
            "pending_compaction_bytes": _either(
                scrape.value("rocksdb_pending_compaction_bytes"),
                rocks.estimate_pending_compaction_bytes if rocks else None,
            ),
            "estimated_keys": _either(
                scrape.value("rocksdb_estimate_num_keys"),
                rocks.estimate_num_keys if rocks else None,
            ),
        }
        previous = self._previous
        restarted = previous is not None and (
            _went_down(previous.uptime, uptime) or _went_down(previous.requests, requests)
        )
        if previous is not None and at > previous.at:
            seconds = at - previous.at
            new_requests = _increase(previous.requests, requests, restarted)
            new_errors = _increase(previous.errors, errs, restarted)
            values["request_rate"] = None if new_requests is None else new_requests / seconds
            values["error_rate"] = _error_rate(
                new_errors, new_requests, 0 if restarted else own_errors - previous.own_errors
            )
            if buckets:
                window = buckets if restarted else bucket_delta(previous.buckets, buckets)
                for key, q in (
                    ("server_p50_ms", 0.5),
                    ("server_p95_ms", 0.95),
                    ("server_p99_ms", 0.99),
                ):
                    us = quantile(window, q)
                    values[key] = None if us is None else us / _US_PER_MS
        self._previous = _Previous(at, uptime, requests, errs, buckets, own_errors)
        return values, restarted

    def _detect_version(self) -> str | None:
        """The version to record; era A only tells its era ("1.0.0"), so there the
        profile's version wins, or none is recorded."""
        try:
            info = self.client.version(refresh=True)
        except errors.ThemisError:
            return self._version
        self._hint = None if info.exact else ".".join(info.version.split(".")[:2]) + ".x"
        return info.version if info.exact else self.version_override


def _error_rate(errors: float | None, requests: float | None, own: int) -> float | None:
    """The share of requests that failed, the sampler's own counted errors taken out of
    both (a request of ours the node refused is neither its failure nor its traffic)."""
    if errors is None or not requests:
        return None
    own = max(0, min(own, int(errors)))
    served = requests - own
    return (errors - own) / served if served > 0 else None


def _complete(scrape: Scrape) -> bool:
    """Whether the scrape has what /stats would add (counters, uptime, RocksDB)."""
    has_requests = scrape.first("vccdb_requests_total", "themis_requests_total") is not None
    return has_requests and all(scrape.value(name) is not None for name in _NEEDED)


def _either(first: float | None, second: float | None) -> float | None:
    return first if first is not None else second


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return _finite(float(value))
    except OverflowError:  # an integer beyond any float
        return None


def _finite(value: float | None) -> float | None:
    """`value`, or None ("no data") when it is NaN or infinite."""
    return value if value is not None and math.isfinite(value) else None


def _went_down(before: float | None, after: float | None) -> bool:
    return before is not None and after is not None and after < before


def _increase(before: float | None, after: float | None, restarted: bool) -> float | None:
    """A counter's increase; after a restart it counted from zero, so its value is it."""
    if before is None or after is None:
        return None
    return after if restarted or after < before else after - before
