"""What a node's own log says while its service starts: the reason it did not come up.

A service manager can report a start as done while the server exits a moment later (a
`commands` start that launches it in the background, a unit without readiness). Waiting
for readiness alone would wait out its whole timeout and then say "not ready". A
`StartWatch` follows the node's log from just before the start; the first error the server
logs (e.g. the real 1.0.x server's "Failed to open RocksDB TransactionDB: Invalid
argument: Column families not opened: prompt_templates") is the reason, quoted as it is.
"""

from __future__ import annotations

import time

from themis_desktop.core.connection.profiles import NodeEndpoint
from themis_desktop.core.logs.follow import FileFollower, LogSourceError
from themis_desktop.core.logs.line_format import parse_plain
from themis_desktop.core.logs.watch import LogSource

FATAL_LEVELS = ("error", "critical")
MAX_LINES = 2000  # lines looked at per start; a chatty start cannot grow this without bound
MAX_QUOTE = 300  # characters of the server's line quoted


class StartWatch:
    """The node's file log from now on; `reason()` is its first error line, if any."""

    def __init__(self, node: NodeEndpoint) -> None:
        self.node = node
        self._follower: FileFollower | None = None
        self._first_error: str | None = None
        self._seen = 0
        source = LogSource.parse(node.log_source)
        if source.kind == "file":  # journald and commands are followed by the log watch only
            try:
                self._follower = FileFollower(source.target)
            except LogSourceError:
                self._follower = None

    @property
    def watching(self) -> bool:
        return self._follower is not None

    def reason(self) -> str | None:
        """The server's first error line since the watch began (polled now), or None."""
        if self._follower is None or self._first_error is not None:
            return self._first_error
        try:
            lines = self._follower.poll()
        except LogSourceError:
            return None
        for text in lines[: max(0, MAX_LINES - self._seen)]:
            line = parse_plain(self.node.name, text, time.time())
            if line.level in FATAL_LEVELS:
                self._first_error = line.message.strip()[:MAX_QUOTE]
                break
        self._seen += len(lines)
        return self._first_error

    def close(self) -> None:
        if self._follower is not None:
            self._follower.close()
