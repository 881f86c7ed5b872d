"""Verify a backup archive, and restore it without ever destroying data first.

Restore unpacks into a staging folder beside the target, checks every file against the
manifest, and only then swaps: the current data moves to `<dir>.pre-restore-<UTC>` (kept
until the user discards it) and the staged data takes its place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import shutil
import sys
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import zstandard

from themis_desktop.core.backup import BackupCancelled, Progress, file_sha256, write_sidecar
from themis_desktop.core.backup_format import (
    MANIFEST_NAME,
    BackupError,
    Manifest,
    UnsafeArchive,
    check_member,
)

READ_CHUNK = 64 * 1024
PUMP_CHUNK = 256 * 1024  # fewer, larger hand-overs: less GIL traffic between threads


@dataclass
class VerifyReport:
    archive: Path
    manifest: Manifest | None = None
    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    bytes_checked: int = 0
    archive_sha256: str = ""  # of the whole file, computed while it was read

    @property
    def ok(self) -> bool:
        return not self.problems and self.manifest is not None


def read_sidecar(archive: Path) -> dict:
    sidecar = archive.with_name(archive.name + ".manifest.json")
    try:
        return json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def quick_verify(archive: Path, expected_sha256: str | None = None) -> VerifyReport:
    """Only the archive's own checksum (from the catalogue or the sidecar manifest)."""
    report = VerifyReport(archive)
    sidecar = read_sidecar(archive)
    expected = expected_sha256 or sidecar.get("archive_sha256")
    if not expected:
        report.problems.append("no recorded checksum for this archive: run a full verify")
        return report
    try:
        actual = file_sha256(archive)
    except OSError as exc:
        report.problems.append(f"cannot read the archive: {exc.strerror}")
        return report
    if actual != expected:
        report.problems.append("the archive's checksum differs from the one recorded")
    if sidecar:
        report.manifest = Manifest.from_json(json.dumps(sidecar))
    return report


class _HashingFile:
    """The compressed file, hashed as it is read."""

    def __init__(self, path: Path) -> None:
        self.file = open(path, "rb", buffering=0)  # noqa: SIM115 (closed by its owner)
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.digest.update(data)
        return data


