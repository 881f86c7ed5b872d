"""End a server process named by its pid file: SIGTERM, then SIGKILL after a timeout.

A service manager does this for its units (systemd's TimeoutStopSec); a `commands` profile
has none, and the real 1.0.x server needs it: it logs a clean shutdown on SIGTERM and then
hangs joining a thread (shared/themisdb-real/README.md).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from themis_desktop.core.service.errors import ServiceError

POLL_S = 0.1


class PidFileError(ServiceError):
    """The pid file cannot be read or names no process of ours; `str()` says which."""


@dataclass(frozen=True)
class Ended:
    """How the process ended: `killed` after the timeout, and a sentence for the log."""

    pid: int | None
    killed: bool
    text: str


def read_pid(path: Path) -> int | None:
    """The pid in `path`; None when the file is absent (nothing was started)."""
    try:
        text = path.read_text(encoding="ascii", errors="replace")[:32].strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PidFileError(f"The pid file {path} cannot be read: {exc.strerror}.") from None
    if not text.isdigit() or int(text) <= 1:
        raise PidFileError(f"The pid file {path} does not hold a process id ({text[:20]!r}).")
    return int(text)


def alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie of ours counts as ended)."""
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass  # not our child: ask the kernel
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def end_process(path: Path, timeout: float, *, terminate: bool = True) -> Ended:
    """Make sure the process in pid file `path` ends: SIGTERM it (`terminate`; off when the
    profile's own stop command already asked it to stop), wait `timeout` s, then SIGKILL."""
    pid = read_pid(path)
    if pid is None or not alive(pid):
        return Ended(pid, False, f"no process running for {path}")
    if terminate:
        _send(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return Ended(pid, False, f"process {pid} ended after SIGTERM")
        time.sleep(POLL_S)
    _send(pid, signal.SIGKILL)
    for _ in range(50):
        if not alive(pid):
            break
        time.sleep(POLL_S)
    return Ended(
        pid,
        True,
        f"process {pid} did not exit within {timeout:g} s after SIGTERM: killed (SIGKILL)",
    )


def _send(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        raise PidFileError(
            f"Process {pid} belongs to another user: this user may not stop it. Run the app "
            "as the service's user, or stop it with a command in the profile."
        ) from None
