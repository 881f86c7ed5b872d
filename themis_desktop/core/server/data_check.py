"""Does a node really serve its data? A read (and, where allowed, a write read back).

`/health` answers "healthy" from the HTTP layer alone: the real 1.0.x server keeps saying
so after a failed `POST /admin/restore` closed its database (shared/themisdb-real/README.md).
Its `/stats` then reports `storage.error` ("Database not open"), a write fails with 500 and
a read of a stored key answers 404 "Entity not found". So readiness and validation ask the
storage itself: `/stats`, and with the profile's consent a test key written and read back.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from themis_desktop.core.server import errors

if TYPE_CHECKING:
    from themis_desktop.core.server.client import ThemisClient

PROBE_PREFIX = "themis-desktop:probe:"  # the one key family the app writes, when allowed


@dataclass(frozen=True)
class DataCheck:
    """The outcome: `ok`, and `detail`, a sentence an admin reads."""

    ok: bool
    detail: str


def probe_key(node_name: str) -> str:
    """The node's own test key (overwritten by each check, never a user's key)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in node_name)
    return PROBE_PREFIX + safe[:80]


def check_data(client: ThemisClient, node_name: str, *, write: bool) -> DataCheck:
    """Storage statistics, then (with `write`) a fresh value written and read back."""
    try:
        stats = client.stats()
    except errors.ThemisError as exc:
        return DataCheck(False, f"its storage statistics cannot be read: {exc.what}")
    if stats.storage_error:
        return DataCheck(
            False,
            f"its storage reports “{stats.storage_error}” although /health may say healthy: "
            "the database is not open",
        )
    if not write:
        return DataCheck(True, "storage open (statistics read; no test write: not allowed)")
    key, value = probe_key(node_name), secrets.token_hex(8)
    try:
        client.put_entity(key, value)
        read = client.get_entity(key)
    except errors.ThemisError as exc:
        return DataCheck(False, f"a test write of {key} failed: {exc.what}")
    if read != value:
        seen = "nothing" if read is None else "another value"
        return DataCheck(False, f"the test key {key} was written but reading it back gave {seen}")
    return DataCheck(True, f"test key {key} written and read back")
