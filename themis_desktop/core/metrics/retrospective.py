"""Compare any two stored windows of a profile's samples after the fact: the same verdict
as live (`verdict.evaluate`), with the offered load of each window taken from the probes
the samples hold (the app's own steady traffic), so served requests are judged against it.

Aged samples (10 s or 1 min means) stand for `step` seconds each: they count as one value
in the comparison and as `step` probes in the offered load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from themis_desktop.core.journal.store import Journal
from themis_desktop.core.metrics.comparison import MIN_SAMPLES, Load
from themis_desktop.core.metrics.store import BaselineData, Series, load_series
from themis_desktop.core.metrics.verdict import Evaluation, evaluate

Window = tuple[float, float]  # unix seconds, both ends included


@dataclass(frozen=True)
class WindowComparison:
    profile: str
    before: Window
    after: Window
    evaluation: Evaluation
    load: Load | None
    nodes: tuple[str, ...]


# how far back the before window lies, per preset; the after window is the last hour
PRESETS: dict[str, float] = {
    "the same hour last week": 7 * 86400,
    "the same hour yesterday": 86400,
    "the hour before": 3600,
}


def preset_windows(back: float, now: float, length: float = 3600) -> tuple[Window, Window]:
    """The `length` seconds up to `now` and the same span `back` seconds earlier."""
    after = (now - length, now)
    return (after[0] - back, after[1] - back), after


def compare_windows(
    journal: Journal,
    profile: str,
    before: Window,
    after: Window,
    *,
    min_samples: int = MIN_SAMPLES,
    thresholds: Mapping[str, float] | None = None,
) -> WindowComparison:
    """The verdict of the samples in `after` against those in `before` (every node pooled).
    A window whose start is not before its end is a `ValueError`."""
    for name, (start, end) in (("before", before), ("after", after)):
        if not start < end:
            raise ValueError(f"the {name} window must start before it ends")
    old, new = load_series(journal, profile, *before), load_series(journal, profile, *after)
    offered_before, offered_after = offered_rate(old, before), offered_rate(new, after)
    load = Load(offered_before, offered_after) if offered_before and offered_after else None
    evaluation = evaluate(
        _values(old),
        _values(new),
        thresholds=thresholds,
        min_samples=min_samples,
        load=load,
        window=after,
    )
    return WindowComparison(
        profile, before, after, evaluation, load, tuple(sorted(set(old) | set(new)))
    )


def offered_rate(series: Mapping[str, Series], window: Window) -> float | None:
    """The probe requests per second per node over `window`, or None without probes."""
    span = window[1] - window[0]
    rates = []
    for s in series.values():
        probed = np.isfinite(s.values["probe_ms"]) & s.up
        steps = s.steps if s.steps is not None else np.ones(len(s.at))
        if probed.any():
            rates.append(float(steps[probed].sum()) / span)
    return sum(rates) / len(rates) if rates and span > 0 else None


def offered_load(
    before: BaselineData, before_window: Window, after: BaselineData, after_window: Window
) -> Load | None:
    """The offered load of two windows of per-node values (a baseline's data, the live
    samples): each probe value is one probe request, as in `offered_rate`; None when a
    side has no probes (a Prometheus baseline) or an empty window."""
    rates = [_probe_rate(before, before_window), _probe_rate(after, after_window)]
    return Load(rates[0], rates[1]) if rates[0] and rates[1] else None


def _probe_rate(data: BaselineData, window: Window) -> float | None:
    """Probe requests per second per node over `window`, or None without probes."""
    span = window[1] - window[0]
    counts = [len(m.get("probe_ms", ())) for m in data.values()]
    counts = [c for c in counts if c]
    return sum(counts) / len(counts) / span if counts and span > 0 else None


def _values(series: Mapping[str, Series]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for s in series.values():
        for key, column in s.values.items():
            finite = column[np.isfinite(column) & s.up]
            out.setdefault(key, []).extend(float(v) for v in finite)
    return out
