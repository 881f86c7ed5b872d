"""Compare a metric after an upgrade with its baseline: the shift, its interval, a verdict.

Enough evidence or none: below `MIN_SAMPLES` (50) on either side a metric is
`inconclusive`, never a pass. With enough, the shift after - before (Hodges-Lehmann: the
median of pairwise differences; for mean-centered metrics the difference of means) and
its 95 % interval (distribution-free, from the Mann-Whitney order statistics; Welch for
means) are set against the metric's tolerance band, ±`fail_ratio` of the baseline (20 %
as the migration docs say) and at least its absolute floor:
  fail      the whole interval lies beyond the band on the bad side;
  pass      the whole interval lies inside the band, or on the good side;
  marginal  enough evidence, but the interval straddles the band's edge (a change near the
            tolerance: a human decides; a gate pauses, it never passes).
Zero baseline (a counter that was 0): no relative band exists, so the absolute floor is
the band (the reason says so). Missing baseline (the old version did not report the
metric): "no data", shown not judged (the reason says so).

Load-aware metrics (served requests) are judged against the offered load: the app's probe
traffic (`Load`); the served rate is scaled by offered-before / offered-after and judged
higher-is-better, so a drop while the probe load is steady is a regression. Without the
offered load they are informational.

A peak metric (peak RSS) is compared as a peak: the process restarted between baseline
and now, so its peak began again from zero; lower is never reported as an improvement,
higher is judged like any other metric.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import statistics
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # imported where used: not on the window's first-paint path
    import numpy as np

from themis_desktop.core.metrics.catalog import METRICS, MetricInfo
from themis_desktop.core.util.formatting import format_quantity, signed_quantity

Verdict = Literal["pass", "marginal", "fail", "inconclusive", "no data"]
SIGNIFICANCE = 0.01  # the Mann-Whitney p-value shown beside the interval (not the rule)
CONFIDENCE = 0.95  # of the shift's interval
MIN_SAMPLES = 50  # on each side before a metric may pass or fail
MAX_PAIRS = 1_000_000  # pairwise differences at most: larger windows are thinned evenly


@dataclass(frozen=True)
class Load:
    """The offered load of each window in requests per second: the app's own probe traffic,
    steady by construction (one timed read per sample)."""

    before: float
    after: float


@dataclass(frozen=True)
class Comparison:
    metric: str
    baseline_median: float | None  # the center (median, or mean for mean-centered metrics)
    now_median: float | None
    change: float | None  # relative change of the center, +0.25 = 25 % higher
    p_value: float | None
    effect: float | None  # rank-biserial correlation, -1 … 1
    verdict: Verdict
    reason: str
    n_before: int = 0
    n_after: int = 0
    shift: float | None = None  # Hodges-Lehmann (or mean) shift after - before, in the unit
    shift_low: float | None = None  # its confidence interval (CONFIDENCE)
    shift_high: float | None = None
    band: float | None = None  # the tolerated worsening in the unit: max(ratio·before, floor)
    needed: int = 0  # more samples after the upgrade before a verdict is possible

    @property
    def interval(self) -> tuple[float, float] | None:
        if self.shift_low is None or self.shift_high is None:
            return None
        return self.shift_low, self.shift_high


def load_statistics() -> None:
    """Import scipy's statistics now (about 0.7 s, once). A GUI calls this in its own thread
    before work that compares: a first import inside a worker the GUI thread waits for can
    dead-lock at shutdown. It calls `warm_statistics` at start, so this is then instant."""
    import scipy.stats  # noqa: F401


_warming: threading.Thread | None = None
_warming_lock = threading.Lock()


def warm_statistics() -> threading.Thread:
    """Import scipy's statistics in a background thread of its own (once), so that the first
    verdict does not stall the thread that asks for it (0.7-5 s on a busy machine). Not a
    pool worker: nothing waits for it at shutdown (a daemon thread)."""
    global _warming
    with _warming_lock:
        if _warming is None:
            _warming = threading.Thread(target=load_statistics, name="import-scipy", daemon=True)
            _warming.start()
        return _warming


def statistics_loaded() -> bool:
    """Whether a comparison can start without importing scipy first."""
    warming = _warming
    return "scipy.stats" in sys.modules and (warming is None or not warming.is_alive())


def compare(
    metric: str,
    baseline: list[float],
    now: list[float],
    fail_ratio: float | None = None,
    *,
    min_samples: int = MIN_SAMPLES,
    load: Load | None = None,
) -> Comparison:
    """One metric's verdict from the shift's interval against its tolerance band.

    `fail_ratio` overrides the metric's band (0.2 = ±20 % of the baseline). NaN and
    infinite values are no data: they are left out before counting. Fewer than
    `min_samples` on a side is "inconclusive"; none at all is "no data"."""
    info = METRICS[metric]
    baseline = [v for v in baseline if math.isfinite(v)]
    now = [v for v in now if math.isfinite(v)]
    if fail_ratio is not None:
        info = dataclasses.replace(info, fail_ratio=fail_ratio)
    n_before, n_after = len(baseline), len(now)
    base = functools.partial(Comparison, metric, n_before=n_before, n_after=n_after)
    if not baseline or not now:
        return base(
            _center(info, baseline),
            _center(info, now),
            None,
            None,
            None,
            "no data",
            _missing_reason(info, n_before, n_after),
        )
    if info.load_aware:
        if load is None or load.before <= 0 or load.after <= 0:
            return base(
                _center(info, baseline),
                _center(info, now),
                None,
                None,
                None,
                "pass",
                "informational: the offered load is unknown, so served requests are not judged",
            )
        now = [v * load.before / load.after for v in now]  # served per offered request
    before, after = _center(info, baseline), _center(info, now)
    assert before is not None and after is not None
    change = (after - before) / before if before else (0.0 if after == before else None)
    if n_before < min_samples or n_after < min_samples:
        needed = max(0, min_samples - n_after)
        short = [
            f"{n} of {min_samples} samples {side}"
            for n, side in ((n_before, "before"), (n_after, "after"))
            if n < min_samples
        ]
        return base(
            before,
            after,
            change,
            None,
            None,
            "inconclusive",
            f"inconclusive: {' and '.join(short)} the upgrade",
            needed=needed,
        )
    shift, low, high = _shift(info, baseline, now)
    from scipy.stats import mannwhitneyu  # 0.7 s to import: only when comparing

    test = mannwhitneyu(now, baseline, alternative="two-sided")
    # rank-biserial correlation: +1 when every new sample is above every baseline one
    effect = 2 * float(test.statistic) / (n_after * n_before) - 1
    band = max(abs(before) * info.fail_ratio, info.floor)
    verdict, reason = _judge(info, before, low, high, band)
    if info.load_aware and load is not None:
        reason += (
            f" (served per offered request; probe load {load.before:.2g} → {load.after:.2g} req/s)"
        )
    return base(
        before,
        after,
        change,
        float(test.pvalue),
        effect,
        verdict,
        reason,
        shift=shift,
        shift_low=low,
        shift_high=high,
        band=band,
    )


def _judge(
    info: MetricInfo, before: float, low: float, high: float, band: float
) -> tuple[Verdict, str]:
    """Fail when the whole interval is worse than the band, pass when none of it is,
    marginal when it straddles the band's edge (enough evidence, a change near the
    tolerance: a human decides)."""
    if info.direction == "neutral":
        return "pass", "informational"
    # in "worse" units: positive is the bad side
    worse_low, worse_high = (low, high) if info.direction == "lower-is-better" else (-high, -low)
    shown = f"shift {_signed(low, info)} … {_signed(high, info)}"
    floor = format_quantity(info.floor, info.unit)
    rule = (
        f"band ±{info.fail_ratio:.0%} of {format_quantity(before, info.unit)}"
        if before
        else f"baseline 0: judged against the floor of {floor} only"
    )
    if before and band == info.floor and info.floor > 0:
        rule += f", at least the floor of {floor}"
    prefix = f"{info.title.lower()}: " if info.peak else ""
    if worse_high <= 0 and info.peak:
        return "pass", (
            f"{info.title.lower()} is not higher since the restart ({shown}); lower is no "
            "improvement: the peak of a restarted process starts again from zero"
        )
    if worse_low > band:
        return "fail", f"{prefix}worse beyond the band: {shown} ({rule})"
    if worse_high <= band:
        where = "better or unchanged" if worse_high <= 0 else "within the band"
        return "pass", f"{prefix}{where}: {shown} ({rule})"
    return "marginal", f"{prefix}the interval crosses the band's edge: {shown} ({rule})"


def _shift(info: MetricInfo, before: list[float], after: list[float]) -> tuple[float, float, float]:
    """The shift after - before and its CONFIDENCE interval: Hodges-Lehmann (the median of
    pairwise differences) with the distribution-free interval from the Mann-Whitney order
    statistics; for mean-centered metrics (mostly zeros) the difference of means with
    Welch's interval, as a median of differences would hide a rise of rare errors."""
    import numpy as np
    from scipy.stats import norm, t

    a, b = np.asarray(after, dtype=float), np.asarray(before, dtype=float)
    alpha = 1 - CONFIDENCE
    if info.center == "mean":
        diff = float(a.mean() - b.mean())
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        se = math.sqrt(va + vb)
        if se == 0:
            return diff, diff, diff
        dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
        half = float(t.ppf(1 - alpha / 2, dof)) * se
        return diff, diff - half, diff + half
    a, b = _thinned(a), _thinned(b)
    n, m = len(a), len(b)
    diffs = np.sort(np.subtract.outer(a, b).ravel())
    z = float(norm.ppf(1 - alpha / 2))
    k = math.floor(n * m / 2 - z * math.sqrt(n * m * (n + m + 1) / 12))
    k = min(max(k, 0), len(diffs) - 1)
    return float(np.median(diffs)), float(diffs[k]), float(diffs[len(diffs) - 1 - k])


