"""`themis_server.log`: the node's own log file, in the real server's line format."""

from __future__ import annotations

import re
import threading
from datetime import datetime
from pathlib import Path

_TAIL_BYTES = 4 << 20
_START_RE = re.compile(r"\[info\] \[thread \d+\] ThemisDB server v(\S+) starting")


class ServerLog:
    """Append-only, thread-safe log in the server's spdlog pattern:

    `[2026-11-26 14:50:04.123] [themis] [info] [thread 4242] message`

    or, once `json_format` is set, in its JSON pattern (era B's Logger::initJson in upstream
    src/utils/logger.cpp; the message goes in unescaped, as spdlog does it):

    `{"ts":"2026-11-26T14:50:04.123","logger":"themis","level":"info","thread":4242,"msg":"…"}`
    """

    def __init__(self, path: Path):
        self.path = path
        self.json_format = False
        self._lock = threading.Lock()

    def write(self, level: str, message: str) -> None:
        """Append one line at `level` (info, warning, error, debug)."""
        now, thread = datetime.now(), threading.get_native_id()
        if self.json_format:
            stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
            line = (
                f'{{"ts":"{stamp}","logger":"themis","level":"{level}",'
                f'"thread":{thread},"msg":"{message}"}}\n'
            )
        else:
            stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
            line = f"[{stamp}] [themis] [{level}] [thread {thread}] {message}\n"
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(line)

    def info(self, message: str) -> None:
        self.write("info", message)

    def warning(self, message: str) -> None:
        self.write("warning", message)

    def error(self, message: str) -> None:
        self.write("error", message)

    def last_started_version(self) -> str | None:
        """The version named by the last start-up line, if the log has one."""
        try:
            with self.path.open("rb") as f:
                f.seek(max(0, f.seek(0, 2) - _TAIL_BYTES))
                text = f.read().decode("utf-8", errors="replace")
        except OSError:
            return None
        found = _START_RE.findall(text)
        return found[-1] if found else None
