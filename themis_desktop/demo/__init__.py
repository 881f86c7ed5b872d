"""The demo instance: a ThemisDB-compatible server for demo mode and tests."""

from themis_desktop.demo.cluster import DemoCluster
from themis_desktop.demo.node import DemoNode, NodeOptions

__all__ = ["DemoCluster", "DemoNode", "NodeOptions"]
