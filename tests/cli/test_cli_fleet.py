"""`themis-desktop fleet status`: every saved profile, exit 1 when a node is down."""

from __future__ import annotations

import json

from tests.core.fleet.test_fleet_status import make_fleet
from themis_desktop.cli import main


def test_fleet_status_json_on_three_clusters(capsys, start_demo_node):
    latest = make_fleet(start_demo_node)
    assert main(["fleet", "status", "--json", "--timeout", "2"]) == 1  # `old` has a node down
    data = json.loads(capsys.readouterr().out)
    by_name = {c["profile"]: c for c in data["clusters"]}
    assert data["latest"] == latest and data["all_up"] is False
    assert by_name["current"]["health"] == "up" and by_name["current"]["behind_latest"] is False
    assert [n["state"] for n in by_name["old"]["nodes"]] == ["up", "down"]
    assert by_name["old"]["behind_latest"] is True
    session = by_name["moving"]["session"]
    assert session["in_progress"] and session["hop"]["state"] == "validating"
    assert session["rollback_window"]["band"] == "easy"


def test_fleet_status_of_named_profiles_and_the_table(capsys, start_demo_node):
    make_fleet(start_demo_node)
    assert main(["fleet", "status", "--profile", "current", "--profile", "moving"]) == 0
    out = capsys.readouterr().out
    clusters = [
        line.split()[0] for line in out.splitlines() if not line.startswith((" ", "latest"))
    ]
    assert clusters == ["current", "moving"]
    assert "behind latest" in out and "easy rollback" in out
    assert main(["fleet", "status", "--profile", "nope"]) == 2
    assert "no profile named 'nope'" in capsys.readouterr().err


def test_fleet_status_without_profiles_says_how_to_add_one(capsys):
    assert main(["fleet", "status"]) == 1
    assert "profiles add" in capsys.readouterr().err
