"""Open a journal for review: check that a file is a journal this app can show, and start
the review window (`review.py`) in a process of its own. The main window uses this; it
imports nothing of the review window, which builds on the main window."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from PySide6.QtCore import QProcess

from themis_desktop.core.journal.export import open_read_only
from themis_desktop.core.journal.store import SCHEMA_VERSION


class ReviewError(Exception):
    """The file cannot be reviewed; the message is one line saying why and what to do."""


def check_journal(path: str | Path) -> None:
    """Raise `ReviewError` unless `path` is a journal this app can show (only reads it)."""
    path = Path(path)
    if not path.is_file():
        raise ReviewError(f"No journal at {path}: the file does not exist.")
    try:
        conn = open_read_only(path, immutable_if_closed=True)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {
                row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise ReviewError(f"{path} is not a Themis Desktop journal ({exc}).") from exc
    if version == 0 or not {"sessions", "events", "profiles"} <= tables:
        raise ReviewError(
            f"{path} is not a Themis Desktop journal (it holds no upgrade sessions or events)."
        )
    if version > SCHEMA_VERSION:
        raise ReviewError(
            f"{path} was written by a newer Themis Desktop (schema {version}, this one knows "
            f"{SCHEMA_VERSION}): update the app to review it."
        )


def review_command(path: str) -> tuple[str, list[str]]:
    """The program and arguments that open `path` for review in a new process."""
    if getattr(sys, "frozen", False):  # the PyInstaller build: the executable is the app
        return sys.executable, ["--review", str(path)]
    return sys.executable, ["-m", "themis_desktop", "--review", str(path)]


def start_review_process(path: str) -> bool:
    program, arguments = review_command(path)
    started, _pid = QProcess.startDetached(program, arguments)
    return bool(started)
