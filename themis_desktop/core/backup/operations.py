"""The backup operations that the Backups page, the command line, the hop runner and the
rollout runner share, one implementation each: back up a node, verify it and record it in
the catalogue; delete a backup (archive, sidecar, catalogue row); restore a node, checked
against its manifest and journaled.

The same operation leaves the same rows whoever asks: a backup is recorded with its
profile, node, version, verified time and session (the one named, else the profile's open
session, which keeps it from retention); a restore is journaled as `backup.restored`.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from themis_desktop.core.backup import catalog as backup_catalog
from themis_desktop.core.backup import write_readings as write_readings_hook
from themis_desktop.core.backup.archive_format import BackupError, sidecar_path
from themis_desktop.core.backup.catalog import BackupRecord
from themis_desktop.core.backup.create import BackupResult, Progress
from themis_desktop.core.backup.restore import (
    RestoreResult,
    compare_tree,
    remember_checksum,
    restore,
    verify,
)
from themis_desktop.core.backup.version_guard import refuse_newer
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.journal.store import Journal, JournalError
from themis_desktop.core.util.changes import ChangeLog, Topic

if TYPE_CHECKING:  # a restore needs neither the HTTP client nor the node backup: not imported
    from themis_desktop.core.server.client import ThemisClient

JOURNAL_ERRORS = (JournalError, sqlite3.Error, OSError)


class NotCatalogued(BackupError):
    """The backup was written (maybe verified) but the catalogue could not record it."""


@dataclass(frozen=True)
class NodeJob:
    node: NodeEndpoint
    version: str
    accept_inconsistent: bool = False


@dataclass(frozen=True)
class NodeOutcome:
    """One node's backup: `record` is its catalogue row (None: not recorded, see `error`)."""

    node: NodeEndpoint
    result: BackupResult | None = None
    verified: bool = False
    error: Exception | None = None
    record: BackupRecord | None = None


# -- back up and record -----------------------------------------------------------------------


def back_up_and_record(
    node: NodeEndpoint,
    version: str,
    out_dir: Path,
    client: ThemisClient | None,
    *,
    profile: str | None,
    session_id: int | None = None,
    journal_path: Path | None = None,
    verify_it: bool = True,
    accept_inconsistent: bool = False,
    extra_configs: tuple[Path, ...] = (),
    progress: Progress | None = None,
    verify_progress: Progress | None = None,
    cancelled: threading.Event | None = None,
    changed: ChangeLog | None = None,
) -> NodeOutcome:
    """Back up `node` (`node.backup_node`), verify the archive and record it in the
    catalogue for `profile` and `session_id` (None: the profile's open session, if any).

    A backup that does not verify is recorded as unverified (the file exists; the catalogue
    shows it and retention may delete it) and its outcome carries the reason. A failure of
    the backup itself raises (`BackupError`, `ThemisError`); a journal that cannot record it
    gives an outcome with `NotCatalogued` and no record."""
    counter = write_readings_hook.counter_before_backup(client)  # writes at risk restart here
    from themis_desktop.core.backup.node import backup_node

    result = backup_node(
        node,
        out_dir,
        client,
        version,
        accept_inconsistent=accept_inconsistent,
        progress=progress,
        cancelled=cancelled,
        extra_configs=extra_configs,
    )
    verified, error = False, None
    if verify_it:
        report = verify(result.archive, progress=verify_progress, cancelled=cancelled)
        remember_checksum(report)
        result = replace(
            result, sha256=report.archive_sha256, warnings=(*result.warnings, *report.notes)
        )
        verified = report.ok
        if not report.ok:
            error = BackupError("the new backup does not verify: " + "; ".join(report.problems))
    try:
        with Journal(journal_path) as journal:
            if session_id is None:
                session_id = backup_catalog.open_session_of(journal, profile)
            record = backup_catalog.record(
                journal, result, profile=profile, session_id=session_id, verified=verified
            )
            if verified and profile:
                write_readings_hook.note_backup(journal, profile, node.name, record.id, counter)
    except JOURNAL_ERRORS as exc:
        done = " and verified" if verified else ""
        return NodeOutcome(
            node,
            result,
            verified,
            NotCatalogued(
                f"the backup was written{done}: {result.archive}, but it could not be added "
                f"to the backup catalogue ({exc}). Keep the file; once the journal is "
                "writable, verify it to list it again."
            ),
        )
    if changed is not None:
        changed.add(Topic.BACKUPS)
    return NodeOutcome(node, result, verified, error, record)


def back_up_and_record_all(
    profile: Profile,
    token: str | None,
    jobs: list[NodeJob],
    out_dir: Path,
    *,
    session_id: int | None = None,
    journal_path: Path | None = None,
    progress: Progress | None = None,
    cancelled: threading.Event | None = None,
    changed: ChangeLog | None = None,
) -> list[NodeOutcome]:
    """`back_up_and_record` for each node of `profile` in turn (into `out_dir/<node>`); one
    node's failure does not stop the others, each recorded as it lands.

    `progress` counts bytes over all nodes, each read twice (backup, then verify)."""
    from themis_desktop.core.backup.node import folder_size

    sizes = [folder_size(Path(job.node.data_dir or "")) for job in jobs]
    total = 2 * sum(sizes) or 1
    base = 0
    outcomes = []
    for job, size in zip(jobs, sizes, strict=True):
        if cancelled is not None and cancelled.is_set():
            break

        def step(done: int, _total: int, offset: int = base) -> None:
            if progress:
                progress(min(total, offset + done), total)

        def verify_step(done: int, _total: int, offset: int = base + size) -> None:
            step(done, _total, offset)

        try:
            with profile.client(job.node, token, timeout=5.0) as client:
                outcome = back_up_and_record(
                    job.node,
                    job.version,
                    out_dir / job.node.name,
                    client,
                    profile=profile.name,
                    session_id=session_id,
                    journal_path=journal_path,
                    accept_inconsistent=job.accept_inconsistent,
                    progress=step,
                    verify_progress=verify_step,
                    cancelled=cancelled,
                    changed=changed,
                )
        except Exception as exc:  # reported per node; the others go on
            outcome = NodeOutcome(job.node, error=exc)
        outcomes.append(outcome)
        base += 2 * size
    return outcomes


