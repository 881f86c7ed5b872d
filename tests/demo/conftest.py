"""Fixtures: demo nodes on loopback ports, always stopped (and their threads joined)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from themis_desktop.demo import DemoNode, NodeOptions

TOKENS = {"admin": "adm-secret", "readonly": "ro-secret", "analyst": "an-secret"}


@pytest.fixture
def make_node(tmp_path: Path) -> Iterator[Callable[..., DemoNode]]:
    """`make_node(version="1.7.3", **options)` starts a small, quiet node (no workload)."""
    nodes: list[DemoNode] = []

    def make(version: str = "1.7.3", **options) -> DemoNode:
        options.setdefault("data_dir", tmp_path / f"node-{len(nodes) + 1}")
        options.setdefault("data_size_mb", 1)
        options.setdefault("workload", False)
        node = DemoNode(NodeOptions(version=version, **options))
        nodes.append(node)
        node.start()
        return node

    yield make
    for node in nodes:
        node.stop()


@pytest.fixture
def client() -> Iterator[Callable[[DemoNode], httpx.Client]]:
    """`client(node)`: an httpx client on the node's URL, closed after the test."""
    clients: list[httpx.Client] = []

    def make(node: DemoNode, **kwargs) -> httpx.Client:
        c = httpx.Client(base_url=node.url, timeout=10.0, **kwargs)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()
