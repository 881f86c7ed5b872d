"""The journal: one SQLite file (WAL): its connection, transactions, schema and events.

The journal is storage only: each feature keeps its tables in a store of its own (profiles
in `connection.profile_store`, sessions and hops in `upgrade.session_store`, backups in
`backup.catalog`, …) as functions over a `Journal`; the schema of every table is here.
Open one `Journal` per thread. The schema is versioned with `PRAGMA user_version`;
`MIGRATIONS[i]` takes the file from version i to i + 1. Its connection
(core/journal/connection.py) redacts every known token from what is written and turns
failures of the file (damaged, read-only, disk full) into a `JournalError` with what to do.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from themis_desktop.core.journal.connection import (
    JournalDamaged,
    JournalError,
    JournalReadOnly,
    JournalUnavailable,
    connect,
    journal_error,
)
from themis_desktop.core.journal.fresh_schema import FRESH_SCHEMA
from themis_desktop.core.util.paths import create_private_file, journal_path, make_private

if TYPE_CHECKING:  # imported when `Journal.db` is first used: it costs ~0.1 s (numpy)
    import sqlite_utils
    import sqlite_utils.db


def inserted_id(table: sqlite_utils.db.Table) -> int:
    """The integer primary key of the row `table.insert(...)` just added (sqlite_utils types
    `last_pk` as `Any | None`: after an insert into a rowid table it is that int)."""
    return cast(int, table.last_pk)


def utc_now() -> str:
    """Current time as the journal stores it: ISO 8601 UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_utc(text: str) -> datetime:
    """A time as the journal stores it (`utc_now`), as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _v1(db: sqlite_utils.Database) -> None:
    db.table("profiles").create(
        {
            "id": int,
            "name": str,
            "verify_tls": int,
            "ca_file": str,
            "demo": int,
            "uses_auth": int,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"name"},
    )
    db.table("profiles").create_index(["name"], unique=True)
    db.table("profile_nodes").create(
        {
            "id": int,
            "profile_id": int,
            "position": int,
            "name": str,
            "url": str,
            "data_dir": str,
            "config_path": str,
            "version_override": str,
        },
        pk="id",
        foreign_keys=[("profile_id", "profiles", "id")],
    )
    db.table("sessions").create(
        {
            "id": int,
            "profile_id": int,
            "from_version": str,
            "to_version": str,
            "state": str,
            "created_at": str,
            "created_by": str,
            "ended_at": str,
        },
        pk="id",
        foreign_keys=[("profile_id", "profiles", "id")],
    )
    db.table("events").create(
        {
            "id": int,
            "session_id": int,
            "ts": str,
            "type": str,
            "user": str,
            "node": str,
            "message": str,
            "data": str,
        },
        pk="id",
        foreign_keys=[("session_id", "sessions", "id")],
    )
    db.table("events").create_index(["session_id", "ts"])
    db.table("events").create_index(["type"])


def _v2(db: sqlite_utils.Database) -> None:
    """Checklist state of guide steps per session and hop (see core/guides/checklist.py)."""
    db.table("checklist").create(
        {
            "session_id": int,
            "hop": str,
            "step_id": str,
            "state": str,
            "at": str,
            "user": str,
            "note": str,
            "reason": str,
        },
        pk=("session_id", "hop", "step_id"),
        foreign_keys=[("session_id", "sessions", "id")],
    )


def _v3(db: sqlite_utils.Database) -> None:
    """The backup catalogue (see core/backup/catalog.py)."""
    db.table("backups").create(
        {
            "id": int,
            "node": str,
            "version": str,
            "path": str,
            "size": int,
            "sha256": str,
            "created_at": str,
            "verified_at": str,
            "profile": str,
            "session_id": int,
            "consistent": int,
            "checkpoint": int,
        },
        pk="id",
        foreign_keys=[("session_id", "sessions", "id")],
    )
    db.table("backups").create_index(["node", "created_at"])


def _v4(db: sqlite_utils.Database) -> None:
    """Metric samples and baselines (see core/metrics/store.py). The sample columns are
    the metric keys of this version; later metrics come with their own migration."""
    columns: dict[str, type] = {
        "profile": str,
        "node": str,
        "at": float,
        "step": int,
        "up": int,
        "version": str,
    }
    columns.update({key: float for key in _V4_METRICS})
    db.table("samples").create(columns)
    db.table("samples").create_index(["profile", "node", "step", "at"])
    db.table("samples").create_index(["at"])
    db.table("baselines").create(
        {
            "id": int,
            "profile": str,
            "session_id": int,
            "kind": str,  # "hop", "path" or "manual"
            "label": str,
            "start": float,
            "end": float,
            "source": str,  # "journal" or "prometheus"
            "created_at": str,
            "data": str,  # JSON {node: {metric: [values]}}
        },
        pk="id",
        foreign_keys=[("session_id", "sessions", "id")],
    )
    db.table("baselines").create_index(["profile", "created_at"])


_V4_METRICS = (
    "request_rate",
    "error_rate",
    "server_p50_ms",
    "server_p95_ms",
    "server_p99_ms",
    "probe_ms",
    "rss_bytes",
    "block_cache_usage_bytes",
    "pending_compaction_bytes",
    "estimated_keys",
    "uptime_seconds",
)


def _v5(db: sqlite_utils.Database) -> None:
    """Upgrade sessions walk hops (core/upgrade/session.py); profiles control the service."""
    db.table("profiles").add_column("service", str)
    db.table("hops").create(
        {
            "id": int,
            "session_id": int,
            "position": int,
            "from_version": str,
            "to_version": str,
            "state": str,
            "started_at": str,
            "finished_at": str,  # the new version first answered /health/ready
            "backups": str,  # JSON [backup ids], the verified backups the hop may roll back to
            "baseline_id": int,
            "note": str,
        },
        pk="id",
        foreign_keys=[("session_id", "sessions", "id")],
    )
    db.table("hops").create_index(["session_id", "position"], unique=True)


def _v6(db: sqlite_utils.Database) -> None:
    """Rollouts on clusters (core/rollout/runner.py) and a profile's traffic router."""
    db.table("profiles").add_column("router", str)
    db.table("rollouts").create(
        {
            "id": int,
            "profile": str,
            "strategy": str,
            "from_version": str,
            "to_version": str,
            "status": str,
            "position": int,
            "state": str,  # JSON: steps, weights, roles, gates, backups, reference
            "created_at": str,
            "created_by": str,
            "updated_at": str,
        },
        pk="id",
    )
    db.table("rollouts").create_index(["profile", "id"])


