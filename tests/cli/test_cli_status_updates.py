"""`themis-desktop status` also says what each node's own update checker reports."""

from __future__ import annotations

import json
import re

from tests.core.loopback import free_port
from themis_desktop.cli import main


def _node_lines(out: str, url: str) -> list[str]:
    """The status line of the node at `url` and its indented lines."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(url.split("://")[1]))
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        block.append(line)
    return block


def test_status_says_each_nodes_update_status(capsys, start_demo_node):
    era_b, era_a = start_demo_node("1.7.0"), start_demo_node("1.0.0")
    down = f"http://127.0.0.1:{free_port()}"
    assert main(["status", era_b.url, era_a.url, down]) == 1
    out = capsys.readouterr().out
    (b_updates,) = [line for line in _node_lines(out, era_b.url) if "updates:" in line]
    assert re.fullmatch(
        r"    updates: up to date \(latest 1\.7\.0, checked \d+ s ago\)", b_updates
    ), b_updates
    assert "    updates: not enabled on this server" in _node_lines(out, era_a.url)
    assert not [line for line in _node_lines(out, down) if "updates:" in line]  # not asked


def test_status_says_a_newer_release_and_why_18_cannot_be_asked(
    capsys, monkeypatch, start_demo_node
):
    monkeypatch.setenv("THEMIS_DEMO_LATEST", "1.8.1")
    era_b, v18 = start_demo_node("1.7.0"), start_demo_node("1.8.0")
    assert main(["status", era_b.url, v18.url]) == 0
    out = capsys.readouterr().out
    assert any(
        re.fullmatch(r"    updates: 1\.8\.1 available \(checked \d+ s ago\)", line)
        for line in _node_lines(out, era_b.url)
    ), out
    assert (
        "    updates: not reachable (v1.8.0 redirects /api/updates to /v1/api/updates, "
        "which has no route)" in _node_lines(out, v18.url)
    )


def test_status_json_carries_the_update_status(capsys, monkeypatch, start_demo_node):
    monkeypatch.setenv("THEMIS_DEMO_LATEST", "1.8.1")
    era_b, era_a = start_demo_node("1.7.0"), start_demo_node("1.0.0")
    down = f"http://127.0.0.1:{free_port()}"
    assert main(["status", "--json", era_b.url, era_a.url, down]) == 1
    b, a, gone = json.loads(capsys.readouterr().out)
    assert b["state"] == "up" and b["updates"]["state"] == "update_available"
    assert b["updates"]["latest_release"]["version"] == "1.8.1"
    assert b["updates"]["current_version"] == "1.7.0" and b["updates"]["last_check_time"]
    assert a["updates"]["state"] == "not_enabled" and a["updates"]["hint"]
    assert gone["state"] == "down" and gone["updates"] is None
