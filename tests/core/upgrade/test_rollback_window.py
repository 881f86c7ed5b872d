"""The rollback window's bands at every boundary, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from themis_desktop.core.upgrade.rollback_window import band_for, describe, parse_time, window

FINISHED = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "band", "to_next"),
    [
        (timedelta(minutes=0), "easy", 3600),
        (timedelta(minutes=59), "easy", 60),
        (timedelta(minutes=61), "moderate", 23 * 3600 - 60),
        (timedelta(hours=23, minutes=59), "moderate", 60),
        (timedelta(hours=24, minutes=1), "reconciliation", 6 * 86400 - 60),
        (timedelta(days=7, minutes=1), "not-recommended", None),
    ],
)
def test_bands_at_the_boundaries(after, band, to_next):
    state = window(FINISHED, FINISHED + after)
    assert state.band.key == band
    assert state.to_next == (pytest.approx(to_next) if to_next is not None else None)


def test_a_boundary_belongs_to_the_later_band():
    assert band_for(3600).key == "moderate"
    assert band_for(86400).key == "reconciliation"
    assert band_for(7 * 86400).key == "not-recommended"


def test_a_clock_before_the_upgrade_counts_as_zero():
    assert window(FINISHED, FINISHED - timedelta(minutes=5)).elapsed == 0


def test_description_and_times_without_a_zone_are_utc():
    state = window(parse_time("2026-11-26T12:00:00"), parse_time("2026-11-26T12:12:00Z"))
    assert (
        describe(state) == "Easy rollback — 12 min 0 s since the upgrade, 48 min 0 s until moderate"
    )


def test_the_command_prints_band_elapsed_and_time_to_the_next(capsys):
    import json

    from themis_desktop.cli import main

    args = ["rollback-window", "--since", "2026-11-26T12:00:00Z", "--now", "2026-11-27T12:01:00Z"]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["band"] == "reconciliation" and data["next_band"] == "not-recommended"
    assert data["elapsed_seconds"] == 86460 and data["seconds_to_next_band"] == 6 * 86400 - 60
    assert main(["rollback-window", "--since", "yesterday"]) == 2
