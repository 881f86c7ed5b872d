"""Backups: byte-identical round trips, damage named, hostile archives refused, no half files."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import tarfile
import threading

import pytest
import zstandard

from tests.conftest import wait_until
from themis_desktop.core.backup.archive_format import BackupError, Manifest
from themis_desktop.core.backup.create import BackupCancelled, backup_files
from themis_desktop.core.backup.restore import quick_verify, remember_checksum, restore, verify


@pytest.fixture
def node_files(tmp_path):
    """A small RocksDB-like data dir, a config file and a vector index folder."""
    data = tmp_path / "node" / "data"
    data.mkdir(parents=True)
    for i in range(5):
        (data / f"00001{i}.sst").write_bytes(os.urandom(50_000) + b"key=value;" * 20_000)
    (data / "CURRENT").write_text("MANIFEST-000005\n")
    (data / "MANIFEST-000005").write_bytes(b"\x01\x02" * 100)
    (data / "empty.log").write_bytes(b"")
    (data / "sub").mkdir()
    (data / "sub" / "deep.txt").write_text("deep")
    os.chmod(data / "CURRENT", 0o600)
    os.utime(data / "CURRENT", (1_700_000_000, 1_700_000_000))
    config = tmp_path / "node" / "config.yaml"
    config.write_text("storage:\n  rocksdb_path: /var/lib/themisdb\n")
    vectors = tmp_path / "node" / "vector_index"
    vectors.mkdir()
    (vectors / "index.hnsw").write_bytes(b"\x00" * 4096)
    return data, config, vectors


def _backup(tmp_path, node_files, **kwargs):
    data, config, vectors = node_files
    return backup_files(
        tmp_path / "backups", "node-1", "1.7.0", data, [config], {"vector_index": vectors}, **kwargs
    )


def _tree(root):
    return {
        p.relative_to(root).as_posix(): (
            p.read_bytes(),
            p.stat().st_mode & 0o7777,
            int(p.stat().st_mtime),
        )
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_round_trip_is_byte_identical_with_modes_and_mtimes(tmp_path, node_files):
    data, config, _ = node_files
    result = _backup(tmp_path, node_files)
    assert result.archive.name.startswith("themis-node-1-1.7.0-") and result.size > 0
    assert result.manifest.files[0].path == "data"
    assert verify(result.archive).ok
    before, config_before = _tree(data), config.read_bytes()
    (data / "000010.sst").write_bytes(b"changed after the backup")
    config.write_text("changed")
    outcome = restore(result.archive, data, config.parent)
    assert _tree(data) == before
    assert config.read_bytes() == config_before
    assert outcome.kept is not None and (outcome.kept / "000010.sst").read_bytes() == (
        b"changed after the backup"
    )
    assert outcome.configs[str(config)].read_text() == "changed"


def test_the_manifest_is_the_first_member_and_beside_the_archive(tmp_path, node_files):
    result = _backup(tmp_path, node_files)
    with open(result.archive, "rb") as raw:
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        with tarfile.open(fileobj=reader, mode="r|") as tar:
            first = tar.next()
            manifest = Manifest.from_json(tar.extractfile(first).read())
    assert first.name == "MANIFEST.json"
    assert manifest.node == "node-1" and manifest.themis_version == "1.7.0"
    assert {f.path for f in manifest.files} >= {
        "data/CURRENT",
        "config/config.yaml",
        "vector_index/index.hnsw",
    }
    assert all(len(f.sha256) == 64 for f in manifest.files if f.type == "file")
    assert manifest.sources["data"].endswith("node/data")
    sidecar = result.archive.with_name(result.archive.name + ".manifest.json")
    assert sidecar.is_file()
    assert not quick_verify(result.archive).ok  # no checksum recorded before a full verify
    report = verify(result.archive)
    remember_checksum(report)
    assert report.archive_sha256 == hashlib.sha256(result.archive.read_bytes()).hexdigest()
    assert quick_verify(result.archive).ok


def test_the_archive_reads_with_standard_tools(tmp_path, node_files):
    result = _backup(tmp_path, node_files)
    listing = subprocess.run(
        f"zstd -dc '{result.archive}' | tar -tf -",
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listing[0] == "MANIFEST.json" and "data/CURRENT" in listing


def test_a_flipped_byte_is_detected_and_named(tmp_path, node_files):
    result = _backup(tmp_path, node_files)
    remember_checksum(verify(result.archive))
    raw = bytearray(result.archive.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    result.archive.write_bytes(bytes(raw))
    report = verify(result.archive)
    assert not report.ok and report.problems
    assert not quick_verify(result.archive).ok


def test_a_changed_file_inside_a_valid_archive_is_named(tmp_path, node_files):
    result = _backup(tmp_path, node_files)
    rewritten = _rewrite(result.archive, {"data/sub/deep.txt": b"DEEP"})
    report = verify(rewritten)
    assert any(
        "data/sub/deep.txt: content changed" in p or "data/sub/deep.txt:" in p
        for p in report.problems
    ), report.problems


def test_missing_and_extra_files_are_named(tmp_path, node_files):
    result = _backup(tmp_path, node_files)
    rewritten = _rewrite(result.archive, {"data/CURRENT": None, "data/intruder": b"x"})
    problems = verify(rewritten).problems
    assert "missing file: data/CURRENT" in problems
    assert "extra file not in the manifest: data/intruder" in problems


def test_a_truncated_archive_is_detected(tmp_path, node_files):
    result = _backup(tmp_path, node_files)
    raw = result.archive.read_bytes()
    result.archive.write_bytes(raw[: len(raw) * 2 // 3])
    report = verify(result.archive)
    assert not report.ok
    assert any("truncated" in p or "missing" in p for p in report.problems)


def test_restore_of_a_damaged_archive_changes_nothing(tmp_path, node_files):
    data = node_files[0]
    result = _backup(tmp_path, node_files)
    raw = result.archive.read_bytes()
    result.archive.write_bytes(raw[: len(raw) * 2 // 3])
    before = _tree(data)
    with pytest.raises(BackupError, match="nothing was changed"):
        restore(result.archive, data)
    assert _tree(data) == before
    assert not list(data.parent.glob(".data.restore-*"))


@pytest.mark.parametrize(
    ("name", "kind", "link"),
    [
        ("../evil", tarfile.REGTYPE, ""),
        ("/etc/evil", tarfile.REGTYPE, ""),
        ("data/escape", tarfile.SYMTYPE, "../../.."),
        ("data/dev", tarfile.CHRTYPE, ""),
        ("data/fifo", tarfile.FIFOTYPE, ""),
        ("data/hard", tarfile.LNKTYPE, "data/CURRENT"),
    ],
)
def test_hostile_archives_are_refused_before_writing_outside(
    tmp_path, node_files, name, kind, link
):
    result = _backup(tmp_path, node_files)
    hostile = _rewrite(result.archive, {}, extra_member=(name, kind, link))
    target = tmp_path / "restore-here" / "data"
    with pytest.raises(BackupError, match="refused"):
        restore(hostile, target)
    assert not (tmp_path / "evil").exists() and not target.exists()
    assert not list((tmp_path / "restore-here").glob(".*"))


def test_restore_onto_a_running_node_is_refused(tmp_path, node_files, start_demo_node):
    node = start_demo_node("1.7.3")
    result = _backup(tmp_path, node_files)
    with pytest.raises(BackupError, match="is running"):
        restore(result.archive, node.data_path, node_url=node.url)


def test_a_full_disk_leaves_no_partial_archive(tmp_path, node_files, monkeypatch):
    import themis_desktop.core.backup.create as backup_module

    written = {"n": 0}
    real = backup_module._stream

    def filling_stream(out, *args):
        class FullDisk:
            def write(self, data):
                written["n"] += len(data)
                if written["n"] > 100_000:
                    raise OSError(28, "No space left on device")
                return out.write(data)

            def __getattr__(self, name):
                return getattr(out, name)

        return real(FullDisk(), *args)

    monkeypatch.setattr(backup_module, "_stream", filling_stream)
    with pytest.raises(BackupError, match=r"disk holding .* is full"):
        _backup(tmp_path, node_files)
    assert list((tmp_path / "backups").iterdir()) == []


def test_not_enough_free_space_is_said_before_starting(tmp_path, node_files, monkeypatch):
    import shutil as shutil_module

    monkeypatch.setattr(
        shutil_module, "disk_usage", lambda _: shutil_module._ntuple_diskusage(10, 10, 1)
    )
    with pytest.raises(BackupError, match="Not enough free space"):
        _backup(tmp_path, node_files)


def test_cancel_leaves_nothing(tmp_path, node_files):
    cancelled = threading.Event()

    def progress(done, total):
        if done > 60_000:
            cancelled.set()

    with pytest.raises(BackupCancelled):
        _backup(tmp_path, node_files, progress=progress, cancelled=cancelled)
    assert list((tmp_path / "backups").iterdir()) == []


def test_a_killed_backup_leaves_no_archive_that_looks_complete(tmp_path):
    data = tmp_path / "big"
    data.mkdir()
    for i in range(40):
        (data / f"{i:06d}.sst").write_bytes(os.urandom(2 << 20))
    out = tmp_path / "out"
    code = (
        "import sys; from pathlib import Path;"
        "from themis_desktop.core.backup.create import backup_files;"
        f"backup_files(Path({str(out)!r}), 'n', '1.7.0', Path({str(data)!r}))"
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    wait_until(
        lambda: list(out.glob(".partial~*")),
        timeout=20,
        interval=0.01,
        what="the backup starts writing",
    )
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL  # killed mid-way, not finished
    assert not list(out.glob("themis-*.tar.zst"))  # only the hidden partial remains
    for partial in out.glob(".partial~*"):
        assert not verify(partial).ok


def _rewrite(archive, changes, extra_member=None):
    """A copy of `archive` re-packed with members changed, removed (None) or added."""
    buffer = io.BytesIO()
    with open(archive, "rb") as raw:
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        with (
            tarfile.open(fileobj=reader, mode="r|") as src,
            tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as dst,
        ):
            for member in src:
                content = src.extractfile(member).read() if member.isfile() else None
                if member.name in changes:
                    content = changes.pop(member.name)
                    if content is None:
                        continue
                    member.size = len(content)
                dst.addfile(member, io.BytesIO(content) if content is not None else None)
            for name, content in changes.items():
                info = tarfile.TarInfo(name)
                info.size = len(content)
                dst.addfile(info, io.BytesIO(content))
            if extra_member:
                name, kind, link = extra_member
                info = tarfile.TarInfo(name)
                info.type, info.linkname = kind, link
                dst.addfile(info)
    out = archive.with_name("rewritten.tar.zst")
    out.write_bytes(zstandard.ZstdCompressor().compress(buffer.getvalue()))
    return out


def _hostile_with_manifest(tmp_path, members):
    """An archive whose manifest lists every (name, type, link, content) member it holds."""
    from themis_desktop.core.backup.archive_format import FileEntry

    files = [FileEntry("data", 0, 0o755, 0, "", "dir")]
    for name, kind, link, content in members:
        digest = hashlib.sha256(content or b"").hexdigest() if kind == "file" else ""
        files.append(FileEntry(name, len(content or b""), 0o644, 0, digest, kind, link))
    manifest = Manifest("n", "1.7.0", "2026-01-01T00:00:00Z", "t", {}, files)
    body = manifest.to_json().encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("MANIFEST.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
        info = tarfile.TarInfo("data")
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        for name, kind, link, content in members:
            info = tarfile.TarInfo(name)
            if kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    out = tmp_path / "hostile.tar.zst"
    out.write_bytes(zstandard.ZstdCompressor().compress(buffer.getvalue()))
    return out


def test_chained_symlinks_cannot_write_outside_the_restore_folder(tmp_path, node_files):
    data = node_files[0]
    before = _tree(data)
    archive = _hostile_with_manifest(
        tmp_path,
        [
            ("data/s1", "symlink", "..", None),
            ("data/s2", "symlink", "s1/..", None),
            ("data/s2/PWNED", "file", "", b"owned"),
            ("data/s2/data/CURRENT", "file", "", b"overwritten"),
        ],
    )
    with pytest.raises(BackupError, match="links outside its folder data/"):
        restore(archive, data)
    assert not (data.parent / "PWNED").exists() and not (tmp_path / "PWNED").exists()
    assert _tree(data) == before


def test_a_member_of_another_type_than_listed_is_named(tmp_path):
    archive = _hostile_with_manifest(tmp_path, [("data/CURRENT", "file", "", b"x")])
    assert verify(archive).ok
    # the same name, but a link where the manifest says file
    rewritten = _rewrite(
        archive, {"data/CURRENT": None}, extra_member=("data/CURRENT", tarfile.SYMTYPE, "elsewhere")
    )
    problems = verify(rewritten).problems
    assert any("data/CURRENT: not what the manifest lists" in p for p in problems), problems


@pytest.mark.parametrize("cut", [4, 12])
def test_a_tail_cut_off_the_last_frame_is_detected(tmp_path, node_files, cut):
    result = _backup(tmp_path, node_files)
    result.archive.write_bytes(result.archive.read_bytes()[:-cut])
    report = verify(result.archive)
    assert not report.ok and any("truncated" in p for p in report.problems), report.problems


def test_a_damaged_manifest_is_reported_not_raised(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("MANIFEST.json")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"{nope"))
    archive = tmp_path / "bad.tar.zst"
    archive.write_bytes(zstandard.ZstdCompressor().compress(buffer.getvalue()))
    report = verify(archive)
    assert not report.ok and any("manifest is damaged" in p for p in report.problems)


def test_a_node_that_answers_even_with_401_counts_as_running(tmp_path, node_files):
    from tests.core.loopback import canned_http

    data = node_files[0]
    result = _backup(tmp_path, node_files)
    body = b'{"error":"missing_authorization","message":"Missing Authorization header"}'
    with canned_http(401, body) as url:
        with pytest.raises(BackupError, match="may still be running"):
            restore(result.archive, data, node_url=url)


def test_a_failed_config_swap_puts_the_data_back(tmp_path, node_files, monkeypatch):
    import themis_desktop.core.backup.swap as swap_module

    data, config, _ = node_files
    result = _backup(tmp_path, node_files)
    (data / "000010.sst").write_bytes(b"current data")
    before = _tree(data)

    def broken(*args):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(swap_module, "_swap_configs", broken)
    with pytest.raises(BackupError, match="data was put back"):
        restore(result.archive, data, config.parent)
    assert _tree(data) == before
    assert not list(data.parent.glob("data.pre-restore-*"))


def test_a_config_dir_that_is_a_file_is_refused_before_anything(tmp_path, node_files):
    data, config, _ = node_files
    result = _backup(tmp_path, node_files)
    before = _tree(data)
    with pytest.raises(BackupError, match="not a folder"):
        restore(result.archive, data, config)
    assert _tree(data) == before


def test_two_restores_in_the_same_second_keep_both_previous_versions(tmp_path, node_files):
    data = node_files[0]
    result = _backup(tmp_path, node_files)
    first = restore(result.archive, data)
    second = restore(result.archive, data)
    assert first.kept != second.kept and first.kept.exists() and second.kept.exists()


@pytest.mark.parametrize(
    "sizes",
    [
        (8 << 20, (4 << 20) + 1000, 1, 0, 100 << 10),  # pieces, a short last piece, tiny files
        ((256 << 10) - 1, 256 << 10, (256 << 10) + 1, 3 << 20),  # around the hand-over size
    ],
)
def test_every_file_s_sha256_is_that_of_its_bytes_whatever_its_size(tmp_path, sizes):
    """Pieces of a large file are hashed in a helper thread while the next one is read:
    each file's digest must still be that of its bytes in order."""
    data = tmp_path / "data"
    data.mkdir()
    expected = {}
    for number, size in enumerate(sizes):
        content = os.urandom(size)
        (data / f"{number:06d}.sst").write_bytes(content)
        expected[f"data/{number:06d}.sst"] = hashlib.sha256(content).hexdigest()
    result = backup_files(tmp_path / "out", "n", "1.8.0", data)
    got = {f.path: f.sha256 for f in result.manifest.files if f.type == "file"}
    assert got == expected
    report = verify(result.archive)
    assert report.ok, report.problems
    assert report.bytes_checked == sum(sizes)
