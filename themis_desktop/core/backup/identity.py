"""Is this archive the backup it claims to be? Its manifest against its file name, its
sidecar and its catalogue record.

An archive copied over another's name (keeping the other's sidecar) has a sound checksum
and sound contents, so only these comparisons tell that it would restore node A's data
onto node B. Verify reports every disagreement, and a sidecar that disagrees is evidence:
it is never overwritten.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from themis_desktop.core.backup.archive_format import Manifest, sidecar_path
from themis_desktop.core.backup.create import NAME_STAMP, safe_name

SIDECAR_LIMIT = 64 << 20
_OUR_NAME = re.compile(r"^themis-.+-(\d{8}T\d{6}Z)(?:-\d+)?\.tar\.zst$")
STAMP_SLACK = 2.0  # seconds: archives of earlier versions stamped their name separately


class Recorded(Protocol):
    """What the catalogue knows of a backup (a BackupRecord, frozen: read-only here)."""

    @property
    def node(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def created_at(self) -> str: ...
    @property
    def sha256(self) -> str: ...


def read_sidecar(archive: Path) -> dict[str, Any]:
    """The sidecar manifest as a dict; {} when missing, unreadable or not ours."""
    path = sidecar_path(archive)
    try:
        if path.stat().st_size > SIDECAR_LIMIT:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def problems(
    archive: Path,
    manifest: Manifest,
    sidecar: dict[str, Any],
    recorded: Recorded | None = None,
    archive_sha256: str = "",
) -> list[str]:
    """Every way the archive's name, sidecar or catalogue record contradicts its manifest."""
    found = _name_problems(archive.name, manifest)
    if sidecar:
        found += _claims("its sidecar", sidecar, manifest)
        if sidecar.get("files") is not None and _fingerprint(sidecar.get("files")) != [
            (f.path, f.sha256) for f in manifest.files
        ]:
            found.append("its sidecar lists other files than the archive's manifest")
        recorded_sum = sidecar.get("archive_sha256")
        if archive_sha256 and recorded_sum and recorded_sum != archive_sha256:
            found.append(
                "its checksum differs from the one its sidecar recorded when it was verified: "
                "the file was replaced or changed since"
            )
    if recorded is not None:
        claims = {
            "node": recorded.node,
            "themis_version": recorded.version,
            "created_at": recorded.created_at,
        }
        found += _claims("the backup catalogue", claims, manifest)
        if archive_sha256 and recorded.sha256 and recorded.sha256 != archive_sha256:
            found.append(
                "its checksum differs from the one in the backup catalogue: the file was "
                "replaced or changed since it was verified"
            )
    return [f"{problem} — {_who(manifest)}" for problem in found]


def _who(manifest: Manifest) -> str:
    return (
        f"the archive holds node {manifest.node!r} at {manifest.themis_version}, "
        f"taken {manifest.created_at}"
    )


def _name_problems(name: str, manifest: Manifest) -> list[str]:
    match = _OUR_NAME.match(name)
    if not match:
        return []  # a name the user chose claims nothing
    prefix = f"themis-{safe_name(manifest.node)}-{safe_name(manifest.themis_version)}-"
    if not name.startswith(prefix):
        return [f"its file name {name} names another node or version"]
    try:
        named = datetime.strptime(match.group(1), NAME_STAMP).replace(tzinfo=UTC)
        created = datetime.strptime(manifest.created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return [f"its time {manifest.created_at!r} is not a time"]
    if abs((named - created).total_seconds()) > STAMP_SLACK:
        return [f"its file name {name} names another time"]
    return []


def _claims(source: str, claims: dict[str, Any], manifest: Manifest) -> list[str]:
    labels = {"node": "node", "themis_version": "version", "created_at": "time"}
    return [
        f"{source} says {label} {str(claims.get(key))[:80]!r}"
        for key, label in labels.items()
        if key in claims and claims.get(key) != getattr(manifest, key)
    ]


def _fingerprint(files: Any) -> list[tuple[Any, Any] | None]:
    if not isinstance(files, list):
        return []
    return [(f.get("path"), f.get("sha256")) if isinstance(f, dict) else None for f in files]
