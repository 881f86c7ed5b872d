"""Backups and restores on a bad day: two at once, a renamed archive, kill -9 at every step,
full and read-only disks, an unwritable journal. Data is intact or restored automatically,
no leftover survives the next run, and every failure is a message."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.core.fs_faults import read_only, small_disk
from themis_desktop.core.backup.archive_format import BackupError
from themis_desktop.core.backup.create import backup_files
from themis_desktop.core.backup.restore import quick_verify, remember_checksum, restore, verify
from themis_desktop.core.util import temp_names


def cli(*args, env=None, cwd=None, timeout=180) -> subprocess.CompletedProcess:
    """The real command line in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "themis_desktop", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path.cwd()), **(env or {})},
        cwd=cwd,
        timeout=timeout,
    )


def make_data(folder: Path, files: int = 4, size: int = 300_000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (folder / f"{i:06d}.sst").write_bytes(os.urandom(size))
    (folder / "CURRENT").write_text("MANIFEST-000001\n")
    return folder


def stopped_backup(data: Path, out: Path) -> list:
    """`backup` arguments for node db1 at 1.7.0, its service stopped."""
    return [
        "backup",
        "--stopped",
        "--data-dir",
        data,
        "--node",
        "db1",
        "--themis-version",
        "1.7.0",
        "-o",
        out,
    ]


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# -- two at once -------------------------------------------------------------------------


def test_two_claims_of_one_name_get_two_names(tmp_path):
    first, fd1 = temp_names.create_file(tmp_path, "partial", "a.tar.zst")
    second, fd2 = temp_names.create_file(tmp_path, "partial", "a.tar.zst")
    os.close(fd1), os.close(fd2)
    assert first != second
    assert temp_names.claim(first, tmp_path / "a.tar.zst").name == "a.tar.zst"
    assert temp_names.claim(second, tmp_path / "a.tar.zst").name == "a-2.tar.zst"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-2.tar.zst", "a.tar.zst"]


def test_two_backups_of_one_node_at_once_both_succeed(tmp_path):
    data = make_data(tmp_path / "data", files=30, size=1 << 20)
    out = tmp_path / "out"
    args = stopped_backup(data, out)
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "themis_desktop", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(*child.communicate(timeout=180), child.returncode) for child in children]
    assert [code for _, _, code in results] == [0, 0], results
    archives = sorted(out.glob("themis-db1-*.tar.zst"))
    assert len(archives) == 2
    assert all(verify(a).ok for a in archives)
    assert hidden(out) == []
    listed = json.loads(cli("backups", "list", "--json").stdout)
    assert sorted(r["path"] for r in listed["backups"]) == [str(a) for a in archives]


# -- whose backup is it? -----------------------------------------------------------------


@pytest.fixture
def two_nodes(tmp_path):
    a = backup_files(tmp_path / "out", "node-a", "1.7.0", make_data(tmp_path / "a" / "data"))
    b = backup_files(tmp_path / "out", "node-b", "1.7.0", make_data(tmp_path / "b" / "data"))
    for result in (a, b):
        report = verify(result.archive)
        remember_checksum(report)
    return a, b


def test_an_archive_copied_over_another_name_fails_verify_and_keeps_the_evidence(
    tmp_path, two_nodes
):
    a, b = two_nodes
    sidecar = b.archive.with_name(b.archive.name + ".manifest.json")
    evidence = sidecar.read_bytes()
    shutil.copy(a.archive, b.archive)  # A's bytes under B's name, B's sidecar kept
    assert not quick_verify(b.archive).ok
    full = verify(b.archive)
    remember_checksum(full)
    problems = "; ".join(full.problems)
    assert not full.ok and "names another node" in problems and "'node-b'" in problems
    assert sidecar.read_bytes() == evidence  # never rewritten by the verify that disagrees
    assert not quick_verify(b.archive).ok
    data_b = tmp_path / "b" / "data"
    before = tree(data_b)
    with pytest.raises(BackupError, match="failed verification"):
        restore(b.archive, data_b, node="node-b")
    assert tree(data_b) == before
    done = cli("verify", b.archive)
    assert done.returncode == 1 and "names another node" in done.stdout


def test_restore_refuses_another_nodes_backup_unless_asked(tmp_path, two_nodes):
    a, _ = two_nodes
    data_b = tmp_path / "b" / "data"
    before = tree(data_b)
    with pytest.raises(BackupError, match="backup of node 'node-a', not of 'node-b'"):
        restore(a.archive, data_b, node="node-b")
    with pytest.raises(BackupError, match="--other-node"):
        restore(a.archive, data_b)
    assert tree(data_b) == before
    done = cli("restore", a.archive, "--data-dir", data_b, "--yes")
    assert done.returncode == 1 and "--other-node" in done.stderr
    done = cli("restore", a.archive, "--data-dir", data_b, "--yes", "--other-node")
    assert done.returncode == 0, done.stderr
    assert tree(data_b) == tree(tmp_path / "a" / "data")


