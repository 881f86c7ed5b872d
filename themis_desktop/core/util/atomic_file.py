"""Replace a file atomically: backup beside it, temp file, fsync, rename, fsync dir.

The one temp-then-rename writer of core: `replace_text` (a whole text), `replacing` (a text
written piece by piece, e.g. a CSV export) and `install` (a finished temporary, e.g. one
SQLite wrote) all end in `install`."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from themis_desktop.core.util import temp_names


def backup_name(path: Path, now: dt.datetime | None = None) -> Path:
    """`<name>.<YYYYmmddTHHMMSS>.bak` beside `path` (not checked for existence)."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%dT%H%M%S")
    return path.with_name(f"{path.name}.{stamp}.bak")


def replace_text(path: Path, text: str, *, keep_old: bool = True) -> Path | None:
    """Replace `path` with `text`: the old file copied to a new `.bak` beside it first, the
    text written to a temp file in the same folder, fsynced and renamed over `path` (its
    permission bits kept). Until the rename nothing is changed; on failure the temp file and
    a partial backup are removed and the OSError is raised. Returns the backup's path."""
    with _replacing(path, keep_old, None) as (handle, backup):
        handle.write(text)
    return backup


@contextlib.contextmanager
def replacing(path: Path, *, temp_kind: str | None = None) -> Iterator[TextIO]:
    """Write `path` anew through a text handle (UTF-8, newlines as written): into a temp
    file beside it, fsynced and renamed over `path` when the block ends without an error
    (its permission bits kept). On any error the temp file is removed and `path` is as it
    was. `temp_kind` names the temporary as `temp_names` does, so the next run removes it
    if this process dies (backup folders use that)."""
    with _replacing(Path(path), False, temp_kind) as (handle, _):
        yield handle


@contextlib.contextmanager
def _replacing(
    path: Path, keep_old: bool, temp_kind: str | None
) -> Iterator[tuple[TextIO, Path | None]]:
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else None
    backup: Path | None = None
    tmp: Path | None = None
    try:
        if keep_old and path.exists():
            backup = _copy_backup(path)
        if temp_kind is not None:
            tmp, fd = temp_names.create_file(path.parent, temp_kind, path.name, 0o666)
        else:
            fd, tmp = _create_temp(path)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle, backup
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        _rename(tmp, path)
        tmp = None
    except BaseException:
        for leftover in (tmp, backup):
            if leftover is not None:
                with contextlib.suppress(OSError):
                    leftover.unlink()
        raise


def install(temp: Path, path: Path) -> None:
    """Put the finished temporary `temp` (beside `path`) in place of `path`: fsync it,
    rename it over `path`, fsync the folder so the rename survives a crash."""
    with open(temp, "rb+") as handle:
        os.fsync(handle.fileno())
    _rename(temp, path)


def _rename(temp: Path, path: Path) -> None:
    os.replace(temp, path)
    _fsync_dir(path.parent)


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new temporary file beside `path`, made with the usual permissions (the umask
    applies, as for any new file; mkstemp would make it private)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        candidate = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(candidate, flags, 0o666), candidate
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, "no free temporary name", str(path.parent))


def _copy_backup(path: Path) -> Path:
    """Copy `path` to a new backup file (never overwriting one) and fsync it."""
    first = backup_name(path)
    for n in range(1000):
        candidate = first if n == 0 else first.with_name(f"{first.name[:-4]}-{n}.bak")
        try:
            handle = open(candidate, "xb")  # noqa: SIM115 - closed below, removed on failure
        except FileExistsError:
            continue
        try:
            with handle, open(path, "rb") as source:
                shutil.copyfileobj(source, handle)
                handle.flush()
                os.fsync(handle.fileno())
            shutil.copystat(path, candidate)
        except OSError:
            with contextlib.suppress(OSError):
                candidate.unlink()
            raise
        return candidate
    raise OSError(errno.EEXIST, "too many backups with the same time stamp", str(first))


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (not possible on Windows, where it is skipped)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def failure_text(exc: OSError) -> str:
    """What a failed `replace_text` means for the user (nothing was changed)."""
    if exc.errno == errno.ENOSPC:
        return (
            "the disk is full: nothing was changed (the file is as it was). Free some space on "
            "that disk and try again."
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (
            f"cannot write there ({exc.strerror}): nothing was changed. Run as a user who may "
            "write that folder, or edit the file by hand."
        )
    return f"writing failed ({exc.strerror or exc}): nothing was changed."
