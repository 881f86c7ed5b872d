"""The metrics verdict of a hop: every metric against the hop's baseline and the path's
baseline, the overall verdict, and the rollback trigger it raises with its evidence.

Advisory mode (the default) only raises the trigger; enforcing mode (used by rollouts)
also tells the caller to stop.

Too little data is no verdict: unless each of `REQUIRED` (some latency, the error rate) has
a metric with data on both sides, the overall verdict is "no data" (inconclusive) even when
the few metrics with data pass. A failing (or marginal) metric still fails (or is
marginal): a degradation seen is evidence whatever else is missing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from themis_desktop.core.journal.store import Journal
from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.metrics.comparison import Comparison, Verdict, compare, cumulative, overall
from themis_desktop.core.util.formatting import format_quantity

Mode = Literal["advisory", "enforcing"]
Values = Mapping[str, list[float]]  # metric -> values
# What a verdict must have seen, each by at least one of its metrics: latency (the app's
# probe, or the server's histogram of era A, e.g. with a Prometheus baseline) and the
# error ratio (request and error counters exist in both API eras). Without them a "pass"
# would rest on side figures such as memory, or on nothing.
REQUIRED: dict[str, tuple[str, ...]] = {
    "latency": tuple(key for key, info in METRICS.items() if info.group == "latency"),
    "error rate": ("error_rate",),
}


@dataclass(frozen=True)
class MetricVerdict:
    metric: str
    hop: Comparison  # against the hop's own baseline
    path: Comparison | None  # against the baseline before the first hop
    verdict: Verdict

    @property
    def explanation(self) -> str:
        text = f"hop: {self.hop.reason}"
        if self.path is not None and self.path.verdict != "no data":
            text += f"; since the path started: {self.path.reason}"
        return text


@dataclass(frozen=True)
class Trigger:
    """ "Performance degradation" with the evidence an admin needs to decide."""

    metric: str
    summary: str
    evidence: dict[str, float | str | None]


@dataclass(frozen=True)
class Evaluation:
    verdicts: list[MetricVerdict]
    overall: Verdict
    mode: Mode = "advisory"
    at: float = field(default_factory=time.time)
    missing: tuple[str, ...] = ()  # entries of REQUIRED without data: no pass possible

    @property
    def inconclusive(self) -> str | None:
        """Why there is no verdict, or None when there is one."""
        if self.overall != "no data":
            return None
        with_data = sum(v.verdict != "no data" for v in self.verdicts)
        if not self.missing:
            return "inconclusive: no metric has enough samples on both sides"
        return (
            f"inconclusive: too few samples of {' and '.join(self.missing)} on one side or "
            f"both ({with_data} of {len(self.verdicts)} metrics have enough on both)"
        )

    @property
    def failing(self) -> list[MetricVerdict]:
        return [v for v in self.verdicts if v.verdict == "fail"]

    @property
    def trigger(self) -> Trigger | None:
        """The rollback trigger, raised by the worst failing metric."""
        if not self.failing:
            return None
        worst = max(self.failing, key=lambda v: abs(_worst_change(v)))
        return Trigger(worst.metric, describe(worst), _evidence(worst))

    @property
    def blocks(self) -> bool:
        """Enforcing mode stops a rollout on a fail; advisory mode never does."""
        return self.mode == "enforcing" and self.overall == "fail"


def evaluate(
    baseline: Values,
    now: Values,
    path_baseline: Values | None = None,
    *,
    thresholds: Mapping[str, float] | None = None,
    mode: Mode = "advisory",
) -> Evaluation:
    """Compare every metric of the catalogue; a metric missing on a side is "no data"."""
    thresholds = thresholds or {}
    verdicts = []
    for metric in METRICS:
        after = list(now.get(metric, []))
        ratio = thresholds.get(metric)
        hop = compare(metric, list(baseline.get(metric, [])), after, ratio)
        path = (
            compare(metric, list(path_baseline.get(metric, [])), after, ratio)
            if path_baseline is not None
            else None
        )
        verdict = cumulative(hop, path) if path is not None else hop.verdict
        if hop.verdict == "no data" and (path is None or path.verdict == "no data"):
            verdict = "no data"
        verdicts.append(MetricVerdict(metric, hop, path, verdict))
    result = overall([_as_comparison(v) for v in verdicts])
    with_data = {v.metric for v in verdicts if v.verdict != "no data"}
    missing = tuple(name for name, keys in REQUIRED.items() if not with_data.intersection(keys))
    if missing and result == "pass":
        result = "no data"  # a pass on too little data is no verdict
    return Evaluation(verdicts, result, mode, missing=missing)


# A shown verdict changes only on enough new evidence: the new verdict must come out of
# every evaluation for HOLD_S seconds, at least HOLD_EVALUATIONS of them in a row.
HOLD_S = 30.0
HOLD_EVALUATIONS = 3


@dataclass
class VerdictHold:
    """The verdict to show, steady against noise: one evaluation that disagrees does not
    change it (a FAIL followed 3 s later by a PASS was a flap). A change needs the new
    verdict in `evaluations` evaluations in a row spanning `hold_s` seconds; the first
    verdict with data (after none, or "no data") is shown at once. While the verdict stays,
    the newest evaluation with it is shown (fresh numbers)."""

    hold_s: float = HOLD_S
    evaluations: int = HOLD_EVALUATIONS
    shown: Evaluation | None = None
    since: float | None = None  # when the shown verdict was adopted
    pending: Verdict | None = None  # a different verdict seen, not yet held long enough
    pending_since: float | None = None
    pending_count: int = 0

    @property
    def rule(self) -> str:
        """The rule in words, for the UI."""
        return (
            f"a verdict changes only after the new one held for {self.hold_s:g} s "
            f"({self.evaluations} evaluations in a row)"
        )

    def reset(self) -> None:
        """Another question (a new baseline, another profile): no verdict shown."""
        self.shown = self.since = self.pending = self.pending_since = None
        self.pending_count = 0

    def feed(self, evaluation: Evaluation, now: float | None = None) -> bool:
        """Take a new evaluation; True when the shown verdict changed."""
        now = evaluation.at if now is None else now
        shown = self.shown.overall if self.shown is not None else None
        if evaluation.overall == shown or shown in (None, "no data"):
            changed = evaluation.overall != shown
            self.shown = evaluation
            if changed or self.since is None:
                self.since = now
            self.pending, self.pending_since, self.pending_count = None, None, 0
            return changed
        if evaluation.overall != self.pending:
            self.pending, self.pending_since, self.pending_count = evaluation.overall, now, 0
        self.pending_count += 1
        held = now - (self.pending_since or now)
        if self.pending_count >= self.evaluations and held >= self.hold_s:
            self.shown, self.since = evaluation, now
            self.pending, self.pending_since, self.pending_count = None, None, 0
            return True
        return False


def pooled(
    data: Mapping[str, Mapping[str, list[float]]], node: str | None = None
) -> dict[str, list[float]]:
    """Per-node values (node -> metric -> values) as one cluster, or one node's."""
    out: dict[str, list[float]] = {}
    for name, metrics in data.items():
        if node is None or name == node:
            for metric, values in metrics.items():
                out.setdefault(metric, []).extend(values)
    return out


