"""The journal's SQLite connection: its write boundary and its errors.

Every value written through a `JournalConnection` passes `redaction.redact` first, so no
known token reaches the file, whichever module writes. A failure of the file itself — a
damaged page, a read-only file or folder, a full disk — becomes a `JournalError` that says
what happened and what to do, wherever it surfaces (opening, a query, reading its rows, a
commit). The classes also derive from the sqlite3 error they replace, so code that catches
those keeps working.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from themis_desktop.core.errors import ThemisDesktopError
from themis_desktop.core.util.redaction import redactor


class JournalError(ThemisDesktopError):
    """The journal file cannot be used (newer schema, read-only, damaged, disk full).

    `str(error)` is the whole message for users: what happened and what to do."""


class JournalDamaged(JournalError, sqlite3.DatabaseError):
    """A page of the file is damaged, or the file is not a journal at all."""


class JournalReadOnly(JournalError, sqlite3.OperationalError):
    """The file, or its folder, cannot be written."""


class JournalUnavailable(JournalError, sqlite3.OperationalError):
    """The file cannot be opened, or the disk failed or is full."""


# SQLite's primary result codes (the low byte of the extended ones)
_PERM, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 3, 8, 10, 11, 13, 14, 26


def journal_error(
    exc: sqlite3.Error, path: Path, *, opening: bool = False, read_only: bool = False
) -> JournalError | None:
    """The `JournalError` that explains `exc` (a failure of the journal file at `path`), or
    None for errors of another kind (a constraint, a bug). With `read_only` (opened so on
    purpose) a refused write is not translated: it is the refusal the caller asked for."""
    if isinstance(exc, JournalError):
        return exc
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    detail = str(exc)
    folder = path.parent
    verb = "cannot be opened" if opening else "cannot be used"
    if code in (_CORRUPT, _NOTADB):
        return JournalDamaged(
            f"The journal {path} {verb}: the file is damaged or is not a journal ({detail}). "
            "Nothing more was written to it. Keep the file for support and move it aside "
            f"(for example rename it to {path.name}.damaged): Themis Desktop then starts a "
            f"new journal, and `sqlite3 {path} .recover` can rescue the records still "
            "readable. If it was copied from elsewhere, check that the copy is complete."
        )
    if code in (_READONLY, _PERM) and not read_only:
        return JournalReadOnly(
            f"The journal {path} is read-only: Themis Desktop cannot write to it ({detail}), "
            f"so nothing was saved. Make the file and its folder {folder} writable for this "
            "user (check the permissions, and `lsattr` for the immutable flag), or set "
            "THEMIS_DESKTOP_HOME to a writable folder. To only look at it, open it with "
            f"`themis-desktop --review {path}`."
        )
    if code == _CANTOPEN:
        return JournalUnavailable(
            f"The journal {path} {verb} ({detail}): the file or its folder cannot be read or "
            f"written by this user, or SQLite cannot create {path.name}-wal and "
            f"{path.name}-shm beside it. Make the folder {folder} and the file writable for "
            "this user, or set THEMIS_DESKTOP_HOME to a writable folder."
        )
    if code == _FULL:
        return JournalUnavailable(
            f"The disk that holds the journal {path} is full ({detail}): the last change was "
            "not saved. Free some space on that disk and try again."
        )
    if code == _IOERR:
        return JournalUnavailable(
            f"The journal {path} could not be read or written: the disk or file system "
            f"reported an error ({detail}). Check the disk (and the system log), keep a copy "
            "of the file for support, then try again."
        )
    return None


def _redacted(parameters: Any, redact: Callable[[str], str] | None) -> Any:
    """Statement parameters with every known token redacted (strings only)."""
    if redact is None:
        return parameters
    if isinstance(parameters, Mapping):
        return {k: redact(v) if isinstance(v, str) else v for k, v in parameters.items()}
    if isinstance(parameters, list | tuple):
        return [redact(v) if isinstance(v, str) else v for v in parameters]
    return parameters


class _Translating:
    """Mixin: `_fail(exc)` raises the `JournalError` for `exc`, or `exc` itself."""

    journal_path: Path = Path("journal.sqlite")
    journal_read_only: bool = False

    def _fail(self, exc: sqlite3.Error) -> None:
        error = journal_error(exc, self.journal_path, read_only=self.journal_read_only)
        if error is None or isinstance(exc, JournalError):  # a JournalError explains itself
            raise exc
        raise error from exc


class JournalCursor(_Translating, sqlite3.Cursor):
    """A cursor that redacts what it writes and explains failures of the file."""

    def __init__(self, connection: JournalConnection) -> None:
        super().__init__(connection)
        self.journal_path = connection.journal_path
        self.journal_read_only = connection.journal_read_only

    def execute(self, sql: str, parameters: Any = (), /) -> JournalCursor:
        try:
            super().execute(sql, _redacted(parameters, redactor()))
        except sqlite3.DatabaseError as exc:
            self._fail(exc)
        return self

    def executemany(self, sql: str, seq: Iterable[Any], /) -> JournalCursor:
        try:
            redact = redactor()
            super().executemany(sql, (_redacted(p, redact) for p in seq))
        except sqlite3.DatabaseError as exc:
            self._fail(exc)
        return self

    def fetchone(self) -> Any:
        try:
            return super().fetchone()
        except sqlite3.DatabaseError as exc:
            self._fail(exc)

    def fetchmany(self, size: int | None = None) -> list[Any]:
        try:
            return super().fetchmany(self.arraysize if size is None else size)
        except sqlite3.DatabaseError as exc:
            self._fail(exc)
            raise  # not reached

    def fetchall(self) -> list[Any]:
        try:
            return super().fetchall()
        except sqlite3.DatabaseError as exc:
            self._fail(exc)
            raise  # not reached

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except sqlite3.DatabaseError as exc:
            self._fail(exc)


class JournalConnection(_Translating, sqlite3.Connection):
    """The journal's connection: use `connect` to make one."""

    def cursor(self, factory: Any = None) -> Any:
        # JournalCursor is made on this JournalConnection: typeshed's factory type takes
        # any Connection, so it cannot see that the factory fits
        return super().cursor(factory or JournalCursor)  # type: ignore[arg-type]

    def execute(self, sql: str, parameters: Any = (), /) -> JournalCursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq: Iterable[Any], /) -> JournalCursor:
        return self.cursor().executemany(sql, seq)

    def executescript(self, script: str, /) -> Any:
        try:
            return super().executescript(script)
        except sqlite3.DatabaseError as exc:
            self._fail(exc)

    def commit(self) -> None:
        try:
            super().commit()
        except sqlite3.DatabaseError as exc:
            self._fail(exc)

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return super().__exit__(*exc_info)
        except sqlite3.DatabaseError as exc:
            self._fail(exc)


def connect(path: Path, *, read_only: bool = False) -> JournalConnection:
    """A `JournalConnection` to the journal at `path` (read-only: `mode=ro`)."""
    if read_only:
        uri = f"{Path(path).resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, factory=JournalConnection)
    else:
        conn = sqlite3.connect(path, factory=JournalConnection)
    assert isinstance(conn, JournalConnection)
    conn.journal_path = Path(path)
    conn.journal_read_only = read_only
    return conn
