"""Read a ThemisDB `/metrics` page and derive rates and latency quantiles from it.

ThemisDB's exposition is hand-written: some histograms have no TYPE lines, some TYPE lines
name `_bucket`, and newer servers print lines that are not valid exposition at all. A
bad line is skipped and counted, never fatal.
A sample whose value is NaN or infinite is "no data" and left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # prometheus_client (~50 ms): imported by the first parse, not at start
    from prometheus_client.metrics_core import Metric

LATENCY_BUCKETS = "vccdb_latency_bucket_microseconds"  # era A, untyped, cumulative


@dataclass(frozen=True)
class Scrape:
    """Samples of one scrape by name and labels, and how many lines were unreadable."""

    at: float
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict)
    skipped_lines: int = 0

    def value(self, name: str, **labels: str) -> float | None:
        """A sample's value, or None: a missing metric is "no data", never zero."""
        return self.samples.get((name, tuple(sorted(labels.items()))))

    def first(self, *names: str) -> float | None:
        """The value of the first of `names` present (renamed metrics across versions)."""
        for name in names:
            value = self.value(name)
            if value is not None:
                return value
        return None

    def buckets(self, name: str) -> list[tuple[float, float]]:
        """(upper bound, cumulative count) of a histogram, sorted, +Inf last."""
        found = [
            (float(dict(labels)["le"]), value)
            for (sample, labels), value in self.samples.items()
            if sample == name and "le" in dict(labels)
        ]
        return sorted(found)


def parse(text: str, at: float = 0.0, only: tuple[str, ...] | None = None) -> Scrape:
    """All samples of an exposition (or of the metrics whose names start with one of
    `only`: a sampler reads a dozen of a page's hundreds). The page is parsed in one go
    (fast); a refused line is skipped and counted, and the parser reads on after it
    (`_around_bad`)."""
    if only is not None:
        text = "\n".join(line for line in text.splitlines() if line.startswith(only))
    samples: Samples = {}
    skipped = _around_bad(text.split("\n"), samples)  # "\n" only, as prometheus_client reads
    return Scrape(at, samples, skipped)


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
_REFUSED = (ValueError, IndexError, KeyError, TypeError)  # what the parser raises on a bad line


def _around_bad(lines: list[str], into: Samples) -> int:
    """The samples of every line but the refused ones; how many were refused. One pass
    over a clean page; the parser reads on past a refused line from the start of the
    metric family it was in (its HELP or TYPE line: the family's samples keep their names
    and types, as on a clean page), so a page with a bad line costs about one more parse
    of one family, not of the page.
    Once the lines read again add up to the page (many bad lines in a large family), the
    rest is read line by line, each line on its own (untyped: no HELP or TYPE)."""
    from prometheus_client.parser import (
        text_fd_to_metric_families,
        text_string_to_metric_families,
    )

    skip: set[int] = set()
    start = 0
    position = [0]  # the line the parser read last
    again = 0  # lines read a second time
    while again <= len(lines):
        try:
            numbered = _numbered(lines, start, skip, position)
            # the parser only iterates its `fd`: any iterable of lines will do
            for family in text_fd_to_metric_families(numbered):  # type: ignore[arg-type]
                _collect((family,), into)
                # this family was ended by the line just read: a fresh parser starting at it
                # is where this one is now (a sample that ends one is its own family)
                start = position[0]
            return len(skip)
        except _REFUSED:
            skip.add(position[0])
            again += position[0] - start
    skipped = len(skip)
    for number in range(start, len(lines)):
        line = lines[number].strip()
        if number in skip or not line or line.startswith("#"):
            continue
        try:
            _collect(text_string_to_metric_families(line + "\n"), into)
        except _REFUSED:
            skipped += 1
    return skipped


def _numbered(lines: list[str], start: int, skip: set[int], position: list[int]) -> Iterator[str]:
    """`lines` from `start` without those in `skip`, noting each one's number in `position`."""
    for number in range(start, len(lines)):
        if number not in skip:
            position[0] = number
            yield lines[number]


def _collect(families: Iterable[Metric], into: Samples) -> None:
    for family in families:
        for sample in family.samples:
            value = float(sample.value)
            if not math.isfinite(value):
                continue  # NaN or ±Inf: no data, never a number to compute with
            key = (sample.name, tuple(sorted(sample.labels.items())))
            into.setdefault(key, value)  # the first line wins


def quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """The q-quantile of a cumulative histogram, interpolated linearly inside its bucket
    (as Prometheus' histogram_quantile does); None without observations."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    previous_bound, previous_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return previous_bound  # in the open-ended bucket: its lower edge
            inside = count - previous_count
            share = (rank - previous_count) / inside if inside else 0.0
            return previous_bound + (bound - previous_bound) * share
        previous_bound, previous_count = bound, count
    return previous_bound


def bucket_delta(
    before: list[tuple[float, float]], after: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Observations between two scrapes; after a restart (counts went down) just `after`."""
    old = dict(before)
    if any(count < old.get(bound, 0) for bound, count in after):
        return after
    return [(bound, count - old.get(bound, 0)) for bound, count in after]


def counter_rate(before: float | None, after: float | None, seconds: float) -> float | None:
    """Per-second increase of a counter; a drop means the process restarted and counted
    from zero, so the new value itself is the increase."""
    if before is None or after is None or seconds <= 0:
        return None
    increase = after - before if after >= before else after
    return increase / seconds
