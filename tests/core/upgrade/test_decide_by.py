"""Decide by: when the evidence will be enough against when the rollback band ends, with
fixed clocks at the band boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from themis_desktop.core.metrics.verdict import evaluate
from themis_desktop.core.upgrade.decide_by import decide_by, for_evaluation, for_record

UPGRADED = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def test_inconclusive_with_time_left_in_the_easy_band_names_the_time_to_decide_by():
    now = UPGRADED + timedelta(minutes=19)
    result = decide_by("inconclusive", 720, 1.0, UPGRADED, now)  # 12 min at 1 sample/s
    assert result.evidence_in_s == 720 and result.band.key == "easy"
    assert result.band_ends_in_s == 41 * 60
    assert result.decide_by == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    assert result.text == (
        "inconclusive: 12 min 0 s more data; easy rollback ends in 41 min 0 s — decide by 15:00"
    )
    assert result.warning is None


def test_an_upgrade_59_minutes_ago_cannot_have_its_evidence_before_the_easy_band_ends():
    now = UPGRADED + timedelta(minutes=59)
    result = decide_by("inconclusive", 300, 1.0, UPGRADED, now)  # 5 min more data
    assert result.band.key == "easy" and result.band_ends_in_s == 60
    assert result.warning is not None
    assert "cannot be complete before easy rollback ends" in result.warning
    assert "accept a moderate rollback" in result.warning


def test_at_23_h_59_the_moderate_band_ends_in_a_minute():
    now = UPGRADED + timedelta(hours=23, minutes=59)
    result = decide_by("inconclusive", 300, 1.0, UPGRADED, now)
    assert result.band.key == "moderate" and result.band_ends_in_s == 60
    assert result.next_band is not None and result.next_band.key == "reconciliation"
    assert result.warning is not None and "reconciliation rollback" in result.warning


def test_a_verdict_with_enough_evidence_only_names_the_band():
    result = decide_by("pass", 0, 1.0, UPGRADED, UPGRADED + timedelta(minutes=30))
    assert result.evidence_in_s == 0.0 and result.warning is None
    assert result.text.startswith("pass; easy rollback ends in 30 min")


def test_after_seven_days_there_is_no_band_end_to_decide_by():
    result = decide_by("pass", 0, 1.0, UPGRADED, UPGRADED + timedelta(days=8))
    assert result.decide_by is None and result.band_ends_in_s is None
    assert "fix forward" in result.text and result.as_json()["decide_by"] is None


def test_from_a_live_evaluation_and_from_a_recorded_verdict():
    baseline = {"probe_ms": [10.0] * 60, "error_rate": [0.0] * 60}
    now = {"probe_ms": [10.0] * 20, "error_rate": [0.0] * 20}
    evaluation = evaluate(baseline, now, window=(0.0, 40.0))  # 30 more at 0.5 a second
    result = for_evaluation(evaluation, UPGRADED, UPGRADED + timedelta(minutes=10))
    assert result.verdict == "inconclusive" and result.evidence_in_s == 60.0
    recorded = {"overall": "inconclusive", "needed": 30, "rate": 0.5}
    assert for_record(recorded, UPGRADED, UPGRADED + timedelta(minutes=10)) == result
    unknown_rate = for_record({"overall": "inconclusive", "needed": 30}, UPGRADED, UPGRADED)
    assert unknown_rate.evidence_in_s is None and unknown_rate.warning is not None
    nothing = for_record({}, UPGRADED, UPGRADED)  # no verdict recorded yet
    assert nothing.verdict == "no data" and nothing.evidence_in_s is None
    assert "no sample rate yet" in nothing.text
