"""The log watch's tables in the journal: per hop, the count of lines per phase, node and
level (`log_counts`) and the warning-and-worse lines kept (`log_lines`).

Functions over an open `Journal`; `logs.watch` writes through `add`, and the session page,
the report and `themis-desktop logs` read through `phase_counts` and `hop_lines`. The
schema (its migrations) stays in the journal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from themis_desktop.core.journal.store import Journal
from themis_desktop.core.logs import line_format as log_format
from themis_desktop.core.logs.line_format import RANK, LogLine

# (phase, node, level) -> lines
Counts = Mapping[tuple[str, str, str], int]


def add(
    journal: Journal,
    session_id: int,
    hop_id: int,
    counts: Counts,
    kept: Iterable[tuple[str, LogLine]],
) -> None:
    """Add `counts` to the hop's tallies and insert the `kept` lines (each with its phase),
    in one transaction."""
    with journal.transaction():
        for (phase, node, level), n in counts.items():
            journal.db.execute(
                "INSERT INTO log_counts (session_id, hop_id, phase, node, level, count) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hop_id, phase, node, level) "
                "DO UPDATE SET count = count + excluded.count",
                [session_id, hop_id, phase, node, level, n],
            )
        journal.db.table("log_lines").insert_all(
            {
                "session_id": session_id,
                "hop_id": hop_id,
                "phase": phase,
                "node": line.node,
                "ts": log_format.iso(line.ts),
                "level": line.level,
                "message": line.message,
                "signature": line.signature,
            }
            for phase, line in kept
        )


def phase_counts(journal: Journal, session_id: int) -> dict[int, dict[str, dict[str, int]]]:
    """{hop id: {phase: {level: count}}} summed over nodes."""
    out: dict[int, dict[str, dict[str, int]]] = {}
    for row in journal.db.execute(
        "SELECT hop_id, phase, level, SUM(count) FROM log_counts WHERE session_id = ? "
        "GROUP BY hop_id, phase, level",
        [session_id],
    ).fetchall():
        out.setdefault(row[0], {}).setdefault(row[1], {})[row[2]] = row[3]
    return out


@dataclass(frozen=True)
class StoredLine:
    ts: str
    node: str
    phase: str
    level: str
    message: str


def hop_lines(
    journal: Journal, hop_id: int, *, min_level: str = "warning", limit: int = 10_000
) -> list[StoredLine]:
    """The hop's stored lines at `min_level` or worse, oldest first."""
    levels = [lv for lv in log_format.LEVELS if RANK[lv] <= RANK[min_level]]
    rows = journal.db.execute(
        f"SELECT ts, node, phase, level, message FROM log_lines WHERE hop_id = ? "
        f"AND level IN ({', '.join('?' * len(levels))}) ORDER BY ts, id LIMIT ?",
        [hop_id, *levels, limit],
    ).fetchall()
    return [StoredLine(*row) for row in rows]
