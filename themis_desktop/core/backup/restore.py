"""Verify a backup archive, and restore it without ever destroying data first.

Restore unpacks into a staging folder beside the target, checks every file against the
manifest, and only then swaps: the current data moves to `<dir>.pre-restore-<UTC>` (kept
until the user discards it) and the staged data takes its place.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import queue
import shutil
import stat
import sys
import tarfile
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import zstandard

from themis_desktop.core.backup import identity as backup_identity
from themis_desktop.core.backup import swap as restore_swap
from themis_desktop.core.backup.archive_format import (
    MANIFEST_LIMIT,
    MANIFEST_NAME,
    BackupError,
    FileEntry,
    Manifest,
    MemberPolicy,
    UnsafeArchive,
)
from themis_desktop.core.backup.create import BackupCancelled, Progress, file_sha256, write_sidecar
from themis_desktop.core.backup.identity import Recorded, read_sidecar
from themis_desktop.core.backup.zstd_frames import FrameError, FrameTracker
from themis_desktop.core.util import failpoints, temp_names

READ_CHUNK = 1 << 20  # the compressed file's reads
OVERLAP_HASH = 256 << 10  # a restored file this large is hashed beside its writes
PUMP_CHUNK = 1 << 20  # fewer, larger hand-overs: less GIL traffic between threads
QUEUE_DEPTH = 16  # at most 16 MiB decompressed ahead
MAX_WINDOW = 1 << 26  # zstd window a frame may ask for (ours use 2 MiB): bounds the decoder
HEADER_LIMIT = 1 << 20  # a long name or PAX header; ours are a few hundred bytes
FileIdentity = tuple[int, int, int, int, int]  # device, inode, size, mtime and ctime (ns)


@dataclass
class VerifyReport:
    archive: Path
    manifest: Manifest | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth saying, not a reason to refuse
    files_checked: int = 0
    bytes_checked: int = 0
    archive_sha256: str = ""  # of the whole file, computed while it was read
    # a restore's staged files as written and checked (`compare_tree` needs not read them
    # again while they are unchanged), and the folders it made for them
    written: dict[str, FileIdentity] = field(default_factory=dict, repr=False)
    folders: set[Path] = field(default_factory=set, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems and self.manifest is not None


def quick_verify(
    archive: Path, expected_sha256: str | None = None, recorded: Recorded | None = None
) -> VerifyReport:
    """Only the archive's own checksum (from the catalogue or the sidecar manifest), and
    that its name, sidecar and catalogue record agree on whose backup it is."""
    report = VerifyReport(archive)
    sidecar = read_sidecar(archive)
    expected = (
        expected_sha256 or (recorded.sha256 if recorded else "") or sidecar.get("archive_sha256")
    )
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
        try:
            report.manifest = Manifest.from_json(json.dumps(sidecar))
        except BackupError as exc:
            report.problems.append(f"its sidecar manifest is unusable: {exc}")
            return report
        report.problems += backup_identity.problems(
            archive, report.manifest, sidecar, recorded, actual
        )
    return report


class _HashingFile:
    """The compressed file, hashed and its zstd frames followed as it is read."""

    def __init__(self, path: Path) -> None:
        self.file = open(path, "rb", buffering=0)  # noqa: SIM115 (closed by its owner)
        self.digest = hashlib.sha256()
        self.frames = FrameTracker()

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.digest.update(data)
        try:
            self.frames.feed(data)
        except FrameError as exc:
            raise BackupError(f"the archive is not a zstd stream of ours: {exc}") from None
        return data


class _ArchiveStream:
    """The decompressed archive as a forward-only file for `tarfile`, decompressed ahead in
    a thread; a member's content is taken straight from the decompressed pieces (`views`).

    zstd and SHA-256 release the GIL: while the caller hashes and writes one piece, the
    thread reads (and hashes) the compressed file and decompresses the next ones. Every
    piece is at most PUMP_CHUNK bytes and at most QUEUE_DEPTH wait, so memory stays flat
    however well the archive compresses (a bomb of zeros included). The compressed bytes
    are hashed in order, so `finish()` gives the archive's SHA-256."""

    def __init__(self, path: Path) -> None:
        self.raw = _HashingFile(path)
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=QUEUE_DEPTH)
        self._stop = threading.Event()
        self._chunk = memoryview(b"")
        self._offset = 0  # in the current piece
        self._pos = 0  # decompressed bytes handed out (or skipped) so far
        self._eof = False
        self._thread = threading.Thread(target=self._pump, name="archive-reader", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        """Decompress in bounded pieces; a last frame cut short is noticed through the frame
        tracker (zstd's reader would just end early)."""
        decompressor = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW)
        try:
            reader = decompressor.stream_reader(
                # zstandard reads any object with read(size); its stubs ask for IO[bytes]
                self.raw,  # type: ignore[arg-type]
                read_size=READ_CHUNK,
                read_across_frames=True,
                closefd=False,
            )
            while not self._stop.is_set():
                out = reader.read(PUMP_CHUNK)
                if not out:
                    if not self.raw.frames.complete:
                        raise BackupError("the archive is truncated: its last frame is cut short")
                    self._put(b"")
                    return
                self._put(out)
        except BaseException as exc:  # handed to the reading side
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _piece(self, wanted: int) -> memoryview:
        """Up to `wanted` (> 0) of the next decompressed bytes, without copying them; empty
        only at the end of the archive."""
        if self._offset >= len(self._chunk):
            if self._eof:
                return memoryview(b"")
            item = self._queue.get()
            if isinstance(item, BaseException):
                raise item
            if not item:
                self._eof = True
                return memoryview(b"")
            self._chunk, self._offset = memoryview(item), 0
        piece = self._chunk[self._offset : self._offset + wanted]
        self._offset += len(piece)
        self._pos += len(piece)
        return piece

    def read(self, size: int = -1) -> bytes:
        """Decompressed bytes for tarfile (`size` at most; fewer only at the end)."""
        parts, wanted = [], size if size >= 0 else 1 << 62
        while wanted > 0 and (piece := self._piece(wanted)):
            wanted -= len(piece)
            parts.append(piece)
        return b"".join(parts)

    def views(self, size: int) -> Iterator[memoryview]:
        """The next `size` bytes as views of the decompressed pieces (no copy; each piece
        is immutable, so a view may go to another thread); EOFError if the archive ends
        first."""
        while size > 0:
            piece = self._piece(min(size, PUMP_CHUNK))
            if not piece:
                raise EOFError("unexpected end of data")
            size -= len(piece)
            yield piece

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        """Forward only (tarfile skips the rest of a member and its padding)."""
        if whence != os.SEEK_SET or pos < self._pos:
            raise tarfile.ReadError("the archive is read once, forward: it cannot seek back")
        for _ in self.views(pos - self._pos):
            pass
        return self._pos

    def finish(self) -> str:
        """Read to the very end (a damaged or cut last frame raises here), return the
        archive's SHA-256."""
        while self._piece(PUMP_CHUNK):
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


