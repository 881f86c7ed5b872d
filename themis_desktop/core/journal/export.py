"""Copy a journal consistently, and export it for support with its secrets stripped.

`snapshot` copies with SQLite's backup API from a read-only connection, so it works while
the app writes. `export_journal` redacts, in every text value of every table, each known
token (`redaction.redact`: the registered ones and, through `token_for`, those the keyring
holds for the journal's profiles), anything secret-looking (tokens, passwords, keys,
Authorization headers, passwords in URLs) and any word that looks like a token
(`redaction.redact_token_like`). It then writes the copy with `VACUUM INTO` to a private
(0600) temporary file beside the destination and renames it: no deleted or overwritten
bytes survive in the exported file, and only its user may read it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from themis_desktop.core.journal.connection import JournalDamaged, JournalError, journal_error
from themis_desktop.core.util import atomic_file, redaction
from themis_desktop.core.util.paths import make_private, private_temp_file

REDACTED = redaction.REDACTED
TokenLookup = Callable[[str], str | None]  # a profile's name → its stored token
_NUMERIC_TYPES = ("INT", "REAL", "FLOA", "DOUB", "NUMERIC")

_NAME = (
    r"(?:[\w-]*(?:token|passwd|password|pwd|secret|api[_-]?key|apikey|access[_-]?key"
    r"|private[_-]?key|credential|client[_-]?secret)s?[\w-]*)"
)
_VALUE = r"(?:\"[^\"]*\"|'[^']*'|[^\s\"'&,;)}\]]+)"
_SECRET_KEY = re.compile(
    r"(?i)(token|passw|pwd|secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
    r"|credential|authorization|cookie)"
)
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization: Bearer abc / Authorization: Basic abc / authorization=abc
    (
        re.compile(
            r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)(?:(?:bearer|basic|token)\s+)?"
            r"[^\s\"',;]+"
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + REDACTED),
    # token=abc, "password": "abc", api_key: abc, X-Api-Key: abc
    (re.compile(rf"(?i)({_NAME}[\"']?\s*[:=]\s*){_VALUE}"), r"\1" + REDACTED),
    # --token abc, -p abc is too vague: only the long flags
    (re.compile(rf"(?i)(--{_NAME}\s+){_VALUE}"), r"\1" + REDACTED),
    # "token 3f9a…": a long opaque value (hex/base64, ≥ 16 chars with a digit) after the word
    (
        re.compile(rf"(?i)({_NAME}\s+)(?=[A-Za-z0-9+/=_.~-]*\d)[A-Za-z0-9+/=_.~-]{{16,}}"),
        r"\1" + REDACTED,
    ),
    # https://user:password@host
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s/:@]+:)[^\s/@]+(@)"), r"\1" + REDACTED + r"\2"),
    # a JSON Web Token anywhere
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), REDACTED),
]


@dataclass
class ExportReport:
    """What `export_journal` wrote and how many values it redacted, by `table.column`."""

    path: Path
    redacted: Counter[str] = field(default_factory=Counter)
    size: int = 0

    @property
    def total(self) -> int:
        return sum(self.redacted.values())

    def summary(self) -> str:
        where = ", ".join(f"{k}: {v}" for k, v in sorted(self.redacted.items()))
        return (
            f"Exported the journal to {self.path}; {self.total} secret-looking value(s) "
            f"redacted" + (f" ({where})." if where else ".")
        )


def redact_text(text: str) -> str:
    """`text` with every known token and every secret-looking part replaced by
    `[redacted]`."""
    text = redaction.redact(text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return redaction.redact_token_like(text)


def redact_value(value: Any) -> Any:
    """A JSON value with secret-named keys blanked and its strings redacted."""
    if isinstance(value, dict):
        return {
            k: (
                REDACTED
                if _SECRET_KEY.search(str(k)) and isinstance(v, str) and v
                else redact_value(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_cell(text: str) -> str:
    """A text cell: JSON documents are walked (keys and strings), other text is redacted."""
    text = redaction.redact(text)  # known tokens wherever they are, keys included
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            parsed = json.loads(text)
        except ValueError:
            pass
        else:
            cleaned = redact_value(parsed)
            if cleaned == parsed:
                return text
            return json.dumps(cleaned, sort_keys=True, ensure_ascii=False)
    return redact_text(text)


def open_read_only(path: Path, *, immutable_if_closed: bool = False) -> sqlite3.Connection:
    """A read-only connection to the journal at `path`.

    With `immutable_if_closed`, a journal no app has open (no `-wal` beside it) is read as
    immutable, so not even the `-wal`/`-shm` files are created next to it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No file {path}.")
    uri = f"{path.resolve().as_uri()}?mode=ro"
    if immutable_if_closed and not Path(f"{path}-wal").exists():
        uri += "&immutable=1"
    return sqlite3.connect(uri, uri=True)


