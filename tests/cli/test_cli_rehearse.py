"""`themis-desktop session rehearse` and `session override-rehearsal` on a real demo node."""

from __future__ import annotations

import json
from pathlib import Path

from themis_desktop.cli import main
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal

FAST = ["--duration", "2", "--interval", "0.25", "--min-samples", "6"]


def _lab(tmp_path, controlled_cluster, version: str, to: str, capsys, **options) -> list[str]:
    _, _, profile = controlled_cluster(nodes=1, version=version, **options)
    with Journal() as journal:
        profile_store.save(journal, profile)
    assert main(["session", "start", "--profile", "lab", "--from", version, "--to", to]) == 0
    backups = ["--backup-dir", str(tmp_path / "b")]
    assert main(["session", "run", "backup", "--profile", "lab", *backups]) == 0
    capsys.readouterr()
    return backups


def test_a_failing_rehearsal_exits_3_and_holds_the_upgrade_until_an_override(
    capsys, tmp_path, controlled_cluster
):
    backups = _lab(tmp_path, controlled_cluster, "1.8.0", "1.9", capsys, error_rates={"1.9": 0.5})
    assert main(["session", "run", "upgrade", "--profile", "lab", *backups, "--yes"]) == 1
    assert "has not been rehearsed on a copy yet" in capsys.readouterr().err
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    code = main(
        ["session", "rehearse", "--profile", "lab", *FAST, "--scratch-dir", str(scratch), "--json"]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 3 and out["verdict"] == "fail"
    assert any(r["metric"] == "error_rate" for r in out["evaluation"]) and out["errors"]
    assert list(scratch.iterdir()) == []  # the copy was removed
    assert main(["session", "status", "--profile", "lab", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["rehearsal"]["state"] == "failed"
    assert status["rehearsal"]["latest"]["id"] == out["id"]
    assert "did not pass" in status["steps"]["refused"]["upgrade"]
    assert main(["session", "run", "upgrade", "--profile", "lab", *backups, "--yes"]) == 1
    assert "did not pass" in capsys.readouterr().err
    note = "1.9's error rate is a known issue, accepted"
    assert main(["session", "override-rehearsal", "--profile", "lab", "--note", note]) == 0
    assert note in capsys.readouterr().out
    assert main(["session", "status", "--profile", "lab"]) == 0
    assert "rehearsal: overridden" in capsys.readouterr().out
    assert main(["session", "run", "upgrade", "--profile", "lab", *backups, "--yes"]) == 0


def test_a_passing_rehearsal_exits_0_keeps_the_copy_on_request_and_opens_the_gate(
    capsys, tmp_path, controlled_cluster
):
    _lab(tmp_path, controlled_cluster, "1.7.0", "1.8", capsys)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    args = ["session", "rehearse", "--profile", "lab", *FAST, "--scratch-dir", str(scratch)]
    assert main([*args, "--keep"]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "the copy is kept in" in out
    (kept,) = scratch.iterdir()
    assert (Path(kept) / "n1" / "data").is_dir()
    assert main(["session", "status", "--profile", "lab", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["rehearsal"]["state"] == "passed" and "upgrade" in status["steps"]["allowed"]


def test_rehearse_cannot_run_without_a_backup_exits_2(capsys, controlled_cluster):
    _, _, profile = controlled_cluster(nodes=1)
    with Journal() as journal:
        profile_store.save(journal, profile)
    assert main(["session", "start", "--profile", "lab", "--from", "1.7.0", "--to", "1.8"]) == 0
    assert main(["session", "rehearse", "--profile", "lab", "--hop", "1", *FAST]) == 2
    assert "back up now" in capsys.readouterr().err
    assert main(["session", "rehearse", "--profile", "lab", "--hop", "7", *FAST]) == 2
    assert main(["session", "override-rehearsal", "--profile", "lab", "--note", " "]) == 1


def test_too_little_evidence_is_inconclusive_and_exits_4(capsys, tmp_path, controlled_cluster):
    _lab(tmp_path, controlled_cluster, "1.7.0", "1.8", capsys)
    many = ["--min-samples", "500", "--evidence-limit", "1.5"]
    code = main(["session", "rehearse", "--profile", "lab", *FAST[:4], *many, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 4 and out["verdict"] == "inconclusive"
    assert "fewer than 500 samples" in out["reason"] or "too few samples" in out["reason"]
    assert main(["session", "status", "--profile", "lab", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rehearsal"]["state"] == "inconclusive"
