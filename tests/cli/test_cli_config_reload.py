"""`themis-desktop config apply` prints the reload plan; `--reload` sends SIGHUP (real demo)."""

from __future__ import annotations

import pytest

from themis_desktop.cli import main
from themis_desktop.demo.cluster import DemoCluster
from themis_desktop.demo.control import DemoControl

CONFIG = "server:\n  port: 8765\nstorage:\n  memtable_size_mb: 512\n"
EXTRA = (
    'lines:\n  - line: "3.0"\n    releases:\n      - {version: 3.0.0}\n    config:\n'
    "      - {key: storage.memtable_size_mb, change: default, old: 512, new: 1024}\n"
)


@pytest.fixture
def demo(tmp_path):
    """A 1.8.0 node and a 1.7.0 node behind the demo control API."""
    cluster = DemoCluster(
        tmp_path / "demo", nodes=2, version="1.8.0", data_size_mb=1, workload=False
    )
    with cluster, DemoControl(cluster) as control:
        cluster.stop_node(1)
        cluster.start_node(1, "1.7.0")
        yield cluster, control


def _args(tmp_path, version: str) -> list[str]:
    path = tmp_path / f"{version}.yaml"
    path.write_text(CONFIG)
    extra = tmp_path / "extra.yaml"
    extra.write_text(EXTRA)
    return ["config", "apply", "--config", str(path), "--target", "3.0", "--from", version,
            "--catalogue", str(extra), "--yes"]  # fmt: skip


def test_apply_prints_the_plan_and_reload_sends_sighup_to_a_1_8_node(tmp_path, demo, capsys):
    cluster, control = demo
    node = cluster.nodes[0]
    args = [*_args(tmp_path, "1.8.0"), "--reload", node.url, "--control-url", control.url]
    assert main(args) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Restart the node for these to take effect: storage.memtable_size_mb." in out
    assert "re-reading its TLS certificate and key files only" in out
    assert f"Reloaded (SIGHUP): POST {control.url}/nodes/{node.port}/reload" in out
    log = (node.data_dir / "themis_server.log").read_text()
    assert "SIGHUP received - reloading TLS certificates..." in log and node.running


def test_a_1_7_node_gets_no_reload(tmp_path, demo, capsys):
    cluster, control = demo
    node = cluster.nodes[1]
    assert main(_args(tmp_path, "1.7.0")) == 0  # the plan alone
    assert "has no SIGHUP handler" in " ".join(capsys.readouterr().out.split())
    args = [*_args(tmp_path, "1.7.0"), "--reload", node.url, "--control-url", control.url]
    assert main(args) == 2
    assert "not reloading" in capsys.readouterr().err
    assert node.running and "SIGHUP" not in (node.data_dir / "themis_server.log").read_text()
