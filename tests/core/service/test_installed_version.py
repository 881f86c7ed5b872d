"""`themis_server --version` through the service control: real scripts as the binary, the
real era-A binary (it starts a server instead: killed, nothing left behind), the demo."""

from __future__ import annotations

import os
import stat
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import alive, processes_with, wait_until
from themis_desktop.core.connection.profiles import NodeEndpoint
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.service.control import DemoController, installed_version

REAL_BINARY = Path("/work/shared/themisdb-real/bin/themis_server")
NODE = NodeEndpoint("http://127.0.0.1:8765", "n1")


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _commands(binary: str) -> ServiceConfig:
    return ServiceConfig(kind="commands", stop="true", start="true", binary=binary)


@pytest.fixture
def own_tmp(tmp_path, monkeypatch) -> Path:
    """Temporary dirs of the code under test go here (to see that none is left), and the
    working dir is an empty folder (to see that nothing is written into it)."""
    scratch, cwd = tmp_path / "scratch", tmp_path / "cwd"
    scratch.mkdir()
    cwd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.chdir(cwd)
    return tmp_path


def test_a_binary_that_prints_its_version(own_tmp):
    binary = own_tmp / "{node}" / "themis_server"
    _script(Path(str(binary).replace("{node}", "n1")), 'echo "1.8.2"\n')
    reading = installed_version(_commands(str(binary)), NODE)
    assert reading.version == "1.8.2" and reading.known
    suffixed = _script(own_tmp / "b" / "themis_server", "echo 1.3.4-hotfix\n")
    assert installed_version(_commands(str(suffixed)), NODE).version == "1.3.4-hotfix"
    systemd = ServiceConfig(kind="systemd", binary=str(suffixed))
    assert installed_version(systemd, NODE).version == "1.3.4-hotfix"
    assert os.listdir(own_tmp / "scratch") == [] and os.listdir(own_tmp / "cwd") == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("echo 'ThemisDB 1.8.2'\n", "printed 'ThemisDB 1.8.2', not a version (X.Y.Z)"),
        ("echo 1.8.2; echo 1.8.3\n", "not a version"),
        ("echo unknown\n", "printed 'unknown'"),  # built without THEMIS_VERSION_STRING
        ("echo 1.8.2; exit 3\n", "--version exited with code 3"),
    ],
)
def test_anything_but_one_version_line_is_no_reading(own_tmp, body, reason):
    binary = _script(own_tmp / "bin" / "themis_server", body)
    reading = installed_version(_commands(str(binary)), NODE)
    assert reading.version is None and reason in reading.reason


def test_no_binary_manual_control_and_a_missing_file(own_tmp):
    assert installed_version(_commands(""), NODE).reason == "no binary set in the profile"
    assert "manual service control" in installed_version(ServiceConfig(), NODE).reason
    missing = installed_version(_commands(str(own_tmp / "nope")), NODE)
    assert missing.version is None and missing.reason.startswith("cannot run")


def test_an_era_a_target_is_not_asked(own_tmp):
    marker = own_tmp / "ran"
    binary = _script(own_tmp / "bin" / "themis_server", f"touch {marker}; echo 1.2.0\n")
    reading = installed_version(_commands(str(binary)), NODE, expected="1.2.0")
    assert reading.version is None and "era A (before 1.3)" in reading.reason
    assert not marker.exists()  # it would only have started a server on a stopped node


def test_a_binary_that_starts_a_server_instead_is_killed_with_its_children(own_tmp, monkeypatch):
    pids = own_tmp / "pids"
    monkeypatch.setenv("PIDS_FILE", str(pids))
    # like era A: flags ignored, a server (here: a child that ignores SIGTERM) keeps running
    body = (
        'echo "starting server on 0.0.0.0:8765"\n'
        "mkdir -p data/logs\n"
        "(trap '' TERM; sleep 300) &\n"
        'echo $! >> "$PIDS_FILE"; echo $$ >> "$PIDS_FILE"\n'
        "trap '' TERM\n"
        "sleep 300\n"
    )
    binary = _script(own_tmp / "bin" / "themis_server", body)
    started = time.monotonic()
    reading = installed_version(_commands(str(binary)), NODE, timeout=1.0)
    assert time.monotonic() - started < 3.0
    assert reading.version is None
    assert "did not print a version within 1 s: an era-A binary (before 1.3) starts a " in (
        reading.reason
    )
    assert reading.reason.endswith("stopped it")
    spawned = [int(line) for line in pids.read_text().split()]
    assert len(spawned) == 2
    wait_until(lambda: not any(alive(pid) for pid in spawned), what=f"the spawned {spawned} end")
    assert os.listdir(own_tmp / "scratch") == [] and os.listdir(own_tmp / "cwd") == []


@pytest.mark.skipif(not os.access(REAL_BINARY, os.X_OK), reason="no real era-A binary here")
def test_the_real_era_a_binary_is_stopped_and_leaves_nothing(own_tmp):
    before = processes_with("--version")
    reading = installed_version(_commands(str(REAL_BINARY)), NODE)
    if reading.reason.endswith(("exited with code 127", "exited with code 1")):
        pytest.skip(f"the real binary does not run on this machine: {reading.reason}")
    assert reading.version is None
    assert "did not print a version within 5 s" in reading.reason
    assert "an era-A binary (before 1.3) starts a server instead; stopped it" in reading.reason
    assert processes_with("--version") - before == set()
    # it wrote ./data/... into its temporary working dir only, which is gone
    assert os.listdir(own_tmp / "scratch") == [] and os.listdir(own_tmp / "cwd") == []


def test_the_demo_says_which_version_the_next_start_runs(controlled_cluster):
    _, control, profile = controlled_cluster(nodes=1, version="1.7.0")
    node = profile.nodes[0]
    assert installed_version(profile.service, node).version == "1.7.0"
    DemoController(control.url).install(node, "1.8.0")
    assert installed_version(profile.service, node).version == "1.8.0"
    control.stop()
    gone = installed_version(profile.service, node)
    assert gone.version is None and "control API did not answer" in gone.reason
