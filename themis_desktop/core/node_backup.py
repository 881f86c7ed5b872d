"""Back up a whole node consistently: a server checkpoint when it runs, the files when not."""

from __future__ import annotations

import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

import yaml

from themis_desktop.core import errors
from themis_desktop.core.backup import BackupResult, Progress, backup_files
from themis_desktop.core.backup_format import BackupError
from themis_desktop.core.profiles import NodeEndpoint
from themis_desktop.core.server import ThemisClient


class InconsistentBackupRefused(BackupError):
    """The node runs and no checkpoint can be taken: copying its files live may be torn."""


def vector_index_dir(config_path: Path | None) -> Path | None:
    """`vector_index.save_path` of the node's config (the checkpoint leaves it out)."""
    if not config_path or not config_path.is_file():
        return None
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        path = (config.get("vector_index") or {}).get("save_path")
    except (yaml.YAMLError, AttributeError, OSError):
        return None
    if not path:
        return None
    path = Path(path)
    return path if path.is_absolute() else config_path.parent / path


def backup_node(
    node: NodeEndpoint,
    out_dir: Path,
    client: ThemisClient | None,
    version: str,
    *,
    accept_inconsistent: bool = False,
    progress: Progress | None = None,
    cancelled: threading.Event | None = None,
) -> BackupResult:
    """Archive a node's data, config and vector index.

    Running node with an admin token: the server writes a RocksDB checkpoint beside its
    data dir (`POST /admin/backup`), which is archived and then removed. Stopped node: its
    data dir is archived directly. Running without a possible checkpoint: refused unless
    `accept_inconsistent`, which the manifest records."""
    if not node.data_dir:
        raise BackupError(
            f"{node.name} has no data dir in its profile: set it to back up its files."
        )
    data_dir = Path(node.data_dir)
    configs = [Path(node.config_path)] if node.config_path else []
    extra = {}
    vectors = vector_index_dir(configs[0] if configs else None)
    if vectors and vectors.exists():
        extra["vector_index"] = vectors
    if not _answers(client):
        return backup_files(
            out_dir,
            node.name,
            version,
            data_dir,
            configs,
            extra,
            progress,
            cancelled,
            consistent=True,
            checkpoint=False,
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    checkpoint = data_dir.parent / f".themis-checkpoint-{stamp}"
    try:
        client.admin_backup(str(checkpoint))  # type: ignore[union-attr]
    except errors.ThemisError as exc:
        if not accept_inconsistent:
            raise InconsistentBackupRefused(
                f"{node.name} is running and refused a checkpoint ({exc.what}). Add its admin "
                "token to the profile, stop the node, or accept a possibly inconsistent copy."
            ) from None
        return backup_files(
            out_dir,
            node.name,
            version,
            data_dir,
            configs,
            extra,
            progress,
            cancelled,
            consistent=False,
            checkpoint=False,
        )
    try:
        return backup_files(
            out_dir,
            node.name,
            version,
            checkpoint,
            configs,
            extra,
            progress,
            cancelled,
            consistent=True,
            checkpoint=True,
        )
    finally:
        shutil.rmtree(checkpoint, ignore_errors=True)


def _answers(client: ThemisClient | None) -> bool:
    """True when the node's server is up (a stopped node's files can be copied as they are)."""
    if client is None:
        return False
    try:
        client.health()
    except errors.ThemisError:
        return False
    return True
