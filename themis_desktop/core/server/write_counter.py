"""A node's write counter, read from its `/stats`: RocksDB's own "Cumulative writes" line in
`storage.raw_stats` (the `rocksdb.stats` property text), counted since the database was
opened, beside the clock that says when that was ("Uptime(secs)", else the server's uptime).

RocksDB prints large counts rounded down (`NumberToHumanString`: "12345K writes" is
12 345 000 to 12 345 999), so a reading keeps its lower bound and its slack. A server whose
stats have no such line gives an honest upper bound instead: every request it served since
it started, reads included (`total_requests`); with neither, the count is unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from themis_desktop.core.server.models import Stats

_WRITES = re.compile(r"Cumulative writes:\s*([0-9]+)([KMG]?)\s+writes")
_UPTIME = re.compile(r"Uptime\(secs\):\s*([0-9]+(?:\.[0-9]+)?)\s+total")
_SCALE = {"": 1, "K": 1000, "M": 1_000_000, "G": 1_000_000_000}
RAW_LIMIT = 256 * 1024  # characters of raw_stats looked at (the DB Stats block comes first)


@dataclass(frozen=True)
class CounterReading:
    """What `/stats` says of the writes since the database was opened.

    `source`: "rocksdb" (the write counter), "requests" (an upper bound: every request) or
    "none" (`writes` None). `slack`: how much more the rounded count may be (0: exact).
    `uptime_s`: how long the counter has been counting (the database's, else the server's)."""

    writes: int | None
    uptime_s: float
    source: str
    slack: int = 0


def parse_raw_stats(text: str) -> tuple[int, int, float | None] | None:
    """(writes, slack, database uptime or None) from a `rocksdb.stats` text; None without
    a "Cumulative writes" line."""
    text = text[:RAW_LIMIT]
    found = _WRITES.search(text)
    if found is None:
        return None
    scale = _SCALE[found.group(2)]
    uptime = _UPTIME.search(text)
    return (
        int(found.group(1)) * scale,
        scale - 1,
        float(uptime.group(1)) if uptime else None,
    )


def read_counter(stats: Stats) -> CounterReading:
    """The write counter of one `/stats` answer (see the module's docstring)."""
    parsed = parse_raw_stats(stats.raw_stats or "")
    if parsed is not None:
        writes, slack, uptime = parsed
        return CounterReading(
            writes, uptime if uptime is not None else stats.uptime_seconds, "rocksdb", slack
        )
    if stats.total_requests > 0:
        return CounterReading(int(stats.total_requests), stats.uptime_seconds, "requests")
    return CounterReading(None, stats.uptime_seconds, "none")
