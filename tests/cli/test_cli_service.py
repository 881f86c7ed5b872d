"""`profiles add --service …`: how upgrades control a profile's service, from the command line."""

from __future__ import annotations

from themis_desktop.cli import main
from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.journal.store import Journal


def test_profiles_add_with_each_kind_of_service_control(capsys):
    url = "http://10.0.0.1:8765"
    assert main(["profiles", "add", "plain", url]) == 0
    assert main(["profiles", "add", "sd", url, "--service", "systemd", "--unit", "tdb"]) == 0
    commands = ["--stop-cmd", "ssh {node} stop", "--start-cmd", "ssh {node} start"]
    commands += ["--install-cmd", "ssh {node} install {version}"]
    assert main(["profiles", "add", "cmd", url, "--service", "commands", *commands]) == 0
    with Journal() as journal:
        assert profile_store.get(journal, "plain").service == ServiceConfig()
        assert profile_store.get(journal, "sd").service == ServiceConfig("systemd", unit="tdb")
        assert profile_store.get(journal, "cmd").service == ServiceConfig(
            "commands",
            stop="ssh {node} stop",
            start="ssh {node} start",
            install="ssh {node} install {version}",
        )
    capsys.readouterr()
    assert main(["profiles", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"cmd: {url}  [service: commands]" in out
    assert f"plain: {url}  [service: manual]" in out
    assert f"sd: {url}  [service: systemd tdb]" in out


def test_profiles_add_refuses_a_service_control_that_does_not_fit(capsys):
    url = "http://10.0.0.1:8765"
    assert main(["profiles", "add", "x", url, "--service", "commands", "--stop-cmd", "a"]) == 2
    assert "needs a start command, and a stop command or a pid file" in capsys.readouterr().err
    assert main(["profiles", "add", "x", url, "--stop-cmd", "a"]) == 2
    assert "--stop-cmd does not apply to --service manual" in capsys.readouterr().err
    assert main(["profiles", "add", "x", url, "--service", "demo"]) == 2
    assert "control URL" in capsys.readouterr().err
    with Journal() as journal:
        assert profile_store.get(journal, "x") is None


def test_profiles_add_with_a_traffic_router(capsys):
    from themis_desktop.core.rollout.traffic import RouterConfig

    url = "http://10.0.0.1:8765"
    args = ["--router", "commands", "--router-cmd", "lb-weights {weights}"]
    assert main(["profiles", "add", "lb", url, *args]) == 0
    with Journal() as journal:
        assert profile_store.get(journal, "lb").router == RouterConfig(
            "commands", command="lb-weights {weights}"
        )
    assert main(["profiles", "add", "bad", url, "--router-cmd", "x"]) == 2
    assert "--router-cmd goes with --router commands" in capsys.readouterr().err
