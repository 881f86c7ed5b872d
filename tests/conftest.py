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
