"""The journal is storage only: each feature reads and writes its tables through its own
store module, and events are decoded in one place (`journal.store.event_from_row`)."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).parents[3] / "themis_desktop"
# the modules that own a table (besides the journal itself)
STORES = {
    "core/connection/profile_store.py",
    "core/upgrade/session_store.py",
    "core/rollout/store.py",
    "core/metrics/store.py",
    "core/backup/catalog.py",
    "core/guides/checklist.py",
    "core/logs/store.py",
    "core/upgrade/rehearsal_store.py",
    "core/backup/write_readings.py",
}
# a Journal's `db` indexed, queried, its table or connection taken, or handed on whole
RAW_TABLE = re.compile(
    r"\w\.db(\[|\.(execute|executemany|executescript|query|table|conn)\b|\s*$|\s*[,)])"
)
EVENT_BUILT = re.compile(r"\bEvent\(\*\*")


def offenders(root: Path, pattern: re.Pattern[str], allowed: set[str]) -> list[str]:
    """`file:line` of every match of `pattern` in the Python files under `root`, except in
    `core/journal/` and the `allowed` files (paths relative to `root`)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name.startswith("core/journal/") or name in allowed:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{name}:{number}")
    return found


def test_no_raw_table_access_outside_the_journal_and_the_stores():
    assert offenders(PACKAGE, RAW_TABLE, STORES) == [], (
        "read and write a table through its feature's store module (add a function there)"
    )


def test_events_are_decoded_only_by_the_journal():
    assert offenders(PACKAGE, EVENT_BUILT, set()) == [], "use journal.store.event_from_row"


def test_the_check_finds_a_raw_table_access(tmp_path):
    (tmp_path / "core" / "journal").mkdir(parents=True)
    (tmp_path / "core" / "logs").mkdir()
    (tmp_path / "ui").mkdir()
    (tmp_path / "core" / "journal" / "store.py").write_text('rows = journal.db["events"]\n')
    (tmp_path / "core" / "logs" / "store.py").write_text('journal.db.execute("DELETE …")\n')
    (tmp_path / "ui" / "page.py").write_text(
        "x = 1\n"
        'rows = journal.db["sessions"].rows_where()\n'
        'journal.db.execute("SELECT * FROM log_lines")\n'
        'self.journal.db.table("events").get(1)\n'
        'journal.db.query("SELECT 1")\n'
        'journal.db.conn.execute("UPDATE hops SET note = ?", [""])\n'
        "db = journal.db\n"
        "count_rows(journal.db, 'backups')\n"
        'name, _ = QFileDialog.getOpenFileName(self, "", "", "Journal (*.db)")\n'
        "from sqlite_utils.db import NotFoundError\n"
    )
    assert offenders(tmp_path, RAW_TABLE, {"core/logs/store.py"}) == [
        f"ui/page.py:{n}" for n in range(2, 9)
    ]
