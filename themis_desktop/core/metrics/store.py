"""Samples and baselines in the journal.

Samples age into coarser steps so a long upgrade stays small: every sample (step 1) for
6 h, 10-second means for 48 h, 1-minute means beyond. A sample with `up = 0` is a gap.
A baseline keeps its own copy of the values it was taken from, so it outlives that
downsampling and can come from elsewhere (a Prometheus server).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from themis_desktop.core.journal.store import Journal, inserted_id, utc_now
from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.metrics.sampling import Sample
from themis_desktop.core.util import atomic_file

if TYPE_CHECKING:  # imported where used: not on the window's first-paint path
    import numpy as np

METRIC_KEYS = tuple(METRICS)
# (age in seconds, step it is merged into): 1 s -> 10 s after 6 h, 10 s -> 60 s after 48 h
AGEING = ((1, 10, 6 * 3600), (10, 60, 48 * 3600))
BaselineData = dict[str, dict[str, list[float]]]  # node -> metric -> values


@dataclass
class Series:
    """One node's samples as columns: `at` and one float array per metric (NaN = no data
    or a gap)."""

    node: str
    at: np.ndarray
    up: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)
    versions: list[str | None] = field(default_factory=list)
    steps: np.ndarray | None = None  # seconds each sample stands for (1, 10 or 60)


@dataclass(frozen=True)
class Baseline:
    profile: str
    kind: str  # "hop", "path" or "manual"
    label: str
    start: float
    end: float
    source: str  # "journal" or "prometheus"
    data: BaselineData
    session_id: int | None = None
    id: int | None = None
    created_at: str = ""

    def values(self, metric: str, node: str | None = None) -> list[float]:
        """A metric's values over all nodes (the cluster) or one node."""
        nodes = [node] if node else list(self.data)
        return [v for n in nodes for v in self.data.get(n, {}).get(metric, [])]


_INSERT = (
    f"INSERT INTO samples (profile, node, at, step, up, version, {', '.join(METRIC_KEYS)}) "
    f"VALUES ({', '.join('?' * (6 + len(METRIC_KEYS)))})"
)


def insert_samples(journal: Journal, profile: str, samples: Iterable[Sample]) -> int:
    rows = [
        (profile, s.node, s.at, 1, int(s.up), s.version, *(s.values.get(k) for k in METRIC_KEYS))
        for s in samples
    ]
    if rows:
        with journal.transaction():
            journal.db.conn.executemany(_INSERT, rows)
    return len(rows)


def load_series(
    journal: Journal, profile: str, since: float = 0.0, until: float | None = None
) -> dict[str, Series]:
    """Every node's samples between `since` and `until`, oldest first, any step."""
    import numpy as np

    cols = ", ".join(METRIC_KEYS)
    rows = journal.db.execute(
        f"SELECT node, at, up, version, step, {cols} FROM samples "
        "WHERE profile = ? AND at >= ? AND at <= ? ORDER BY node, at",
        [profile, since, until if until is not None else float("inf")],
    ).fetchall()
    by_node: dict[str, list[tuple]] = {}
    for row in rows:
        by_node.setdefault(row[0], []).append(row)
    out: dict[str, Series] = {}
    for node, node_rows in by_node.items():
        table = np.array([r[5:] for r in node_rows], dtype=float)  # None -> nan
        out[node] = Series(
            node,
            np.array([r[1] for r in node_rows], dtype=float),
            np.array([r[2] for r in node_rows], dtype=bool),
            {key: table[:, i] for i, key in enumerate(METRIC_KEYS)},
            [r[3] for r in node_rows],
            np.array([r[4] for r in node_rows], dtype=float),
        )
    return out


def window_values(journal: Journal, profile: str, start: float, end: float) -> BaselineData:
    """The finite values of every metric per node in [start, end] (for a comparison)."""
    import numpy as np

    data: BaselineData = {}
    for node, series in load_series(journal, profile, start, end).items():
        data[node] = {
            key: [float(v) for v in column[np.isfinite(column)]]
            for key, column in series.values.items()
        }
    return data


