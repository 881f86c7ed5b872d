"""A new journal is made from `fresh_schema.FRESH_SCHEMA`, without sqlite_utils (issue 23's
start-up): it must be exactly what the migrations make of an empty file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import sqlite_utils

from themis_desktop.core.journal.store import MIGRATIONS, SCHEMA_VERSION, Journal

MASTER = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"


def migrated(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    db = sqlite_utils.Database(conn)
    for step in MIGRATIONS:
        step(db)
    conn.commit()
    return conn


def test_a_new_journal_has_the_schema_the_migrations_make(tmp_path):
    expected = migrated(tmp_path / "migrated.sqlite")
    with Journal(tmp_path / "new.sqlite") as journal:
        assert journal.schema_version == SCHEMA_VERSION
        made = journal.conn.execute(MASTER).fetchall()
        dump = list(journal.conn.iterdump())
    wanted = expected.execute(MASTER).fetchall()
    assert made == wanted, (
        "FRESH_SCHEMA is out of date with MIGRATIONS: regenerate "
        "themis_desktop/core/journal/fresh_schema.py from the sqlite_master of a migrated file"
    )
    assert dump == list(expected.iterdump())
    expected.close()


def test_an_old_journal_is_still_migrated_step_by_step(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    db = sqlite_utils.Database(conn)
    MIGRATIONS[0](db)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with Journal(path) as journal:
        assert journal.schema_version == SCHEMA_VERSION
        made = journal.conn.execute(MASTER).fetchall()
    assert made == migrated(tmp_path / "migrated.sqlite").execute(MASTER).fetchall()


def test_opening_a_journal_imports_no_sqlite_utils(tmp_path):
    """Creating a journal and opening it again (as the window's start does) stays off
    sqlite_utils (and the numpy it imports), and so does appending an event (a command's
    journal write); a store's query through sqlite_utils imports it then."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from themis_desktop.core.journal.store import Journal\n"
        f"path = Path({str(tmp_path / 'j.sqlite')!r})\n"
        "Journal(path).close()\n"
        "with Journal(path) as journal:\n"
        "    journal.check_writable()\n"
        "print(sorted(m for m in ('sqlite_utils', 'numpy') if m in sys.modules))\n"
        "journal = Journal(path)\n"
        "journal.add_event('note', 'hello')\n"
        "print('sqlite_utils' in sys.modules)\n"
        "assert [e.message for e in journal.events()] == ['hello']\n"
        "print('sqlite_utils' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split("\n")[:3] == ["[]", "False", "True"]
