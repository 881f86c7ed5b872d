"""The catalogue of backups in the journal, and the retention policy."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from themis_desktop.core.backup.create import BackupResult
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import (
    Journal,
    JournalError,
    current_user,
    utc_now,
)
from themis_desktop.core.util import temp_names
from themis_desktop.core.util.temp_names import Leftover


@dataclass(frozen=True)
class BackupRecord:
    id: int
    node: str
    version: str
    path: str
    size: int
    sha256: str
    created_at: str
    verified_at: str | None = None
    profile: str | None = None
    session_id: int | None = None
    consistent: bool = True
    checkpoint: bool = False

    @property
    def verified(self) -> bool:
        return self.verified_at is not None

    @property
    def exists(self) -> bool:
        return Path(self.path).is_file()


def record(
    journal: Journal,
    result: BackupResult,
    *,
    profile: str | None = None,
    session_id: int | None = None,
    verified: bool = False,
) -> BackupRecord:
    """Add a finished backup to the catalogue (and an event)."""
    manifest = result.manifest
    row = {
        "node": manifest.node,
        "version": manifest.themis_version,
        "path": str(result.archive),
        "size": result.size,
        "sha256": result.sha256,
        "created_at": manifest.created_at,
        "verified_at": utc_now() if verified else None,
        "profile": profile,
        "session_id": session_id,
        "consistent": int(manifest.consistent),
        "checkpoint": int(manifest.checkpoint),
    }
    with journal.transaction():
        backup_id = journal.insert_row("backups", row)
        journal.insert_event(
            session_id,
            "backup.created",
            current_user(),
            manifest.node,
            f"Backup of {manifest.node} ({manifest.themis_version}): {result.archive.name}",
            {"backup_id": backup_id, "size": result.size, "sha256": result.sha256},
        )
    return get(journal, backup_id)


def get(journal: Journal, backup_id: int) -> BackupRecord:
    """The record of `backup_id` (sqlite_utils' NotFoundError when there is none)."""
    row = journal.row_by_id("backups", backup_id)
    if row is None:
        from sqlite_utils.db import NotFoundError

        raise NotFoundError(f"no backup {backup_id} in the catalogue")
    return _record(row)


def find(journal: Journal, backup_id: int) -> BackupRecord | None:
    """The record of `backup_id`, or None when the catalogue has none (deleted)."""
    row = journal.row_by_id("backups", backup_id)
    return _record(row) if row is not None else None


def find_by_path(archive: Path) -> BackupRecord | None:
    """The catalogue's record of `archive`, or None: not catalogued, or no journal to read
    (verify and restore work without one; they just have one witness fewer)."""
    try:
        with Journal() as journal:
            rows = journal.select("SELECT * FROM backups WHERE path = ?", [str(archive.absolute())])
            for row in rows:
                return _record(row)
    except (JournalError, sqlite3.Error, OSError):
        return None
    return None


def leftovers(journal: Journal, extra_folders: tuple[Path, ...] = ()) -> list[Leftover]:
    """Temporaries of interrupted backups and restores (live or dead) in the folders of
    the catalogued backups and in `extra_folders` (e.g. beside the profiles' data dirs)."""
    folders = {Path(r.path).parent for r in backups(journal)} | set(extra_folders)
    return [found for folder in sorted(folders) for found in temp_names.leftovers(folder)]


def backups(journal: Journal, node: str | None = None) -> list[BackupRecord]:
    """Newest first."""
    where, params = ("node = ?", [node]) if node else (None, [])
    rows = journal.db["backups"].rows_where(where, params, order_by="created_at desc, id desc")
    return [_record(row) for row in rows]


def mark_verified(journal: Journal, backup_id: int, sha256: str = "") -> BackupRecord:
    """A full verify passed; `sha256` is the archive's checksum that it computed."""
    changes = {"verified_at": utc_now()} | ({"sha256": sha256} if sha256 else {})
    with journal.transaction():
        journal.db.table("backups").update(backup_id, changes)
        journal.insert_event(
            None,
            "backup.verified",
            current_user(),
            None,
            f"Backup {backup_id} verified",
            {"backup_id": backup_id},
        )
    return get(journal, backup_id)


def forget(journal: Journal, backup_id: int) -> None:
    """Remove a backup from the catalogue (`operations.delete_backup` deletes its files)."""
    gone = get(journal, backup_id)
    with journal.transaction():
        journal.db.table("backups").delete(backup_id)
        journal.insert_event(
            gone.session_id,
            "backup.deleted",
            current_user(),
            gone.node,
            f"Backup {backup_id} of {gone.node} ({gone.version}) deleted: {Path(gone.path).name}",
            {"backup_id": backup_id, "profile": gone.profile},
        )


def open_session_of(journal: Journal, profile: str | None) -> int | None:
    """The profile's newest upgrade session that has not ended (its backups are kept)."""
    saved = profile_store.get(journal, profile) if profile else None
    if saved is None:
        return None
    return next(iter(journal.open_sessions(profile_id=saved.id)), None)


def retention_victims(journal: Journal, keep_last: int = 5) -> list[BackupRecord]:
    """Backups the policy would delete: beyond the newest `keep_last` of each node of each
    profile (two clusters may both have a "node-1"), never a node's newest verified backup
    nor one an open upgrade session refers to."""
    open_sessions = set(journal.open_sessions())
    groups: dict[tuple[str | None, str], list[BackupRecord]] = {}
    for record_ in backups(journal):  # newest first
        groups.setdefault((record_.profile, record_.node), []).append(record_)
    victims = []
    for records in groups.values():
        newest_verified = next((r.id for r in records if r.verified), None)
        victims += [
            r
            for r in records[keep_last:]
            if r.id != newest_verified and r.session_id not in open_sessions
        ]
    return victims


def _record(row: dict) -> BackupRecord:
    return BackupRecord(
        **{**row, "consistent": bool(row["consistent"]), "checkpoint": bool(row["checkpoint"])}
    )
