"""The backup archive format: a zstd-compressed tar whose first member is the manifest.

Layout of `themis-<node>-<version>-<UTC>.tar.zst`:
  frame 1      the tar member `MANIFEST.json` (zstd frame), then a skippable frame (padding)
  frames 2..   the tar members of every file, then the tar end-of-archive blocks
The manifest holds each file's SHA-256, computed while the data was streamed; it is written
last into space reserved at the start, so the archive is read front to back in one pass.
"""

from __future__ import annotations

import json
import stat
import struct
import tarfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

FORMAT_VERSION = 1
MANIFEST_NAME = "MANIFEST.json"
SKIPPABLE_MAGIC = 0x184D2A50
BLOCK = tarfile.BLOCKSIZE


class BackupError(Exception):
    """A backup, verify or restore could not be done; the message says why and what to do."""


class UnsafeArchive(BackupError):
    """The archive holds an entry that would write outside its tree (or a device)."""


@dataclass(frozen=True)
class FileEntry:
    path: str  # archive path, e.g. "data/000012.sst" or "config/config.yaml"
    size: int
    mode: int
    mtime: float
    sha256: str
    type: str = "file"  # "file", "dir" or "symlink"
    link: str = ""


@dataclass
class Manifest:
    node: str
    themis_version: str
    created_at: str
    tool_version: str
    sources: dict[str, str]  # archive top folder -> source path on the host
    files: list[FileEntry] = field(default_factory=list)
    consistent: bool = True  # False: copied from a running server without a checkpoint
    checkpoint: bool = False  # the data came from the server's own checkpoint
    format: int = FORMAT_VERSION

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def to_json(self, **extra: str) -> str:
        """The manifest as JSON; `extra` adds keys (the sidecar names its archive's hash)."""
        data = {key: value for key, value in vars(self).items() if key != "files"}
        data["files"] = [vars(entry) for entry in self.files]  # no deep copy of thousands
        data["totals"] = {"files": len(self.files), "bytes": self.total_bytes}
        # compact: the C encoder (an indent would switch to the pure-Python one)
        return json.dumps({**data, **extra}, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        try:
            data: dict[str, Any] = json.loads(text)
            if data.get("format") != FORMAT_VERSION:
                raise BackupError(f"unknown backup format {data.get('format')!r}")
            files = [FileEntry(**entry) for entry in data.pop("files")]
            for key in ("totals", "archive", "archive_sha256"):
                data.pop(key, None)
            return cls(**data, files=files)
        except (ValueError, TypeError, KeyError) as exc:
            raise BackupError(f"the manifest is damaged: {exc}") from None


def tar_header(entry: FileEntry) -> bytes:
    """The PAX tar header block(s) for an entry."""
    info = tarfile.TarInfo(entry.path)
    info.size = entry.size if entry.type == "file" else 0
    info.mode = entry.mode & 0o7777
    info.mtime = int(entry.mtime)  # whole seconds in the header; the manifest keeps the rest
    info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE}[
        entry.type
    ]
    info.linkname = entry.link
    # GNU headers: no PAX record per file (long names still get their extension header)
    return info.tobuf(format=tarfile.GNU_FORMAT)


def padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


def manifest_member(manifest: Manifest) -> bytes:
    body = manifest.to_json().encode()
    info = tarfile.TarInfo(MANIFEST_NAME)
    info.size, info.mode, info.mtime = len(body), 0o644, 0
    return info.tobuf(format=tarfile.PAX_FORMAT) + body + padding(len(body))


def skippable_frame(size: int) -> bytes:
    """A zstd frame that decoders skip: `size` bytes of padding after an 8-byte header."""
    return struct.pack("<II", SKIPPABLE_MAGIC, size) + b"\0" * size


def check_member(member: tarfile.TarInfo) -> None:
    """Refuse what could write outside the restore tree: absolute paths, `..`, links that
    leave it, hard links, devices and FIFOs."""
    path = PurePosixPath(member.name)
    if path.is_absolute() or member.name.startswith(("/", "\\")) or ":" in path.parts[0]:
        raise UnsafeArchive(f"{member.name!r} is an absolute path")
    if ".." in path.parts:
        raise UnsafeArchive(f"{member.name!r} climbs out of the archive with '..'")
    if member.ischr() or member.isblk() or member.isfifo() or member.isdev():
        raise UnsafeArchive(f"{member.name!r} is a device or FIFO")
    if member.islnk():
        raise UnsafeArchive(f"{member.name!r} is a hard link")
    if member.issym():
        target = PurePosixPath(member.linkname)
        resolved = _normalize(path.parent / target)
        if target.is_absolute() or resolved is None:
            raise UnsafeArchive(f"{member.name!r} links outside the archive ({member.linkname})")
    if not (member.isfile() or member.isdir() or member.issym()):
        raise UnsafeArchive(f"{member.name!r} has an unsupported type")


def _normalize(path: PurePosixPath) -> PurePosixPath | None:
    """`a/b/../c` → `a/c`; None when it climbs above the root."""
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def mode_type(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    return None