def downsample(journal: Journal, now: float | None = None) -> int:
    """Merge aged samples into coarser steps (means; a bucket is up if any sample was).
    Only whole buckets are merged. Returns how many rows were merged away."""
    now = time.time() if now is None else now
    merged = 0
    means = ", ".join(f"AVG({k})" for k in METRIC_KEYS)
    with journal.transaction():
        for step, into, age in AGEING:
            cutoff = (now - age) // into * into
            bucket = f"CAST(at / {into} AS INTEGER) * {into}"
            where = f"step = {step} AND at < ?"
            before = journal.db.execute(f"SELECT COUNT(*) FROM samples WHERE {where}", [cutoff])
            count = before.fetchone()[0]
            if not count:
                continue
            journal.db.execute(
                f"INSERT INTO samples (profile, node, at, step, up, version, "
                f"{', '.join(METRIC_KEYS)}) "
                f"SELECT profile, node, {bucket}, {into}, MAX(up), MAX(version), {means} "
                f"FROM samples WHERE {where} GROUP BY profile, node, {bucket}",
                [cutoff],
            )
            journal.db.execute(f"DELETE FROM samples WHERE {where}", [cutoff])
            merged += count
    return merged


def save_baseline(journal: Journal, baseline: Baseline) -> Baseline:
    with journal.transaction():
        row_id = inserted_id(
            journal.db.table("baselines").insert(
                {
                    "profile": baseline.profile,
                    "session_id": baseline.session_id,
                    "kind": baseline.kind,
                    "label": baseline.label,
                    "start": baseline.start,
                    "end": baseline.end,
                    "source": baseline.source,
                    "created_at": utc_now(),
                    "data": json.dumps(baseline.data),
                }
            )
        )
    return _baseline(journal.db.table("baselines").get(row_id))


def capture_baseline(
    journal: Journal,
    profile: str,
    start: float,
    end: float,
    *,
    kind: str = "hop",
    label: str = "",
    session_id: int | None = None,
) -> Baseline:
    """A baseline from the samples the journal holds for [start, end]."""
    data = window_values(journal, profile, start, end)
    span = journal.db.execute(
        "SELECT MIN(at), MAX(at) FROM samples WHERE profile = ? AND at >= ? AND at <= ? AND up = 1",
        [profile, start, end],
    ).fetchone()
    if span[0] is not None:  # the window the samples really cover
        start, end = span
    return save_baseline(
        journal,
        Baseline(profile, kind, label, start, end, "journal", data, session_id),
    )


def baselines(journal: Journal, profile: str) -> list[Baseline]:
    """A profile's baselines, newest first."""
    rows = journal.db["baselines"].rows_where(
        "profile = ?", [profile], order_by="created_at DESC, id DESC"
    )
    return [_baseline(row) for row in rows]


def path_baseline(journal: Journal, profile: str) -> Baseline | None:
    """The baseline taken before the first hop of the path (the newest such)."""
    return next((b for b in baselines(journal, profile) if b.kind == "path"), None)


def _baseline(row: dict) -> Baseline:
    return Baseline(
        profile=row["profile"],
        kind=row["kind"],
        label=row["label"] or "",
        start=row["start"],
        end=row["end"],
        source=row["source"],
        data=json.loads(row["data"]),
        session_id=row["session_id"],
        id=row["id"],
        created_at=row["created_at"],
    )


def write_csv(
    journal: Journal, profile: str, path: Path, since: float = 0.0, until: float | None = None
) -> int:
    """The samples of [since, until] as CSV (UTC times, one column per metric); written to a
    temporary file first, so a failed export never leaves half a file. Returns the rows."""
    cols = ", ".join(METRIC_KEYS)
    rows = journal.db.execute(
        f"SELECT at, node, version, up, step, {cols} FROM samples "
        "WHERE profile = ? AND at >= ? AND at <= ? ORDER BY at, node",
        [profile, since, until if until is not None else float("inf")],
    )
    count = 0
    with atomic_file.replacing(Path(path)) as out:  # the old export stays until it is done
        writer = csv.writer(out)
        writer.writerow(["time_utc", "node", "version", "up", "step_s", *METRIC_KEYS])
        for at, node, version, up, step, *values in rows:
            stamp = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
            writer.writerow(
                [
                    stamp,
                    node,
                    version or "",
                    up,
                    step,
                    *("" if v is None else f"{v:.6g}" for v in values),
                ]
            )
            count += 1
    return count