def owner_profile(
    profiles: list[Profile], data_dir: Path, url: str | None = None
) -> tuple[Profile, NodeEndpoint] | None:
    """The saved profile and node whose data dir is `data_dir` (or, without one, whose URL
    is `url`): a backup taken by path is recorded for its installation. None when no
    profile, or more than one, claims it."""
    wanted = data_dir.resolve()
    found = [
        (p, n)
        for p in profiles
        for n in p.nodes
        if n.data_dir and Path(n.data_dir).resolve() == wanted
    ]
    if not found and url:
        found = [(p, n) for p in profiles for n in p.nodes if n.url.rstrip("/") == url.rstrip("/")]
    return found[0] if len(found) == 1 else None


# -- delete -------------------------------------------------------------------------------


def delete_backup(journal: Journal, record: BackupRecord) -> None:
    """Delete a backup: its archive, its sidecar manifest and its catalogue row (a file
    already gone is fine). The Backups page's Delete and `backups prune` both do this."""
    archive = Path(record.path)
    for path in (archive, sidecar_path(archive)):
        path.unlink(missing_ok=True)
    backup_catalog.forget(journal, record.id)


# -- restore ------------------------------------------------------------------------------


def restore_and_check(
    archive: Path,
    data_dir: Path,
    config_dir: Path | None = None,
    *,
    node_url: str | None = None,
    node: str | None = None,
    other_node: bool = False,
    recorded: BackupRecord | None = None,
    session_id: int | None = None,
    journal_path: Path | None = None,
    progress: Progress | None = None,
    cancelled: threading.Event | None = None,
    changed: ChangeLog | None = None,
    binary_version: str | None = None,
) -> RestoreResult:
    """Restore `archive` into `data_dir` (`restore.restore`), check every restored file
    against the archive's manifest, and journal it (`backup.restored`, under `session_id`,
    else the open session of the backup's profile). Restored files that differ from the
    manifest raise `BackupError` (journaled too): do not start the node then.

    A journal that cannot be written does not undo a restore: the result says so in `notes`.
    With `binary_version` (the version that will run on the data), a backup written by a
    newer version is refused before anything is touched (`version_guard.refuse_newer`)."""
    if binary_version:
        refuse_newer(archive, binary_version, recorded)
    result = restore(
        archive,
        data_dir,
        config_dir,
        progress,
        cancelled,
        node_url,
        node=node,
        other_node=other_node,
        recorded=recorded,
    )
    problems = (
        compare_tree(result.manifest, result.data_dir, written=result.written)
        if result.manifest
        else []
    )
    name = result.manifest.node if result.manifest else (node or result.data_dir.name)
    version = result.manifest.themis_version if result.manifest else "?"
    kept = f" (the replaced data is kept in {result.kept})" if result.kept else ""
    message = (
        f"{name} restored from {archive.name} (ThemisDB {version}){kept}"
        if not problems
        else f"{name}'s restored data differs from its backup {archive.name}: "
        + "; ".join(problems[:3])
    )
    data = {
        "backup_id": recorded.id if recorded else None,
        "archive": str(archive),
        "data_dir": str(result.data_dir),
        "kept": str(result.kept) if result.kept else None,
        "profile": recorded.profile if recorded else None,
        "ok": not problems,
    }
    try:
        with Journal(journal_path) as journal:
            if session_id is None and recorded is not None:
                session_id = backup_catalog.open_session_of(journal, recorded.profile)
            journal.add_event(
                "backup.restored", message, session_id=session_id, node=name, data=data
            )
        if changed is not None:
            changed.add(Topic.EVENTS)
    except JOURNAL_ERRORS as exc:
        result = replace(
            result, notes=(*result.notes, f"the restore could not be journaled ({exc})")
        )
    if problems:
        raise BackupError(f"{message}. Do not start the node; restore again{kept}.")
    return result


def restore_node(
    node: NodeEndpoint,
    record: BackupRecord,
    *,
    session_id: int | None = None,
    journal_path: Path | None = None,
    progress: Progress | None = None,
    cancelled: threading.Event | None = None,
    changed: ChangeLog | None = None,
    binary_version: str | None = None,
    service: ServiceConfig | None = None,
) -> RestoreResult:
    """Restore a profile's `node` (stopped) from its catalogued backup `record`: its data
    dir, and its config folder when the profile names a config file (`restore_and_check`);
    `binary_version`: the version that will run on it (a newer backup is refused), else with
    the profile's `service`, the version its service would start as (where it can tell)."""
    if not node.data_dir:
        raise BackupError(f"{node.name} has no data dir in its profile: cannot restore.")
    if binary_version is None and service is not None:
        from themis_desktop.core.service.installed_version import installed_version

        binary_version = installed_version(service, node).version
    return restore_and_check(
        Path(record.path),
        Path(node.data_dir),
        Path(node.config_path).parent if node.config_path else None,
        node_url=node.url,
        node=node.name,
        recorded=record,
        session_id=session_id,
        journal_path=journal_path,
        progress=progress,
        cancelled=cancelled,
        changed=changed,
        binary_version=binary_version,
    )