def _v7(db: sqlite_utils.Database) -> None:
    """Log watch (core/logs/watch.py): each node's log source, and per hop the counts per phase
    and the warning-and-worse lines."""
    db.table("profile_nodes").add_column("log_source", str)
    db.table("log_counts").create(
        {
            "session_id": int,
            "hop_id": int,
            "phase": str,
            "node": str,
            "level": str,
            "count": int,
        },
        pk=("hop_id", "phase", "node", "level"),
        foreign_keys=[("session_id", "sessions", "id"), ("hop_id", "hops", "id")],
    )
    db.table("log_counts").create_index(["session_id"])
    db.table("log_lines").create(
        {
            "id": int,
            "session_id": int,
            "hop_id": int,
            "phase": str,
            "node": str,
            "ts": str,
            "level": str,
            "message": str,
            "signature": str,
        },
        pk="id",
        foreign_keys=[("session_id", "sessions", "id"), ("hop_id", "hops", "id")],
    )
    db.table("log_lines").create_index(["hop_id", "ts"])


def _v8(db: sqlite_utils.Database) -> None:
    """Sessions keep their profile's name, so a session whose profile was deleted still says
    whose it was (review mode, reports). Older sessions take it from their profile or, when
    that is deleted already, from a backup or baseline recorded for them."""
    db.table("sessions").add_column("profile", str)
    db.execute(
        "UPDATE sessions SET profile = "
        "(SELECT name FROM profiles WHERE profiles.id = sessions.profile_id)"
    )
    for table in ("backups", "baselines"):
        db.execute(
            f"UPDATE sessions SET profile = (SELECT t.profile FROM {table} AS t "
            "WHERE t.session_id = sessions.id AND t.profile IS NOT NULL ORDER BY t.id LIMIT 1) "
            "WHERE profile IS NULL"
        )


