"""Back up a whole node consistently: a server checkpoint when it runs, the files when not."""

from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from themis_desktop.core.backup import swap as restore_swap
from themis_desktop.core.backup.archive_format import BackupError
from themis_desktop.core.backup.create import BackupResult, Progress, backup_files
from themis_desktop.core.connection.profiles import NodeEndpoint
from themis_desktop.core.server import errors
from themis_desktop.core.util import failpoints, temp_names

if TYPE_CHECKING:
    from themis_desktop.core.server.client import ThemisClient


class InconsistentBackupRefused(BackupError):
    """The node runs and no checkpoint can be taken: copying its files live may be torn."""


def vector_index_dir(config_path: Path | None) -> Path | None:
    """`vector_index.save_path` of the node's config (the checkpoint leaves it out)."""
    if not config_path or not config_path.is_file():
        return None
    from themis_desktop.core.util import bounded_parse  # size, depth and alias limits

    try:
        text = bounded_parse.read_text(config_path, what="config file")
        config = bounded_parse.load_yaml(text, config_path) or {}
        path = (config.get("vector_index") or {}).get("save_path")
    except (bounded_parse.InputError, yaml.YAMLError, AttributeError, OSError):
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
    extra_configs: tuple[Path, ...] = (),
) -> BackupResult:
    """Archive a node's data, config (plus `extra_configs`) and vector index.

    Running node with an admin token: the server writes a RocksDB checkpoint beside its
    data dir (`POST /admin/backup`), which is archived and then removed. Stopped node: its
    data dir is archived directly. Running without a possible checkpoint: refused unless
    `accept_inconsistent`, which the manifest records."""
    if not node.data_dir:
        raise BackupError(
            f"{node.name} has no data dir in its profile: set it to back up its files."
        )
    data_dir = Path(node.data_dir).absolute()
    configs = [
        c.absolute()
        for c in ([Path(node.config_path)] if node.config_path else []) + list(extra_configs)
    ]
    extra = {}
    vectors = vector_index_dir(configs[0] if configs else None)
    if vectors and vectors.exists():
        extra["vector_index"] = vectors

    def archive(source: Path, consistent: bool, checkpoint: bool) -> BackupResult:
        # a vector index inside the data dir is in the copy of its files (not in a checkpoint)
        beside = {
            name: path
            for name, path in extra.items()
            if checkpoint or not path.resolve().is_relative_to(source.resolve())
        }
        return backup_files(
            out_dir,
            node.name,
            version,
            source,
            configs,
            beside,
            progress,
            cancelled,
            recorded_data_dir=data_dir,
            consistent=consistent,
            checkpoint=checkpoint,
        )

    if not _answers(client):
        return archive(data_dir, consistent=True, checkpoint=False)
    # the server writes the checkpoint: give it an absolute path (a relative one would land
    # in its own working folder), unique to this process, and clear what dead ones left
    recovered = restore_swap.recover_all([data_dir.parent])
    checkpoint = data_dir.parent / temp_names.temp_name("checkpoint", data_dir.name)
    try:
        try:
            client.admin_backup(str(checkpoint))  # type: ignore[union-attr]
        except errors.ThemisError as exc:
            if not accept_inconsistent:
                raise InconsistentBackupRefused(
                    f"{node.name} is running and refused a checkpoint ({exc.what}). Add its "
                    "admin token to the profile, stop the node, or accept a possibly "
                    "inconsistent copy."
                ) from None
            result = archive(data_dir, consistent=False, checkpoint=False)
        else:
            failpoints.hit("backup.checkpoint-taken")
            result = archive(checkpoint, consistent=True, checkpoint=True)
    finally:
        shutil.rmtree(checkpoint, ignore_errors=True)  # also a checkpoint that failed half-way
    return replace(result, warnings=(*recovered, *result.warnings)) if recovered else result


def _answers(client: ThemisClient | None) -> bool:
    """False only when the node is certainly stopped (connection refused, unknown host): a
    node answering 401 or 503, or timing out, may be writing its files right now."""
    if client is None:
        return False
    try:
        client.health()
    except (errors.ConnectionRefused, errors.HostNotFound):
        return False
    except errors.ThemisError:
        return True
    return True


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0
