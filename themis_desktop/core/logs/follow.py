"""Follow a log as it grows: a file (like `tail -F`, through rotation and truncation) or
the output of a command (`journalctl -f`, `ssh host tail -F …`). Poll-driven, no Qt."""

from __future__ import annotations

import contextlib
import io
import os
import queue
import subprocess
import threading
from pathlib import Path
from typing import cast

from themis_desktop.core.errors import ThemisDesktopError
from themis_desktop.core.service.control import end_process

READ_CHUNK = 1 << 20
MAX_READ_PER_POLL = 8 << 20  # a huge backlog is read over several polls
MAX_LINE = 64 << 10  # longer lines are cut (a binary file must not fill the memory)
HEAD = 256  # the first bytes of a file, kept to tell it was rewritten from its start


class LogSourceError(ThemisDesktopError):
    """A log source cannot be read; the message says why and what to check."""


class _Lines:
    """Splits bytes into complete lines, holding back a partial last line."""

    def __init__(self) -> None:
        self._partial = b""

    def feed(self, data: bytes) -> list[str]:
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        if len(self._partial) > MAX_LINE:
            complete.append(self._partial[:MAX_LINE])
            self._partial = b""
        return [line[:MAX_LINE].decode("utf-8", errors="replace") for line in complete]

    def reset(self) -> None:
        self._partial = b""


class FileFollower:
    """New lines of a file. Rotation (the path names another file: what is left of the old
    one is read first) and truncation (copytruncate, or a server that rewrites its log when
    it restarts, even when the new text is already longer than what was read: read again
    from the start) are followed; a missing file is waited for."""

    def __init__(self, path: Path | str, *, from_start: bool = False, backlog: int = 0) -> None:
        """Following starts at the end of the file, or `backlog` bytes before it (whole
        lines only), or at its start (`from_start`)."""
        self.path = Path(path)
        self.from_start = from_start
        self.backlog = backlog
        self.rotations = 0
        self.truncations = 0
        self._file: io.BufferedReader | None = None
        self._identity: tuple[int, int] | None = None
        self._head = b""  # the file's first bytes as read so far
        self._lines = _Lines()
        self._opened_once = False
        self._open()  # where the file ends now is where following starts …
        self._opened_once = True  # … and a file that appears later is read from its start

    def poll(self) -> list[str]:
        """The complete lines appended since the last poll."""
        if self._file is None and not self._open():
            return []
        if self._rewritten():  # e.g. a restarted server began its log anew
            self.truncations += 1
            self._start_over()
        lines = self._drain()
        self._remember_head()
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return lines  # rotated away and not yet re-created: keep the old handle
        except OSError as exc:
            raise LogSourceError(
                f"The log file {self.path} cannot be read: {exc.strerror}."
            ) from None
        if (stat.st_dev, stat.st_ino) != self._identity:
            self.rotations += 1
            lines += self._drain()  # whatever the server wrote before it reopened the log
            self._close()
            self._lines.reset()
            if self._open(rotated=True):
                lines += self._drain()
        elif self._file is not None and stat.st_size < self._file.tell():
            self.truncations += 1
            self._start_over()
            lines += self._drain()
            self._remember_head()
        return lines

    def _rewritten(self) -> bool:
        """The open file was truncated, or written anew from its start (its first bytes
        changed) since the last poll."""
        assert self._file is not None  # only asked while open
        fd = self._file.fileno()
        try:
            if os.fstat(fd).st_size < self._file.tell():
                return True
            return bool(self._head) and os.pread(fd, len(self._head), 0) != self._head
        except OSError:  # e.g. not a regular file: only the size can tell
            return False

    def _start_over(self) -> None:
        assert self._file is not None
        self._file.seek(0)
        self._lines.reset()
        self._head = b""

    def _remember_head(self) -> None:
        """Keep the file's first bytes (more of them while it is shorter than `HEAD`)."""
        if self._file is None or len(self._head) >= HEAD:
            return
        try:
            head = os.pread(self._file.fileno(), HEAD, 0)
        except OSError:
            return
        if head.startswith(self._head):  # else it was rewritten: the next poll sees it
            self._head = head

    def _open(self, rotated: bool = False) -> bool:
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise LogSourceError(
                f"The log file {self.path} cannot be opened: {exc.strerror}. Check that this "
                "user may read it (e.g. membership of the group that owns it)."
            ) from None
        stat = os.fstat(handle.fileno())
        if stat.st_size and not (rotated or self.from_start or self._opened_once):
            start = max(0, stat.st_size - self.backlog)  # like tail -f: the end, or a bit before
            handle.seek(start)
            if start:
                handle.readline()  # a partial line
        self._file, self._identity = handle, (stat.st_dev, stat.st_ino)
        self._head = b""
        self._remember_head()
        self._opened_once = True
        return True

    def _drain(self) -> list[str]:
        assert self._file is not None  # only drained while open
        lines: list[str] = []
        read = 0
        while read < MAX_READ_PER_POLL:
            chunk = self._file.read(READ_CHUNK)
            if not chunk:
                break
            read += len(chunk)
            lines += self._lines.feed(chunk)
        return lines

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = None

    def close(self) -> None:
        self._close()


class CommandFollower:
    """The output lines of a long-running command (stdout and stderr together)."""

    def __init__(self, argv: list[str], shown: str | None = None) -> None:
        self.argv = argv
        self.shown = shown or " ".join(argv)
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self.exit_code: int | None = None

    def start(self) -> None:
        try:
            self._process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=os.name == "posix",
            )
        except OSError as exc:
            raise LogSourceError(
                f"“{self.shown}” could not be run on this computer ({exc.strerror or exc}). "
                "Check the node's log source in the profile."
            ) from None
        self._reader = threading.Thread(target=self._read, name="log-command", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        lines = _Lines()
        assert self._process is not None  # start() made it before it started this thread
        # stdout=PIPE with the default buffering is a BufferedReader (typeshed says IO[bytes])
        stream = cast(io.BufferedReader, self._process.stdout)
        while chunk := stream.read1(READ_CHUNK):
            for line in lines.feed(chunk):
                self._queue.put(line)
        self._queue.put(None)  # end of output

    def poll(self) -> list[str]:
        """The lines printed since the last poll. Raises LogSourceError once the command
        has ended (with its last lines already returned by earlier polls)."""
        if self._process is None:
            self.start()
        lines: list[str] = []
        ended = False
        with contextlib.suppress(queue.Empty):
            while len(lines) < 100_000:
                line = self._queue.get_nowait()
                if line is None:
                    ended = True
                    break
                lines.append(line)
        if ended:
            assert self._process is not None  # started above
            self.exit_code = self._process.wait()
            self._queue.put(None)  # stay ended for the next poll
            if lines:
                return lines
            raise LogSourceError(f"“{self.shown}” ended (exit code {self.exit_code}).")
        return lines

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            end_process(self._process, grace=1.0)
        if self._reader is not None:
            self._reader.join(5)
        if self._process is not None and self._process.stdout:
            self._process.stdout.close()
