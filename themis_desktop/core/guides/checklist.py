"""Checklist state of an upgrade session: which guide steps are done or skipped, when, by whom,
and which alternative of a choice step (`Option B: Docker`) the admin took.

A choice lives in the step's own row (`choice`, `choice_label`; journal schema 9): a step's
state changes never touch its choice, and choosing before ticking records an open step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from themis_desktop.core.journal.store import Journal, current_user, utc_now

StepStateName = Literal["open", "done", "skipped"]


@dataclass(frozen=True)
class StepState:
    hop: str
    step_id: str
    state: StepStateName
    at: str
    user: str
    note: str = ""
    reason: str = ""
    choice: str = ""  # the key of the option taken ("B"), for a step with alternatives
    choice_label: str = ""


def set_step(
    journal: Journal,
    session_id: int,
    hop: str,
    step_id: str,
    state: StepStateName,
    *,
    note: str | None = None,
    reason: str = "",
    user: str | None = None,
) -> StepState:
    """Record a step's new state (and an event); `note=None` keeps the existing note."""
    if state == "skipped" and not reason.strip():
        raise ValueError("a skipped step needs a reason")
    user = user or current_user()
    existing = _row(journal, (session_id, hop, step_id)) or {}
    note_only = note is not None and existing.get("state", "open") == state
    row = {
        "session_id": session_id,
        "hop": hop,
        "step_id": step_id,
        "state": state,
        # a note alone keeps who ticked the step and when
        "at": existing["at"] if note_only and existing else utc_now(),
        "user": existing["user"] if note_only and existing else user,
        "note": note if note is not None else existing.get("note") or "",
        "reason": reason if state == "skipped" else "",
    }
    with journal.transaction():
        journal.db.table("checklist").upsert(row, pk=("session_id", "hop", "step_id"))
        journal.insert_event(
            session_id,
            "step.note" if note_only else f"step.{state}",
            user,
            None,
            f"{hop} {step_id}: "
            + ("note" if note_only else state)
            + (f" ({reason})" if reason and not note_only else ""),
            {"hop": hop, "step_id": step_id, "note": row["note"]},
        )
    return _state(_row(journal, (session_id, hop, step_id)) or row)


def set_choice(
    journal: Journal,
    session_id: int,
    hop: str,
    step_id: str,
    key: str,
    label: str = "",
    *,
    user: str | None = None,
) -> StepState:
    """Record which alternative (`key`, e.g. "B") of a choice step the admin takes, with an
    event; the step's own state is unchanged. Returns the step's state with the choice."""
    if not key.strip():
        raise ValueError("a choice needs the key of an option")
    user = user or current_user()
    key, label = key.strip(), label.strip()
    pk = (session_id, hop, step_id)
    with journal.transaction():
        if _row(journal, pk) is None:  # chosen before ticking: an open step with its choice
            journal.db.table("checklist").insert(
                {
                    "session_id": session_id,
                    "hop": hop,
                    "step_id": step_id,
                    "state": "open",
                    "at": utc_now(),
                    "user": user,
                    "note": "",
                    "reason": "",
                }
            )
        journal.db.table("checklist").update(pk, {"choice": key, "choice_label": label})
        journal.insert_event(
            session_id,
            "step.choice",
            user,
            None,
            f"{hop} {step_id}: option {key}" + (f" ({label})" if label else ""),
            {"hop": hop, "step_id": step_id, "choice": key, "label": label},
        )
    chosen = _row(journal, pk)
    assert chosen is not None  # inserted above
    return _state(chosen)


def set_note(journal: Journal, session_id: int, hop: str, step_id: str, note: str) -> StepState:
    """Attach a note to a step without changing its state."""
    existing = _row(journal, (session_id, hop, step_id)) or {}
    return set_step(
        journal,
        session_id,
        hop,
        step_id,
        existing.get("state", "open"),
        note=note,
        reason=existing.get("reason") or "",
    )


def states(journal: Journal, session_id: int) -> dict[tuple[str, str], StepState]:
    """Every recorded step state of a session, keyed by (hop, step id)."""
    rows = journal.db["checklist"].rows_where("session_id = ?", [session_id])
    return {(r["hop"], r["step_id"]): _state(r) for r in rows}


def _row(journal: Journal, key: tuple[int, str, str]) -> dict | None:
    rows = list(
        journal.db["checklist"].rows_where("session_id = ? AND hop = ? AND step_id = ?", list(key))
    )
    return rows[0] if rows else None


def _state(row: dict) -> StepState:
    return StepState(
        row["hop"],
        row["step_id"],
        row["state"],
        row["at"],
        row["user"],
        row["note"] or "",
        row["reason"] or "",
        row.get("choice") or "",
        row.get("choice_label") or "",
    )
