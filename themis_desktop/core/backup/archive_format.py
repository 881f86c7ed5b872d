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
from pathlib import Path, PurePosixPath
from typing import Any

from themis_desktop.core.errors import ThemisDesktopError

FORMAT_VERSION = 1
MANIFEST_NAME = "MANIFEST.json"
SKIPPABLE_MAGIC = 0x184D2A50
BLOCK = tarfile.BLOCKSIZE


SIDECAR_SUFFIX = ".manifest.json"  # the manifest beside its archive: `<archive>.manifest.json`


def sidecar_path(archive: Path) -> Path:
    """The sidecar manifest of `archive` (the one place its name is spelled)."""
    return archive.with_name(archive.name + SIDECAR_SUFFIX)


class BackupError(ThemisDesktopError):
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
        """Parse and check a manifest; anything malformed is a BackupError, never a crash."""
        if len(text) > MANIFEST_LIMIT:
            raise BackupError(
                f"the manifest is {len(text) >> 20} MiB, more than the {MANIFEST_LIMIT >> 20} MiB "
                "a backup of ours ever has: this is not one of our archives"
            )
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise BackupError(f"the manifest is damaged: {exc}") from None
        if not isinstance(data, dict):
            raise BackupError("the manifest is damaged: it is not a JSON object")
        if data.get("format") != FORMAT_VERSION:
            raise BackupError(f"unknown backup format {str(data.get('format'))[:40]!r}")
        try:
            files = [_file_entry(entry) for entry in _field(data, "files", list)]
            fields = {
                "node": _field(data, "node", str),
                "themis_version": _field(data, "themis_version", str),
                "created_at": _field(data, "created_at", str),
                "tool_version": _field(data, "tool_version", str),
                "sources": _field(data, "sources", dict),
                "consistent": bool(data.get("consistent", True)),
                "checkpoint": bool(data.get("checkpoint", False)),
            }
        except (TypeError, ValueError) as exc:
            raise BackupError(f"the manifest is damaged: {exc}") from None
        return cls(**fields, files=files)


MANIFEST_LIMIT = 32 << 20  # ~150 000 files; a RocksDB data dir has thousands
MAX_MTIME = 1 << 40  # seconds: far beyond any real clock, within every platform's range


def _field(data: dict, key: str, kind: type) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise TypeError(f"{key!r} is not a {kind.__name__}")
    return value


def _file_entry(entry: Any) -> FileEntry:
    """One manifest entry, checked field by field: types, ranges and the hash's shape."""
    if not isinstance(entry, dict):
        raise TypeError("a file entry is not an object")
    path, kind = entry.get("path"), entry.get("type", "file")
    size, mode, mtime = entry.get("size"), entry.get("mode"), entry.get("mtime")
    sha, link = entry.get("sha256", ""), entry.get("link", "")
    if not isinstance(path, str) or kind not in ("file", "dir", "symlink"):
        raise TypeError(f"entry {str(path)[:80]!r} has no valid path or type")
    if type(size) is not int or not 0 <= size < 1 << 50:
        raise ValueError(f"{path}: size {str(size)[:40]} is not a byte count")
    if type(mode) is not int or not 0 <= mode <= 0o7777:
        raise ValueError(f"{path}: mode {str(mode)[:40]} is not a permission mode")
    if (type(mtime) is not int and type(mtime) is not float) or not 0 <= mtime < MAX_MTIME:
        raise ValueError(f"{path}: mtime {str(mtime)[:40]} is not a time")
    if not isinstance(sha, str) or not isinstance(link, str):
        raise TypeError(f"{path}: sha256 and link must be text")
    if kind == "file" and (len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha)):
        raise ValueError(f"{path}: {sha[:70]!r} is not a SHA-256")
    return FileEntry(path, size, mode, float(mtime), sha, kind, link)


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


ROOTS = ("data", "config", "vector_index")  # the top folders of our archives


