"""The backups a hop may rely on: per node, the newest verified backup of the hop's starting
version taken since the previous hop finished (the upgrade step and its pre-flight ask this
one function; `hop_runner` re-exports it)."""

from __future__ import annotations

from themis_desktop.core.backup import catalog as backup_catalog
from themis_desktop.core.backup.catalog import BackupRecord
from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade.session import Hop, UpgradeSession


def hop_backups(
    journal: Journal, session: UpgradeSession, hop: Hop, profile: Profile
) -> dict[str, BackupRecord | None]:
    """Per node, the newest verified backup the hop may rely on: of the hop's starting
    version, taken after the previous hop finished (or the session started), still there."""
    previous = session.previous(hop)
    since = (previous.finished_at if previous else None) or session.session.created_at
    found: dict[str, BackupRecord | None] = {}
    for node in profile.nodes:
        found[node.name] = next(
            (
                r
                for r in backup_catalog.backups(journal, node.name)
                if r.verified
                and r.profile == profile.name  # two clusters may both have a "node-1"
                and r.version == hop.from_version
                and r.created_at >= since
                and r.exists
            ),
            None,
        )
    return found