class _BoundedTarInfo(tarfile.TarInfo):
    """tarfile reads long-name and PAX headers whole, and GNU sparse maps entry by entry:
    a hostile archive could make either gigabytes. Ours have small headers and no sparse
    files, so larger headers and any sparse map are refused before they are read."""

    def _proc_member(self, tarfile_):
        extended = (
            tarfile.GNUTYPE_LONGNAME,
            tarfile.GNUTYPE_LONGLINK,
            tarfile.XHDTYPE,
            tarfile.XGLTYPE,
            tarfile.SOLARIS_XHDTYPE,
        )
        if self.type in extended and self.size > HEADER_LIMIT:
            raise tarfile.ReadError(
                f"an extended tar header of {self.size} bytes (ours are under 1 MiB)"
            )
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise tarfile.ReadError("a sparse file (our archives have none)")
        return super()._proc_member(tarfile_)

    def _refuse_sparse(self, *args):
        raise tarfile.ReadError("a sparse file (our archives have none)")

    _proc_gnusparse_00 = _proc_gnusparse_01 = _proc_gnusparse_10 = _refuse_sparse


def _members(archive: Path) -> tuple[_ArchiveStream, tarfile.TarFile]:
    """Open the archive as a streaming tar reader (zstd frames read across)."""
    stream = _ArchiveStream(archive)
    try:
        # "r:" on a forward-only file: tarfile reads the headers, `_check_file` takes each
        # member's content straight from the stream (`views`), and tarfile skips its padding;
        # read, tell and a forward seek suffice (typeshed's file protocol asks for more)
        tar = tarfile.open(  # noqa: SIM115 (closed by the caller)
            fileobj=stream,  # type: ignore[call-overload]
            mode="r:",
            tarinfo=_BoundedTarInfo,
        )
        return stream, tar
    except BaseException:
        stream.close()
        raise


