"""The node's own update checker, asked over real HTTP of demo nodes on loopback."""

from __future__ import annotations

from tests.core.loopback import free_port
from themis_desktop.core.server.client import ThemisClient
from themis_desktop.core.versions.update_status import (
    FAILED,
    NOT_ENABLED,
    NOT_REACHABLE,
    ask_update_status,
    parse_update_status,
)
from themis_desktop.demo.updates import SWITCH


def test_era_a_says_not_enabled(start_demo_node):
    node = start_demo_node("1.2.0")
    with ThemisClient(node.url) as client:
        status = ask_update_status(client)
    assert status.state == NOT_ENABLED
    assert not status.reported
    assert "not enabled" in status.summary()
    assert status.hint


def test_era_b_reports_its_status(start_demo_node):
    node = start_demo_node("1.7.0")
    with ThemisClient(node.url) as client:
        status = ask_update_status(client)
    assert status.state == "up_to_date"  # no switch: the node is the newest it knows
    assert status.current_version == "1.7.0"
    assert status.latest is not None and status.latest.version == "1.7.0"
    assert status.last_check_time.endswith("Z")


def test_catalogue_decides_latest_and_a_security_fix_is_critical(start_demo_node, monkeypatch):
    monkeypatch.setenv(SWITCH, "catalogue")
    old, new = start_demo_node("1.3.0"), start_demo_node("1.7.0")
    with ThemisClient(old.url) as client:
        status = ask_update_status(client, check=True)
    assert status.state == "critical_update"
    assert status.latest_critical is not None and status.latest_critical.version == "1.3.4"
    assert "Critical" in status.summary()
    with ThemisClient(new.url) as client:
        status = ask_update_status(client)
    assert status.state == "update_available"
    assert status.latest is not None and status.latest.version > "1.7.0"
    assert not status.latest.prerelease


def test_a_named_latest_and_an_offline_check(start_demo_node, monkeypatch):
    node = start_demo_node("1.7.0")
    monkeypatch.setenv(SWITCH, "1.7.2")
    with ThemisClient(node.url) as client:
        status = ask_update_status(client, check=True)
        assert status.state == "update_available"
        assert status.summary().startswith("Update available: v1.7.2 (checked ")
        monkeypatch.setenv(SWITCH, "offline")
        failed = ask_update_status(client, check=True)
    assert failed.state == "check_failed"
    assert "network" in failed.message


def test_1_8_redirect_leads_nowhere(start_demo_node):
    node = start_demo_node("1.8.0")
    with ThemisClient(node.url) as client:
        status = ask_update_status(client)
    assert status.state == NOT_REACHABLE
    assert status.current_version == "1.8.0"
    assert "not reachable on v1.8.0" in status.summary()


def test_a_stopped_node_is_a_status_not_an_exception():
    with ThemisClient(f"http://127.0.0.1:{free_port()}", timeout=1.0) as client:
        status = ask_update_status(client)
    assert status.state == FAILED
    assert status.hint


def test_odd_bodies_become_unknown():
    assert parse_update_status([]).state == "unknown"
    status = parse_update_status({"status": "bogus", "latest_release": {"version": 3}})
    assert status.state == "unknown" and status.latest is None
