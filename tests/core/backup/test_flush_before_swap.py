"""A restore's staged files reach the disk before they replace the data."""

from __future__ import annotations

from pathlib import Path

import pytest

from themis_desktop.core.backup import swap


def _dirty_pages() -> int:
    """Kilobytes of file data waiting to be written back, from the kernel's counters."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Dirty:"):
            return int(line.split()[1])
    raise AssertionError("no Dirty: line in /proc/meminfo")


def test_flushing_the_staging_folder_writes_its_files_back(tmp_path):
    staged = tmp_path / "staging"
    staged.mkdir()
    before = _dirty_pages()
    (staged / "SST-000001").write_bytes(b"\1" * (64 << 20))  # 64 MiB left in the page cache
    swap.flush_to_disk(staged)
    # syncfs writes back the whole file system: what stays dirty is not our 64 MiB
    assert _dirty_pages() < before + (32 << 10)


def test_a_missing_folder_is_an_error_not_a_silent_success(tmp_path):
    with pytest.raises(FileNotFoundError):
        swap.flush_to_disk(tmp_path / "gone")


def _open_fds() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


def test_writeback_starts_while_the_restore_goes_on_and_keeps_no_file_open(tmp_path):
    path = tmp_path / "SST-000002"
    before = _open_fds()
    with swap.Writeback() as writeback, path.open("wb") as f:
        f.write(b"\2" * (64 << 20))
        f.flush()
        writeback.start(f.fileno())  # the caller closes its file right after
    # once the restore's walk ends, every write-out it started has been handed to the disk
    # and the duplicate descriptors are closed
    assert _open_fds() == before
    assert path.stat().st_size == 64 << 20
