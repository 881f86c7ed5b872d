"""Temporary names no other process can take, claimed atomically, and cleaned after a crash.

Every temporary file or folder the backup code makes beside user data is named
`.<kind>~<host>~<pid>~<random>~<final name>`: created with O_EXCL (or mkdir, which is
exclusive too), so two processes never share one. The host and process id in the name let
the next run remove what a process killed with -9 left behind, and nothing a live process
is still writing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

SEP = "~"
KINDS = ("partial", "staging", "checkpoint", "sidecar")


def _host() -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in socket.gethostname())[:40]


def temp_name(kind: str, final_name: str) -> str:
    """A fresh hidden name for `final_name`'s temporary of `kind`."""
    assert kind in KINDS, kind
    token = secrets.token_hex(4)
    return f".{kind}{SEP}{_host()}{SEP}{os.getpid()}{SEP}{token}{SEP}{final_name}"


def create_file(folder: Path, kind: str, final_name: str, mode: int = 0o644) -> tuple[Path, int]:
    """Create a new temporary file beside `final_name` exclusively; (its path, an fd)."""
    while True:
        path = folder / temp_name(kind, final_name)
        try:
            return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:  # 32 random bits collided: take another
            continue


def create_dir(folder: Path, kind: str, final_name: str) -> Path:
    """Create a new temporary folder beside `final_name` exclusively."""
    while True:
        path = folder / temp_name(kind, final_name)
        try:
            path.mkdir(mode=0o700)
            return path
        except FileExistsError:
            continue


def claim(temp: Path, final: Path) -> Path:
    """Give `temp` the name `final`, or `final` with `-2`, `-3`, … when taken, atomically:
    a hard link fails if the name exists, so two processes never overwrite each other.
    Returns the name it got; `temp` is gone afterwards."""
    stem, suffix = _split(final.name)
    candidate, n = final, 2
    while True:
        try:
            os.link(temp, candidate)
        except FileExistsError:
            candidate, n = final.with_name(f"{stem}-{n}{suffix}"), n + 1
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            # a file system without hard links: the best it offers is check, then rename
            while candidate.exists():
                candidate, n = final.with_name(f"{stem}-{n}{suffix}"), n + 1
            os.replace(temp, candidate)
            return candidate
        os.unlink(temp)
        return candidate


def _split(name: str) -> tuple[str, str]:
    for suffix in (".tar.zst", ".manifest.json"):
        if name.endswith(suffix):
            return name[: -len(suffix)], suffix
    stem, dot, ext = name.rpartition(".")
    return (stem, dot + ext) if stem else (name, "")


@dataclass(frozen=True)
class Leftover:
    """A temporary file or folder; `alive` while the process that made it still runs."""

    path: Path
    kind: str
    host: str
    pid: int
    final_name: str
    size: int
    alive: bool


def parse(path: Path) -> Leftover | None:
    """The temporary `path` as a Leftover, or None when the name is not one of ours."""
    name = path.name
    if not name.startswith("."):
        return None
    parts = name[1:].split(SEP, 4)
    if len(parts) != 5 or parts[0] not in KINDS or not parts[2].isdigit():
        return None
    kind, host, pid, _token, final = parts
    alive = host != _host() or pid_alive(int(pid))  # another host's: not ours to judge
    return Leftover(path, kind, host, int(pid), final, _size(path), alive)


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _size(path: Path) -> int:
    try:
        if path.is_symlink() or not path.is_dir():
            return path.lstat().st_size
        return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir() or p.is_symlink())
    except OSError:
        return 0


def leftovers(folder: Path) -> list[Leftover]:
    """Every temporary of ours in `folder`, live or dead."""
    try:
        names = sorted(folder.iterdir())
    except OSError:
        return []
    return [found for path in names if (found := parse(path)) is not None]


def remove_dead(folder: Path, keep: tuple[str, ...] = ()) -> list[Leftover]:
    """Remove the temporaries in `folder` whose process died on this host; kinds in `keep`
    are left for their own recovery. Returns what was removed."""
    removed = []
    for found in leftovers(folder):
        if found.alive or found.kind in keep:
            continue
        with contextlib.suppress(OSError):
            if found.path.is_dir() and not found.path.is_symlink():
                shutil.rmtree(found.path)
            else:
                found.path.unlink()
            removed.append(found)
    return removed