def verify(
    archive: Path,
    progress: Progress | None = None,
    cancelled: threading.Event | None = None,
    recorded: Recorded | None = None,
) -> VerifyReport:
    """Read and decompress everything; compare each file with the manifest, and the
    manifest with the archive's name, sidecar and catalogue record (`recorded`).

    Reports truncation, damaged data, and missing, extra or changed files by name; refuses
    everything a restore would refuse."""
    report = VerifyReport(archive)
    walk(archive, report, None, progress, cancelled, recorded)
    return report


def remember_checksum(report: VerifyReport) -> None:
    """After a good full verify, record the archive's SHA-256 beside it for quick verifies.
    Only a sidecar that agrees (or none) is written; a folder that cannot be written is a
    note on the report, not a failure of the verify."""
    if not (report.ok and report.archive_sha256 and report.manifest is not None):
        return
    if read_sidecar(report.archive).get("archive_sha256") == report.archive_sha256:
        return
    try:
        write_sidecar(report.archive, report.manifest, report.archive_sha256)
    except OSError as exc:
        report.notes.append(
            f"the checksum could not be recorded beside the archive ({exc.strerror}): quick "
            "verify will need a full verify again"
        )


def walk(
    archive: Path,
    report: VerifyReport,
    staging: Path | None,
    progress: Progress | None,
    cancelled: threading.Event | None,
    recorded: Recorded | None = None,
) -> None:
    """Stream the archive once: check (and, with `staging`, write) every member."""
    with _quick_gil_handover():
        _walk(archive, report, staging, progress, cancelled)
    if report.manifest is not None:
        report.problems += backup_identity.problems(
            archive, report.manifest, read_sidecar(archive), recorded, report.archive_sha256
        )


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


class StagingWriteError(BackupError):
    """The restore could not write its staging copy (full disk, read-only): not the
    archive's fault."""


