"""A backup is tagged with the ThemisDB version that wrote its data (the manifest's
`themis_version`, the catalogue's `version`: the version the server answered with when it
was backed up). An older binary cannot be trusted to read data a newer one wrote (from 1.8
the WAL, stream writer and backups use ZSTD, which 1.7 cannot read), so restoring a backup
onto a binary older than its writer is refused before anything is touched.

`restore_and_check` (the one restore: Backups page, `restore`, the hop rollback, a
rollout's canary) asks `refuse_newer` when it is told the version that will run on the
restored data."""

from __future__ import annotations

import tarfile
from pathlib import Path

import zstandard
from packaging.version import InvalidVersion, Version

from themis_desktop.core.backup.archive_format import MANIFEST_NAME, BackupError, Manifest
from themis_desktop.core.backup.identity import Recorded, read_sidecar


class NewerBackupRefused(BackupError):
    """The backup was written by a newer version than the binary that would run on it."""


def written_by(archive: Path, recorded: Recorded | None = None) -> str | None:
    """The version that wrote `archive`'s data: the catalogue's record, else the sidecar
    manifest, else the archive's own manifest (its first member); None if none says."""
    if recorded is not None and recorded.version:
        return recorded.version
    sidecar = read_sidecar(archive).get("themis_version")
    if isinstance(sidecar, str) and sidecar:
        return sidecar
    manifest = _archive_manifest(archive)
    return manifest.themis_version if manifest else None


def refuse_newer(archive: Path, binary_version: str, recorded: Recorded | None = None) -> None:
    """Raise `NewerBackupRefused` when `archive` was written by a version newer than
    `binary_version` (compared as versions: 1.10 is newer than 1.9). A version that cannot
    be parsed is no reason to refuse: the verify that follows checks the archive itself."""
    writer = written_by(archive, recorded)
    if not writer:
        return
    try:
        newer = Version(writer.lstrip("v")) > Version(binary_version.lstrip("v"))
    except InvalidVersion:
        return
    if newer:
        raise NewerBackupRefused(
            f"{archive.name} was written by ThemisDB {writer}; the node would run "
            f"{binary_version} on it, which cannot be trusted to read a newer version's files "
            f"(from 1.8 the WAL, stream writer and backups are ZSTD, which 1.7 cannot read). "
            f"Nothing was changed. Restore a backup taken on {binary_version} or older, or "
            f"install {writer} (or newer) first."
        )


def _archive_manifest(archive: Path) -> Manifest | None:
    from themis_desktop.core.backup.restore import _members

    try:
        raw, tar = _members(archive)
        with raw, tar:
            first = tar.next()
            if first is None or first.name != MANIFEST_NAME or not first.isfile():
                return None
            reader = tar.extractfile(first)
            return Manifest.from_json(reader.read()) if reader else None
    except (OSError, tarfile.TarError, zstandard.ZstdError, BackupError, ValueError):
        return None
