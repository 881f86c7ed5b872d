"""Server-side restore points: a snapshot tag on each node before a hop (ThemisDB 1.5+).

A restore point names the server's sequence number at a moment; a point-in-time restore
can go back to it on the server. It sits beside the verified archive backup, never in
its place: a rollback restores the archive. Upstream: src/server/snapshot_api_handler.cpp
(tags), src/transaction/snapshot_manager.cpp (tag names), src/server/pitr_api_handler.cpp
(preview), include/server/pitr_grpc_service.h ("Part of ThemisDB v1.5.0 - Feature: PITR").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from themis_desktop.core.backup.archive_format import BackupError
from themis_desktop.core.journal.store import Journal, parse_utc
from themis_desktop.core.upgrade.session import Hop, UpgradeSession
from themis_desktop.core.versions.releases import VersionError, line_of, parse_version

if TYPE_CHECKING:
    from themis_desktop.core.server.client import ThemisClient

FIRST_LINE = (1, 5)  # the first release line that serves snapshot tags and PITR
EVENT = "hop.restore_point"  # the journal event of a pre-hop restore point
_TAG_LIMIT = 128  # snapshot_manager.cpp isValidTagName: 1..128 of [a-zA-Z0-9_.-]
_NOT_TAG_CHARS = re.compile(r"[^a-zA-Z0-9_.-]")


class RestorePointError(BackupError, ValueError):
    """A node's answer to a snapshot route is not what ThemisDB answers."""


@dataclass(frozen=True)
class RestorePoint:
    """One node's server-side restore point."""

    node: str
    tag: str
    sequence: int
    taken_at: str  # UTC, ISO 8601 (the server's timestamp of the tag)


def supported(version: str) -> bool:
    """True when `version` serves snapshot tags and point-in-time restore (1.5 and later)."""
    try:
        return line_of(parse_version(version)) >= FIRST_LINE
    except VersionError:
        return False


def tag_name(from_version: str, to_version: str, now: datetime | None = None) -> str:
    """`themis-desktop-pre-<from>-to-<to>-<UTC stamp>`, within the server's tag rule."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"themis-desktop-pre-{from_version}-to-{to_version}-{stamp}"
    return _NOT_TAG_CHARS.sub("_", name)[-_TAG_LIMIT:]


def create_restore_point(
    client: ThemisClient,
    node: str,
    from_version: str,
    to_version: str,
    now: datetime | None = None,
) -> RestorePoint:
    """Tag the node's current sequence before the hop `from_version` → `to_version`.
    Raises the client's ThemisError, or RestorePointError for an answer of another shape."""
    tag = tag_name(from_version, to_version, now)
    data = client.snapshot_tag(tag, f"Before the upgrade {from_version} → {to_version}")
    try:
        sequence = int(data["sequence_number"])
        taken = datetime.fromtimestamp(int(data["timestamp_ms"]) / 1000, UTC)
    except (TypeError, KeyError, ValueError, OverflowError, OSError):
        raise RestorePointError(f"{node}: the snapshot answer has no sequence or time") from None
    return RestorePoint(node, str(data.get("tag_name", tag)), sequence, _iso(taken))


def preview(client: ThemisClient, tag: str) -> int:
    """How many writes a point-in-time restore to `tag` would undo (the server's preview)."""
    data = client.restore_preview(tag)
    try:
        return int(data["events_to_replay"])
    except (TypeError, KeyError, ValueError):
        raise RestorePointError("the restore preview has no events_to_replay") from None


def record(journal: Journal, session: UpgradeSession, hop: Hop, point: RestorePoint) -> None:
    """The restore point as a session event of the hop (no schema of its own)."""
    session.log(
        journal,
        EVENT,
        f"Server restore point {point.tag} at sequence {point.sequence}",
        node=point.node,
        data={"hop": hop.id, "tag": point.tag, "sequence": point.sequence, "node": point.node},
    )


def hop_restore_points(journal: Journal, session: UpgradeSession, hop: Hop) -> list[RestorePoint]:
    """The restore points taken before `hop`, oldest first (as the journal recorded them)."""
    points = []
    for event in journal.events(session_id=session.id, types=[EVENT]):
        data = event.data or {}
        if data.get("hop") != hop.id or not isinstance(data.get("tag"), str):
            continue
        node = str(data.get("node") or event.node or "?")
        points.append(RestorePoint(node, data["tag"], int(data.get("sequence", 0)), event.ts))
    return points


def describe(point: RestorePoint, now: datetime | None = None) -> str:
    """One line for the rollback question."""
    from themis_desktop.core.util.formatting import human_duration

    age = human_duration(((now or datetime.now(UTC)) - parse_utc(point.taken_at)).total_seconds())
    return (
        f"{point.node}: server restore point {point.tag} (sequence {point.sequence}, taken "
        f"{age} ago) — a point-in-time restore on the server, beside the archive; the "
        "rollback itself restores the archive"
    )


def _iso(moment: datetime) -> str:
    """As the journal writes times (`journal.utc_now`)."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
