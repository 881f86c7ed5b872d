"""The sessions and hops tables of the journal: an upgrade session's row and its hops' rows.

Functions over an open `Journal`; `upgrade.session.UpgradeSession` builds on them, and the
schema (its migrations) stays in the journal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.journal.store import Journal, current_user, inserted_id, utc_now


@dataclass(frozen=True)
class Session:
    """A row of the sessions table."""

    id: int
    profile_id: int | None
    from_version: str
    to_version: str
    state: str
    created_at: str
    created_by: str
    ended_at: str | None = None
    profile: str | None = None  # its profile's name, kept when the profile is deleted


def start(
    journal: Journal,
    profile: Profile | None,
    from_version: str,
    to_version: str,
    user: str | None = None,
) -> Session:
    """A new session (planned) for a saved `profile` (or none), with its start event."""
    user = user or current_user()
    with journal.transaction():
        session_id = inserted_id(
            journal.db.table("sessions").insert(
                {
                    "profile_id": profile.id if profile else None,
                    "profile": profile.name if profile else None,
                    "from_version": from_version,
                    "to_version": to_version,
                    "state": "planned",
                    "created_at": utc_now(),
                    "created_by": user,
                }
            )
        )
        journal.insert_event(
            session_id,
            "session.started",
            user,
            None,
            f"Upgrade session {from_version} → {to_version}",
            None,
        )
    return get(journal, session_id)


def get(journal: Journal, session_id: int) -> Session:
    """The session `session_id` (sqlite_utils' NotFoundError when there is none)."""
    return Session(**journal.db.table("sessions").get(session_id))


def exists(journal: Journal, session_id: int) -> bool:
    return bool(journal.db["sessions"].count_where("id = ?", [session_id]))


def load_all(journal: Journal) -> list[Session]:
    """Every session, oldest first."""
    return [Session(**row) for row in journal.db["sessions"].rows_where(order_by="id")]


def newest_id(
    journal: Journal, *, profile_id: int | None = None, open_only: bool = False
) -> int | None:
    """The id of the newest session (of the profile `profile_id` when given; not ended with
    `open_only`), or None."""
    where, params = [], []
    if profile_id is not None:
        where.append("profile_id = ?")
        params.append(profile_id)
    if open_only:
        where.append("ended_at IS NULL")
    rows = list(
        journal.db["sessions"].rows_where(
            " AND ".join(where) or None, params, select="id", order_by="id DESC", limit=1
        )
    )
    return rows[0]["id"] if rows else None


def ids_of_profile(journal: Journal, profile_id: int) -> set[int]:
    """The ids of every session of the profile `profile_id`."""
    rows = journal.db["sessions"].rows_where("profile_id = ?", [profile_id], select="id")
    return {row["id"] for row in rows}


def update(journal: Journal, session_id: int, fields: dict[str, Any]) -> None:
    """Change columns of a session's row (inside the caller's transaction, if any)."""
    journal.db.table("sessions").update(session_id, fields)


# -- hops ----------------------------------------------------------------------------------


def insert_hops(journal: Journal, session_id: int, rows: Iterable[dict[str, Any]]) -> None:
    """Add the session's hops, in order (`position` set from their order)."""
    for position, row in enumerate(rows):
        journal.db.table("hops").insert({**row, "session_id": session_id, "position": position})


def hop_rows(journal: Journal, session_id: int) -> list[dict[str, Any]]:
    """The rows of the session's hops, in order."""
    return list(journal.db["hops"].rows_where("session_id = ?", [session_id], order_by="position"))


def update_hop(journal: Journal, hop_id: int, fields: dict[str, Any]) -> None:
    """Change columns of a hop's row (inside the caller's transaction, if any)."""
    journal.db.table("hops").update(hop_id, fields)