def _walk(
    archive: Path,
    report: VerifyReport,
    staging: Path | None,
    progress: Progress | None,
    cancelled: threading.Event | None,
) -> None:
    try:
        raw, tar = _members(archive)
    except (OSError, tarfile.TarError, zstandard.ZstdError, BackupError) as exc:
        report.problems.append(f"cannot read the archive: {exc}")
        return
    policy = MemberPolicy()
    seen: set[str] = set()
    current = ""  # the member being read, to name what a damaged byte hit
    try:
        # a restore hashes each piece in a helper thread while it writes the piece (both
        # release the GIL); a verify has nothing to overlap its hashing with
        hasher = ThreadPoolExecutor(1, thread_name_prefix="restore-hash") if staging else None
        writeback = restore_swap.Writeback() if staging else None
        with raw, tar, hasher or contextlib.nullcontext(), writeback or contextlib.nullcontext():
            first = tar.next()
            if first is None or first.name != MANIFEST_NAME or not first.isfile():
                report.problems.append("the archive does not start with its manifest")
                return
            if first.size > MANIFEST_LIMIT:
                raise BackupError(
                    f"its manifest claims {first.size >> 20} MiB (ours stay under "
                    f"{MANIFEST_LIMIT >> 20} MiB): this is not one of our archives"
                )
            reader = tar.extractfile(first)
            assert reader is not None  # a regular file (isfile above) always has a reader
            manifest = Manifest.from_json(reader.read())
            report.manifest = manifest
            expected = {f.path: f for f in manifest.files}
            total = manifest.total_bytes
            while (member := tar.next()) is not None:
                current = member.name
                if cancelled is not None and cancelled.is_set():
                    raise BackupCancelled("cancelled")
                policy.check(member)
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
                if staging is not None and policy.links:
                    _inside(staging, staging / member.name)
                if member.isfile():
                    _check_file(
                        raw,
                        member,
                        entry,
                        report,
                        staging,
                        total,
                        progress,
                        policy,
                        hasher,
                        writeback,
                    )
                elif staging is not None:
                    _stage_other(member, staging)
            current = ""
            policy.check_links()
            report.archive_sha256 = raw.finish()
    except (BackupCancelled, StagingWriteError):
        raise
    except UnsafeArchive as exc:  # checked before the member is written anywhere
        report.problems.append(f"refused: {exc}")
    except (tarfile.TarError, zstandard.ZstdError, EOFError, BackupError, ValueError) as exc:
        where = f" inside {current}" if current else ""
        report.problems.append(f"the archive is truncated or damaged{where}: {exc}")
    except OSError as exc:
        report.problems.append(f"reading the archive failed: {exc}")
    if report.manifest is not None:
        missing = [f.path for f in report.manifest.files if f.path not in seen]
        report.problems += [f"missing file: {path}" for path in missing[:50]]
        if len(missing) > 50:
            report.problems.append(f"… and {len(missing) - 50} more missing files")


def _check_file(
    stream: _ArchiveStream,
    member: tarfile.TarInfo,
    entry: FileEntry,
    report: VerifyReport,
    staging: Path | None,
    total: int,
    progress: Progress | None,
    policy: MemberPolicy,
    hasher: ThreadPoolExecutor | None = None,
    writeback: restore_swap.Writeback | None = None,
) -> None:
    """Hash a member's content as it streams past (and, with `staging`, write it there):
    one pass, each decompressed piece hashed and written without a copy."""
    if stream.tell() != member.offset_data:  # tarfile left us at the member's first byte
        raise tarfile.ReadError(f"{member.name}: its content is not where its header says")
    digest = hashlib.sha256()
    size = 0
    fd = -1
    if staging is not None:
        path = staging / member.name
        with _writing(staging):
            if path.parent not in report.folders:
                path.parent.mkdir(parents=True, exist_ok=True)
                report.folders.add(path.parent)
        if policy.links:
            _inside(staging, path)  # again: the folders now exist and links are resolved
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        with _writing(staging):
            fd = os.open(path, flags, 0o600)
    # all of a file's pieces hashed there, in order (one piece in flight), or all here
    overlap = hasher if fd >= 0 and member.size >= OVERLAP_HASH else None
    hashing: Future[None] | None = None
    try:
        for piece in stream.views(member.size):
            if overlap is not None:
                if hashing is not None:
                    hashing.result()
                hashing = overlap.submit(digest.update, piece)  # a view of immutable bytes
            else:
                digest.update(piece)
            if fd >= 0 and staging is not None:  # a file is only opened with a staging folder
                with _writing(staging):
                    _write_all(fd, piece)
            size += len(piece)
            report.bytes_checked += len(piece)
            if progress:
                progress(report.bytes_checked, total)
    finally:
        if hashing is not None:
            hashing.result()  # the digest holds every piece before it is compared
        if fd >= 0 and staging is not None:
            with _writing(staging):
                try:
                    os.fchmod(fd, entry.mode & SAFE_MODE)
                    os.utime(fd, (entry.mtime, entry.mtime))
                    report.written[member.name] = _identity(os.fstat(fd))
                    if writeback is not None:
                        writeback.start(fd)
                finally:
                    os.close(fd)
    report.files_checked += 1
    if size != entry.size:
        report.problems.append(f"{member.name}: {size} bytes instead of {entry.size}")
    elif digest.hexdigest() != entry.sha256:
        report.problems.append(f"{member.name}: content changed (SHA-256 differs)")


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _identity(info: os.stat_result) -> FileIdentity:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


