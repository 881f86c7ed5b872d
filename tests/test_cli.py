"""The command line: status of nodes and profile management, in-process and as a program."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.core.loopback import free_port
from themis_desktop.cli import main


def test_status_of_a_healthy_node_exits_0(capsys, start_demo_node):
    node = start_demo_node("1.7.3")
    assert main(["status", node.url]) == 0
    out = capsys.readouterr().out
    assert "up" in out and "v1.7.3 (version-route)" in out


def test_status_json_of_an_era_a_node_and_a_down_node(capsys, start_demo_node):
    node = start_demo_node("1.0.2")
    down = f"http://127.0.0.1:{free_port()}"
    assert main(["status", "--json", node.url, down]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data[0]["version"]["version"] == "1.0.0"
    assert data[0]["version"]["exact"] is False
    assert data[0]["state"] == "up"
    assert data[1]["state"] == "down" and data[1]["error_kind"] == "refused"


def test_token_comes_from_the_environment(capsys, monkeypatch, start_demo_node):
    node = start_demo_node("1.0.2", tokens={"admin": "tok"})
    monkeypatch.setenv("THEMIS_DESKTOP_TOKEN", "tok")
    assert main(["status", node.url]) == 0
    assert "tok" not in capsys.readouterr().out


def test_profiles_add_list_status_remove(capsys, start_demo_node):
    node = start_demo_node("1.4.2")
    assert main(["profiles", "add", "lab", node.url]) == 0
    assert main(["profiles", "list"]) == 0
    assert f"lab: {node.url}" in capsys.readouterr().out
    assert main(["status", "--profile", "lab"]) == 0
    assert main(["profiles", "remove", "lab"]) == 0
    assert main(["profiles", "remove", "lab"]) == 1


def test_program_prints_its_version():
    result = subprocess.run(
        [sys.executable, "-m", "themis_desktop", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.startswith("themis-desktop ")
