"""Restore through the server itself (`POST /admin/restore`), judged by the data.

The server closes its database, replaces the data dir with the checkpoint and reopens it.
When the reopen fails (the real 1.0.x server always fails it: it cannot reopen a data dir
it created) the answer is a 500, yet `/health` keeps saying "healthy": only the data shows
the node is dead. So the outcome here is decided by `check_data`, never by `/health`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from themis_desktop.core.server import errors
from themis_desktop.core.server.data_check import check_data

if TYPE_CHECKING:
    from themis_desktop.core.server.client import ThemisClient

_DEAD = (
    "The node serves no data until its service is restarted, and a restart on this data dir "
    "may fail the same way (1.0.x cannot reopen a data dir it created). Restore the files "
    "from the app's verified backup with the service stopped (Backups → Restore, or "
    "`themis-desktop restore`), then start it."
)


@dataclass(frozen=True)
class ServerRestore:
    """How it ended: `ok`, and what happened in words an admin reads."""

    ok: bool
    message: str


def restore_through_server(
    client: ThemisClient, node_name: str, checkpoint: str, *, write_check: bool = False
) -> ServerRestore:
    """Ask the node to restore `checkpoint` (a directory on its host), then check its data."""
    try:
        client.admin_restore(checkpoint)
    except errors.ThemisError as exc:
        after = check_data(client, node_name, write=write_check)
        health = _health_word(client)
        return ServerRestore(
            False,
            f"{node_name}: POST /admin/restore failed ({exc.what}). Afterwards /health says "
            f"{health}, but {after.detail}. {_DEAD if not after.ok else ''}".strip(),
        )
    after = check_data(client, node_name, write=write_check)
    if not after.ok:
        return ServerRestore(
            False,
            f"{node_name}: the server said the restore from {checkpoint} worked, but "
            f"{after.detail}. {_DEAD}",
        )
    return ServerRestore(True, f"{node_name}: restored from {checkpoint}; {after.detail}.")


def _health_word(client: ThemisClient) -> str:
    try:
        return f"“{client.health().status}”"
    except errors.ThemisError as exc:
        return f"nothing useful ({exc.what})"
