"""The samples shown live: per node, growing column arrays (amortised O(1) appends, no
copies for the plots), loaded from the journal at start and appended to as samples come.
"""

from __future__ import annotations

import numpy as np

from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.metrics.sampling import Sample
from themis_desktop.core.metrics.store import Series

_INITIAL = 1024
GAP_STEPS = 3  # no sample for this many steps (app closed, machine asleep): break the line
MIN_GAP_S = 5.0


class LiveSeries:
    """One node's samples; gaps (node down) are NaN in every metric."""

    def __init__(self, node: str) -> None:
        self.node = node
        self.size = 0
        self._at = np.empty(_INITIAL)
        self._values = {key: np.empty(_INITIAL, dtype=np.float32) for key in METRICS}
        self.version: str | None = None
        self.gap_s = max(MIN_GAP_S, GAP_STEPS * 1.0)  # live samples come every second or so

    def __len__(self) -> int:
        return self.size

    @property
    def at(self) -> np.ndarray:
        return self._at[: self.size]

    def values(self, metric: str) -> np.ndarray:
        return self._values[metric][: self.size]

    def append(self, sample: Sample) -> None:
        if self.size and sample.at - self._at[self.size - 1] > self.gap_s:
            self._append_gap(self._at[self.size - 1])
        self._reserve(self.size + 1)
        i = self.size
        self._at[i] = sample.at
        for key, column in self._values.items():
            value = sample.values.get(key) if sample.up else None
            column[i] = np.nan if value is None else value
        self.size += 1
        self.version = sample.version or self.version

    def _append_gap(self, after: float) -> None:
        self._reserve(self.size + 1)
        self._at[self.size] = after + 1e-3
        for column in self._values.values():
            column[self.size] = np.nan
        self.size += 1

    def extend(self, series: Series) -> None:
        """Append samples loaded from the journal (older than any appended since); where
        no sample was taken for a while, the line is broken."""
        series = _with_gaps(series)
        n = len(series.at)
        self._reserve(self.size + n)
        self._at[self.size : self.size + n] = series.at
        for key, column in self._values.items():
            loaded = series.values[key].copy()
            loaded[~series.up] = np.nan
            column[self.size : self.size + n] = loaded
        self.size += n
        self.version = next((v for v in reversed(series.versions) if v), self.version)

    def window(self, metric: str, start: float, end: float) -> list[float]:
        """Finite values of `metric` sampled in [start, end]."""
        lo = int(np.searchsorted(self.at, start, side="left"))
        hi = int(np.searchsorted(self.at, end, side="right"))
        chunk = self.values(metric)[lo:hi]
        return [float(v) for v in chunk[np.isfinite(chunk)]]

    def _reserve(self, needed: int) -> None:
        if needed <= len(self._at):
            return
        capacity = max(needed, 2 * len(self._at))
        self._at = _grown(self._at, capacity, self.size)
        self._values = {k: _grown(v, capacity, self.size) for k, v in self._values.items()}


class LiveStore:
    """All nodes of the connected profile."""

    def __init__(self) -> None:
        self.series: dict[str, LiveSeries] = {}

    def clear(self) -> None:
        self.series.clear()

    def node(self, name: str) -> LiveSeries:
        if name not in self.series:
            self.series[name] = LiveSeries(name)
        return self.series[name]

    def append(self, sample: Sample) -> None:
        self.node(sample.node).append(sample)

    def load(self, loaded: dict[str, Series]) -> None:
        for name, series in loaded.items():
            self.node(name).extend(series)

    def window(self, start: float, end: float) -> dict[str, dict[str, list[float]]]:
        """Per node, each metric's values in [start, end] (as a baseline's data)."""
        return {
            name: {key: s.window(key, start, end) for key in METRICS}
            for name, s in self.series.items()
        }

    @property
    def latest(self) -> float | None:
        ends = [float(s.at[-1]) for s in self.series.values() if len(s)]
        return max(ends) if ends else None

    @property
    def earliest(self) -> float | None:
        starts = [float(s.at[0]) for s in self.series.values() if len(s)]
        return min(starts) if starts else None


def _with_gaps(series: Series) -> Series:
    """`series` with a NaN row after every sample followed by a silence longer than
    GAP_STEPS of its step (or MIN_GAP_S)."""
    if len(series.at) < 2:
        return series
    steps = series.steps if series.steps is not None else np.ones(len(series.at))
    limit = np.maximum(MIN_GAP_S, GAP_STEPS * np.maximum(steps[1:], steps[:-1]))
    after = np.nonzero(np.diff(series.at) > limit)[0]
    if not len(after):
        return series
    at = np.insert(series.at, after + 1, series.at[after] + 1e-3)
    up = np.insert(series.up, after + 1, False)
    values = {k: np.insert(v, after + 1, np.nan) for k, v in series.values.items()}
    versions = list(series.versions)
    for i in reversed(after):
        versions.insert(int(i) + 1, None)
    return Series(series.node, at, up, values, versions, None)


def _grown(array: np.ndarray, capacity: int, used: int) -> np.ndarray:
    bigger = np.empty(capacity, dtype=array.dtype)
    bigger[:used] = array[:used]
    return bigger
