"""`python -m themis_desktop.demo`: one line per node, "ready", clean exit on SIGTERM."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from themis_desktop.demo.main import add_arguments

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(node-\d) (http://127\.0\.0\.1:(\d+)) version (\S+) data (.+)$")


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "themis_desktop.demo", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def read_nodes(proc: subprocess.Popen[str]) -> list[re.Match[str]]:
    assert proc.stdout is not None
    nodes = []
    for line in proc.stdout:
        if line.strip() == "ready":
            return nodes
        if line.startswith("control "):  # the control API (tests/demo/test_control.py)
            continue
        match = LINE.match(line.rstrip("\n"))
        assert match, line
        nodes.append(match)
    pytest.fail(f"no 'ready' line; stderr: {proc.stderr.read() if proc.stderr else ''}")


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def test_run_prints_one_line_per_node_and_stops_on_sigterm(tmp_path):
    proc = start(
        "--port",
        "0",
        "--nodes",
        "2",
        "--no-workload",
        "--data-size-mb",
        "1",
        "--data-dir",
        str(tmp_path),
        "--version",
        "1.6.1",
    )
    try:
        nodes = read_nodes(proc)
        assert [m[1] for m in nodes] == ["node-1", "node-2"]
        assert nodes[0][3] != nodes[1][3]
        for i, m in enumerate(nodes, start=1):
            assert m[4] == "1.6.1"
            assert Path(m[5]) == tmp_path / f"node-{i}"
            assert httpx.get(m[2] + "/version").json()["version"] == "1.6.1"
    finally:
        assert stop(proc) == 0
    assert "Server stopped" in (tmp_path / "node-1" / "themis_server.log").read_text()


def test_tokens_from_environment_and_temporary_data_dir():
    proc = start(
        "--port",
        "0",
        "--no-workload",
        "--data-size-mb",
        "1",
        env={"THEMIS_TOKEN_ADMIN": "env-admin"},
    )
    try:
        (node,) = read_nodes(proc)
        data = Path(node[5])
        assert data.is_dir()
        assert httpx.get(node[2] + "/config").status_code == 401
        auth = {"Authorization": "Bearer env-admin"}
        assert httpx.get(node[2] + "/config", headers=auth).status_code == 200
    finally:
        assert stop(proc) == 0
    assert not data.exists()  # the temporary folder goes away with the process


def test_argument_defaults_and_profiles():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    assert (args.port, args.version, args.nodes, args.host) == (8765, "1.7.0", 1, "127.0.0.1")
    assert args.data_dir is None and not args.no_workload
    args = parser.parse_args(
        ["--latency-factor", "1.8.0=3", "--latency-factor", "1.7=1.5", "--error-rate", "1.8.0=0.05"]
    )
    assert dict(args.latency_factor) == {"1.8.0": 3.0, "1.7": 1.5}
    assert dict(args.error_rate) == {"1.8.0": 0.05}
    with pytest.raises(SystemExit):
        parser.parse_args(["--latency-factor", "fast"])
    with pytest.raises(SystemExit):
        parser.parse_args(["--version", "latest"])
