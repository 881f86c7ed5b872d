"""Checklist state of an upgrade session: which guide steps are done or skipped, when, by whom,
and which alternative of a choice step (`Option B: Docker`) the admin took.

A choice is kept in a row of its own beside the step's (`<step id>@choice`, its option key
in `note` and label in `reason`): the checklist table needs no new column, a step's state
changes never touch its choice, and `states` folds the choice into the step's `StepState`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from themis_desktop.core.journal import Journal, current_user, utc_now

StepStateName = Literal["open", "done", "skipped"]
CHOICE = "@choice"  # suffix of a choice's row id (no step id holds an @)


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
        journal.db["checklist"].upsert(row, pk=("session_id", "hop", "step_id"))
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
    return _with_choice(journal, _state(row), session_id)


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
    row = {
        "session_id": session_id,
        "hop": hop,
        "step_id": step_id + CHOICE,
        "state": "done",
        "at": utc_now(),
        "user": user,
        "note": key.strip(),
        "reason": label.strip(),
    }
    with journal.transaction():
        journal.db["checklist"].upsert(row, pk=("session_id", "hop", "step_id"))
        journal.insert_event(
            session_id,
            "step.choice",
            user,
            None,
            f"{hop} {step_id}: option {row['note']}" + (f" ({row['reason']})" if label else ""),
            {"hop": hop, "step_id": step_id, "choice": row["note"], "label": row["reason"]},
        )
    existing = _row(journal, (session_id, hop, step_id))
    base = _state(existing) if existing else StepState(hop, step_id, "open", row["at"], user)
    return _with_choice(journal, base, session_id)


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
    rows = list(journal.db["checklist"].rows_where("session_id = ?", [session_id]))
    found = {(r["hop"], r["step_id"]): _state(r) for r in rows if CHOICE not in r["step_id"]}
    for row in rows:
        if row["step_id"].endswith(CHOICE):
            key = (row["hop"], row["step_id"][: -len(CHOICE)])
            base = found.get(key) or StepState(key[0], key[1], "open", row["at"], row["user"])
            found[key] = replace(base, choice=row["note"] or "", choice_label=row["reason"] or "")
    return found


def _with_choice(journal: Journal, state: StepState, session_id: int) -> StepState:
    """`state` with the choice recorded for its step, if any."""
    row = _row(journal, (session_id, state.hop, state.step_id + CHOICE))
    if row is None:
        return state
    return replace(state, choice=row["note"] or "", choice_label=row["reason"] or "")


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
    )
