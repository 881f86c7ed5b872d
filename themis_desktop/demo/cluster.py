"""Several demo nodes in one process, on several loopback ports: node-1 .. node-N."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from themis_desktop.demo.node import DemoNode, NodeOptions


class DemoCluster:
    """N nodes; node i (1-based name) keeps its folder in `base_dir / f"node-{i}"`.

    `port=0` gives every node a free port; `port=P` gives P, P+1, ... `node_kwargs` are
    further `NodeOptions` fields shared by all nodes (tokens, workload, data_size_mb, ...).
    """

    def __init__(
        self,
        base_dir: Path,
        nodes: int = 3,
        version: str = "1.7.0",
        port: int = 0,
        **node_kwargs: Any,
    ):
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        self.base_dir = Path(base_dir)
        self.nodes: list[DemoNode] = [
            DemoNode(
                NodeOptions(
                    version=version,
                    data_dir=self.base_dir / f"node-{i}",
                    port=port + i - 1 if port else 0,
                    name=f"node-{i}",
                    **node_kwargs,
                )
            )
            for i in range(1, nodes + 1)
        ]

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def start(self) -> None:
        """Start every node; if one fails, stop those already started and re-raise."""
        started: list[DemoNode] = []
        try:
            for node in self.nodes:
                node.start()
                started.append(node)
        except BaseException:
            for node in reversed(started):
                node.stop()
            raise

    def stop(self) -> None:
        """Stop every node (idempotent)."""
        for node in reversed(self.nodes):
            node.stop()

    def restart_node(self, index: int, version: str | None = None) -> DemoNode:
        """Stop `nodes[index]` (0-based) and start it again on the same port and folder.

        The data is kept; with `version` it comes back as that version (like swapping the
        binary). Uptime and counters restart from zero, as after a real process restart.
        """
        old = self.nodes[index]
        old.stop()
        options = dataclasses.replace(
            old.options, version=version or old.version, port=old.port, data_dir=old.data_dir
        )
        node = DemoNode(options)
        self.nodes[index] = node
        node.start()
        return node

    def __enter__(self) -> DemoCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
