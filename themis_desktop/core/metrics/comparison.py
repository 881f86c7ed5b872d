"""Compare a metric after an upgrade with its baseline: change, significance, verdict.

A verdict per metric: `pass`, `marginal` or `fail`. It fails when the median moved the bad
way by more than the metric's threshold (20 % by default), the move is statistically
significant (Mann-Whitney U, two-sided) and larger than the metric's absolute floor.

A peak metric (peak RSS) is compared as a peak: the process restarted between baseline
and now, so its peak began again from zero; lower is never reported as an improvement,
higher is judged like any other metric.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from dataclasses import dataclass
from typing import Literal

from themis_desktop.core.metrics.catalog import METRICS, MetricInfo

Verdict = Literal["pass", "marginal", "fail", "no data"]
SIGNIFICANCE = 0.01
MIN_SAMPLES = 5


@dataclass(frozen=True)
class Comparison:
    metric: str
    baseline_median: float | None
    now_median: float | None
    change: float | None  # relative change of the median, +0.25 = 25 % higher
    p_value: float | None
    effect: float | None  # rank-biserial correlation, -1 … 1
    verdict: Verdict
    reason: str


def load_statistics() -> None:
    """Import scipy's statistics now (about 0.7 s, once). A GUI calls this in its own thread
    before work that compares: a first import inside a worker the GUI thread waits for can
    dead-lock at shutdown."""
    import scipy.stats  # noqa: F401


def compare(
    metric: str, baseline: list[float], now: list[float], fail_ratio: float | None = None
) -> Comparison:
    """One metric's verdict; too few samples on either side is "no data". `fail_ratio`
    overrides the metric's threshold (0.2 = fail beyond 20 % worse). NaN and infinite
    values are no data: they are left out before counting."""
    info = METRICS[metric]
    baseline = [v for v in baseline if math.isfinite(v)]
    now = [v for v in now if math.isfinite(v)]
    if fail_ratio is not None:
        info = dataclasses.replace(info, fail_ratio=fail_ratio)
    if len(baseline) < MIN_SAMPLES or len(now) < MIN_SAMPLES:
        return Comparison(
            metric,
            _center(info, baseline),
            _center(info, now),
            None,
            None,
            None,
            "no data",
            f"fewer than {MIN_SAMPLES} samples on one side",
        )
    center = statistics.fmean if info.center == "mean" else statistics.median
    before, after = center(baseline), center(now)
    change = (after - before) / before if before else (0.0 if after == before else None)
    from scipy.stats import mannwhitneyu  # 0.7 s to import: only when comparing

    test = mannwhitneyu(now, baseline, alternative="two-sided")
    # rank-biserial correlation: +1 when every new sample is above every baseline one
    effect = 2 * float(test.statistic) / (len(now) * len(baseline)) - 1
    verdict, reason = _judge(info, before, after, change, float(test.pvalue))
    return Comparison(metric, before, after, change, float(test.pvalue), effect, verdict, reason)


def _judge(
    info: MetricInfo, before: float, after: float, change: float | None, p_value: float
) -> tuple[Verdict, str]:
    if info.direction == "neutral":
        return "pass", "informational"
    worse = (after - before) if info.direction == "lower-is-better" else (before - after)
    if worse <= 0 and info.peak:
        return "pass", (
            f"{info.title.lower()} is lower since the restart, which is no improvement: "
            "the peak of a restarted process starts again from zero"
        )
    if worse <= 0:
        return "pass", "not worse"
    verdict, reason = _judge_worse(info, worse, after, change, p_value)
    return verdict, (f"{info.title.lower()}: {reason}" if info.peak else reason)


def _judge_worse(
    info: MetricInfo, worse: float, after: float, change: float | None, p_value: float
) -> tuple[Verdict, str]:
    if worse < info.floor:
        return "pass", f"worse by {worse:g} {info.unit}, below the floor of {info.floor:g}"
    if p_value >= SIGNIFICANCE:
        return "marginal" if change is None or abs(change) > info.fail_ratio / 2 else "pass", (
            f"not significant (p = {p_value:.3f})"
        )
    if change is None:  # from zero: any significant rise beyond the floor
        return "fail", f"up from 0 to {after:g} {info.unit} (beyond the floor of {info.floor:g})"
    if abs(change) > info.fail_ratio:
        return "fail", f"worse by {abs(change):.0%}, more than {info.fail_ratio:.0%}"
    if abs(change) > info.fail_ratio / 2:
        return "marginal", f"worse by {abs(change):.0%}"
    return "pass", f"worse by {abs(change):.0%}, within {info.fail_ratio:.0%}"


def overall(comparisons: list[Comparison]) -> Verdict:
    verdicts = {c.verdict for c in comparisons}
    for verdict in ("fail", "marginal", "pass"):
        if verdict in verdicts:
            return verdict
    return "no data"


def cumulative(hop: Comparison, path: Comparison) -> Verdict:
    """A hop is judged against its own baseline and the path's first one: three +8 % hops
    pass one by one, but not against where the path started."""
    order = ("no data", "pass", "marginal", "fail")
    return max(hop.verdict, path.verdict, key=order.index)


def _center(info: MetricInfo, values: list[float]) -> float | None:
    if not values:
        return None
    return statistics.fmean(values) if info.center == "mean" else statistics.median(values)
