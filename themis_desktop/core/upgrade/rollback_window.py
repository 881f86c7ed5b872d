"""The rollback window after a hop: which band the time since the upgrade falls in, what
that band means for a rollback, and how long until the next band.

From the moment the new version first answered `/health/ready`:
  < 1 h      easy            restore the backup and the previous binary; little was written
  1 h–24 h   moderate        restore, then re-apply or accept the writes since the upgrade
  24 h–7 d   reconciliation  restoring loses a day or more of writes: reconcile them by hand
  > 7 d      not recommended fix forward instead, unless the data is at risk
Pure functions of timestamps, so every boundary is testable with any clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

HOUR = 3600.0
DAY = 24 * HOUR


@dataclass(frozen=True)
class Band:
    key: str
    title: str
    starts: float  # seconds since the upgrade
    ends: float | None  # None: open-ended
    colour: str
    meaning: str


BANDS: tuple[Band, ...] = (
    Band(
        "easy",
        "Easy rollback",
        0.0,
        HOUR,
        "#1f7a3a",
        "Restore the hop's backup and reinstall the previous version; few writes are lost.",
    ),
    Band(
        "moderate",
        "Moderate rollback",
        HOUR,
        DAY,
        "#8a5a00",
        "Restore the backup, then re-apply or consciously drop the writes made since the "
        "upgrade (up to a day of them).",
    ),
    Band(
        "reconciliation",
        "Rollback needs reconciliation",
        DAY,
        7 * DAY,
        "#c2410c",
        "Restoring loses more than a day of writes: plan a data reconciliation before "
        "rolling back, or fix forward.",
    ),
    Band(
        "not-recommended",
        "Rollback not recommended",
        7 * DAY,
        None,
        "#a4161a",
        "More than 7 days have passed: fix forward; roll back only if the data is at risk, "
        "with a reconciliation plan.",
    ),
)


@dataclass(frozen=True)
class WindowState:
    band: Band
    elapsed: float  # seconds since the upgrade finished
    to_next: float | None  # seconds until the next band; None in the last band
    next_band: Band | None


def band_for(elapsed: float) -> Band:
    """The band of `elapsed` seconds since the upgrade (a boundary belongs to the later band)."""
    for band in BANDS:
        if band.ends is None or elapsed < band.ends:
            return band
    raise AssertionError("unreachable")


def window(finished_at: datetime, now: datetime | None = None) -> WindowState:
    """Where the rollback window stands `now` for a hop finished at `finished_at`."""
    now = now or datetime.now(UTC)
    elapsed = max(0.0, (now - finished_at).total_seconds())
    band = band_for(elapsed)
    index = BANDS.index(band)
    following = BANDS[index + 1] if index + 1 < len(BANDS) else None
    to_next = band.ends - elapsed if band.ends is not None else None
    return WindowState(band, elapsed, to_next, following)


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; without a zone it is UTC."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def describe(state: WindowState) -> str:
    """`Easy rollback — 12 min since the upgrade, 48 min until moderate`."""
    from themis_desktop.core.util.formatting import human_duration

    text = f"{state.band.title} — {human_duration(state.elapsed)} since the upgrade"
    if state.to_next is not None and state.next_band is not None:
        text += f", {human_duration(state.to_next)} until {state.next_band.key}"
    return text


def deadline(finished_at: datetime, band_key: str) -> datetime | None:
    """When the band `band_key` ends for a hop finished at `finished_at`."""
    band = next(b for b in BANDS if b.key == band_key)
    return finished_at + timedelta(seconds=band.ends) if band.ends is not None else None
