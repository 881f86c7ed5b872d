"""The real 1.0.x server's known issues (resources/releases.yaml, line 1.0), as a demo 1.0.x
node reproduces them unless it runs with `--known-issues off`:

- its first start adds a `prompt_templates` column family that later opens do not name, so
  a restart on the same data (or on a copy of one of its checkpoints) fails at start;
- `POST /admin/restore` therefore answers 500 with the database closed, while /health stays
  healthy; reads find nothing (404) and writes fail (500);
- on SIGTERM it logs a clean shutdown and then hangs until it is killed.

The fourth, that `themis_server --version` starts a server, has no counterpart: demo nodes
have no command line of their own (the demo-server's `--version` is the version to speak).
The log lines are the real server's, as seen on the build in shared/themisdb-real.
"""

from __future__ import annotations

from themis_desktop.demo.serverlog import ServerLog
from themis_desktop.demo.versions import VersionInfo

PROMPT_CF = "prompt_templates"  # getOrCreateColumnFamily in upstream's http_server.cpp
OPENS_ONLY = ("default",)  # what RocksDBWrapper::open names
WRITE_FAILED = "Index/Storage update failed: put: Datenbank ist nicht geöffnet"
_SHUTDOWN = (
    "Received shutdown signal...",
    "Stopping HTTP Server...",
    "Initiating graceful shutdown...",
    "Waiting for active requests to complete...",
    "Saving vector index (if auto-save enabled)...",
    "Flushing RocksDB memtables...",
)


def creates_prompt_cf(info: VersionInfo) -> bool:
    """Whether the version adds the `prompt_templates` column family at start (1.0.x does)."""
    return (info.major, info.minor) == (1, 0)


def applies(info: VersionInfo, enabled: bool) -> bool:
    """Whether a node of `info` reproduces the 1.0.x issues (`enabled`: the demo's switch)."""
    return enabled and creates_prompt_cf(info)


def log_open_failure(log: ServerLog, reason: str) -> None:
    """What the real server logs when RocksDB refuses to open at start."""
    log.error(f"Failed to open RocksDB TransactionDB: {reason}")
    log.error("Failed to open database!")


def log_reopen_failure(log: ServerLog, reason: str, checkpoint: str) -> None:
    """What the real server logs when the reopen after a restore fails."""
    log.error(f"Failed to open RocksDB TransactionDB: {reason}")
    log.error(f"Failed to reopen DB after restore from '{checkpoint}'")


def log_shutdown(log: ServerLog, database_open: bool) -> None:
    """The clean shutdown the real 1.0.x logs on SIGTERM before it hangs."""
    for line in _SHUTDOWN:
        log.info(line)
    if database_open:
        log.info("Closing RocksDB")
    log.info("RocksDB closed cleanly")
    log.info("Waiting for worker threads to finish...")
    log.info("HTTP Server stopped gracefully")
