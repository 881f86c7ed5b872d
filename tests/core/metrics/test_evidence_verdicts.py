"""Verdicts that know their evidence (issue 21): the minimum evidence, the Hodges-Lehmann
shift and its interval against the tolerance band, load-aware throughput, zero and
missing baselines, critical metrics, and the stored windows compared after the fact.
Recorded series with fixed seeds."""

from __future__ import annotations

import random

import pytest

from themis_desktop.core.journal.store import Journal
from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.metrics.comparison import MIN_SAMPLES, Load, compare
from themis_desktop.core.metrics.retrospective import compare_windows, offered_rate
from themis_desktop.core.metrics.sampling import Sample
from themis_desktop.core.metrics.store import insert_samples, load_series
from themis_desktop.core.metrics.verdict import evaluate


def _series(median: float, n: int, seed: int, spread: float = 0.1) -> list[float]:
    rng = random.Random(seed)
    return [median * (1 + rng.uniform(-spread, spread)) for _ in range(n)]


def test_the_minimum_evidence_is_fifty_samples_a_side():
    assert MIN_SAMPLES == 50


def test_ten_samples_of_a_650_percent_regression_are_inconclusive_sixty_fail():
    few = compare("probe_ms", _series(40, 10, 1), _series(300, 10, 2))
    assert few.verdict == "inconclusive" and few.needed == 40
    assert (few.n_before, few.n_after) == (10, 10)
    assert "10 of 50 samples after" in few.reason
    assert few.change == pytest.approx(6.5, abs=0.5)  # the change is shown, not judged

    enough = compare("probe_ms", _series(40, 60, 1), _series(300, 60, 2))
    assert enough.verdict == "fail" and enough.needed == 0
    assert enough.interval is not None and enough.band is not None
    assert enough.shift_low > enough.band  # the whole interval beyond the band
    assert "worse beyond the band" in enough.reason


def test_a_series_within_the_band_passes_with_its_interval_shown():
    result = compare("probe_ms", _series(40, 60, 1), _series(42, 60, 2))  # +5 %
    assert result.verdict == "pass"
    assert result.band == pytest.approx(0.2 * result.baseline_median)
    low, high = result.interval
    assert low <= result.shift <= high and high < result.band
    assert f"+{low:.1f} ms … +{high:.1f} ms" in result.reason  # in the metric's unit
    assert "within the band" in result.reason and "±20%" in result.reason
    assert result.p_value is not None and result.effect is not None


def test_an_interval_across_the_band_edge_is_marginal_never_pass():
    result = compare("probe_ms", _series(40, 60, 1, 0.3), _series(48, 60, 2, 0.3))  # +20 %
    assert result.verdict == "marginal"
    low, high = result.interval
    assert low < result.band < high
    assert "crosses the band's edge" in result.reason


def test_a_throughput_drop_with_steady_probe_load_fails():
    before, after = _series(100, 60, 1), _series(65, 60, 2)  # −35 % served
    result = compare("request_rate", before, after, load=Load(1.0, 1.0))
    assert result.verdict == "fail" and "served per offered request" in result.reason
    # the same drop when the offered load also fell by a third is no regression
    assert compare("request_rate", before, after, load=Load(1.0, 0.65)).verdict == "pass"
    # without the offered load it is not judged
    unknown = compare("request_rate", before, after)
    assert unknown.verdict == "pass" and "offered load is unknown" in unknown.reason


def test_zero_and_missing_baselines_have_a_stated_rule():
    zero = compare("error_rate", [0.0] * 60, [0.02] * 60)  # a counter that was 0
    assert zero.verdict == "fail" and "baseline 0" in zero.reason and zero.change is None
    still_zero = compare("error_rate", [0.0] * 60, [0.0] * 60)
    assert still_zero.verdict == "pass"
    new_metric = compare("server_p95_ms", [], _series(5, 60, 1))  # the old version had none
    assert new_metric.verdict == "no data" and "did not report" in new_metric.reason


def test_a_critical_metric_fails_the_whole_verdict_at_once():
    assert METRICS["error_rate"].critical
    baseline = {"error_rate": [0.0] * 60, "probe_ms": _series(40, 10, 1)}
    now = {"error_rate": [0.05] * 60, "probe_ms": _series(40, 10, 2)}  # latency still waits
    evaluation = evaluate(baseline, now)
    assert evaluation.overall == "fail"
    assert [v.metric for v in evaluation.critical_failures] == ["error_rate"]
    assert evaluation.trigger is not None and evaluation.trigger.metric == "error_rate"


def test_an_inconclusive_evaluation_waits_and_says_how_much_longer():
    baseline = {"probe_ms": _series(40, 60, 1), "error_rate": [0.0] * 60}
    now = {"probe_ms": _series(40, 20, 2), "error_rate": [0.0] * 20}
    evaluation = evaluate(baseline, now, window=(0.0, 40.0))  # 20 samples in 40 s
    assert evaluation.overall == "inconclusive" and evaluation.waits
    assert evaluation.needed == 30 and evaluation.rate == pytest.approx(0.5)
    assert evaluation.wait_s == pytest.approx(60.0)
    assert "needs 30 more samples (about 1 min 0 s at the current rate)" in (
        evaluation.inconclusive or ""
    )


# -- stored windows compared after the fact ---------------------------------------------------


def _store(journal: Journal, start: float, probe: list[float], requests: list[float]) -> None:
    samples = [
        Sample(
            "n1",
            start + i,
            True,
            {"probe_ms": p, "request_rate": r, "error_rate": 0.0},
            version="1.7.0",
        )
        for i, (p, r) in enumerate(zip(probe, requests, strict=True))
    ]
    insert_samples(journal, "lab", samples)


def test_two_stored_windows_compare_with_the_probe_load_of_each(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal:
        _store(journal, 1000.0, _series(40, 60, 1), _series(100, 60, 3))
        _store(journal, 2000.0, _series(41, 60, 2), _series(64, 60, 4))  # −36 % served
        assert offered_rate(load_series(journal, "lab", 1000, 1059), (1000, 1060)) == 1.0
        result = compare_windows(journal, "lab", (1000, 1059), (2000, 2059))
    assert result.load is not None and result.load.before == pytest.approx(result.load.after)
    by_metric = {v.metric: v for v in result.evaluation.verdicts}
    assert by_metric["probe_ms"].verdict == "pass"
    assert by_metric["request_rate"].verdict == "fail"
    assert result.evaluation.overall == "fail" and result.nodes == ("n1",)


def test_a_window_that_ends_before_it_starts_is_refused(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal, pytest.raises(ValueError, match="before"):
        compare_windows(journal, "lab", (10, 5), (20, 30))
