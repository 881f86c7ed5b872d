"""The metrics verdict of a hop: every metric against the hop's baseline and the path's
baseline, the overall verdict, and the rollback trigger it raises with its evidence.

Advisory mode (the default) only raises the trigger; enforcing mode (used by rollouts)
also tells the caller to stop.

Too little data is no verdict: a metric with fewer than `MIN_SAMPLES` on a side is
"inconclusive", and so is the whole verdict while any metric waits, or unless each of
`REQUIRED` (some latency, the error rate) has a judged metric: inconclusive means wait,
never pass (`Evaluation.waits`). "no data" is left for nothing measured at all. A failing
metric still fails: a degradation seen is evidence whatever else is missing, and a
critical one (the error rate) fails the whole verdict at once, also through the hold.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from themis_desktop.core.journal.store import Journal
from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.metrics.comparison import (
    MIN_SAMPLES,
    Comparison,
    Load,
    Verdict,
    compare,
    cumulative,
    overall,
)
from themis_desktop.core.util.formatting import format_quantity, human_duration

Mode = Literal["advisory", "enforcing"]
CONCLUSIVE: tuple[Verdict, ...] = ("pass", "marginal", "fail")
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
    samples: int = 0  # samples in the after window (the most of any metric)
    window: tuple[float, float] | None = None  # the after window (unix seconds), if known
    min_samples: int = MIN_SAMPLES

    @property
    def inconclusive(self) -> str | None:
        """Why there is no verdict (and how much longer it needs), or None when there is."""
        if self.overall not in ("inconclusive", "no data"):
            return None
        with_data = sum(v.verdict in CONCLUSIVE for v in self.verdicts)
        word = self.overall  # the sentence starts with the verdict it explains
        if self.missing:
            text = (
                f"{word}: too few samples of {' and '.join(self.missing)} on one side or "
                f"both ({with_data} of {len(self.verdicts)} metrics have enough on both)"
            )
        elif self.overall == "no data":
            return "no data: no metric has samples on both sides"
        else:
            waiting = [v.metric for v in self.verdicts if v.verdict == "inconclusive"]
            text = (
                f"inconclusive: fewer than {self.min_samples} samples on a side for "
                f"{', '.join(waiting)}"
            )
        if self.needed:
            text += f"; needs {self.needed} more samples"
            wait = self.wait_s
            if wait is not None:
                text += f" (about {human_duration(wait)} at the current rate)"
        return text

    @property
    def needed(self) -> int:
        """More samples after the upgrade before every inconclusive metric can be judged."""
        return max((v.hop.needed for v in self.verdicts if v.verdict == "inconclusive"), default=0)

    @property
    def rate(self) -> float | None:
        """Samples per second in the after window, when the window is known."""
        if self.window is None or self.window[1] <= self.window[0] or not self.samples:
            return None
        return self.samples / (self.window[1] - self.window[0])

    @property
    def wait_s(self) -> float | None:
        """Seconds until the evidence is enough at the current rate (0 when it is)."""
        if not self.needed:
            return 0.0
        rate = self.rate
        return self.needed / rate if rate else None

    @property
    def failing(self) -> list[MetricVerdict]:
        return [v for v in self.verdicts if v.verdict == "fail"]

    @property
    def critical_failures(self) -> list[MetricVerdict]:
        """Failing critical metrics (error rate): the whole verdict fails at once."""
        return [v for v in self.failing if METRICS[v.metric].critical]

    @property
    def trigger(self) -> Trigger | None:
        """The rollback trigger, raised by a failing critical metric or the worst failing."""
        if not self.failing:
            return None
        critical = self.critical_failures
        worst = critical[0] if critical else max(self.failing, key=lambda v: abs(_worst_change(v)))
        return Trigger(worst.metric, describe(worst), _evidence(worst))

    @property
    def blocks(self) -> bool:
        """Enforcing mode stops a rollout on a fail; advisory mode never does."""
        return self.mode == "enforcing" and self.overall == "fail"

    @property
    def waits(self) -> bool:
        """No decision yet: a session or a gate waits for evidence (never a pass)."""
        return self.overall in ("inconclusive", "no data")


def evaluate(
    baseline: Values,
    now: Values,
    path_baseline: Values | None = None,
    *,
    thresholds: Mapping[str, float] | None = None,
    mode: Mode = "advisory",
    min_samples: int = MIN_SAMPLES,
    load: Load | None = None,
    window: tuple[float, float] | None = None,
) -> Evaluation:
    """Compare every metric of the catalogue; a metric missing on a side is "no data",
    one with fewer than `min_samples` on a side "inconclusive". `load` is the offered load
    of both windows (for served requests); `window` the after window, for the rate."""
    thresholds = thresholds or {}
    verdicts = []
    for metric in METRICS:
        after = list(now.get(metric, []))
        ratio = thresholds.get(metric)
        hop = compare(
            metric,
            list(baseline.get(metric, [])),
            after,
            ratio,
            min_samples=min_samples,
            load=load,
        )
        path = (
            compare(
                metric, list(path_baseline.get(metric, [])), after, ratio, min_samples=min_samples
            )
            if path_baseline is not None
            else None
        )
        verdict = cumulative(hop, path) if path is not None else hop.verdict
        verdicts.append(MetricVerdict(metric, hop, path, verdict))
    result = overall([_as_comparison(v) for v in verdicts])
    with_data = {v.metric for v in verdicts if v.verdict in CONCLUSIVE}
    missing = tuple(name for name, keys in REQUIRED.items() if not with_data.intersection(keys))
    if any(METRICS[v.metric].critical and v.verdict == "fail" for v in verdicts):
        result = "fail"  # a critical metric fails the whole verdict, whatever else waits
    elif missing and result == "pass":
        result = "inconclusive"  # a pass on too little data is no verdict
    samples = max((v.hop.n_after for v in verdicts), default=0)
    return Evaluation(
        verdicts,
        result,
        mode,
        missing=missing,
        samples=samples,
        window=window,
        min_samples=min_samples,
    )


@dataclass(frozen=True)
class VerdictChange:
    """One change of the shown verdict and why it happened."""

    at: float
    before: Verdict | None
    after: Verdict | None
    reason: str
    samples: float = 0.0  # the new samples behind it


@dataclass
class VerdictHold:
    """The verdict to show, steady against noise: an evidence hold. A shown verdict changes
    only after `min_samples` new samples that disagree with it (one evaluation that
    disagrees changes nothing: a FAIL followed 3 s later by a PASS was a flap); the first
    verdict with enough evidence (after none, "no data" or "inconclusive") and a failing
    critical metric are shown at once. While the verdict stays, the newest evaluation with
    it is shown (fresh numbers). `history` keeps every change with its reason."""

    min_samples: int = MIN_SAMPLES
    shown: Evaluation | None = None
    since: float | None = None  # when the shown verdict was adopted
    pending: Verdict | None = None  # a different verdict seen, not yet held long enough
    pending_since: float | None = None
    pending_count: int = 0  # evaluations that disagreed in a row
    pending_samples: float = 0.0  # new samples since the disagreement began
    history: list[VerdictChange] = field(default_factory=list)
    _last: Evaluation | None = None

    @property
    def rule(self) -> str:
        """The rule in words, for the UI."""
        return (
            f"a verdict changes only after {self.min_samples} new samples disagree with it "
            "(a critical failure at once)"
        )

    def reset(self, reason: str = "another question (a new baseline or profile)") -> None:
        """Another question (a new baseline, another profile): no verdict shown."""
        if self.shown is not None:
            before = self.shown.overall
            self.history.append(VerdictChange(time.time(), before, None, reason))
        self.shown = self.since = self.pending = self.pending_since = self._last = None
        self.pending_count, self.pending_samples = 0, 0.0

    def feed(
        self, evaluation: Evaluation, now: float | None = None, new_samples: float | None = None
    ) -> bool:
        """Take a new evaluation; True when the shown verdict changed. `new_samples` is how
        many samples arrived since the previous evaluation (derived from the windows, or
        from the growth of the sample count, when not given)."""
        now = evaluation.at if now is None else now
        new = _new_samples(self._last, evaluation) if new_samples is None else new_samples
        self._last = evaluation
        shown = self.shown.overall if self.shown is not None else None
        verdict = evaluation.overall
        if verdict == shown:
            self.shown = evaluation
            if self.since is None:
                self.since = now
            self._clear_pending()
            return False
        reason = self._reason_at_once(evaluation, shown)
        if reason is None:
            if verdict != self.pending:
                self.pending, self.pending_since = verdict, now
            self.pending_count += 1
            self.pending_samples += new
            if self.pending_samples < self.min_samples:
                return False
            reason = (
                f"{verdict} over {self.pending_samples:.0f} new samples "
                f"(at least {self.min_samples}) in {self.pending_count} evaluation(s)"
            )
        self.history.append(VerdictChange(now, shown, verdict, reason, self.pending_samples or new))
        self.shown, self.since = evaluation, now
        self._clear_pending()
        return True

    def _reason_at_once(self, evaluation: Evaluation, shown: Verdict | None) -> str | None:
        """Why `evaluation` replaces the shown verdict without waiting, or None."""
        if shown is None:
            return f"first evaluation ({evaluation.samples} samples after the upgrade)"
        if shown in ("no data", "inconclusive"):
            if evaluation.overall in CONCLUSIVE:
                return (
                    f"first verdict with enough evidence ({evaluation.samples} samples after "
                    f"the upgrade, at least {evaluation.min_samples} needed)"
                )
            return evaluation.inconclusive or "still waiting for evidence"
        critical = evaluation.critical_failures
        if critical:
            return f"critical metric {critical[0].metric} failed: {critical[0].hop.reason}"
        return None

    def _clear_pending(self) -> None:
        self.pending, self.pending_since, self.pending_count, self.pending_samples = (
            None,
            None,
            0,
            0.0,
        )


def _new_samples(last: Evaluation | None, evaluation: Evaluation) -> float:
    """Samples in `evaluation` that `last` did not see: the new part of its window (at its
    rate), or the growth of its sample count."""
    if last is None:
        return float(evaluation.samples)
    if evaluation.window is not None and last.window is not None:
        start, end = evaluation.window
        if end > start:
            fresh = min(max((end - max(last.window[1], start)) / (end - start), 0.0), 1.0)
            return evaluation.samples * fresh
    return float(max(0, evaluation.samples - last.samples))


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
        "needed": evaluation.needed,  # more samples before a verdict (decide-by)
        "rate": evaluation.rate,  # samples a second in the after window
        "inconclusive": evaluation.inconclusive,
        "metrics": {
            v.metric: {
                "verdict": v.verdict,
                "change": v.hop.change,
                "p_value": v.hop.p_value,
                "path_change": v.path.change if v.path else None,
                "n": [v.hop.n_before, v.hop.n_after],
                "shift": v.hop.shift,
                "interval": list(v.hop.interval) if v.hop.interval else None,
                "band": v.hop.band,
                "reason": v.hop.reason,
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
        "n_before": v.hop.n_before,
        "n_after": v.hop.n_after,
        "shift": v.hop.shift,
        "shift_low": v.hop.shift_low,
        "shift_high": v.hop.shift_high,
        "band": v.hop.band,
    }
