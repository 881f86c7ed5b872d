"""Back up one node's data and configuration into a verified `.tar.zst` archive.

Streamed end to end: files are read in 1 MiB chunks, hashed and compressed (zstd, all
cores) as they go, so memory stays flat whatever the data size. The archive is written
under a temporary name, fsynced and renamed only when complete.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import zstandard

from themis_desktop import __version__
from themis_desktop.core.backup_format import (
    BackupError,
    FileEntry,
    Manifest,
    manifest_member,
    mode_type,
    padding,
    skippable_frame,
    tar_header,
)

CHUNK = 1 << 20
LEVEL = 3
Progress = Callable[[int, int], None]  # (bytes done, bytes total)


@dataclass(frozen=True)
class Source:
    """A folder or a single file to archive under `name` (e.g. "data", "config")."""

    name: str
    path: Path


@dataclass(frozen=True)
class BackupResult:
    archive: Path
    manifest: Manifest
    size: int
    sha256: str = ""  # of the archive file; set by the verify pass that follows a backup


def archive_name(node: str, version: str, when: datetime | None = None) -> str:
    stamp = (when or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in node)
    return f"themis-{safe}-{version}-{stamp}.tar.zst"


def collect(sources: list[Source]) -> list[tuple[FileEntry, Path]]:
    """Every entry to archive, with its path on disk; sockets, FIFOs and devices are left out."""
    found: list[tuple[FileEntry, Path] | None] = []
    config_names: set[str] = set()
    for source in sources:
        if not source.path.exists():
            raise BackupError(f"{source.path} does not exist: check the node's {source.name} path")
        root = source.path.resolve()  # a data dir or config given through a symlink: its target
        if root.is_file():
            name = f"{source.name}/{source.path.name}"
            if name in config_names:
                raise BackupError(
                    f"Two config files are named {source.path.name}: a restore could not tell "
                    "them apart. Back them up separately."
                )
            config_names.add(name)
            found.append(_entry(name, root))
            continue
        found.append(_entry(source.name, root))
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                path = Path(folder, name)
                relative = path.relative_to(root).as_posix()
                entry = _entry(f"{source.name}/{relative}", path)
                if entry:
                    found.append(entry)
    return [item for item in found if item]


def _entry(arcname: str, path: Path) -> tuple[FileEntry, Path] | None:
    info = path.lstat()
    kind = mode_type(info.st_mode)
    if kind is None:
        return None
    link = os.readlink(path) if kind == "symlink" else ""
    size = info.st_size if kind == "file" else 0
    return FileEntry(arcname, size, info.st_mode & 0o7777, info.st_mtime, "", kind, link), path


def write_archive(
    out_dir: Path,
    name: str,
    manifest: Manifest,
    entries: list[tuple[FileEntry, Path]],
    progress: Progress | None = None,
    cancelled: threading.Event | None = None,
) -> BackupResult:
    """Stream `entries` into `out_dir/name`; nothing is left behind on failure or cancel."""
    out_dir.mkdir(parents=True, exist_ok=True)
    total = sum(e.size for e, _ in entries)
    _check_free_space(out_dir, total)
    final = _free_name(out_dir / name)  # two backups in one second must not overwrite
    partial = out_dir / f".{final.name}.partial"
    reserve = 64 * 1024 + 400 * len(entries)  # room for the compressed manifest
    try:
        with open(partial, "wb") as out:
            out.write(skippable_frame(reserve - 8))
            files = _stream(out, entries, total, progress, cancelled)
            manifest.files = files
            head = zstandard.ZstdCompressor(level=LEVEL, write_checksum=True).compress(
                manifest_member(manifest)
            )
            if len(head) + 8 > reserve:
                raise BackupError("the manifest does not fit its reserved space")  # not reached
            out.seek(0)
            out.write(head + skippable_frame(reserve - len(head) - 8))  # exactly `reserve`
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, final)
        _fsync_dir(out_dir)
        write_sidecar(final, manifest)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise BackupError(
                f"The disk holding {out_dir} is full: the partial archive was removed. Free "
                "space there or choose another backup folder."
            ) from None
        raise BackupError(f"The backup could not be written to {out_dir}: {exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(final, manifest, final.stat().st_size)


def _stream(out, entries, total, progress, cancelled) -> list[FileEntry]:
    """Write tar members through a multi-threaded zstd compressor; hash files on the way."""
    compressor = zstandard.ZstdCompressor(level=LEVEL, threads=-1, write_checksum=True)
    writer = compressor.stream_writer(out, closefd=False, write_size=CHUNK)
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    done, files = 0, []
    for entry, path in entries:
        if cancelled is not None and cancelled.is_set():
            raise BackupCancelled("the backup was cancelled; nothing was kept")
        if entry.type != "file":
            writer.write(tar_header(entry))
            files.append(entry)
            continue
        digest = hashlib.sha256()
        size = 0
        with open(path, "rb", buffering=0) as source:
            header = tar_header(entry)
            writer.write(header)
            while size < entry.size:
                read = source.readinto(view[: min(CHUNK, entry.size - size)])
                if not read:
                    raise BackupError(f"{path} shrank while it was being backed up")
                digest.update(view[:read])
                writer.write(view[:read])
                size += read
                done += read
                if progress:
                    progress(done, total)
                if cancelled is not None and cancelled.is_set():
                    raise BackupCancelled("the backup was cancelled; nothing was kept")
        writer.write(padding(size))
        files.append(FileEntry(entry.path, size, entry.mode, entry.mtime, digest.hexdigest()))
    writer.write(b"\0" * 1024)  # tar end-of-archive
    writer.flush(zstandard.FLUSH_FRAME)
    writer.close()
    return files


class BackupCancelled(BackupError):
    """The user cancelled; the partial archive is gone."""


def _free_name(path: Path) -> Path:
    stem = path.name.removesuffix(".tar.zst")
    candidate, n = path, 2
    while candidate.exists():
        candidate, n = path.with_name(f"{stem}-{n}.tar.zst"), n + 1
    return candidate


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_free_space(folder: Path, total: int) -> None:
    free = shutil.disk_usage(folder).free
    needed = int(total * 0.6) + (16 << 20)  # zstd -3 keeps ThemisDB data well under 60 %
    if free < needed:
        raise BackupError(
            f"Not enough free space in {folder}: about {needed >> 20} MiB needed, "
            f"{free >> 20} MiB free. Free space or choose another backup folder."
        )


def write_sidecar(archive: Path, manifest: Manifest, archive_sha256: str = "") -> None:
    """`<archive>.manifest.json`: the manifest, and the archive's SHA-256 once verified
    (the verify pass reads every byte anyway; a backup does not read its archive twice)."""
    extra = {"archive": archive.name}
    if archive_sha256:
        extra["archive_sha256"] = archive_sha256
    _write_atomically(archive.with_name(archive.name + ".manifest.json"), manifest.to_json(**extra))


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.partial")
    with open(temp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def iter_sources(data_dir: Path, configs: list[Path], extra: dict[str, Path]) -> Iterator[Source]:
    yield Source("data", data_dir)
    for config in configs:
        yield Source("config", config)
    for name, path in extra.items():
        if path.exists():
            yield Source(name, path)


def new_manifest(node: str, version: str, sources: list[Source], **flags: bool) -> Manifest:
    return Manifest(
        node=node,
        themis_version=version,
        created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        tool_version=__version__,
        sources={
            s.name if s.name != "config" else f"config/{s.path.name}": str(s.path) for s in sources
        },
        **flags,
    )


def backup_files(
    out_dir: Path,
    node: str,
    version: str,
    data_dir: Path,
    configs: list[Path] = (),  # type: ignore[assignment]
    extra: dict[str, Path] | None = None,
    progress: Progress | None = None,
    cancelled: threading.Event | None = None,
    recorded_data_dir: Path | None = None,
    **flags: bool,
) -> BackupResult:
    """Archive a data dir (or a checkpoint of it), config files and extra folders.

    `recorded_data_dir` is the node's data dir to name in the manifest when `data_dir` is
    a temporary checkpoint of it."""
    sources = list(iter_sources(Path(data_dir), [Path(c) for c in configs], extra or {}))
    entries = collect(sources)
    manifest = new_manifest(node, version, sources, **flags)
    if recorded_data_dir is not None:
        manifest.sources["data"] = str(recorded_data_dir)
    return write_archive(
        Path(out_dir), archive_name(node, version), manifest, entries, progress, cancelled
    )
