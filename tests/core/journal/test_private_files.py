"""Only the user may read what the app keeps (issue 16, item 15): the data folder is 0700;
the journal with its -wal and -shm, reports and exported journals are 0600 — whatever the
umask, and also for folders and journals an older version left readable."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from themis_desktop.core.journal.export import export_journal
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.util.paths import app_data_dir, journal_path, private_temp_file

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask most systems have: new files 0644, folders 0755 unless made private."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_data_folder_is_private_even_when_it_existed_readable(isolated_home):
    os.chmod(isolated_home, 0o755)  # as an older version left it
    assert app_data_dir() == isolated_home
    assert _mode(isolated_home) == 0o700


def test_a_new_journal_and_its_wal_and_shm_are_private():
    with Journal() as journal:
        journal.add_event("note", "written while the -wal and -shm exist")
        files = [journal_path(), Path(f"{journal_path()}-wal"), Path(f"{journal_path()}-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}


def test_a_journal_an_older_version_left_readable_is_narrowed(tmp_path):
    path = tmp_path / "journal.sqlite"
    with Journal(path) as journal:
        journal.add_event("note", "x")
    os.chmod(path, 0o644)
    with Journal(path) as journal:
        journal.add_event("note", "y")
        assert _mode(path) == 0o600
        assert _mode(Path(f"{path}-wal")) == 0o600


def test_a_journal_opened_read_only_is_left_as_it_is(tmp_path):
    path = tmp_path / "colleague.sqlite"
    with Journal(path):
        pass
    os.chmod(path, 0o644)
    with Journal(path, read_only=True):
        assert _mode(path) == 0o644  # someone else's copy, opened only to read


def test_an_exported_journal_is_private(tmp_path):
    with Journal() as journal:
        journal.add_event("note", "x")
    report = export_journal(journal_path(), tmp_path / "out" / "export.sqlite")
    assert _mode(report.path) == 0o600
    assert not list(report.path.parent.glob(".*"))  # no temporary left beside it


def test_private_temporaries_get_names_no_other_process_can_take(tmp_path):
    dest = tmp_path / "report.html"
    first, fd1 = private_temp_file(dest)
    second, fd2 = private_temp_file(dest)
    os.close(fd1)
    os.close(fd2)
    assert first != second and first.parent == second.parent == tmp_path
    assert _mode(first) == _mode(second) == 0o600
