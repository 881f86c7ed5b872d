"""The reload plan per version and keys, and the reload sent through the service control."""

from __future__ import annotations

import pytest

from themis_desktop.core.config.reload import handles_sighup, reload_plan, send_reload
from themis_desktop.core.connection.profiles import NodeEndpoint
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.service.control import ServiceError, controller_for

KEYS = ["storage.memtable_size_mb", "server.tls.cert_path"]


@pytest.mark.parametrize(
    ("version", "expected"),
    [("1.7.3", False), ("1.0.0", False), ("1.8.0", True), ("1.8.1-rc2", True), ("2.0.0", True)],
)
def test_sighup_is_handled_from_1_8(version, expected):
    assert handles_sighup(version) is expected


@pytest.mark.parametrize("version", [None, "", "not a version"])
def test_an_unknown_version_is_neither(version):
    assert handles_sighup(version) is None
    plan = reload_plan(version, KEYS)
    assert not plan.offer_reload and plan.restart == tuple(KEYS)
    assert "unknown" in plan.words


def test_before_1_8_every_key_needs_a_restart_and_no_reload_is_offered():
    plan = reload_plan("1.7.0", KEYS + KEYS[:1])
    assert plan.restart == tuple(KEYS) and plan.reloadable == ()
    assert not plan.offer_reload
    assert "no SIGHUP handler" in plan.words and "end the process" in plan.words
    assert "storage.memtable_size_mb, server.tls.cert_path" in plan.words


def test_from_1_8_sighup_reloads_certificates_but_no_config_key():
    plan = reload_plan("1.8.0", KEYS)
    assert plan.offer_reload and plan.reloadable == () and plan.restart == tuple(KEYS)
    assert "TLS certificate" in plan.words and "does not read config.yaml" in plan.words


def test_nothing_changed():
    plan = reload_plan("1.8.0", [])
    assert plan.restart == () and plan.words.startswith("Nothing changed.")


def test_a_reload_the_server_cannot_take_is_refused_before_anything_is_sent():
    controller = controller_for(ServiceConfig(kind="commands", stop="false", start="false"))
    with pytest.raises(ValueError, match="no SIGHUP handler"):
        send_reload(controller, NodeEndpoint("http://127.0.0.1:1"), reload_plan("1.7.0", KEYS))


def test_a_reload_command_runs_with_the_node_filled_in(tmp_path):
    out = tmp_path / "hup"
    config = ServiceConfig(
        kind="commands", stop="true", start="true", reload=f"echo HUP {{node}} > {out}"
    )
    node = NodeEndpoint("http://127.0.0.1:1", name="n1")
    step = send_reload(controller_for(config), node, reload_plan("1.8.0", KEYS))
    assert step.returncode == 0 and out.read_text().strip() == "HUP n1"


def test_without_a_reload_command_the_user_is_asked():
    asked: list[str] = []
    config = ServiceConfig(kind="commands", stop="true", start="true")
    controller = controller_for(config, confirm=lambda text: asked.append(text) or False)
    with pytest.raises(ServiceError, match="Cancelled"):
        send_reload(controller, NodeEndpoint("http://127.0.0.1:1"), reload_plan("1.8.0", KEYS))
    assert "SIGHUP" in asked[0]


def test_the_demo_node_does_what_its_version_does_on_sighup(tmp_path):
    from themis_desktop.demo.cluster import DemoCluster
    from themis_desktop.demo.control import DemoControl

    cluster = DemoCluster(tmp_path, nodes=2, version="1.8.0", data_size_mb=1, workload=False)
    with cluster, DemoControl(cluster) as control:
        cluster.stop_node(1)
        cluster.start_node(1, "1.7.0")
        controller = controller_for(ServiceConfig(kind="demo", control_url=control.url))
        new, old = (NodeEndpoint(n.url) for n in cluster.nodes)
        step = send_reload(controller, new, reload_plan("1.8.0", KEYS))
        assert '"sighup": "tls-off"' in step.output.replace(" ", "").replace(":", ": ")
        log = (cluster.nodes[0].data_dir / "themis_server.log").read_text()
        assert "SIGHUP received - reloading TLS certificates..." in log
        assert "TLS not enabled - continuing with current certificates" in log
        assert cluster.nodes[0].running
        controller.reload(old)  # what the app never offers: the signal ends a 1.7 server
        assert not cluster.nodes[1].running
