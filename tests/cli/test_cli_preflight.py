"""`themis-desktop session preflight`: the hop's checks as JSON or text, one check alone
with --check, and the verdict as the exit code (0 ready, 1 warnings, 3 blocked, 2 when it
cannot check), on a real demo cluster at 1.8.2 planned to 1.9."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from themis_desktop.cli import main
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal

PREFLIGHT = ["session", "preflight", "--profile", "lab"]


@pytest.fixture
def lab(capsys, tmp_path, controlled_cluster):
    _, _, profile = controlled_cluster(nodes=2, version="1.8.2")
    with Journal() as journal:
        profile_store.save(journal, profile)
    assert main(["session", "start", "--profile", "lab", "--to", "1.9"]) == 0
    capsys.readouterr()
    return profile, ["--backup-dir", str(tmp_path / "b")]


def test_the_json_lists_every_check_and_a_blocked_hop_exits_3(capsys, lab):
    _, backups = lab
    assert main([*PREFLIGHT, *backups, "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "blocked"
    assert all(
        c.keys() == {"name", "severity", "status", "message", "items"}
        and c["severity"] in ("blocking", "warning")
        and c["status"] in ("pass", "fail")
        for c in report["checks"]
    )
    failing = {c["name"]: c for c in report["checks"] if c["status"] == "fail"}
    assert list(failing) == ["backup"]  # nothing is backed up yet
    assert [item.split(":")[0] for item in failing["backup"]["items"]] == ["n1", "n2"]


def test_a_fixed_check_rerun_alone_clears_and_the_hop_is_ready(capsys, lab):
    _, backups = lab
    assert main([*PREFLIGHT, *backups, "--check", "backup", "--json"]) == 3
    (check,) = json.loads(capsys.readouterr().out)["checks"]
    assert (check["name"], check["status"]) == ("backup", "fail")
    assert main(["session", "run", "backup", "--profile", "lab", *backups]) == 0
    capsys.readouterr()
    assert main([*PREFLIGHT, *backups, "--check", "backup", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "verdict": "ready",
        "checks": [
            {
                "name": "backup",
                "severity": "blocking",
                "status": "pass",
                "message": "every node has a verified backup of 1.8.2 from the last day",
                "items": [],
            }
        ],
    }
    assert main([*PREFLIGHT, *backups]) == 0
    out = capsys.readouterr().out
    assert out.startswith("hop 1.8.2 → 1.9") and "READY" in out.splitlines()[0]


def test_warnings_exit_1_and_name_their_items(capsys, lab):
    profile, backups = lab
    config = Path(profile.nodes[0].config_path)
    port = profile.nodes[0].url.rsplit(":", 1)[1]
    config.write_text(config.read_text().replace(f"port: {port}", "port: 8765", 1))
    assert main(["session", "run", "backup", "--profile", "lab", *backups]) == 0
    capsys.readouterr()
    assert main([*PREFLIGHT, *backups]) == 1
    out = capsys.readouterr().out
    assert "WARNINGS" in out.splitlines()[0]
    assert "WARNING  tokens-ports:" in out
    assert f"- n1: its config sets server.port 8765, the profile reaches it on {port}" in out


@pytest.mark.usefixtures("lab")
def test_what_cannot_be_checked_exits_2(capsys):
    assert main([*PREFLIGHT, "--check", "disks"]) == 2
    assert "no pre-flight check named disks (the checks: nodes," in capsys.readouterr().err
    assert main([*PREFLIGHT, "--hop", "5"]) == 2
    assert "has hops 1 to 1, not 5" in capsys.readouterr().err
    assert main(["session", "preflight", "--profile", "nobody"]) == 2
    assert "No upgrade session for 'nobody'" in capsys.readouterr().err


def test_the_upgrade_step_refuses_while_the_latest_preflight_is_blocked(capsys, lab):
    """The same rule as the session page's Upgrade button: a blocked pre-flight holds the
    step until its blocking checks are rerun and pass, even after the blocker is fixed."""
    _, backups = lab
    assert main([*PREFLIGHT, *backups]) == 3  # no backup yet: blocked
    assert main(["session", "run", "backup", "--profile", "lab", *backups]) == 0
    capsys.readouterr()
    upgrade = ["session", "run", "upgrade", "--profile", "lab", *backups, "--yes"]
    assert main(upgrade) == 1
    err = capsys.readouterr().err
    assert "upgrade cannot run now" in err and "backup" in err
    assert main([*PREFLIGHT, *backups, "--check", "backup"]) == 0
    with Journal() as journal:  # the refused step changed nothing
        assert [h.state for h in _session_hops(journal)] == ["backed-up"]


def _session_hops(journal: Journal) -> list:
    from themis_desktop.core.upgrade.session import UpgradeSession

    session = UpgradeSession.latest_for(journal, "lab")
    assert session is not None
    return session.hops
