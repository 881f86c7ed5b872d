"""The demo control API stops, installs and starts nodes over real loopback HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from themis_desktop.demo import DemoCluster
from themis_desktop.demo.control import DemoControl
from themis_desktop.demo.launcher import DemoLauncher

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def controlled(tmp_path: Path) -> Iterator[tuple[DemoCluster, DemoControl]]:
    """Two quiet 1.7.3 nodes behind a control server; everything stopped afterwards."""
    cluster = DemoCluster(tmp_path, nodes=2, version="1.7.3", data_size_mb=1, workload=False)
    control = DemoControl(cluster)
    with cluster, control:
        yield cluster, control
    assert not control.running


def files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def test_nodes_lists_every_node_by_port(controlled):
    cluster, control = controlled
    nodes = httpx.get(control.url + "/nodes").json()
    assert control.url.startswith("http://127.0.0.1:")
    assert [(n["name"], n["port"], n["url"]) for n in nodes] == [
        (node.options.name, node.port, node.url) for node in cluster.nodes
    ]
    assert all(n["version"] == n["installed"] == "1.7.3" and n["running"] for n in nodes)


def test_stop_install_start_keeps_port_and_data(controlled):
    cluster, control = controlled
    node = cluster.nodes[1]
    port, url, data_dir = node.port, node.url, node.data_dir
    with httpx.Client(base_url=control.url) as api:
        stopped = api.post(f"/nodes/{port}/stop")
        assert stopped.status_code == 200 and stopped.json()["running"] is False
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/health")
        assert httpx.get(cluster.urls[0] + "/version").json()["version"] == "1.7.3"
        (node.data_path / "MARKER").write_text("kept")
        before = files(data_dir / "data")

        installed = api.post(f"/nodes/{port}/install", json={"version": "1.8.0"})
        assert installed.status_code == 200
        assert installed.json() | {"url": url} == {
            "name": "node-2",
            "port": port,
            "url": url,
            "version": "1.7.3",  # installed, not yet running
            "installed": "1.8.0",
            "running": False,
            "side_port": None,  # stopped with its node
        }
        assert api.post(f"/nodes/{port}/stop").status_code == 200  # stopping twice is fine

        started = api.post(f"/nodes/{port}/start").json()
        assert started["running"] and started["version"] == "1.8.0"
    assert cluster.nodes[1].port == port and cluster.nodes[1].data_dir == data_dir
    with httpx.Client(base_url=url, follow_redirects=True) as c:
        assert c.get("/version").json()["version"] == "1.8.0"  # never redirected, even on 1.8
        assert c.get("/stats").json()["server"]["uptime_seconds"] <= 1  # a fresh process
    after = files(data_dir / "data")
    assert (node.data_path / "MARKER").read_text() == "kept"
    assert {name for name in before if name.endswith(".sst")} <= set(after)
    log = (data_dir / "themis_server.log").read_text()
    assert "Data directory was last used by v1.7.3; now running v1.8.0" in log


def test_install_while_running_waits_for_the_next_start(controlled):
    cluster, control = controlled
    port, url = cluster.nodes[0].port, cluster.urls[0]
    with httpx.Client(base_url=control.url) as api:
        assert api.post(f"/nodes/{port}/install", json={"version": "1.7.4"}).status_code == 200
        assert api.post(f"/nodes/{port}/start").json()["version"] == "1.7.3"  # runs: no-op
        assert httpx.get(url + "/version").json()["version"] == "1.7.3"
        api.post(f"/nodes/{port}/stop")
        api.post(f"/nodes/{port}/start")
    assert httpx.get(url + "/version").json()["version"] == "1.7.4"
    cluster.restart_node(0)  # the cluster's own restart still works, as the same version
    assert httpx.get(url + "/version").json()["version"] == "1.7.4"


def test_bad_requests_are_json_errors(controlled):
    cluster, control = controlled
    port = cluster.nodes[0].port
    with httpx.Client(base_url=control.url) as api:
        bad = api.post(f"/nodes/{port}/install", json={"version": "latest"})
        assert bad.status_code == 400 and "not a server version" in bad.json()["error"]
        assert api.post(f"/nodes/{port}/install", content=b"1.8.0").status_code == 400
        assert api.post(f"/nodes/{port}/install", json={}).status_code == 400
        unknown = api.post("/nodes/1/stop")
        assert unknown.status_code == 404 and "port 1" in unknown.json()["error"]
        assert api.post("/nodes/abc/stop").status_code == 404
        assert api.post(f"/nodes/{port}/reboot").status_code == 404
        assert api.get(f"/nodes/{port}/stop").status_code == 405
        assert api.get("/other").status_code == 404
        assert api.get("/nodes").status_code == 200  # still serving
    assert cluster.nodes[0].running


def test_demo_server_prints_its_control_url(tmp_path):
    args = ["--port", "0", "--nodes", "1", "--no-workload", "--data-size-mb", "1"]
    args += ["--data-dir", str(tmp_path), "--stop-on-stdin-eof"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "themis_desktop", "demo-server", *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert proc.stdout is not None
        node_line = proc.stdout.readline().split()
        control_line = proc.stdout.readline().split()
        assert proc.stdout.readline().strip() == "ready"
        assert control_line[0] == "control" and control_line[1].startswith("http://127.0.0.1:")
        control = control_line[1]
        (node,) = httpx.get(control + "/nodes").json()
        assert (node["name"], node["url"]) == (node_line[0], node_line[1])
        # its load balancer knows the node by its real port
        weights = {"weights": {str(node["port"]): 1.0}}
        answer = httpx.put(control + "/router/weights", json=weights)
        assert answer.status_code == 200 and answer.json()["weights"] == {str(node["port"]): 1.0}
        assert httpx.post(f"{control}/nodes/{node['port']}/stop").json()["running"] is False
        with pytest.raises(httpx.ConnectError):
            httpx.get(node["url"] + "/health")
    finally:
        proc.stdin.close()  # --stop-on-stdin-eof: the parent went away
        code = proc.wait(timeout=15)
        proc.stdout.close()
        proc.stderr.close()
    assert code == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(control + "/nodes")


def test_the_launcher_reads_the_control_url(tmp_path):
    launcher = DemoLauncher(tmp_path / "demo", 1, "1.7.3", "--data-size-mb", "1", "--no-workload")
    try:
        (node,) = launcher.start()
        assert launcher.control_url and launcher.control_url.startswith("http://127.0.0.1:")
        (listed,) = httpx.get(launcher.control_url + "/nodes").json()
        assert listed["url"] == node.url and listed["running"]
    finally:
        launcher.stop()
