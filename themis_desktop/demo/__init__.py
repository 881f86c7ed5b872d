"""The demo instance: a ThemisDB-compatible server for demo mode and tests.

`DemoCluster`, `DemoNode` and `NodeOptions` are imported on first use: the node stack pulls
in numpy and friends, which the app's start and `--version` do not need."""

from __future__ import annotations

from typing import Any

__all__ = ["DemoCluster", "DemoNode", "NodeOptions"]


def __getattr__(name: str) -> Any:
    if name == "DemoCluster":
        from themis_desktop.demo.cluster import DemoCluster

        return DemoCluster
    if name in ("DemoNode", "NodeOptions"):
        from themis_desktop.demo import node

        return getattr(node, name)
    raise AttributeError(name)