class MemberPolicy:
    """What restore may write, checked member by member before anything is written.

    Refused: absolute paths, `..`, names that are not in their plain form (`./x`, `a//b`,
    `.`), the same name twice, anything but files, folders and symbolic links, top folders
    other than ours or not real folders, members below a symbolic link, modes or times out
    of range, and symbolic links that leave their own top folder. Links are resolved
    together at the end (`check_links`), so a chain of them cannot lead out either.
    Verify applies the same policy, so it refuses everything restore would."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.links: dict[str, str] = {}

    def check(self, member: tarfile.TarInfo) -> None:
        name = member.name
        path = PurePosixPath(name)
        if path.is_absolute() or name.startswith(("/", "\\")) or ":" in name.split("/")[0]:
            raise UnsafeArchive(f"{name!r} is an absolute path")
        if ".." in path.parts:
            raise UnsafeArchive(f"{name!r} climbs out of the archive with '..'")
        if not path.parts or path.as_posix() != name.rstrip("/") or "\0" in name:
            raise UnsafeArchive(f"{name!r} is not a plain relative name")
        if member.ischr() or member.isblk() or member.isfifo() or member.isdev():
            raise UnsafeArchive(f"{name!r} is a device or FIFO")
        if member.islnk():
            raise UnsafeArchive(f"{name!r} is a hard link")
        if not (member.isfile() or member.isdir() or member.issym()):
            raise UnsafeArchive(f"{name!r} has an unsupported type")
        key = path.as_posix()
        if key in self.seen:
            raise UnsafeArchive(f"{name!r} appears twice in the archive")
        if path.parts[0] not in ROOTS:
            raise UnsafeArchive(f"{name!r} is outside the archive's folders ({', '.join(ROOTS)})")
        if len(path.parts) == 1 and not member.isdir():
            raise UnsafeArchive(f"{name!r} must be a real folder, not a link or a file")
        for parent in path.parents:
            if parent.as_posix() in self.links:
                raise UnsafeArchive(f"{name!r} lies below the symbolic link {parent.as_posix()}")
        if not 0 <= member.mode <= 0o7777:
            raise UnsafeArchive(f"{name!r} has an impossible mode {member.mode:o}")
        if not 0 <= member.mtime < MAX_MTIME:
            raise UnsafeArchive(f"{name!r} has an impossible time {member.mtime}")
        if member.issym():
            target = PurePosixPath(member.linkname)
            resolved = _normalize(path.parent / target)
            if target.is_absolute() or resolved is None or resolved.parts[:1] != path.parts[:1]:
                raise UnsafeArchive(
                    f"{name!r} links outside its folder {path.parts[0]}/ ({member.linkname})"
                )
            self.links[key] = member.linkname
        self.seen.add(key)

    def check_links(self) -> None:
        """Every link, followed through the others, must stay in its own top folder."""
        for name in self.links:
            root = name.split("/", 1)[0]
            resolved = _resolve(PurePosixPath(name), self.links)
            if resolved is None or resolved.parts[:1] != (root,):
                raise UnsafeArchive(
                    f"{name!r} leads outside its folder {root}/ through other links"
                )


def check_member(member: tarfile.TarInfo) -> None:
    """The checks of `MemberPolicy` that need no other member."""
    MemberPolicy().check(member)


def _resolve(path: PurePosixPath, links: dict[str, str], hops: int = 0) -> PurePosixPath | None:
    """Where `path` leads inside the archive, links followed; None when it leaves the archive
    or the links loop."""
    if hops > 40:
        return None
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
            continue
        if part in (".", ""):
            continue
        parts.append(part)
        current = "/".join(parts)
        if current in links:
            # joined, not normalised: `l/..` must go through whatever `l` leads to
            target = PurePosixPath(*parts[:-1], links[current])
            followed = _resolve(target, links, hops + 1)
            if followed is None:
                return None
            parts = list(followed.parts) if followed.parts != (".",) else []
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def _normalize(path: PurePosixPath) -> PurePosixPath | None:
    """`a/b/../c` → `a/c`; None when it climbs above the root."""
    return _resolve(path, {})


def mode_type(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    return None