def describe(v: MetricVerdict) -> str:
    """One sentence: what got worse, by how much, with the numbers."""
    info = METRICS[v.metric]
    c = (
        v.path
        if v.path is not None and v.path.verdict == "fail" and v.hop.verdict != "fail"
        else v.hop
    )
    since = "the path's first baseline" if c is v.path else "the baseline"
    before = format_quantity(c.baseline_median, info.unit)
    after = format_quantity(c.now_median, info.unit)
    change = f"{c.change:+.0%}" if c.change is not None else "n/a"
    p = f"p = {c.p_value:.2g}" if c.p_value is not None else "no test"
    return f"{info.title} {change} against {since} ({before} → {after}, {p})"


def record(
    journal: Journal, profile: str, evaluation: Evaluation, session_id: int | None = None
) -> int:
    """Keep the verdict in the journal (the 48 h watch shows their history)."""
    data = {
        "profile": profile,
        "overall": evaluation.overall,
        "mode": evaluation.mode,
        "at": evaluation.at,
        "metrics": {
            v.metric: {
                "verdict": v.verdict,
                "change": v.hop.change,
                "p_value": v.hop.p_value,
                "path_change": v.path.change if v.path else None,
            }
            for v in evaluation.verdicts
        },
    }
    trigger = evaluation.trigger
    message = trigger.summary if trigger else f"metrics verdict: {evaluation.overall}"
    return journal.add_event("metrics.verdict", message, session_id=session_id, data=data)


def _as_comparison(v: MetricVerdict) -> Comparison:
    return Comparison(v.metric, None, None, None, None, None, v.verdict, "")


def _worst_change(v: MetricVerdict) -> float:
    changes = [c.change for c in (v.hop, v.path) if c is not None and c.change is not None]
    return max(changes, key=abs, default=0.0)


def _evidence(v: MetricVerdict) -> dict[str, float | str | None]:
    return {
        "metric": v.metric,
        "baseline_median": v.hop.baseline_median,
        "now_median": v.hop.now_median,
        "change": v.hop.change,
        "p_value": v.hop.p_value,
        "effect": v.hop.effect,
        "path_change": v.path.change if v.path else None,
        "reason": v.explanation,
    }
