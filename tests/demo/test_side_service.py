"""The health/error side service of era-B demo nodes (upstream health_error_service.cpp),
over real HTTP on loopback, started and stopped with its node."""

from __future__ import annotations

import re

import httpx
import pytest

from themis_desktop.demo.cluster import DemoCluster
from themis_desktop.demo.control import DemoControl


def _side(node) -> httpx.Client:
    assert node.side_port is not None
    return httpx.Client(base_url=f"http://127.0.0.1:{node.side_port}", timeout=5.0)


def test_health_and_components_as_upstream_answers(make_node):
    node = make_node("1.7.3")
    assert node.side_port not in (None, node.port, 9090)  # its own free port, never shared
    with _side(node) as side:
        health = side.get("/health")
        components = side.get("/health/components").json()
    assert health.status_code == 200
    assert health.headers["server"] == "ThemisDB-Health"
    assert health.headers["content-type"] == "application/json"
    body = health.json()
    assert set(body) == {"status", "timestamp", "uptime_seconds", "service", "version"}
    assert (body["status"], body["service"], body["version"]) == (
        "healthy",
        "health_error_service",
        "1.0.0",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["timestamp"])
    assert components["health_error_service"] | {"uptime_seconds": 0} == {
        "status": "healthy",
        "uptime_seconds": 0,
        "port": node.side_port,
        "bind_address": "127.0.0.1",
    }
    assert components["error_registry"] == {
        "status": "healthy",
        "type": "in-memory",
        "dependencies": "none",
    }
    log = (node.data_dir / "themis_server.log").read_text()
    assert f"Health/Error service started on 127.0.0.1:{node.side_port}" in log


def test_the_error_registry_routes(make_node):
    node = make_node("1.8.0")
    with _side(node) as side:
        catalogue = side.get("/errors").json()
        backup = side.get("/errors", params={"category": "Backup"}).json()
        categories = side.get("/errors/categories").json()
        search = side.get("/errors/search", params={"q": "disk"}).json()
        no_query = side.get("/errors/search")
        one = side.get("/errors/1002").json()
        unknown = side.get("/errors/9999")
        bad = side.get("/errors/abc")
        missing = side.get("/nope")
    assert catalogue["status"] == "success"
    assert catalogue["total_errors"] == len(catalogue["errors"]) >= 5
    assert {"Storage", "Backup"} <= set(catalogue["categories"])
    assert {e["code"] for e in catalogue["errors"]} >= {1000, 1002, 1100}
    assert backup["category"] == "Backup" and backup["count"] == len(backup["errors"]) > 0
    assert all(e["category"] == "Backup" for e in backup["errors"])
    assert categories["count"] == len(categories["categories"])
    assert [e["code"] for e in search["errors"]] == [1002] and search["query"] == "disk"
    assert no_query.status_code == 400
    assert one["error"]["message_template"].startswith("Disk full")
    assert unknown.status_code == 404 and unknown.json()["status"] == "not_found"
    assert bad.status_code == 400 and bad.json()["message"] == "Invalid error code format"
    assert missing.status_code == 404
    assert missing.json()["message"] == "Endpoint not found"
    assert "/health/components" in missing.json()["available_endpoints"]


def test_era_a_runs_none_and_it_stops_with_its_node(make_node):
    assert make_node("1.2.0").side_port is None  # era A: no side service
    node = make_node("1.7.3")
    port = node.side_port
    node.stop()
    assert node.side_port is None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2.0)


def test_the_control_api_reports_each_nodes_side_port(tmp_path):
    with (
        DemoCluster(tmp_path, nodes=2, version="1.7.3", data_size_mb=1, workload=False) as cluster,
        DemoControl(cluster) as control,
    ):
        listed = httpx.get(f"{control.url}/nodes").json()
        ports = [n["side_port"] for n in listed]
        assert ports == [n.side_port for n in cluster.nodes] and len(set(ports)) == 2
        first = listed[0]["port"]
        httpx.post(f"{control.url}/nodes/{first}/install", json={"version": "1.2.0"})
        httpx.post(f"{control.url}/nodes/{first}/stop")
        assert httpx.get(f"{control.url}/nodes").json()[0]["side_port"] is None
        restarted = httpx.post(f"{control.url}/nodes/{first}/start").json()
        assert restarted["version"] == "1.2.0" and restarted["side_port"] is None  # era A
