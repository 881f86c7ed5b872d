"""Opening one new journal from several threads at once: each opens it (no "locked")."""

from __future__ import annotations

import threading
from pathlib import Path

from themis_desktop.core.journal.store import Journal


def test_threads_opening_a_new_journal_together_all_succeed(tmp_path: Path) -> None:
    for attempt in range(20):
        path = tmp_path / f"journal-{attempt}.sqlite"
        start = threading.Barrier(4)
        errors: list[Exception] = []

        def open_it(
            path: Path = path, start: threading.Barrier = start, errors: list = errors
        ) -> None:
            start.wait()
            try:
                Journal(path, durable=False).close()
            except Exception as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        with Journal(path) as journal:
            assert journal.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