def _thinned(values: np.ndarray) -> np.ndarray:
    """Every k-th value of a sorted copy, so n·m stays within MAX_PAIRS (quantiles kept)."""
    import numpy as np

    limit = int(math.sqrt(MAX_PAIRS))
    if len(values) <= limit:
        return values
    return np.sort(values)[np.linspace(0, len(values) - 1, limit).round().astype(int)]


def _missing_reason(info: MetricInfo, n_before: int, n_after: int) -> str:
    if not n_before and n_after:
        return (
            f"no samples before the upgrade (the old version did not report "
            f"{info.title.lower()}): a new metric is shown, not judged"
        )
    if n_before and not n_after:
        return f"no samples after the upgrade ({n_before} before): nothing to judge"
    return "no samples on either side"


def _signed(value: float, info: MetricInfo) -> str:
    return signed_quantity(value, info.unit)


def overall(comparisons: list[Comparison]) -> Verdict:
    """The worst verdict: fail, then inconclusive (wait), marginal, pass; "no data" only
    when nothing was measured at all."""
    verdicts = {c.verdict for c in comparisons}
    for verdict in ("fail", "inconclusive", "marginal", "pass"):
        if verdict in verdicts:
            return verdict
    return "no data"


def cumulative(hop: Comparison, path: Comparison) -> Verdict:
    """A hop is judged against its own baseline and the path's first one: three +8 % hops
    pass one by one, but not against where the path started. A path baseline without
    enough evidence adds nothing; a hop without enough evidence stays inconclusive unless
    the path already fails."""
    if path.verdict in ("no data", "inconclusive"):
        return hop.verdict
    if hop.verdict == "inconclusive" and path.verdict != "fail":
        return "inconclusive"
    order = ("no data", "pass", "marginal", "fail")
    return max(hop.verdict, path.verdict, key=order.index)


def _center(info: MetricInfo, values: list[float]) -> float | None:
    if not values:
        return None
    return statistics.fmean(values) if info.center == "mean" else statistics.median(values)