def _v9(db: sqlite_utils.Database) -> None:
    """A choice step's option (`Option B: Docker`) is a column of its checklist row, and each
    hop keeps whether the admin confirmed having its contested target. A choice kept before
    in a row of its own (`<step id>@choice`: key in `note`, label in `reason`) moves into its
    step's row; a step that had only a choice becomes an open row with it. Columns already
    there (a file whose user_version was set back by hand) are kept."""
    for table, column, kind in (
        ("checklist", "choice", str),
        ("checklist", "choice_label", str),
        ("hops", "confirmed", int),
    ):
        if column not in db[table].columns_dict:
            db.table(table).add_column(column, kind)
    db.execute(
        "INSERT OR IGNORE INTO checklist (session_id, hop, step_id, state, at, user, note, reason) "
        "SELECT session_id, hop, substr(step_id, 1, length(step_id) - 7), 'open', at, user, '', '' "
        "FROM checklist WHERE step_id LIKE '%@choice'"
    )
    db.execute(
        "UPDATE checklist SET (choice, choice_label) = (SELECT c.note, c.reason FROM checklist "
        "AS c WHERE c.session_id = checklist.session_id AND c.hop = checklist.hop "
        "AND c.step_id = checklist.step_id || '@choice') "
        "WHERE step_id NOT LIKE '%@choice' AND EXISTS (SELECT 1 FROM checklist AS c "
        "WHERE c.session_id = checklist.session_id AND c.hop = checklist.hop "
        "AND c.step_id = checklist.step_id || '@choice')"
    )
    db.execute("DELETE FROM checklist WHERE step_id LIKE '%@choice'")


def _v10(db: sqlite_utils.Database) -> None:
    """Dress rehearsals of a hop on a copy of its nodes' data (core/upgrade/rehearsal_store.py):
    each run (its steps, durations, verdict, the copy's errors) and each admin override of
    the rehearsal gate with its note (`kind`)."""
    if "rehearsals" in db.table_names():
        return
    db.table("rehearsals").create(
        {
            "id": int,
            "session_id": int,
            "hop_id": int,
            "profile": str,
            "kind": str,  # rehearsal | override
            "from_version": str,
            "to_version": str,
            "started_at": str,
            "finished_at": str,
            "verdict": str,  # pass | fail | inconclusive | cancelled | error | override
            "reason": str,
            "host": str,
            "scratch_dir": str,
            "kept": int,
            "backups": str,  # JSON: node -> backup id
            "steps": str,  # JSON: [{name, seconds, ok, detail}]
            "evaluation": str,  # JSON: the verdict's metrics
            "errors": str,  # JSON: the copy's log errors
            "note": str,
            "user": str,
        },
        pk="id",
        foreign_keys=[("session_id", "sessions", "id"), ("hop_id", "hops", "id")],
    )
    db.table("rehearsals").create_index(["hop_id", "id"])


def _v11(db: sqlite_utils.Database) -> None:
    """Readings of each node's write counter (core/backup/write_readings.py): taken at every
    verified backup and whenever the writes-at-risk meter is polled, so the writes since a
    backup can be summed across restarts of the server (whose counter starts at zero)."""
    if "write_readings" in db.table_names():
        return
    db.table("write_readings").create(
        {
            "id": int,
            "profile": str,
            "node": str,
            "at": str,
            "uptime_s": float,  # how long the counter had been counting (None: node stopped)
            "writes": int,  # None: unknown
            "slack": int,  # the rounded count may be this much more
            "source": str,  # rocksdb | requests | none | stopped
            "kind": str,  # backup | poll | before-stop
            "backup_id": int,
        },
        pk="id",
    )
    db.table("write_readings").create_index(["profile", "node", "at"])


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1,
    _v2,
    _v3,
    _v4,
    _v5,
    _v6,
    _v7,
    _v8,
    _v9,
    _v10,
    _v11,
]
SCHEMA_VERSION = len(MIGRATIONS)
WAL_SWITCH_WAIT_S = 5.0  # how long opening a new journal waits for the switch to WAL


__all__ = [
    "Event",
    "Journal",
    "JournalDamaged",
    "JournalError",
    "JournalReadOnly",
    "JournalUnavailable",
]


@dataclass(frozen=True)
class Event:
    id: int
    ts: str
    type: str
    session_id: int | None = None
    user: str | None = None
    node: str | None = None
    message: str = ""
    data: dict[str, Any] | None = None