class _ArchiveStream:
    """The decompressed archive as a file for `tarfile`, decompressed ahead in a thread.

    zstd and SHA-256 release the GIL: while the caller hashes and writes one piece, the
    thread reads (and hashes) the compressed file and decompresses the next ones. The
    compressed bytes are hashed in order, so `finish()` gives the archive's SHA-256."""

    def __init__(self, path: Path) -> None:
        self.raw = _HashingFile(path)
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=64)
        self._stop = threading.Event()
        self._chunk, self._offset, self._eof = b"", 0, False
        self._thread = threading.Thread(target=self._pump, name="archive-reader", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        """Decompress frame by frame, so a last frame cut short is noticed (zstd's stream
        reader would just end early)."""
        decompressor = zstandard.ZstdDecompressor()
        frame, fed = decompressor.decompressobj(), False
        try:
            while not self._stop.is_set():
                data = self.raw.read(READ_CHUNK)
                if not data:
                    if fed and not frame.eof:
                        raise BackupError("the archive is truncated: its last frame is cut short")
                    self._put(b"")
                    return
                while data:
                    out = frame.decompress(data)
                    fed = True
                    if out:
                        self._put(out)
                    if frame.eof:  # next frame: start afresh with what is left
                        data, frame, fed = frame.unused_data, decompressor.decompressobj(), False
                    else:
                        data = b""
        except BaseException as exc:  # handed to the reading side
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read(self, size: int = -1) -> bytes:
        """Decompressed bytes for tarfile (`size` at most; fewer only at the end)."""
        parts, wanted = [], size if size >= 0 else 1 << 62
        while wanted > 0 and not self._eof:
            if self._offset >= len(self._chunk):
                item = self._queue.get()
                if isinstance(item, BaseException):
                    raise item
                if not item:
                    self._eof = True
                    break
                self._chunk, self._offset = item, 0
            piece = self._chunk[self._offset : self._offset + wanted]
            self._offset += len(piece)
            wanted -= len(piece)
            parts.append(piece)
        return b"".join(parts)

    def finish(self) -> str:
        """Read to the very end (a damaged or cut last frame raises here), return the
        archive's SHA-256."""
        while self.read(PUMP_CHUNK):
            pass
        self._thread.join()
        return self.raw.digest.hexdigest()

    def _halt(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()

    def close(self) -> None:
        self._halt()
        self.raw.file.close()

    def __enter__(self) -> _ArchiveStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _members(archive: Path) -> tuple[_ArchiveStream, tarfile.TarFile]:
    """Open the archive as a streaming tar reader (zstd frames read across)."""
    stream = _ArchiveStream(archive)
    try:
        return stream, tarfile.open(fileobj=stream, mode="r|", bufsize=READ_CHUNK)
    except BaseException:
        stream.close()
        raise


def verify(
    archive: Path, progress: Progress | None = None, cancelled: threading.Event | None = None
) -> VerifyReport:
    """Read and decompress everything; compare each file with the manifest.

    Reports truncation, damaged data, and missing, extra or changed files by name."""
    report = VerifyReport(archive)
    walk(archive, report, None, progress, cancelled)
    return report


def remember_checksum(report: VerifyReport) -> None:
    """After a good full verify, record the archive's SHA-256 beside it for quick verifies."""
    if report.ok and report.archive_sha256 and report.manifest is not None:
        write_sidecar(report.archive, report.manifest, report.archive_sha256)


def walk(
    archive: Path,
    report: VerifyReport,
    staging: Path | None,
    progress: Progress | None,
    cancelled: threading.Event | None,
) -> None:
    """Stream the archive once: check (and, with `staging`, write) every member."""
    with _quick_gil_handover():
        _walk(archive, report, staging, progress, cancelled)


_handover_lock = threading.Lock()
_handover_users = 0
_default_interval = sys.getswitchinterval()


@contextlib.contextmanager
def _quick_gil_handover() -> Iterator[None]:
    """Two busy threads (reader, writer): hand the GIL over every 0.5 ms, not 5 ms.
    Counted, so overlapping walks restore the interpreter's default only at the end."""
    global _handover_users
    with _handover_lock:
        _handover_users += 1
        sys.setswitchinterval(0.0005)
    try:
        yield
    finally:
        with _handover_lock:
            _handover_users -= 1
            if not _handover_users:
                sys.setswitchinterval(_default_interval)


def _walk(archive, report, staging, progress, cancelled) -> None:
    try:
        raw, tar = _members(archive)
    except (OSError, tarfile.TarError, zstandard.ZstdError) as exc:
        report.problems.append(f"cannot read the archive: {exc}")
        return
    seen: set[str] = set()
    links_staged = False
    try:
        with raw, tar:
            first = tar.next()
            if first is None or first.name != MANIFEST_NAME:
                report.problems.append("the archive does not start with its manifest")
                return
            manifest = Manifest.from_json(tar.extractfile(first).read())
            report.manifest = manifest
            expected = {f.path: f for f in manifest.files}
            total = manifest.total_bytes
            while (member := tar.next()) is not None:
                if cancelled is not None and cancelled.is_set():
                    raise BackupCancelled("cancelled")
                check_member(member)
                entry = expected.get(member.name)
                if entry is None:
                    report.problems.append(f"extra file not in the manifest: {member.name}")
                    continue
                seen.add(member.name)
                kind = "file" if member.isfile() else "dir" if member.isdir() else "symlink"
                if kind != entry.type or (kind == "symlink" and member.linkname != entry.link):
                    report.problems.append(
                        f"{member.name}: not what the manifest lists "
                        f"({kind} instead of {entry.type})"
                    )
                    continue
                # only a symlink staged earlier can lead a path out: until one is, the
                # textual checks of check_member suffice (realpath costs a syscall a part)
                if staging is not None and links_staged:
                    _inside(staging, staging / member.name)
                if member.isfile():
                    _check_file(tar, member, entry, report, staging, total, progress, links_staged)
                elif staging is not None:
                    _stage_other(member, staging)
                    links_staged = links_staged or member.issym()
            report.archive_sha256 = raw.finish()
    except BackupCancelled:
        raise
    except UnsafeArchive as exc:  # checked before the member is written anywhere
        report.problems.append(f"refused: {exc}")
    except (tarfile.TarError, zstandard.ZstdError, EOFError, BackupError) as exc:
        report.problems.append(f"the archive is truncated or damaged: {exc}")
    except OSError as exc:
        report.problems.append(f"reading failed: {exc}")
    if report.manifest is not None:
        missing = [f.path for f in report.manifest.files if f.path not in seen]
        report.problems += [f"missing file: {path}" for path in missing[:50]]
        if len(missing) > 50:
            report.problems.append(f"… and {len(missing) - 50} more missing files")


def _check_file(tar, member, entry, report, staging, total, progress, links_staged) -> None:
    source = tar.extractfile(member)
    digest = hashlib.sha256()
    size = 0
    target = None
    if staging is not None:
        path = staging / member.name
        path.parent.mkdir(parents=True, exist_ok=True)
        if links_staged:
            _inside(staging, path)  # again: the folders now exist and links are resolved
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        target = os.fdopen(os.open(path, flags, 0o600), "wb")
    try:
        while chunk := source.read(READ_CHUNK):  # small reads: no fresh mmap per chunk
            digest.update(chunk)
            if target:
                target.write(chunk)
            size += len(chunk)
            report.bytes_checked += len(chunk)
            if progress:
                progress(report.bytes_checked, total)
    finally:
        if target:
            target.close()
            os.chmod(path, entry.mode)
            os.utime(path, (entry.mtime, entry.mtime))
    report.files_checked += 1
    if size != entry.size:
        report.problems.append(f"{member.name}: {size} bytes instead of {entry.size}")
    elif digest.hexdigest() != entry.sha256:
        report.problems.append(f"{member.name}: content changed (SHA-256 differs)")


def _inside(staging: Path, path: Path) -> None:
    """Refuse a path whose existing part resolves outside staging (through a symlink that
    an earlier member created): nothing is ever written there."""
    root = os.path.realpath(staging)
    real = os.path.realpath(path.parent)
    if real != root and not real.startswith(root + os.sep):
        raise UnsafeArchive(
            f"{path.relative_to(staging)} would be written outside the restore "
            "folder (through a symbolic link)"
        )


def _stage_other(member: tarfile.TarInfo, staging: Path) -> None:
    path = staging / member.name
    if member.isdir():
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, member.mode | 0o700)
    elif member.issym():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(member.linkname, path)


@dataclass(frozen=True)
class RestoreResult:
    data_dir: Path
    kept: Path | None  # where the data that was replaced now is
    configs: dict[str, Path]  # restored config file -> its previous version's new name


def restore(
    archive: Path,
    data_dir: Path,
    config_dir: Path | None = None,
    progress: Progress | None = None,
    cancelled: threading.Event | None = None,
    node_url: str | None = None,
) -> RestoreResult:
    """Unpack, verify, then swap. Any failure before the swap leaves the target untouched;
    a failure while swapping the config files puts the data back as it was.

    With `node_url`, a node that may still run is refused: stop it first."""
    if node_url:
        refuse_if_running(node_url)
    data_dir = Path(data_dir).resolve()
    if config_dir is not None and Path(config_dir).exists() and not Path(config_dir).is_dir():
        raise BackupError(f"{config_dir} is not a folder: give the folder of the config files.")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")  # unique even twice a second
    staging = data_dir.parent / f".{data_dir.name}.restore-{stamp}"
    staging.mkdir(parents=True)
    try:
        report = VerifyReport(archive)
        walk(archive, report, staging, progress, cancelled)
        if not report.ok:
            raise BackupError(
                "The archive failed verification; nothing was changed: "
                + "; ".join(report.problems[:5])
            )
        staged_data = staging / "data"
        if not staged_data.is_dir():
            raise BackupError("The archive holds no data folder; nothing was changed.")
        if node_url:
            refuse_if_running(node_url)  # again: it may have been started meanwhile
        kept = data_dir.with_name(f"{data_dir.name}.pre-restore-{stamp}")
        if data_dir.exists():
            os.replace(data_dir, kept)
        os.replace(staged_data, data_dir)
        try:
            configs = _swap_configs(staging / "config", config_dir, stamp)
        except OSError as exc:
            os.replace(data_dir, staging / "data")  # undo: the previous data goes back
            if kept.exists():
                os.replace(kept, data_dir)
            raise BackupError(
                f"The config files could not be restored ({exc}); the data was put back as "
                "it was. Nothing was changed."
            ) from None
        return RestoreResult(data_dir, kept if kept.exists() else None, configs)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def refuse_if_running(url: str) -> None:
    """Raise unless the node is certainly stopped: only a refused connection or an unknown
    host says so. Any answer (even 401 or 503), a timeout or a TLS error means it may run."""
    from themis_desktop.core.errors import ConnectionRefused, HostNotFound, ThemisError
    from themis_desktop.core.server import ThemisClient

    with ThemisClient(url, timeout=2.0) as client:
        try:
            client.health()
        except (ConnectionRefused, HostNotFound):
            return
        except ThemisError as exc:
            raise BackupError(
                f"The node at {url} may still be running ({exc.what}). Stop its service "
                "first (systemctl stop themisdb), then restore."
            ) from None
    raise BackupError(
        f"The node at {url} is running. Stop its service first (systemctl stop themisdb), "
        "or restore through the server itself (POST /admin/restore)."
    )


def _swap_configs(staged: Path, config_dir: Path | None, stamp: str) -> dict[str, Path]:
    swapped: dict[str, Path] = {}
    if config_dir is None or not staged.is_dir():
        return swapped
    config_dir.mkdir(parents=True, exist_ok=True)
    for new in sorted(staged.iterdir()):
        target = config_dir / new.name
        if target.exists():
            previous = target.with_name(f"{target.name}.pre-restore-{stamp}")
            os.replace(target, previous)
            swapped[str(target)] = previous
        os.replace(new, target)
    return swapped
