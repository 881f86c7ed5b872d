"""`themis-desktop session predict` and the prediction in `session status --json`, on a
real demo node: assumed before anything ran, journaled before the hop, put beside what
each step took once it ran."""

from __future__ import annotations

import json

from themis_desktop.cli import main
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import prediction, rehearsal_gate
from themis_desktop.core.upgrade.session import UpgradeSession


def test_predict_before_and_after_the_hop_ran(capsys, tmp_path, controlled_cluster):
    _, _, profile = controlled_cluster(nodes=1)
    with Journal() as journal:
        profile = profile_store.save(journal, profile)
    assert main(["session", "predict", "--profile", "lab"]) == 1
    assert "No upgrade session for 'lab'" in capsys.readouterr().err
    assert main(["session", "start", "--profile", "lab", "--to", "1.8", "--from", "1.7.0"]) == 0
    capsys.readouterr()

    assert main(["session", "predict", "--profile", "lab"]) == 0
    out = capsys.readouterr().out
    assert "Hop 1.7.0 → 1.8" in out and "n1 (" in out and "keys)" in out
    for step in ("backup", "stop", "install", "start", "ready", "validation", "restore"):
        assert f" {step} " in out, step
    assert "no measurement yet" in out and "if rolled back:" in out
    assert main(["session", "predict", "--profile", "lab", "--hop", "7"]) == 1
    assert "give --hop 1 to 1" in capsys.readouterr().err

    assert main(["session", "status", "--profile", "lab", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)["prediction"]
    assert status["source"] == "fresh" and status["assumed"] and status["hop"] == 1
    low, high = status["downtime_seconds"]
    assert 0 < low < high
    assert [s["step"] for s in status["nodes"][0]["steps"]] == list(prediction.HOP_STEPS)

    backups = ["--backup-dir", str(tmp_path / "b")]
    assert main(["session", "run", "backup", "--profile", "lab", *backups]) == 0
    with Journal() as journal:
        session = UpgradeSession.latest_for(journal, "lab")
        rehearsal_gate.override(journal, session, session.hops[0], profile, "predict test")
    for step in ("upgrade", "validate"):
        assert main(["session", "run", step, "--profile", "lab", *backups, "--yes"]) == 0, step
    assert "Predicted for hop 1.7.0 → 1.8" in capsys.readouterr().out

    assert main(["session", "predict", "--profile", "lab", "--hop", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["state"] == "done" and data["journaled_before_the_hop"]["hop"] is not None
    rows = {(r["phase"], r["step"]): r for r in data["against_actual"]}
    for key in (
        ("backup", "backup"),
        ("upgrade", "stop"),
        ("upgrade", "install"),
        ("upgrade", "start"),
        ("upgrade", "ready"),
        ("validate", "validation"),
    ):
        assert rows[key]["actual"] is not None and rows[key]["predicted"], key
    # the journal learned from this hop: the fresh prediction rests on it, and is narrower
    before = data["journaled_before_the_hop"]
    assert data["prediction"]["nodes"][0]["steps"][1]["measured"] >= 1
    assert data["prediction"]["downtime"][1] < before["downtime"][1]
    assert main(["session", "predict", "--profile", "lab"]) == 0
    assert "predicted before the hop against what it took:" in capsys.readouterr().out