def snapshot(src: Path, dest: Path, *, immutable_if_closed: bool = False) -> None:
    """A consistent copy of the journal `src` at `dest` (replaced), in rollback-journal mode
    so that reading it read-only leaves no `-wal`/`-shm` files."""
    source = open_read_only(src, immutable_if_closed=immutable_if_closed)
    try:
        target = sqlite3.connect(dest)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
    finally:
        source.close()


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]


def _text_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    """The columns of `table` that hold text: those declared so, and numeric ones into
    which text was written anyway (SQLite keeps it)."""
    columns = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    declared = [(c[1], (c[2] or "").upper()) for c in columns]
    text = [name for name, kind in declared if not any(t in kind for t in _NUMERIC_TYPES)]
    numeric = [name for name, kind in declared if name not in text]
    if numeric:
        found = " OR ".join(f"typeof(\"{c}\") = 'text'" for c in numeric)
        if conn.execute(f'SELECT 1 FROM "{table}" WHERE {found} LIMIT 1').fetchone():
            text += numeric
    return text


def _redact_database(conn: sqlite3.Connection, report: ExportReport) -> None:
    """Redact every text value of every table, each distinct value once."""
    for table in _tables(conn):
        for column in _text_columns(conn, table):
            values = conn.execute(
                f'SELECT DISTINCT "{column}" FROM "{table}" WHERE typeof("{column}") = \'text\''
            ).fetchall()
            for (value,) in values:
                cleaned = redact_cell(value)
                if cleaned != value:
                    changed = conn.execute(
                        f'UPDATE "{table}" SET "{column}" = ? WHERE "{column}" = ?',
                        [cleaned, value],
                    ).rowcount
                    report.redacted[f"{table}.{column}"] += changed
    conn.commit()


def _remember_profile_tokens(conn: sqlite3.Connection, token_for: TokenLookup) -> None:
    """Register the tokens `token_for` finds for the journal's profiles (the export then
    redacts them even when this run never used them)."""
    try:
        names = [row[0] for row in conn.execute("SELECT name FROM profiles")]
    except sqlite3.DatabaseError:
        return
    for name in names:
        if isinstance(name, str):
            redaction.remember(token_for(name))


def export_journal(src: Path, dest: Path, token_for: TokenLookup | None = None) -> ExportReport:
    """Copy the journal `src` to `dest` with its secrets stripped; `src` is only read.
    `token_for` looks up a profile's stored token (`connection.secrets.TokenStore().get`),
    so tokens this run never used are redacted too."""
    src, dest = Path(src), Path(dest)
    if src.resolve() == dest.resolve():
        raise ValueError("Export the journal to another file than itself.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    report = ExportReport(dest)
    partial: Path | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="themis-export-") as work:
            copy = Path(work) / "journal.sqlite"
            try:
                snapshot(src, copy)
            except sqlite3.DatabaseError as exc:
                raise journal_error(exc, src) or JournalError(
                    f"The journal {src} cannot be read ({exc})."
                ) from exc
            conn = sqlite3.connect(copy)
            try:
                conn.execute("PRAGMA secure_delete = ON")
                if token_for is not None:
                    _remember_profile_tokens(conn, token_for)
                _redact_database(conn, report)
                partial, fd = private_temp_file(dest)  # VACUUM INTO keeps its 0600
                os.close(fd)
                conn.execute("VACUUM INTO ?", [str(partial)])  # a fresh file: no stale bytes
            except sqlite3.DatabaseError as exc:
                damage = journal_error(exc, src)  # copied from the source with its pages
                if isinstance(damage, JournalDamaged):
                    raise damage from exc
                raise
            finally:
                conn.close()
        make_private(partial)
        atomic_file.install(partial, dest)  # fsynced, renamed over dest, the folder fsynced
    except BaseException:
        if partial is not None:
            with contextlib.suppress(OSError):
                partial.unlink()
        raise
    report.size = dest.stat().st_size
    return report