SAFE_MODE = 0o1777  # no setuid or setgid bits are restored


@contextlib.contextmanager
def _writing(staging: Path) -> Iterator[None]:
    """Errors writing the staging copy are the disk's, not the archive's: say so."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise StagingWriteError(
                f"The disk holding {staging.parent} is full: the restore stopped before "
                "changing anything and its staging copy was removed. Free at least the "
                "backup's size there, then restore again."
            ) from None
        raise StagingWriteError(
            f"The restore could not write beside the data dir, in {staging.parent} "
            f"({exc.strerror}); nothing was changed. Check that folder, then restore again."
        ) from None


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
    with _writing(staging):
        if member.isdir():
            path.mkdir(parents=True, exist_ok=True)
            os.chmod(path, (member.mode | 0o700) & SAFE_MODE)
        elif member.issym():
            path.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(member.linkname, path)


@dataclass(frozen=True)
class RestoreResult:
    data_dir: Path
    kept: Path | None  # where the data that was replaced now is
    configs: dict[str, Path]  # restored config file -> its previous version's new name
    recovered: tuple[str, ...] = ()  # interrupted restores finished first, in words
    manifest: Manifest | None = None  # the restored archive's (for `compare_tree`)
    notes: tuple[str, ...] = ()  # done, but something beside it was not (e.g. the journal)
    # each restored file as written and checked, by manifest path (for `compare_tree`)
    written: dict[str, FileIdentity] = field(default_factory=dict, repr=False)


def restore(
    archive: Path,
    data_dir: Path,
    config_dir: Path | None = None,
    progress: Progress | None = None,
    cancelled: threading.Event | None = None,
    node_url: str | None = None,
    *,
    node: str | None = None,
    other_node: bool = False,
    recorded: Recorded | None = None,
) -> RestoreResult:
    """Unpack, verify, then swap. Any failure before the swap leaves the target untouched;
    a failure while swapping puts the data back as it was, and a crash while swapping is
    finished by the next restore of that folder (`restore_swap.recover`).

    The archive must be a backup of `node` (or, without `node`, of this data dir) unless
    `other_node`. With `node_url`, a node that may still run is refused: stop it first."""
    if node_url:
        refuse_if_running(node_url)
    data_dir = Path(data_dir).resolve()  # absolute: a relative path would move with the cwd
    if config_dir is not None and Path(config_dir).exists() and not Path(config_dir).is_dir():
        raise BackupError(f"{config_dir} is not a folder: give the folder of the config files.")
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        recovered = tuple(restore_swap.recover_all([data_dir.parent]))
        staging = temp_names.create_dir(data_dir.parent, "staging", data_dir.name)
    except OSError as exc:
        raise BackupError(
            f"The restore cannot write beside {data_dir} ({exc.strerror}); nothing was changed."
        ) from None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")  # unique even twice a second
    try:
        report = VerifyReport(archive)
        walk(archive, report, staging, progress, cancelled, recorded)
        if not report.ok:
            raise BackupError(
                "The archive failed verification; nothing was changed: "
                + "; ".join(report.problems[:5])
            )
        assert report.manifest is not None
        _refuse_other_node(report.manifest, data_dir, node, other_node)
        if not (staging / "data").is_dir():
            raise BackupError("The archive holds no data folder; nothing was changed.")
        failpoints.hit("restore.staged")
        if node_url:
            refuse_if_running(node_url)  # again: it may have been started meanwhile
        plan = restore_swap.SwapPlan(
            data_dir,
            data_dir.with_name(f"{data_dir.name}.pre-restore-{stamp}"),
            staging,
            _config_moves(staging / "config", config_dir, stamp),
        )
        configs = restore_swap.swap(plan)
        kept = plan.kept if plan.kept.exists() else None
        return RestoreResult(
            data_dir, kept, configs, recovered, report.manifest, written=report.written
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _refuse_other_node(
    manifest: Manifest, data_dir: Path, node: str | None, other_node: bool
) -> None:
    """Restoring node A's backup onto node B is refused unless asked for explicitly."""
    if other_node:
        return
    if node is not None:
        if manifest.node != node:
            raise BackupError(
                f"This archive is a backup of node {manifest.node!r}, not of {node!r}; nothing "
                "was changed. Choose a backup of this node, or confirm that you want another "
                "node's data here (--other-node on the command line)."
            )
        return
    source = manifest.sources.get("data")
    if source and Path(source).resolve() != data_dir:
        raise BackupError(
            f"This archive holds the data of node {manifest.node!r} from {source}, not from "
            f"{data_dir}; nothing was changed. Give --node {manifest.node} if this is that "
            "node's new place, or --other-node to put another node's data here."
        )


