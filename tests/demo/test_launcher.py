"""The launcher runs demo-server as a child process, like a deployed server."""

from __future__ import annotations

import httpx
import pytest

from themis_desktop.demo.launcher import DemoLauncher, DemoLaunchError, parse_node_line


def test_launcher_starts_nodes_and_sigterm_stops_them(tmp_path):
    launcher = DemoLauncher(tmp_path / "demo", 2, "1.8.0", "--data-size-mb", "1", "--no-workload")
    nodes = launcher.start()
    try:
        assert [n.name for n in nodes] == ["node-1", "node-2"]
        assert {n.version for n in nodes} == {"1.8.0"}
        assert httpx.get(nodes[1].url + "/version").json()["version"] == "1.8.0"
    finally:
        launcher.stop()
    assert not launcher.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(nodes[0].url + "/health")


def test_a_server_that_cannot_start_is_a_clear_error(tmp_path):
    launcher = DemoLauncher(tmp_path / "demo", 1, "not-a-version")
    with pytest.raises(DemoLaunchError, match=r"exited at start: .*not a server version"):
        launcher.start()
    assert not launcher.running


def test_node_lines_are_parsed_including_paths_with_spaces():
    node = parse_node_line("node-2 http://127.0.0.1:1 version 1.7.0 data /tmp/my demo/node-2")
    assert (node.name, node.version, str(node.data_dir)) == (
        "node-2",
        "1.7.0",
        "/tmp/my demo/node-2",
    )
    with pytest.raises(ValueError):
        parse_node_line("ready")


def test_the_demo_server_stops_when_its_parent_dies(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import wait_until

    # a parent that starts the launcher, prints the child's pid, then is killed with SIGKILL
    code = (
        "import sys, os; from pathlib import Path;"
        "from themis_desktop.demo.launcher import DemoLauncher;"
        f"l = DemoLauncher(Path({str(tmp_path / 'd')!r}), 1, '1.7.0', '--data-size-mb', '1',"
        " '--no-workload'); l.start(); print(l.process.pid, flush=True); sys.stdin.read()"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True
    )
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    parent.stdout.close()
    parent.stdin.close()

    def gone() -> bool:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        return False

    try:
        wait_until(gone, timeout=10, what="the orphaned demo server ends with its parent")
    except AssertionError:
        os.kill(child, signal.SIGKILL)
        raise
