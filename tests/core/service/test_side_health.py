"""Finding and probing a node's health/error side service: the demo's real one on loopback,
servers that are not it, and nodes whose side service this machine cannot reach."""

from __future__ import annotations

import time

from tests.core.hostile_http import answer, endless, head, hostile_server, trickle
from tests.core.loopback import canned_http, free_port
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.service.side_health import is_loopback, locate, probe, probe_url


def test_the_demo_nodes_side_service_is_found_and_probed(controlled_cluster):
    cluster, _, profile = controlled_cluster(nodes=2, version="1.7.3")
    for node, demo in zip(profile.nodes, cluster.nodes, strict=True):
        assert locate(profile, node).url == f"http://127.0.0.1:{demo.side_port}"
        side = probe(profile, node, "B")
        assert side.reachable and side.healthy, side.reason
        assert dict(side.components) == {
            "health_error_service": "healthy",
            "error_registry": "healthy",
        }
        assert side.error_codes is not None and side.error_codes >= 5
        assert f"{side.error_codes} error codes registered" in side.summary


def test_era_a_and_a_stopped_demo_node_have_none(controlled_cluster):
    cluster, _, profile = controlled_cluster(nodes=1, version="1.7.3")
    node = profile.nodes[0]
    assert probe(profile, node, "A").reason == "era A (before 1.3) has no side service"
    cluster.stop_node(0)
    side = probe(profile, node, "B")
    assert not side.reachable and "runs no side service" in side.reason


def test_where_it_is_without_a_demo_instance():
    profile = Profile("p", service=ServiceConfig(kind="manual"))
    for url in ("http://127.0.0.1:8765", "http://localhost:8765", "http://[::1]:8765"):
        assert locate(profile, NodeEndpoint(url)).url == "http://127.0.0.1:9090"
    remote = locate(profile, NodeEndpoint("http://db1.example:8765"))
    assert remote.url is None
    assert "binds 127.0.0.1:9090 on the node's host (db1.example)" in remote.reason
    assert "not reachable from this machine" in remote.reason
    assert probe(profile, NodeEndpoint("http://10.0.0.5:8765"), "B").reason.startswith("binds")
    assert is_loopback("127.0.0.2") and not is_loopback("10.0.0.5")


def test_something_else_on_the_port_is_told_apart():
    # Prometheus also defaults to 9090: an answer without Server: ThemisDB-Health is not it
    for status in (200, 404):
        with canned_http(status, b'{"status":"error","error":"404 page not found"}') as url:
            side = probe_url(url)
        assert not side.reachable
        assert "not as ThemisDB's health service (ThemisDB-Health)" in side.reason


def test_nothing_listening_is_a_reason_not_an_error():
    side = probe_url(f"http://127.0.0.1:{free_port()}")
    assert not side.reachable and side.reason.startswith("nothing answers at")


def test_a_hostile_side_service_is_bounded_in_time_and_size():
    themis = {"Server": "ThemisDB-Health"}

    def ok(conn) -> None:
        data = b'{"health_error_service": {"status": "healthy"}}'
        conn.send(head(200, Content_Length=str(len(data)), **themis) + data)

    routes = {"/health/components": ok, "/errors": endless(50 * 1024 * 1024)}
    with hostile_server(routes) as server:
        side = probe_url(server.url)
    assert not side.reachable and "did not answer usefully" in side.reason
    assert server.sent.get("/errors", 0) < 8 * 1024 * 1024
    with hostile_server({"/health/components": trickle(0.2)}) as server:
        started = time.monotonic()
        side = probe_url(server.url, timeout=1.0)
    assert time.monotonic() - started < 3.0 and not side.reachable
    with hostile_server({"/health/components": answer([1, 2])}) as server:
        assert not probe_url(server.url).reachable  # no Server header: not it either
