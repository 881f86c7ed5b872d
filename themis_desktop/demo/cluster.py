"""Several demo nodes in one process, on several loopback ports: node-1 .. node-N."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from themis_desktop.demo.node import DemoNode, NodeOptions
from themis_desktop.demo.versions import parse_version


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
        self._installed: dict[int, str] = {}  # index -> version for the next start

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

    def stop_node(self, index: int) -> DemoNode:
        """Stop `nodes[index]` (0-based) like its service manager would; idempotent."""
        node = self.nodes[index]
        node.stop()
        return node

    def terminate_node(self, index: int, timeout: float) -> bool:
        """Stop `nodes[index]` as a service manager does: SIGTERM, and a kill when it has not
        exited after `timeout` seconds (a 1.0.x node with its known issues never does).
        True when it exited by itself, False when it had to be killed."""
        node = self.nodes[index]
        if node.terminate(timeout):
            return True
        node.stop()  # the kill
        return False

    def install(self, index: int, version: str) -> str:
        """Remember `version` (checked X.Y.Z[-suffix]) for the next start of `nodes[index]`.

        Like installing a package: a running node keeps its version until it is restarted.
        """
        checked = parse_version(version).text
        self.nodes[index]  # an IndexError for an unknown node, before remembering anything
        self._installed[index] = checked
        return checked

    def installed_version(self, index: int) -> str:
        """The version the next start of `nodes[index]` runs."""
        return self._installed.get(index, self.nodes[index].version)

    def start_node(self, index: int, version: str | None = None) -> DemoNode:
        """Start `nodes[index]` again on the same port and folder (a no-op if it runs).

        It comes back as `version`, else the one installed with `install`, else its current
        one. Uptime and counters restart from zero, as after a real process restart.
        """
        old = self.nodes[index]
        if old.running:
            return old
        version = version or self._installed.get(index) or old.version
        options = dataclasses.replace(
            old.options, version=version, port=old.port, data_dir=old.data_dir
        )
        node = DemoNode(options)
        node.start()
        self.nodes[index] = node
        self._installed.pop(index, None)
        return node

    def restart_node(self, index: int, version: str | None = None) -> DemoNode:
        """Stop `nodes[index]` (0-based) and start it again on the same port and folder.

        The data is kept; with `version` it comes back as that version (like swapping the
        binary), else as the version installed with `install`, else its current one.
        """
        self.stop_node(index)
        return self.start_node(index, version)

    def __enter__(self) -> DemoCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
