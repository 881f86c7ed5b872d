"""The rollouts table of the journal: one row per rollout, its progress as JSON `state`.

Row-level functions over an open `Journal`; `rollout.runner` turns rows into `Rollout`s
(`save`, `load`, `latest`), and the schema stays in the journal.
"""

from __future__ import annotations

from typing import Any

from themis_desktop.core.journal.store import Journal, inserted_id


def insert(journal: Journal, row: dict[str, Any]) -> int:
    """Add a rollout's row; returns its id."""
    return inserted_id(journal.db.table("rollouts").insert(row))


def update(journal: Journal, rollout_id: int, row: dict[str, Any]) -> None:
    journal.db.table("rollouts").update(rollout_id, row)


def get(journal: Journal, rollout_id: int) -> dict[str, Any]:
    """The row of `rollout_id` (sqlite_utils' NotFoundError when there is none)."""
    return dict(journal.db.table("rollouts").get(rollout_id))


def find(journal: Journal, rollout_id: int) -> dict[str, Any] | None:
    """The row of `rollout_id`, or None."""
    rows = list(journal.db["rollouts"].rows_where("id = ?", [rollout_id]))
    return rows[0] if rows else None


def newest_id(journal: Journal, profile: str) -> int | None:
    """The id of the profile's newest rollout, or None."""
    rows = list(
        journal.db["rollouts"].rows_where(
            "profile = ?", [profile], select="id", order_by="id DESC", limit=1
        )
    )
    return rows[0]["id"] if rows else None
