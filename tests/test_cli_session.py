"""`themis-desktop session …` walks a hop and rolls it back on a real demo node."""

from __future__ import annotations

import json

from themis_desktop.cli import main
from themis_desktop.core.journal import Journal
from themis_desktop.core.server import ThemisClient


def test_start_run_every_step_status_and_rollback(capsys, tmp_path, controlled_cluster):
    _, _, profile = controlled_cluster(nodes=1)
    with Journal() as journal:  # a profile as the Connection dialog saves it
        journal.save_profile(profile)
    url = profile.nodes[0].url
    assert main(["session", "start", "--profile", "lab", "--to", "1.8"]) == 0
    assert "1.7.0 → 1.8" in capsys.readouterr().out
    assert main(["session", "start", "--profile", "lab", "--to", "1.8"]) == 1
    assert "has an open session" in capsys.readouterr().err
    assert main(["session", "run", "upgrade", "--profile", "lab"]) == 1
    assert "No verified backup of n1" in capsys.readouterr().err
    backups = ["--backup-dir", str(tmp_path / "b")]
    for step in ("pre-checks", "backup", "upgrade", "validate"):
        assert main(["session", "run", step, "--profile", "lab", *backups]) == 0, step
    capsys.readouterr()
    assert main(["session", "status", "--profile", "lab", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["hops"][0]["state"] == "done" and status["state"] == "done"
    assert status["rollback_window"]["band"] == "easy"
    assert main(["session", "rollback", "--profile", "lab", "--note", "slow"]) == 1
    assert "Add --yes" in capsys.readouterr().out
    assert main(["session", "rollback", "--profile", "lab", "--note", "slow", "--yes"]) == 0
    assert "rolled back to 1.7.0" in capsys.readouterr().out
    with ThemisClient(url) as client:
        assert client.version(refresh=True).version == "1.7.0"
    assert main(["session", "status", "--profile", "lab"]) == 0
    assert "rolled-back" in capsys.readouterr().out
