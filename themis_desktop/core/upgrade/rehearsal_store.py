"""The rehearsals table: each dress rehearsal of a hop on a copy of its nodes' data (its
steps with their durations, the verdict and why, the copy's log errors) and each admin
override of the rehearsal gate, with its note (`kind` "override").

Written by `core/rehearsal/runner.py` (a run) and `rehearsal_gate.override` (a note); read
by the gate (`rehearsal_gate`), `session status`, the session page and the report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from themis_desktop.core.journal.store import Journal, current_user, inserted_id, utc_now

TABLE = "rehearsals"
VERDICTS = ("pass", "fail", "inconclusive", "cancelled", "error", "override")


@dataclass(frozen=True)
class RehearsalStep:
    """One step of a rehearsal: its name, how long it took, whether it went well, and what
    it found."""

    name: str
    seconds: float
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": self.seconds, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class Rehearsal:
    """A row: a rehearsal of hop `hop_id` (kind "rehearsal") or an override (kind
    "override", `note` saying why; `verdict` "override")."""

    id: int
    session_id: int
    hop_id: int
    profile: str
    kind: str
    from_version: str
    to_version: str
    started_at: str
    finished_at: str | None
    verdict: str
    reason: str
    host: str = ""
    scratch_dir: str = ""
    kept: bool = False
    backups: dict[str, int] = field(default_factory=dict)
    steps: tuple[RehearsalStep, ...] = ()
    evaluation: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    note: str = ""
    user: str = ""

    @property
    def is_override(self) -> bool:
        return self.kind == "override"

    @property
    def passed(self) -> bool:
        return self.kind == "rehearsal" and self.verdict == "pass"

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        """As `--json` prints it."""
        return {
            "id": self.id,
            "session_id": self.session_id,
            "hop_id": self.hop_id,
            "profile": self.profile,
            "kind": self.kind,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "verdict": self.verdict,
            "reason": self.reason,
            "host": self.host,
            "scratch_dir": self.scratch_dir,
            "kept": self.kept,
            "backups": self.backups,
            "steps": [s.to_dict() for s in self.steps],
            "evaluation": self.evaluation,
            "errors": self.errors,
            "note": self.note,
            "user": self.user,
        }


def add(
    journal: Journal,
    *,
    session_id: int,
    hop_id: int,
    profile: str,
    from_version: str,
    to_version: str,
    started_at: str,
    verdict: str,
    reason: str,
    host: str,
    scratch_dir: str,
    kept: bool,
    backups: dict[str, int],
    steps: list[RehearsalStep],
    evaluation: list[dict[str, Any]],
    errors: list[str],
) -> Rehearsal:
    """Record a finished rehearsal; returns its row."""
    if verdict not in VERDICTS:
        raise ValueError(f"unknown rehearsal verdict {verdict!r}")
    row = {
        "session_id": session_id,
        "hop_id": hop_id,
        "profile": profile,
        "kind": "rehearsal",
        "from_version": from_version,
        "to_version": to_version,
        "started_at": started_at,
        "finished_at": utc_now(),
        "verdict": verdict,
        "reason": reason,
        "host": host,
        "scratch_dir": scratch_dir,
        "kept": int(kept),
        "backups": json.dumps(backups),
        "steps": json.dumps([s.to_dict() for s in steps]),
        "evaluation": json.dumps(evaluation),
        "errors": json.dumps(errors),
        "note": "",
        "user": current_user(),
    }
    return get(journal, _insert(journal, row))


def add_override(
    journal: Journal,
    *,
    session_id: int,
    hop_id: int,
    profile: str,
    from_version: str,
    to_version: str,
    note: str,
    reason: str,
) -> Rehearsal:
    """Record an admin's override of the rehearsal gate for a hop, with the note."""
    now = utc_now()
    row = {
        "session_id": session_id,
        "hop_id": hop_id,
        "profile": profile,
        "kind": "override",
        "from_version": from_version,
        "to_version": to_version,
        "started_at": now,
        "finished_at": now,
        "verdict": "override",
        "reason": reason,
        "host": "",
        "scratch_dir": "",
        "kept": 0,
        "backups": "{}",
        "steps": "[]",
        "evaluation": "[]",
        "errors": "[]",
        "note": note,
        "user": current_user(),
    }
    return get(journal, _insert(journal, row))


def _insert(journal: Journal, row: dict[str, Any]) -> int:
    with journal.transaction():
        return inserted_id(journal.db.table(TABLE).insert(row))


def get(journal: Journal, rehearsal_id: int) -> Rehearsal:
    rows = list(journal.db.query(f"SELECT * FROM {TABLE} WHERE id = ?", [rehearsal_id]))
    if not rows:
        raise KeyError(rehearsal_id)
    return _row(rows[0])


def _present(journal: Journal) -> bool:
    """Whether the table is there (a read-only review of an older journal never migrates)."""
    return TABLE in journal.db.table_names()


def for_hop(journal: Journal, hop_id: int) -> list[Rehearsal]:
    """Every rehearsal and override of a hop, newest first."""
    if not _present(journal):
        return []
    rows = journal.db.query(f"SELECT * FROM {TABLE} WHERE hop_id = ? ORDER BY id DESC", [hop_id])
    return [_row(r) for r in rows]


def for_session(journal: Journal, session_id: int) -> list[Rehearsal]:
    """Every rehearsal and override of a session, oldest first."""
    if not _present(journal):
        return []
    rows = journal.db.query(f"SELECT * FROM {TABLE} WHERE session_id = ? ORDER BY id", [session_id])
    return [_row(r) for r in rows]


def latest(journal: Journal, hop_id: int, kind: str = "rehearsal") -> Rehearsal | None:
    """The newest row of `kind` of a hop, or None."""
    return next((r for r in for_hop(journal, hop_id) if r.kind == kind), None)


def _row(row: dict[str, Any]) -> Rehearsal:
    return Rehearsal(
        id=row["id"],
        session_id=row["session_id"],
        hop_id=row["hop_id"],
        profile=row["profile"] or "",
        kind=row["kind"],
        from_version=row["from_version"] or "",
        to_version=row["to_version"] or "",
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        verdict=row["verdict"],
        reason=row["reason"] or "",
        host=row["host"] or "",
        scratch_dir=row["scratch_dir"] or "",
        kept=bool(row["kept"]),
        backups={str(k): int(v) for k, v in json.loads(row["backups"] or "{}").items()},
        steps=tuple(RehearsalStep(**s) for s in json.loads(row["steps"] or "[]")),
        evaluation=json.loads(row["evaluation"] or "[]"),
        errors=json.loads(row["errors"] or "[]"),
        note=row["note"] or "",
        user=row["user"] or "",
    )
