"""Hostile and damaged archives: whatever restore would refuse, verify refuses first; no
input makes either crash, write outside its tree, or use unbounded memory."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile

import pytest
import zstandard

from tests.core.archive_builder import Member, build, data_dir
from themis_desktop.core.backup.archive_format import BackupError
from themis_desktop.core.backup.create import backup_files
from themis_desktop.core.backup.restore import restore, verify

HOSTILE = {
    "the data root is a link to its parent": [Member("data", "symlink", link=".")],
    "the data root is a link to a sibling": [Member("data", "symlink", link="sibling")],
    "the data root is a file": [Member("data", content=b"x")],
    "a link inside data climbs out": data_dir(Member("data/up", "symlink", link="..")),
    "a config link points into data": data_dir(
        Member("config/config.yaml", "symlink", link="../data/CURRENT")
    ),
    "a chain of links leads out": data_dir(
        Member("data/a", "symlink", link="b/.."), Member("data/b", "symlink", link=".")
    ),
    "a loop of links": data_dir(
        Member("data/a", "symlink", link="b"), Member("data/b", "symlink", link="a")
    ),
    "a member below a link": data_dir(
        Member("data/sub", "dir", mode=0o755),
        Member("data/l", "symlink", link="sub"),
        Member("data/l/x", content=b"1"),
    ),
    "the same name twice": data_dir(Member("data/CURRENT", content=b"evil", listed=False)),
    "a member named .": [Member(".", "dir", mode=0o755), *data_dir()],
    "a name with ./": data_dir(Member("./data/x", content=b"1")),
    "a folder that is not ours": [*data_dir(), Member("etc", "dir", mode=0o755)],
}


@pytest.fixture
def target(tmp_path):
    data = tmp_path / "node" / "data"
    data.mkdir(parents=True)
    (data / "CURRENT").write_text("mine\n")
    (tmp_path / "node" / "sibling").mkdir()
    return data


def _snapshot(root):
    return sorted(
        (p.relative_to(root).as_posix(), p.is_symlink(), p.read_bytes() if p.is_file() else b"")
        for p in root.rglob("*")
    )


@pytest.mark.parametrize("case", HOSTILE)
def test_verify_refuses_what_restore_refuses_and_nothing_changes(case, tmp_path, target):
    archive = build(tmp_path / "hostile.tar.zst", HOSTILE[case])
    before = _snapshot(target.parent)
    report = verify(archive)
    assert not report.ok and any("refused" in p for p in report.problems), report.problems
    with pytest.raises(BackupError, match="failed verification"):
        restore(archive, target, target.parent / "config", other_node=True)
    assert target.is_dir() and not target.is_symlink()
    assert _snapshot(target.parent) == before


def test_a_link_that_stays_in_its_folder_is_restored(tmp_path, target):
    members = data_dir(
        Member("data/sub", "dir", mode=0o755), Member("data/l", "symlink", "", "sub")
    )
    archive = build(tmp_path / "ok.tar.zst", members)
    assert verify(archive).ok
    restore(archive, target, other_node=True)
    assert os.readlink(target / "l") == "sub"


def test_setuid_and_setgid_bits_are_not_restored(tmp_path, target):
    members = data_dir(Member("data/tool", content=b"#!/bin/sh\n", mode=0o6755))
    archive = build(tmp_path / "suid.tar.zst", members)
    restore(archive, target, other_node=True)
    assert stat.S_IMODE((target / "tool").stat().st_mode) == 0o755


@pytest.mark.parametrize(
    "manifest, reason",
    [
        (
            {"files": [{"path": "data", "size": 0, "mode": 1 << 40, "mtime": 0, "type": "dir"}]},
            "not a permission mode",
        ),
        (
            {"files": [{"path": "data", "size": 0, "mode": 0o755, "mtime": 1e300, "type": "dir"}]},
            "not a time",
        ),
        (
            {"files": [{"path": "data/x", "size": "12", "mode": 0o644, "mtime": 0}]},
            "not a byte count",
        ),
        ({"files": "everything"}, "'files' is not a list"),
        ({"node": ["a"]}, "'node' is not a str"),
    ],
)
def test_a_malformed_manifest_is_a_message_not_a_crash(tmp_path, target, manifest, reason):
    archive = build(tmp_path / "m.tar.zst", data_dir(), manifest=manifest)
    report = verify(archive)
    assert not report.ok and any(reason in p for p in report.problems), report.problems
    with pytest.raises(BackupError, match=reason):
        restore(archive, target, other_node=True)
    assert (target / "CURRENT").read_text() == "mine\n"


def test_a_manifest_that_is_a_list_is_a_message(tmp_path):
    archive = build(tmp_path / "l.tar.zst", data_dir(), raw_manifest=b"[1, 2, 3]")
    assert "not a JSON object" in "; ".join(verify(archive).problems)


def _cli(*args, env=None, cwd=None, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "themis_desktop", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=timeout,
    )


_RSS_WRAPPER = (
    "import runpy, sys; sys.argv = ['themis-desktop', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('themis_desktop', run_name='__main__')\n"
    "except SystemExit as e:\n"
    "    code = e.code\n"
    "else:\n"
    "    code = 0\n"
    "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
    "peak = int(status.split()[0]) / 1024  # this program's own peak, not its parent's\n"
    "print(f'PEAK_RSS_MIB {peak:.1f}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def run_measured(*args) -> tuple[float, subprocess.CompletedProcess]:
    """Run the command line in a child that reports its own peak RSS (MiB) at exit."""
    done = subprocess.run(
        [sys.executable, "-c", _RSS_WRAPPER, *args], capture_output=True, text=True, timeout=300
    )
    line = [x for x in done.stderr.splitlines() if x.startswith("PEAK_RSS_MIB")][-1]
    return float(line.split()[1]), done


def zeros_bomb(path, size: int):
    """A valid archive of ours whose one data file is `size` zero bytes (compresses ~10 000×)."""
    digest = hashlib.sha256()
    block = bytes(1 << 20)
    for _ in range(size >> 20):
        digest.update(block)
    manifest = {
        "files": [
            {"path": "data", "size": 0, "mode": 0o755, "mtime": 0, "type": "dir", "sha256": ""},
            {
                "path": "data/zeros",
                "size": size,
                "mode": 0o644,
                "mtime": 0,
                "sha256": digest.hexdigest(),
            },
        ]
    }
    build(path, data_dir(), manifest=manifest)  # only for the manifest's bytes
    body = json.dumps({**json.loads(_first_member(path)), "files": manifest["files"]}).encode()
    folder = tarfile.TarInfo("data")
    folder.type, folder.mode = tarfile.DIRTYPE, 0o755
    return _stream_tar(
        path, _manifest_member(body), (folder, None), (_file("data/zeros", size), _Zeros(size))
    )


def _file(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    return info


def _manifest_member(body: bytes) -> tuple[tarfile.TarInfo, io.BytesIO]:
    return _file("MANIFEST.json", len(body)), io.BytesIO(body)


def _stream_tar(path, *members):
    """A zstd-compressed tar of `members` ((TarInfo, file or None), …), streamed: the
    test never holds a bomb's expanded bytes."""
    with open(path, "wb") as raw:
        writer = zstandard.ZstdCompressor(level=3).stream_writer(raw)
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.GNU_FORMAT) as tar:
            for info, content in members:
                tar.addfile(info, content)
        writer.flush(zstandard.FLUSH_FRAME)
    return path


