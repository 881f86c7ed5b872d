"""Shared fixtures: an isolated home for every test, and no thread left behind."""

from __future__ import annotations

import os
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Each test gets its own journal/data folder and no real keyring."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("THEMIS_DESKTOP_HOME", str(home))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    for name in ("THEMIS_TOKEN_ADMIN", "THEMIS_TOKEN_READONLY", "THEMIS_TOKEN_ANALYST"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture(autouse=True)
def no_thread_left_running():
    """Fail a test that leaves a Python thread running after it ends."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while True:
        extra = [
            t
            for t in threading.enumerate()
            if t not in before and t.is_alive() and not isinstance(t, threading._DummyThread)
        ]
        if not extra or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not extra, f"threads left running: {[t.name for t in extra]}"


@pytest.fixture
def start_demo_node(tmp_path):
    """Start real demo nodes on loopback: `start_demo_node(version="1.7.3", tokens=...)`."""
    from themis_desktop.demo.node import DemoNode, NodeOptions

    started = []

    def start(version: str = "1.7.3", **options):
        options.setdefault("data_size_mb", 1)
        options.setdefault("workload", False)
        node = DemoNode(
            NodeOptions(version=version, data_dir=tmp_path / f"node-{len(started) + 1}", **options)
        )
        node.start()
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


@pytest.fixture
def controlled_cluster(tmp_path):
    """Demo clusters behind their control endpoint, as a profile whose service control is
    that endpoint: `cluster, control, profile = controlled_cluster(nodes=3, **options)`.
    Each node's log source is its `themis_server.log`.
    Nodes are named n1, n2, …; `options` are DemoCluster/NodeOptions fields."""
    from themis_desktop.core.profiles import NodeEndpoint, Profile
    from themis_desktop.core.service_config import ServiceConfig
    from themis_desktop.core.traffic import RouterConfig
    from themis_desktop.demo.cluster import DemoCluster
    from themis_desktop.demo.control import DemoControl

    made = []

    def make(nodes: int = 1, version: str = "1.7.0", control_options=None, **options):
        options.setdefault("data_size_mb", 1)
        options.setdefault("workload", False)
        cluster = DemoCluster(
            tmp_path / f"cluster-{len(made)}", nodes=nodes, version=version, **options
        )
        cluster.start()
        control = DemoControl(cluster, **(control_options or {}))
        made.append((cluster, control))
        control.start()
        profile = Profile(
            "lab",
            tuple(
                NodeEndpoint(
                    n.url,
                    f"n{i}",
                    data_dir=str(n.data_path),
                    config_path=str(n.config_path),
                    log_source=f"file:{n.data_dir / 'themis_server.log'}",
                )
                for i, n in enumerate(cluster.nodes, start=1)
            ),
            service=ServiceConfig(kind="demo", control_url=control.url),
            router=RouterConfig(kind="demo", control_url=control.url),
        )
        return cluster, control, profile

    yield make
    for cluster, control in made:
        control.stop()
        cluster.stop()
