"""Where the app keeps its own files (journal, settings, demo data), and how it makes files
only its user may read: the data folder is 0700; the journal, reports and exported journals
are 0600 (`create_private_file`, `private_temp_file`, `make_private`)."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

import platformdirs

APP_NAME = "themis-desktop"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def app_data_dir() -> Path:
    """The user data folder, private to this user (0700); `THEMIS_DESKTOP_HOME` overrides
    it (tests, portable use)."""
    override = os.environ.get("THEMIS_DESKTOP_HOME")
    path = (
        Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    )
    return make_private_dir(path)


def journal_path() -> Path:
    return app_data_dir() / "journal.sqlite"


def default_backup_dir() -> Path:
    """Where backups go unless a folder is chosen (the Backups page's Folder…, or
    `--backup-dir` on the command line): one default for the window and the CLI."""
    return app_data_dir() / "backups"


def make_private_dir(path: Path) -> Path:
    """Create the folder `path` (and its parents) if needed; the folder itself is made
    accessible to this user only (an existing one of ours is narrowed to that)."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    with contextlib.suppress(OSError, RuntimeError):  # RuntimeError: no home folder
        if path.stat().st_mode & stat.S_ISVTX or path.resolve() == Path.home().resolve():
            return path  # a shared folder such as /tmp, or the home folder: not ours to narrow
    _narrow(path, PRIVATE_DIR_MODE)
    return path


def make_private(path: Path) -> None:
    """Narrow an existing file of this user to 0600 (nothing when it is absent or another
    user's: a file we may not change is left as it is)."""
    _narrow(path, PRIVATE_FILE_MODE)


def _narrow(path: Path, mode: int) -> None:
    if os.name != "posix":
        return  # Windows: the user profile's folders are private already
    try:
        info = path.stat()
        if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & ~mode:
            os.chmod(path, stat.S_IMODE(info.st_mode) & mode)
    except OSError:
        return


def create_private_file(path: Path) -> int:
    """Create the new file `path` readable and writable by this user only (0600) and
    return a descriptor open for writing; FileExistsError when it exists."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), PRIVATE_FILE_MODE)
    if os.name == "posix":
        with contextlib.suppress(OSError):
            os.fchmod(fd, PRIVATE_FILE_MODE)  # whatever the umask allowed
    return fd


def private_temp_file(dest: Path, kind: str = "partial") -> tuple[Path, int]:
    """A new private (0600) file beside `dest`, named `.<name>.<kind>-<random>` so no other
    process can take it; returns its path and a descriptor open for writing."""
    for _ in range(100):
        candidate = dest.with_name(f".{dest.name}.{kind}-{secrets.token_hex(4)}")
        try:
            return candidate, create_private_file(candidate)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {dest}")