class _Zeros(io.RawIOBase):
    def __init__(self, size):
        self.left = size

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n

    def readable(self):
        return True


def _first_member(path) -> bytes:
    with open(path, "rb") as raw:
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        with tarfile.open(fileobj=reader, mode="r|") as tar:
            return tar.extractfile(tar.next()).read()


@pytest.mark.slow
def test_verify_of_a_zeros_bomb_streams_in_bounded_memory(tmp_path):
    archive = zeros_bomb(tmp_path / "bomb.tar.zst", 768 << 20)
    assert archive.stat().st_size < 1 << 20  # 768 MiB of zeros in well under 1 MiB
    peak, done = run_measured("verify", str(archive))
    assert done.returncode == 0, done.stdout + done.stderr
    assert peak < 200, f"verify peaked at {peak:.0f} MiB"


def test_a_manifest_bomb_is_refused_before_it_is_read(tmp_path):
    body = b'{"format": 1, "files": [], "pad": "' + b" " * (300 << 20) + b'"}'
    path = _stream_tar(tmp_path / "manifest-bomb.tar.zst", _manifest_member(body))
    assert path.stat().st_size < 100_000
    peak, done = run_measured("verify", str(path))
    assert done.returncode == 1 and "not one of our archives" in done.stdout, done.stdout
    assert peak < 200, f"verify peaked at {peak:.0f} MiB"


def test_a_huge_long_name_header_is_refused(tmp_path):
    raw = io.BytesIO()
    manifest = _first_member(build(tmp_path / "any.tar.zst", data_dir()))
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("MANIFEST.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        info = tarfile.TarInfo("data/" + "x" * (2 << 20))  # a 2 MiB GNU long name
        tar.addfile(info, io.BytesIO(b""))
    path = tmp_path / "longname.tar.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(raw.getvalue()))
    report = verify(path)
    assert not report.ok and "extended tar header" in "; ".join(report.problems)


@pytest.fixture
def small_backup(tmp_path):
    data = tmp_path / "src" / "data"
    data.mkdir(parents=True)
    for i in range(4):
        (data / f"00000{i}.sst").write_bytes(os.urandom(300_000))
    (data / "CURRENT").write_text("MANIFEST-1\n")
    return backup_files(tmp_path / "out", "db1", "1.7.0", data)


def test_an_archive_cut_inside_its_manifest_is_a_message(tmp_path, small_backup):
    cut = tmp_path / "cut.tar.zst"
    cut.write_bytes(small_backup.archive.read_bytes()[:300])
    done = _cli("verify", str(cut))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "DAMAGED" in done.stdout and "truncated" in done.stdout, done.stdout


def test_a_flipped_byte_names_the_file_it_damaged(tmp_path, small_backup):
    blob = bytearray(small_backup.archive.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    damaged = tmp_path / "flipped.tar.zst"
    damaged.write_bytes(bytes(blob))
    problems = "; ".join(verify(damaged).problems)
    assert "data/00000" in problems, problems


def test_a_cut_last_frame_is_noticed(tmp_path, small_backup):
    cut = tmp_path / "short.tar.zst"
    cut.write_bytes(small_backup.archive.read_bytes()[:-3])
    assert "truncated" in "; ".join(verify(cut).problems)


def test_trailing_garbage_is_noticed(tmp_path, small_backup):
    longer = tmp_path / "longer.tar.zst"
    shutil.copy(small_backup.archive, longer)
    with open(longer, "ab") as f:
        f.write(b"garbage!" * 10)
    assert not verify(longer).ok
