"""A demo 1.0.x node reproduces the real 1.0.x server's known issues (resources/releases.yaml)
with `--known-issues on`, the default, and none of them with it off: it cannot reopen its
data, its server-side restore fails with /health still healthy, and it hangs on SIGTERM
until the control API kills it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from themis_desktop.demo.cluster import DemoCluster
from themis_desktop.demo.control import DemoControl
from themis_desktop.demo.node import DemoNode, NodeOptions
from themis_desktop.demo.storage import StorageError

ROOT = Path(__file__).resolve().parents[2]
REFUSED = "Column families not opened: prompt_templates"


def _node(folder: Path, version: str = "1.0.1", **options) -> DemoNode:
    return DemoNode(
        NodeOptions(version=version, data_dir=folder, data_size_mb=1, workload=False, **options)
    )


def _log(folder: Path) -> str:
    return (folder / "themis_server.log").read_text()


def _refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_a_1_0_node_cannot_start_again_on_its_own_data(tmp_path):
    with _node(tmp_path / "n") as first:
        port = first.port
    second = _node(tmp_path / "n", port=port)
    with pytest.raises(StorageError, match=REFUSED):
        second.start()
    assert not second.running and _refused(port)
    log = _log(tmp_path / "n")
    assert "Failed to open RocksDB TransactionDB: Invalid argument: Column families not " in log
    assert log.rstrip().endswith("Failed to open database!")
    # the next line opens it: an upgrade away from 1.0.x starts
    with _node(tmp_path / "n", version="1.1.0") as upgraded:
        assert httpx.get(upgraded.url + "/health").status_code == 200


def test_with_known_issues_off_a_1_0_node_restarts_on_its_data(tmp_path):
    for _ in range(2):
        with _node(tmp_path / "n", known_issues=False) as node:
            assert httpx.get(node.url + "/entities/orders:0").status_code == 200
    assert "Failed to open" not in _log(tmp_path / "n")


def _backup_and_restore(client: httpx.Client, folder: Path) -> httpx.Response:
    assert client.get("/entities/orders:0").status_code == 200
    ck = str(folder / "ck")
    assert client.post("/admin/backup", json={"directory": ck}).status_code == 200
    return client.post("/admin/restore", json={"directory": ck})


def test_a_1_0_restore_fails_with_the_database_closed_while_health_says_healthy(tmp_path):
    with _node(tmp_path / "n") as node, httpx.Client(base_url=node.url, timeout=10) as client:
        restore = _backup_and_restore(client, tmp_path)
        assert restore.status_code == 500
        assert restore.json()["message"] == f"Failed to restore from checkpoint {tmp_path}/ck"
        health = client.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "healthy"
        read = client.get("/entities/orders:0")
        assert (read.status_code, read.json()["message"]) == (404, "Entity not found")
        write = client.put("/entities/orders:0", json={"blob": "x"})
        assert write.status_code == 500
        assert write.json()["message"] == (
            "Index/Storage update failed: put: Datenbank ist nicht geöffnet"
        )
        again = client.post("/admin/backup", json={"directory": str(tmp_path / "ck2")})
        assert again.status_code == 500
    log = _log(tmp_path / "n")
    assert f"Failed to reopen DB after restore from '{tmp_path}/ck'" in log
    assert "Column families not opened: prompt_templates" in log


def test_with_known_issues_off_a_1_0_restore_works(tmp_path):
    node = _node(tmp_path / "n", known_issues=False)
    with node, httpx.Client(base_url=node.url, timeout=10) as client:
        restore = _backup_and_restore(client, tmp_path)
        assert restore.status_code == 200
        assert client.get("/entities/orders:0").status_code == 200
        assert client.put("/entities/x", json={"blob": "x"}).status_code == 201


def _stop_over_control(tmp_path: Path, known_issues: bool) -> tuple[dict, float, DemoCluster]:
    cluster = DemoCluster(
        tmp_path, nodes=1, version="1.0.0", data_size_mb=1, workload=False,
        known_issues=known_issues,
    )  # fmt: skip
    with cluster, DemoControl(cluster, stop_timeout=0.4) as control:
        port = cluster.nodes[0].port
        started = time.monotonic()
        answer = httpx.post(f"{control.url}/nodes/{port}/stop", timeout=10)
        seconds = time.monotonic() - started
        assert answer.status_code == 200 and _refused(port)
        again = httpx.post(f"{control.url}/nodes/{port}/start", timeout=10)
        body = answer.json()
        body["start_status"], body["start"] = again.status_code, again.json()
    return body, seconds, cluster


def test_a_1_0_node_hangs_after_a_clean_shutdown_and_is_killed_after_the_timeout(tmp_path):
    body, seconds, _ = _stop_over_control(tmp_path, known_issues=True)
    assert body["running"] is False and body["stopped"] == "killed"
    assert body["message"].startswith("killed after 0.4 s: it logged a clean shutdown")
    assert seconds >= 0.4
    log = _log(tmp_path / "node-1")
    tail = log[log.index("Received shutdown signal...") :]
    for line in ("RocksDB closed cleanly", "HTTP Server stopped gracefully"):
        assert line in tail
    assert "Server stopped\n" not in log  # killed: it never logs its own end
    # and it cannot come back on its data: the control API says why
    assert body["start_status"] == 503
    assert body["start"]["error"].startswith("the node could not start: Invalid argument")


def test_with_known_issues_off_a_1_0_node_exits_on_sigterm_and_starts_again(tmp_path):
    body, _, _ = _stop_over_control(tmp_path, known_issues=False)
    assert body["stopped"] == "exited" and "message" not in body
    assert body["start_status"] == 200 and body["start"]["running"] is True
    log = _log(tmp_path / "node-1")
    assert "Server stopped" in log and "Received shutdown signal" not in log


def test_other_versions_exit_on_sigterm_with_known_issues_on(tmp_path):
    cluster = DemoCluster(tmp_path, nodes=1, version="1.7.3", data_size_mb=1, workload=False)
    with cluster, DemoControl(cluster, stop_timeout=30) as control:
        port = cluster.nodes[0].port
        answer = httpx.post(f"{control.url}/nodes/{port}/stop", timeout=10).json()
        assert answer["stopped"] == "exited"
        started = httpx.post(f"{control.url}/nodes/{port}/start", timeout=10)
        assert started.status_code == 200


def _demo_server(data: Path, *extra: str) -> subprocess.Popen[str]:
    args = ["--port", "0", "--version", "1.0.0", "--data-dir", str(data), "--no-workload"]
    return subprocess.Popen(
        [sys.executable, "-m", "themis_desktop.demo", *args, "--data-size-mb", "1", *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _until_ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "ready":
            return
    pytest.fail(f"no 'ready'; stderr: {proc.stderr.read() if proc.stderr else ''}")


def _end(proc: subprocess.Popen[str]) -> int:
    proc.terminate()
    try:
        return proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def test_the_demo_server_switch_defaults_to_the_real_behaviour(tmp_path):
    """A second demo-server run at 1.0.x on the same data exits at start, as the real server
    does; with `--known-issues off` it starts. (The real server's ignored `--version` has no
    counterpart: the demo's `--version` is the version to speak, so there is nothing to test.)"""
    first = _demo_server(tmp_path)
    _until_ready(first)
    assert _end(first) == 0  # the demo-server itself always exits
    second = _demo_server(tmp_path)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 1
    assert f"demo-server: cannot start: Invalid argument: {REFUSED}" in err
    third = _demo_server(tmp_path, "--known-issues", "off")
    _until_ready(third)
    assert _end(third) == 0
