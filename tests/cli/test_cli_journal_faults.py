"""A journal that cannot be used is a message, never a traceback (issue 16, items 11 and 12):
a damaged page, a read-only file, a folder where the -wal cannot be created. Each message
says what happened, where, and what to do; the CLI exits 2, the window says it at start."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from themis_desktop.cli import main
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal, JournalReadOnly
from themis_desktop.core.util.paths import journal_path

MISLEADING = "check that the copy is complete"  # meant for review copies only


@contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """`path` (a file or a folder) cannot be written, not even by root: as root with the
    immutable attribute (`chattr +i`), otherwise with the permission bits."""
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", str(path)]).returncode != 0:
            pytest.skip(
                "running as root, where only the immutable attribute stops writes, and "
                "chattr +i is not available on this file system or to this process"
            )
        try:
            yield
        finally:
            subprocess.run([chattr, "-i", str(path)], check=True)
    else:
        mode = stat.S_IMODE(path.stat().st_mode)
        os.chmod(path, mode & ~0o222)
        try:
            yield
        finally:
            os.chmod(path, mode)


@pytest.fixture
def planned(capsys) -> Path:
    """A journal with a profile and a planned session, closed (its -wal folded in)."""
    assert main(["profiles", "add", "lab", "http://127.0.0.1:1"]) == 0
    assert main(["session", "start", "--profile", "lab", "--to", "1.8", "--from", "1.7.0"]) == 0
    capsys.readouterr()
    path = journal_path()
    assert not Path(f"{path}-wal").exists() or not Path(f"{path}-wal").stat().st_size
    return path


def _overwrite_page_of(path: Path, table: str) -> None:
    """Overwrite the first page of `table` with garbage, as a failing disk would."""
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [table]).fetchone()
    conn.close()
    with open(path, "r+b") as handle:
        handle.seek((root[0] - 1) * page_size)
        handle.write(b"\xa5" * page_size)


@pytest.mark.parametrize("command", [["session", "status"], ["report", "-o", "REPORT"]])
def test_a_damaged_page_is_a_message_with_what_to_do(planned, capsys, tmp_path, command):
    _overwrite_page_of(planned, "sessions")
    argv = [str(tmp_path / "r.html") if a == "REPORT" else a for a in command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("themis-desktop: The journal ")
    assert str(planned) in err and "damaged" in err
    assert "move it aside" in err and ".recover" in err  # what to do
    assert err.count("\n") == 1  # one message, no traceback
    assert not (tmp_path / "r.html").exists()


def test_adding_a_profile_to_a_read_only_journal_says_so(planned, capsys):
    with unwritable(planned):
        assert main(["profiles", "add", "db", "http://127.0.0.1:2"]) == 2
        err = capsys.readouterr().err
        assert main(["profiles", "list"]) == 0  # reading it still works
    assert f"The journal {planned} is read-only" in err
    assert "nothing was saved" in err and "writable" in err  # what happened, what to do
    assert MISLEADING not in err
    assert "db:" not in capsys.readouterr().out
    with Journal() as journal:
        assert [p.name for p in profile_store.load_all(journal)] == ["lab"]


def test_a_read_only_journal_that_needs_a_change_to_open_says_read_only(planned, capsys):
    conn = sqlite3.connect(planned)  # as an older version left it: not yet in WAL mode
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    with unwritable(planned):
        assert main(["session", "status"]) == 2
    err = capsys.readouterr().err
    assert f"The journal {planned} is read-only" in err
    assert MISLEADING not in err


def test_a_folder_where_the_wal_cannot_be_created_is_named(planned, capsys):
    with unwritable(planned.parent):
        assert main(["profiles", "list"]) == 2
    err = capsys.readouterr().err
    assert f"The journal {planned} cannot be opened" in err
    assert "journal.sqlite-wal" in err and str(planned.parent) in err
    assert MISLEADING not in err


def test_the_window_says_up_front_that_the_journal_is_read_only(planned, qapp):
    """The window opens the journal at start: a read-only one is said then, in a message box,
    not at the first change."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    from themis_desktop.ui.app import run_gui

    shown: list[str] = []

    def answer() -> None:
        box = qapp.activeModalWidget()
        if isinstance(box, QMessageBox):
            shown.append(box.text())
            box.accept()
        else:
            QTimer.singleShot(20, answer)

    with unwritable(planned):
        with Journal() as journal, pytest.raises(JournalReadOnly):
            journal.check_writable()
        QTimer.singleShot(0, answer)
        assert run_gui() == 2
    assert len(shown) == 1 and f"The journal {planned} is read-only" in shown[0]


def test_a_demo_started_for_a_window_that_cannot_open_is_stopped_and_removed(
    planned, qapp, tmp_path
):
    """`--demo` starts the cluster before the window: when the window cannot open (a
    read-only journal), the cluster's process and its temporary data go too."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    from themis_desktop.demo.launcher import DemoLauncher
    from themis_desktop.ui.app import run_gui

    def answer() -> None:
        box = qapp.activeModalWidget()
        if isinstance(box, QMessageBox):
            box.accept()
        else:
            QTimer.singleShot(20, answer)

    launcher = DemoLauncher(tmp_path / "demo", 1, "1.7.0", "--data-size-mb", "1")
    launcher.spawn()
    process = launcher.process
    assert process is not None
    with unwritable(planned):
        QTimer.singleShot(0, answer)
        assert run_gui(launcher=launcher) == 2
    assert process.poll() is not None, "the demo-server still runs"
    assert not (tmp_path / "demo").exists()