def event_from_row(row: dict[str, Any]) -> Event:
    """The one decoder of an events row: its JSON `data` parsed, the other columns as
    stored (`ts` as `utc_now` wrote it: `parse_utc` reads it)."""
    data = row.get("data")
    return Event(**{**row, "data": json.loads(data) if data else None})


class Journal:
    """Typed access to the journal file."""

    def __init__(
        self, path: Path | None = None, *, read_only: bool = False, durable: bool = True
    ) -> None:
        """`durable=False` (for high-rate writers such as the metric samplers) syncs at WAL
        checkpoints only: an OS crash may lose the last second of samples, never the file.

        Only this user may read the file: a new journal is made 0600 (its -wal and -shm
        follow it), an existing one is narrowed to that. Every text written is redacted
        (`redaction.redact`), and failures of the file raise `JournalError`."""
        self.path = Path(path) if path else journal_path()
        self.read_only = read_only
        conn = None
        try:
            if not read_only:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(FileExistsError):
                    os.close(create_private_file(self.path))
            conn = connect(self.path, read_only=read_only)
            self.conn = conn
            # as sqlite_utils.Database(conn) does; `db` wraps the connection when first used
            conn.execute("PRAGMA recursive_triggers=on;")
            conn.execute("PRAGMA foreign_keys = ON")
            if not read_only:
                conn.execute("PRAGMA busy_timeout = 5000")
                self._enable_wal()
                if not durable:
                    conn.execute("PRAGMA synchronous = NORMAL")
                for name in ("", "-wal", "-shm"):
                    make_private(Path(f"{self.path}{name}"))
            self._check_and_migrate()
        except (sqlite3.Error, OSError, JournalError) as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, JournalError) and isinstance(exc.__cause__, sqlite3.Error):
                exc = exc.__cause__  # said again as a failure to open
            error = self._open_error(exc)
            if error is exc:
                raise
            raise error from exc

    @cached_property
    def db(self) -> sqlite_utils.Database:
        """The connection as a `sqlite_utils.Database` (the stores' tables and queries)."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    def _enable_wal(self) -> None:
        """`sqlite_utils.Database.enable_wal()` on the plain connection."""
        conn = self.conn
        deadline = time.monotonic() + WAL_SWITCH_WAIT_S
        while conn.execute("PRAGMA journal_mode;").fetchone()[0] != "wal":
            if conn.in_transaction:
                raise JournalError(f"The journal {self.path} is in a transaction while opened.")
            level = conn.isolation_level
            conn.isolation_level = None
            try:
                conn.execute("PRAGMA journal_mode=wal;")
            except sqlite3.OperationalError as exc:
                # the switch needs the file to itself and SQLite does not wait for it: another
                # connection opening the new journal at the same moment makes it "locked"
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
            finally:
                conn.isolation_level = level

    def _open_error(self, exc: BaseException) -> JournalError:
        """What an error while opening means for the user."""
        if isinstance(exc, sqlite3.Error):
            error = journal_error(exc, self.path, opening=True, read_only=self.read_only)
            if error is not None:
                return error
        if isinstance(exc, JournalError):
            return exc
        if isinstance(exc, OSError):
            return JournalUnavailable(
                f"The journal {self.path} cannot be opened: {exc.strerror or exc}. Make its "
                f"folder {self.path.parent} writable for this user, or set THEMIS_DESKTOP_HOME "
                "to a writable folder."
            )
        return JournalError(
            f"The journal {self.path} cannot be opened: {exc}. "
            "If it was copied from elsewhere, check that the copy is complete."
        )

    def check_writable(self) -> None:
        """Raise `JournalReadOnly` unless changes can be saved (a read-only file opens, and
        only its first write would fail): for the window, which says so at start."""
        if self.read_only:
            raise JournalReadOnly(f"The journal {self.path} was opened read-only.")
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(f"PRAGMA user_version = {self.schema_version}")  # rolled back below
        finally:
            conn.rollback()

    def close(self) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing writes. `BEGIN IMMEDIATE` takes the write lock up front, so two
        writers wait for each other (busy timeout) instead of failing on a lock upgrade."""
        if self.conn.in_transaction:
            with self.db.atomic():  # nested: a savepoint
                yield
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def _check_and_migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"The journal {self.path} was written by a newer Themis Desktop "
                f"(schema {version}, this one knows {SCHEMA_VERSION}). Update the app to open it."
            )
        if version == SCHEMA_VERSION or self.read_only:
            return
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")  # another thread or process may be migrating too
        try:
            if self.schema_version == 0 and self._empty():
                for statement in FRESH_SCHEMA:  # what MIGRATIONS make of an empty file
                    conn.execute(statement)
            else:
                for step in MIGRATIONS[self.schema_version :]:
                    step(self.db)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    def _empty(self) -> bool:
        """No table, index, view or trigger in the file (a new journal)."""
        return self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0

    # -- events ---------------------------------------------------------------

    def add_event(
        self,
        type: str,
        message: str = "",
        *,
        session_id: int | None = None,
        node: str | None = None,
        data: dict[str, Any] | None = None,
        user: str | None = None,
    ) -> int:
        """Append an event; returns its id."""
        with self.transaction():
            return self.insert_event(session_id, type, user or current_user(), node, message, data)

    def insert_event(
        self,
        session_id: int | None,
        type: str,
        user: str,
        node: str | None,
        message: str,
        data: dict[str, Any] | None,
    ) -> int:
        """Append an event inside the caller's transaction (no commit of its own)."""
        return self.insert_row(
            "events",
            {
                "session_id": session_id,
                "ts": utc_now(),
                "type": type,
                "user": user,
                "node": node,
                "message": message,
                "data": json.dumps(data, sort_keys=True) if data is not None else None,
            },
        )

    def insert_row(self, table: str, row: Mapping[str, Any]) -> int:
        """Insert `row` (plain values) into `table` on the sqlite3 connection, without
        importing sqlite_utils (~0.1 s of a command's start); returns the new row's id."""
        columns = ", ".join(f'"{name}"' for name in row)
        marks = ", ".join("?" * len(row))
        cursor = self.conn.execute(
            f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', tuple(row.values())
        )
        if cursor.lastrowid is None:
            raise JournalError(f"The journal did not say which row of {table} it added.")
        return cursor.lastrowid

    def select(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        """The rows a SELECT gives, as dicts (plain sqlite3, as `insert_row`)."""
        cursor = self.conn.execute(sql, tuple(params))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def row_by_id(self, table: str, row_id: int) -> dict[str, Any] | None:
        """The row of `table` whose id is `row_id`, or None (plain sqlite3, as `insert_row`)."""
        cursor = self.conn.execute(f'SELECT * FROM "{table}" WHERE id = ?', (row_id,))
        found = cursor.fetchone()
        if found is None:
            return None
        return dict(zip((column[0] for column in cursor.description), found, strict=True))

    def events(
        self, *, session_id: int | None = None, types: Iterable[str] | None = None
    ) -> list[Event]:
        where: list[str] = []
        params: list[int | str] = []
        if session_id is not None:
            where.append("session_id = ?")
            params.append(session_id)
        if types:
            types = list(types)
            where.append(f"type IN ({', '.join('?' * len(types))})")
            params += types
        rows = self.db["events"].rows_where(" AND ".join(where) or None, params, order_by="id")
        return [event_from_row(row) for row in rows]

    def event(self, event_id: int) -> Event:
        """The event `event_id` (as `add_event` returned it; sqlite_utils' NotFoundError
        when there is none)."""
        return event_from_row(self.db.table("events").get(event_id))

    def events_during(self, session_id: int, start: str, end: str) -> list[Event]:
        """The session's events and the session-less events between `start` and `end`
        (journal times), in time order."""
        rows = self.db["events"].rows_where(
            "session_id = ? OR (session_id IS NULL AND ts >= ? AND ts <= ?)",
            [session_id, start, end],
            order_by="ts, id",
        )
        return [event_from_row(row) for row in rows]

    # -- sessions (their store is upgrade.session_store) ----------------------------

    def open_sessions(self, *, profile_id: int | None = None) -> list[int]:
        """The ids of the sessions not ended (of the profile `profile_id` when given), newest
        first: what the features below `upgrade` ask of the sessions every row hangs off
        (backups an open session relies on are kept)."""
        where, params = "ended_at IS NULL", []
        if profile_id is not None:
            where, params = where + " AND profile_id = ?", [profile_id]
        rows = self.db["sessions"].rows_where(where, params, select="id", order_by="id DESC")
        return [row["id"] for row in rows]
