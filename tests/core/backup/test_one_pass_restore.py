"""Restore reads the archive once: each member is hashed as it is written to staging, and
the check after the swap trusts only files that are still exactly what was written."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.core.archive_builder import Member, build, data_dir
from themis_desktop.core.backup.archive_format import BackupError, FileEntry, Manifest
from themis_desktop.core.backup.create import backup_files
from themis_desktop.core.backup.restore import PUMP_CHUNK, compare_tree, restore

BIG = 2 * PUMP_CHUNK + 12345  # several decompressed pieces, hashed beside its writes


def _manifest_with(members: list[Member], sha256: dict[str, str]) -> bytes:
    """The manifest `build` would write, with some files' SHA-256 replaced."""
    files = [
        FileEntry(
            m.name,
            len(m.content) if m.kind == "file" else 0,
            m.mode,
            0,
            sha256.get(m.name, hashlib.sha256(m.content).hexdigest()) if m.kind == "file" else "",
            m.kind,
            m.link,
        )
        for m in members
    ]
    return Manifest("n", "1.7.0", "2026-01-01T00:00:00Z", "t", {}, files).to_json().encode()


@pytest.mark.parametrize("damaged", ["data/big.sst", "data/small"])
def test_a_damaged_member_is_caught_in_the_one_pass_and_nothing_is_swapped(tmp_path, damaged):
    good = os.urandom(BIG)
    members = data_dir(Member("data/big.sst", content=good), Member("data/small", content=b"s"))
    listed = {damaged: hashlib.sha256(b"what the backup held").hexdigest()}
    archive = build(tmp_path / "a.tar.zst", members, raw_manifest=_manifest_with(members, listed))
    target = tmp_path / "node" / "data"
    target.mkdir(parents=True)
    (target / "CURRENT").write_text("old\n")
    with pytest.raises(BackupError, match="nothing was changed") as caught:
        restore(archive, target, other_node=True)
    assert f"{damaged}: content changed" in str(caught.value)
    assert [p.name for p in target.iterdir()] == ["CURRENT"]
    assert (target / "CURRENT").read_text() == "old\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["data"]  # no staging left


def test_a_cut_member_is_caught_and_nothing_is_swapped(tmp_path):
    members = data_dir(Member("data/big.sst", content=os.urandom(BIG)))
    archive = build(tmp_path / "a.tar.zst", members)
    raw = archive.read_bytes()
    archive.write_bytes(raw[: len(raw) // 2])
    target = tmp_path / "node" / "data"
    with pytest.raises(BackupError, match="nothing was changed"):
        restore(archive, target, other_node=True)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_the_check_after_a_restore_still_sees_a_file_changed_since(tmp_path):
    data = tmp_path / "src"
    data.mkdir()
    (data / "big.sst").write_bytes(os.urandom(BIG))
    (data / "small").write_bytes(b"abc")
    result = backup_files(tmp_path / "out", "n", "1.8.0", data)
    restored = restore(result.archive, tmp_path / "node" / "data", other_node=True)
    assert set(restored.written) == {"data/big.sst", "data/small"}
    assert compare_tree(restored.manifest, restored.data_dir, written=restored.written) == []
    # same size, same modification time, other bytes: only the change time tells
    path = restored.data_dir / "small"
    info = path.stat()
    path.write_bytes(b"abd")
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    (restored.data_dir / "extra").write_bytes(b"x")
    assert compare_tree(restored.manifest, restored.data_dir, written=restored.written) == [
        "changed small",
        "extra extra",
    ]
    # and without what the restore wrote, every file is read again
    assert compare_tree(restored.manifest, restored.data_dir) == ["changed small", "extra extra"]
