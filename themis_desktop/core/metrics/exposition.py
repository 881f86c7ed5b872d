"""Read a ThemisDB `/metrics` page and derive rates and latency quantiles from it.

ThemisDB's exposition is hand-written: some histograms have no TYPE lines, some TYPE lines
name `_bucket`, and newer servers print lines that are not valid exposition at all. Each
line is therefore parsed on its own, and a bad line is skipped and counted, never fatal.
A sample whose value is NaN or infinite is "no data" and left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

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
    (fast); only when that fails is it read line by line, skipping refused lines."""
    if only is not None:
        text = "\n".join(line for line in text.splitlines() if line.startswith(only))
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    try:
        _collect(text, samples)
        return Scrape(at, samples, 0)
    except (ValueError, IndexError, KeyError, TypeError):
        samples.clear()
    skipped = 0
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            _collect(line + "\n", samples)
        except (ValueError, IndexError, KeyError, TypeError):
            skipped += 1
    return Scrape(at, samples, skipped)


def _collect(text: str, into: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> None:
    for family in text_string_to_metric_families(text):
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