# -- kill -9 at every step ---------------------------------------------------------------


@pytest.fixture
def node(tmp_path):
    """A stopped node's data dir and config folder, and a verified backup of them."""
    data = make_data(tmp_path / "node" / "data")
    config = tmp_path / "node" / "etc"
    config.mkdir()
    (config / "config.yaml").write_text("server:\n  port: 8765\n")
    archive = (
        cli(
            "backup",
            "--stopped",
            "--data-dir",
            data,
            "--config",
            config / "config.yaml",
            "--node",
            "db1",
            "--themis-version",
            "1.7.0",
            "-o",
            tmp_path / "out",
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    backed_up = tree(data)
    (data / "000000.sst").write_bytes(b"changed after the backup")
    (config / "config.yaml").write_text("server:\n  port: 9999\n")
    return data, config, Path(archive), backed_up


def _restore(node, env=None):
    data, config, archive, _ = node
    return cli(
        "restore",
        archive,
        "--data-dir",
        data,
        "--config-dir",
        config,
        "--node",
        "db1",
        "--yes",
        env=env,
    )


@pytest.mark.parametrize(
    "point", ["restore.staged", "restore.between-renames", "restore.after-data-swap"]
)
def test_a_restore_killed_anywhere_is_finished_by_the_next_run(node, point):
    data, config, _archive, backed_up = node
    killed = _restore(node, env={"THEMIS_DESKTOP_FAILPOINT": point})
    assert killed.returncode == -signal.SIGKILL
    if point == "restore.between-renames":
        assert not data.exists()  # the half-done swap the next run must repair
    again = _restore(node)
    assert again.returncode == 0, again.stderr
    if point != "restore.staged":
        assert "interrupted restore" in again.stdout and "completed" in again.stdout
    assert tree(data) == backed_up
    assert (config / "config.yaml").read_text() == "server:\n  port: 8765\n"
    assert [n for n in hidden(data.parent) if "~" in n or "intent" in n] == []


def test_the_app_start_finishes_an_interrupted_restore(node, tmp_path):
    """Not only a restore: opening the backups list also repairs a half-done swap."""
    data, _config, _archive, backed_up = node
    cli("profiles", "add", "p", "http://127.0.0.1:9", "--data-dir", data)
    killed = _restore(node, env={"THEMIS_DESKTOP_FAILPOINT": "restore.between-renames"})
    assert killed.returncode == -signal.SIGKILL and not data.exists()
    listed = cli("backups", "list")
    assert listed.returncode == 0, listed.stderr
    assert "interrupted restore" in listed.stdout
    assert tree(data) == backed_up


@pytest.mark.parametrize("point", ["backup.before-claim"])
def test_a_killed_backup_never_shows_as_one_and_the_next_removes_its_partial(tmp_path, point):
    data = make_data(tmp_path / "data")
    out = tmp_path / "out"
    args = stopped_backup(data, out)
    killed = cli(*args, env={"THEMIS_DESKTOP_FAILPOINT": point})
    assert killed.returncode == -signal.SIGKILL
    left = [p for p in out.iterdir()]
    assert len(left) == 1 and left[0].name.startswith(".partial~")
    assert not list(out.glob("themis-*"))  # never shows as a backup
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    assert hidden(out) == []  # the dead process's partial is gone


def test_backups_list_shows_the_space_leftovers_hold(tmp_path):
    data = make_data(tmp_path / "data")
    out = tmp_path / "out"
    args = stopped_backup(data, out)
    assert cli(*args).returncode == 0
    killed = cli(*args, env={"THEMIS_DESKTOP_FAILPOINT": "backup.before-claim"})
    assert killed.returncode == -signal.SIGKILL
    listing = cli("backups", "list")
    assert "1 leftover(s)" in listing.stdout and "left by a dead process" in listing.stdout
    as_json = json.loads(cli("backups", "list", "--json").stdout)
    (left,) = as_json["leftovers"]
    assert left["kind"] == "partial" and left["size"] > 100_000 and not left["alive"]


@contextlib.contextmanager
def demo_server(base: Path, cwd: Path):
    """A one-node demo-server process started in `cwd`: (its URL, its data dir)."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "themis_desktop",
            "demo-server",
            "--port",
            "0",
            "--no-router",
            "--data-dir",
            str(base),
            "--version",
            "1.7.0",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    try:
        line = server.stdout.readline().split()
        url, data = line[1], Path(line[-1])
        while server.stdout.readline().strip() != "ready":
            pass
        yield url, data
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_checkpoint_left_by_a_killed_backup_is_removed_next_time(tmp_path):
    with demo_server(tmp_path / "demo", cwd=tmp_path) as (url, data):
        args = ["backup", "--server", url, "--data-dir", data, "-o", tmp_path / "out"]
        killed = cli(*args, env={"THEMIS_DESKTOP_FAILPOINT": "backup.checkpoint-taken"})
        assert killed.returncode == -signal.SIGKILL
        assert [n for n in hidden(data.parent) if n.startswith(".checkpoint~")]
        done = cli(*args)
        assert done.returncode == 0, done.stderr
        assert [n for n in hidden(data.parent) if "~" in n] == []


def test_a_relative_data_dir_never_makes_the_server_write_in_its_own_folder(tmp_path):
    server_cwd = tmp_path / "server-cwd"
    server_cwd.mkdir()
    with demo_server(tmp_path / "demo", cwd=server_cwd) as (url, data):
        done = cli(
            "backup",
            "--server",
            url,
            "--data-dir",
            data.name,
            "-o",
            tmp_path / "out",
            cwd=data.parent,
        )
        assert done.returncode == 0, done.stderr
        assert list(server_cwd.iterdir()) == []
        assert [n for n in hidden(data.parent) if "checkpoint" in n] == []
        archive = Path(done.stdout.strip().splitlines()[-1])
        assert verify(archive).manifest.checkpoint


# -- full and read-only disks, an unwritable journal -------------------------------------


def test_a_full_disk_during_restore_says_so_and_changes_nothing(tmp_path):
    big = backup_files(
        tmp_path / "out", "db1", "1.7.0", make_data(tmp_path / "src", files=6, size=1 << 20)
    )
    with small_disk(tmp_path / "disk", "3m") as disk:
        data = make_data(disk / "data", files=1, size=10_000)
        before = tree(data)
        with pytest.raises(BackupError) as error:
            restore(big.archive, data, other_node=True)
        assert "is full" in str(error.value) and "failed verification" not in str(error.value)
        assert tree(data) == before
        assert hidden(disk) == []


def test_verify_on_a_read_only_mount_notes_the_sidecar_and_passes(tmp_path):
    result = backup_files(tmp_path / "out", "db1", "1.7.0", make_data(tmp_path / "data"))
    sidecar = result.archive.with_name(result.archive.name + ".manifest.json")
    before = sidecar.read_bytes()
    with read_only(result.archive.parent):
        done = cli("verify", result.archive)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "could not be recorded" in done.stderr and "Traceback" not in done.stderr
    assert sidecar.read_bytes() == before


def test_a_sidecar_that_cannot_be_written_still_catalogues_the_backup(tmp_path):
    data = make_data(tmp_path / "data")
    out = tmp_path / "out"
    out.mkdir(parents=True)
    for delta in range(0, 5):  # the sidecar's name is taken by a folder: it cannot be written
        t = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() + delta))
        (out / f"themis-db1-1.7.0-{t}.tar.zst.manifest.json").mkdir(exist_ok=True)
    done = cli(*stopped_backup(data, tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "could not be written" in done.stderr
    listed = json.loads(cli("backups", "list", "--json").stdout)["backups"]
    assert len(listed) == 1 and listed[0]["verified_at"]


def test_a_journal_that_cannot_be_written_says_where_the_backup_is(tmp_path, isolated_home):
    data = make_data(tmp_path / "data")
    assert cli("profiles", "list").returncode == 0  # the journal exists
    with read_only(isolated_home):
        done = cli(*stopped_backup(data, tmp_path / "out"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    archive = next((tmp_path / "out").glob("themis-db1-*.tar.zst"))
    assert str(archive) in done.stderr and "catalogue" in done.stderr
    assert verify(archive).ok


def test_a_file_that_vanishes_during_the_backup_is_named_and_nothing_is_kept(tmp_path):
    data = make_data(tmp_path / "data", files=3, size=2 << 20)
    victim = data / "000002.sst"

    def compaction_deletes_it(done, total):
        victim.unlink(missing_ok=True)

    with pytest.raises(BackupError, match=r"000002\.sst could not be read"):
        backup_files(tmp_path / "out", "db1", "1.7.0", data, progress=compaction_deletes_it)
    assert list((tmp_path / "out").iterdir()) == []
