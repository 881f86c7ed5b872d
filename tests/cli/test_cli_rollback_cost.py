"""The rollback cost on the command line: `session status --json` gains the mode of each hop
(binary swap until the new version writes, then restore only), the writes at risk per node
and the half-done warning; `restore` refuses a backup written by a newer version than the
binary that will run on it."""

from __future__ import annotations

import json

from tests.rehearsal_override import override_rehearsals
from themis_desktop.cli import main
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.server.client import ThemisClient


def _status(capsys, *extra: str) -> dict:
    capsys.readouterr()
    assert main(["session", "status", "--profile", "lab", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)["rollback_cost"]


def _write(url: str, count: int, prefix: str) -> None:
    with ThemisClient(url) as client:
        for i in range(count):
            client.put_entity(f"{prefix}{i}", "v")


def test_session_status_json_has_the_mode_the_writes_at_risk_and_half_done(
    capsys, tmp_path, controlled_cluster
):
    _, _, profile = controlled_cluster(nodes=1)
    with Journal() as journal:
        profile_store.save(journal, profile)
    url = profile.nodes[0].url
    assert main(["session", "start", "--profile", "lab", "--to", "1.8"]) == 0
    backups = ["--backup-dir", str(tmp_path / "b")]
    assert main(["session", "run", "backup", "--profile", "lab", *backups]) == 0
    _write(url, 4, "a")
    cost = _status(capsys)
    assert cost["hops"][0]["mode"] == "binary swap" and cost["hops"][0]["one_way"]
    n1 = cost["writes_at_risk"]["n1"]
    assert n1["writes"] == 4 and n1["at_least"] is False and n1["since_backup"]
    assert cost["half_done"] is None

    override_rehearsals()  # the rehearsal is not what this test is about
    assert main(["session", "run", "upgrade", "--profile", "lab", *backups, "--yes"]) == 0
    cost = _status(capsys)
    assert cost["mode"] == "binary swap" and cost["hop"].startswith("1.7.0 → 1.8")
    half = cost["half_done"]
    assert half["warning"] is False and half["threshold_seconds"] == 7200
    assert "not validated" in half["reason"]
    _write(url, 2, "b")  # 1.8 writes: no way back by a binary swap
    cost = _status(capsys)
    assert cost["mode"] == "restore only" and cost["hops"][0]["written"] == ["n1"]
    assert cost["writes_at_risk"]["n1"]["writes"] == 6
    assert cost["hops"][0]["writes_at_risk"]["n1"]["writes"] == 6

    # the threshold is an option; past it the text output warns
    assert _status(capsys, "--half-done-after", "0")["half_done"]["warning"] is True
    assert main(["session", "status", "--profile", "lab", "--half-done-after", "0"]) == 0
    out = capsys.readouterr().out
    assert "WARNING: half done" in out and "restore only" in out
    assert "writes at risk on n1: 6 since backup" in out
    # --no-poll reads the journal only
    _write(url, 1, "c")
    assert _status(capsys, "--no-poll")["writes_at_risk"]["n1"]["writes"] == 6
    assert _status(capsys)["writes_at_risk"]["n1"]["writes"] == 7


def test_restore_refuses_a_backup_written_by_a_newer_version(capsys, tmp_path, start_demo_node):
    node = start_demo_node(version="1.8.0")
    out_dir = tmp_path / "out"
    args = ["backup", "--server", node.url, "--data-dir", str(node.data_path), "-o", str(out_dir)]
    assert main(args) == 0
    archive = capsys.readouterr().out.strip().splitlines()[-1]
    assert "-1.8.0-" in archive  # tagged with the version the server answered with
    node.stop()
    current = (node.data_path / "CURRENT").read_text()
    restore = ["restore", archive, "--data-dir", str(node.data_path), "--yes"]
    assert main([*restore, "--binary-version", "1.7.3"]) == 1
    err = capsys.readouterr().err
    assert "written by ThemisDB 1.8.0" in err and "would run 1.7.3" in err
    assert "Nothing was changed" in err
    assert not list(node.data_path.parent.glob("*.pre-restore-*"))  # untouched
    assert (node.data_path / "CURRENT").read_text() == current
    assert main([*restore, "--binary-version", "1.8.0"]) == 0
    assert list(node.data_path.parent.glob("*.pre-restore-*"))
