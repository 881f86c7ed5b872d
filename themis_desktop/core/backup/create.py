"""Back up one node's data and configuration into a verified `.tar.zst` archive.

Streamed end to end: files are read in 1 MiB chunks, hashed and compressed (zstd, all
cores) as they go, so memory stays flat whatever the data size. The archive is written
under a temporary name, fsynced and renamed only when complete.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TypedDict, Unpack

import zstandard

from themis_desktop import __version__
from themis_desktop.core.backup.archive_format import (
    BackupError,
    FileEntry,
    Manifest,
    manifest_member,
    mode_type,
    padding,
    sidecar_path,
    skippable_frame,
    tar_header,
)
from themis_desktop.core.util import atomic_file, failpoints, temp_names

CHUNK = 1 << 20  # hashing a file for quick verify
READ_SIZE = 4 << 20  # a backup's reads: fewer system calls and hand-overs, still flat memory
INLINE_HASH = 256 << 10  # smaller pieces are hashed in the reading thread
NAME_STAMP = "%Y%m%dT%H%M%SZ"
# zstd level 2 of the bundled libzstd (1.5.7) makes archives as small as `zstd -3` of the
# zstd 1.5.4 command line on ThemisDB-like data (1.00x in bench/backup.py; its level 3
# makes them 1.5 % smaller) for 40 % less CPU: on two cores a backup is CPU-bound.
LEVEL = 2
Progress = Callable[[int, int], None]  # (bytes done, bytes total)


class ManifestFlags(TypedDict, total=False):
    """How the data was taken (`Manifest.consistent`, `Manifest.checkpoint`)."""

    consistent: bool
    checkpoint: bool


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
    warnings: tuple[str, ...] = ()  # done, but something beside it was not (e.g. the sidecar)


def archive_name(node: str, version: str, when: datetime | None = None) -> str:
    stamp = (when or datetime.now(UTC)).strftime(NAME_STAMP)
    return f"themis-{safe_name(node)}-{safe_name(version)}-{stamp}.tar.zst"


def safe_name(text: str) -> str:
    """`text` as it appears in a file name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


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
    """Stream `entries` into `out_dir/name` (or `name-2`, … when taken); nothing is left
    behind on failure or cancel. Temporaries a killed backup left there are removed first."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        temp_names.remove_dead(out_dir)
        total = sum(e.size for e, _ in entries)
        _check_free_space(out_dir, total)
        partial, fd = temp_names.create_file(out_dir, "partial", name)
    except OSError as exc:
        raise _write_error(exc, out_dir) from None
    reserve = 64 * 1024 + 400 * len(entries)  # room for the compressed manifest
    try:
        with open(fd, "wb") as out:
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
            failpoints.hit("backup.before-claim")
            os.fsync(out.fileno())
        final = temp_names.claim(partial, out_dir / name)  # never over another backup
        _fsync_dir(out_dir)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise _write_error(exc, out_dir) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    result = BackupResult(final, manifest, final.stat().st_size)
    try:
        write_sidecar(final, manifest)
    except OSError as exc:  # the archive is complete: a missing sidecar only slows quick verify
        result = replace(result, warnings=(_sidecar_warning(final, exc),))
    return result


def _write_error(exc: OSError, out_dir: Path) -> BackupError:
    if exc.errno == errno.ENOSPC:
        return BackupError(
            f"The disk holding {out_dir} is full: the partial archive was removed. Free "
            "space there or choose another backup folder."
        )
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return BackupError(
            f"{out_dir} cannot be written ({exc.strerror}): choose a writable backup folder."
        )
    return BackupError(f"The backup could not be written to {out_dir}: {exc}")


def _sidecar_warning(archive: Path, exc: OSError) -> str:
    return (
        f"The manifest copy beside {archive.name} could not be written ({exc.strerror}); the "
        "archive itself is complete. Quick verify needs it: run a full verify once the folder "
        "is writable."
    )


def _stream(
    out: BinaryIO,
    entries: list[tuple[FileEntry, Path]],
    total: int,
    progress: Progress | None,
    cancelled: threading.Event | None,
) -> list[FileEntry]:
    """Write tar members through a multi-threaded zstd compressor; hash files on the way.

    Each piece read is hashed in a helper thread while the compressor takes it (both release
    the GIL), into one of two buffers, so reading the next piece overlaps neither."""
    compressor = zstandard.ZstdCompressor(level=LEVEL, threads=-1, write_checksum=True)
    writer = compressor.stream_writer(out, closefd=False, write_size=READ_SIZE)
    with ThreadPoolExecutor(1, thread_name_prefix="backup-hash") as hasher:
        return _stream_files(writer, hasher, entries, total, progress, cancelled)


def _stream_files(
    writer: zstandard.ZstdCompressionWriter,
    hasher: ThreadPoolExecutor,
    entries: list[tuple[FileEntry, Path]],
    total: int,
    progress: Progress | None,
    cancelled: threading.Event | None,
) -> list[FileEntry]:
    views = [memoryview(bytearray(READ_SIZE)), memoryview(bytearray(READ_SIZE))]
    hashing: list[Future[None] | None] = [None, None]  # the hash still reading each buffer
    turn = 0
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
        with _source(path) as source:
            header = tar_header(entry)
            writer.write(header)
            while size < entry.size:
                view, pending = views[turn], hashing[turn]
                if pending is not None:
                    pending.result()  # that buffer's previous piece is hashed: reuse it
                    hashing[turn] = None
                try:
                    read = source.readinto(view[: min(READ_SIZE, entry.size - size)])
                except OSError as exc:
                    raise _unreadable(path, exc) from None
                if not read:
                    raise BackupError(f"{path} shrank while it was being backed up")
                # one worker: a file's pieces are hashed in order. All of them there, or (a
                # small file: a hand-over would cost more than the hash) all of them here
                if entry.size >= INLINE_HASH:
                    hashing[turn] = hasher.submit(digest.update, view[:read])
                else:
                    digest.update(view[:read])
                writer.write(view[:read])
                turn ^= 1
                size += read
                done += read
                if progress:
                    progress(done, total)
                if cancelled is not None and cancelled.is_set():
                    raise BackupCancelled("the backup was cancelled; nothing was kept")
        for pending in hashing:
            if pending is not None:
                pending.result()  # the file's last pieces are in its digest
        hashing = [None, None]
        writer.write(padding(size))
        files.append(FileEntry(entry.path, size, entry.mode, entry.mtime, digest.hexdigest()))
    writer.write(b"\0" * 1024)  # tar end-of-archive
    writer.flush(zstandard.FLUSH_FRAME)
    writer.close()
    return files


@contextlib.contextmanager
def _source(path: Path) -> Iterator[io.RawIOBase]:
    """A file being backed up; failing to read it is the source's problem, not the disk's
    the archive goes to."""
    try:
        source = open(path, "rb", buffering=0)  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise _unreadable(path, exc) from None
    with source:
        yield source


def _unreadable(path: Path, exc: OSError) -> BackupError:
    return BackupError(
        f"{path} could not be read ({exc.strerror}): it changed while it was being backed "
        "up, or it is not readable. Back up a stopped node or a checkpoint, then try again."
    )


class BackupCancelled(BackupError):
    """The user cancelled; the partial archive is gone."""


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
    # a temporary the next backup of that folder removes if this process dies
    with atomic_file.replacing(sidecar_path(archive), temp_kind="sidecar") as out:
        out.write(manifest.to_json(**extra))


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


def new_manifest(
    node: str, version: str, sources: list[Source], **flags: Unpack[ManifestFlags]
) -> Manifest:
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
    configs: Sequence[Path] = (),
    extra: dict[str, Path] | None = None,
    progress: Progress | None = None,
    cancelled: threading.Event | None = None,
    recorded_data_dir: Path | None = None,
    **flags: Unpack[ManifestFlags],
) -> BackupResult:
    """Archive a data dir (or a checkpoint of it), config files and extra folders.

    `recorded_data_dir` is the node's data dir to name in the manifest when `data_dir` is
    a temporary checkpoint of it."""
    sources = list(iter_sources(Path(data_dir), [Path(c) for c in configs], extra or {}))
    entries = collect(sources)
    manifest = new_manifest(node, version, sources, **flags)
    if recorded_data_dir is not None:
        manifest.sources["data"] = str(recorded_data_dir)
    created = datetime.strptime(manifest.created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return write_archive(
        Path(out_dir), archive_name(node, version, created), manifest, entries, progress, cancelled
    )