def refuse_if_running(url: str) -> None:
    """Raise unless the node is certainly stopped: only a refused connection or an unknown
    host says so. Any answer (even 401 or 503), a timeout or a TLS error means it may run."""
    from themis_desktop.core.server.client import ThemisClient
    from themis_desktop.core.server.errors import ConnectionRefused, HostNotFound, ThemisError

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


def _config_moves(
    staged: Path, config_dir: Path | None, stamp: str
) -> tuple[tuple[Path, Path, Path], ...]:
    """(target, previous name, staged file) for each config file the archive holds."""
    if config_dir is None or not staged.is_dir():
        return ()
    config_dir = Path(config_dir).resolve()
    return tuple(
        (config_dir / new.name, config_dir / f"{new.name}.pre-restore-{stamp}", new)
        for new in sorted(staged.iterdir())
    )


def compare_tree(
    manifest: Manifest,
    data_dir: Path,
    top: str = "data",
    written: dict[str, FileIdentity] | None = None,
) -> list[str]:
    """Differences between the files under `data_dir` and the manifest's `top/` entries:
    the check of a restored node's files against its backup.

    Every file is read and hashed, except one a restore has just written and checked
    against the manifest (`RestoreResult.written`) that is still that very file, unchanged
    since (same device, inode, size, modification and change time)."""
    prefix = top + "/"
    expected = {
        e.path[len(prefix) :]: e
        for e in manifest.files
        if e.path.startswith(prefix) and e.type == "file"
    }
    problems = []
    present: dict[str, os.stat_result] = {}
    for p in data_dir.rglob("*"):
        info = p.lstat()
        if stat.S_ISREG(info.st_mode):
            present[str(p.relative_to(data_dir))] = info
    known = written or {}

    def differs(rel: str, entry: FileEntry) -> bool:
        if known.get(prefix + rel) == _identity(present[rel]):
            return False  # hashed against the manifest as it was written, untouched since
        with (data_dir / rel).open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest() != entry.sha256

    # two at a time (SHA-256 releases the GIL)
    with ThreadPoolExecutor(2, thread_name_prefix="compare-tree") as pool:
        changed = {
            rel: pool.submit(differs, rel, entry)
            for rel, entry in expected.items()
            if rel in present
        }
        for rel in expected:
            if rel not in present:
                problems.append(f"missing {rel}")
            elif changed[rel].result():
                problems.append(f"changed {rel}")
    problems += [f"extra {rel}" for rel in sorted(present.keys() - expected.keys())]
    return problems
