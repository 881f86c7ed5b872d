"""`themis-desktop session rollback` checks the restored cluster afterwards, and
`session verify-rollback` checks it again (exit 0 pass, 3 fail, 4 no verdict); the outcome
is in `session status --json` and the report. On a real demo node."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import wait_until
from themis_desktop.cli import main
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.metrics import store as metrics_store
from themis_desktop.core.metrics.sampler import Recorder
from themis_desktop.core.metrics.sampling import NodeSampler
from themis_desktop.core.upgrade import rehearsal_gate
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.core.util.paths import journal_path

FAST = ["--min-samples", "4", "--interval", "0.2"]


def _record_samples(profile, count: int) -> None:
    """The app's background sampler until the journal holds `count` samples of each node
    (the window's metrics monitor records them so while it is connected)."""
    samplers = [NodeSampler(profile.client(n, None, timeout=2.0), n.name) for n in profile.nodes]
    recorder = Recorder(profile.name, samplers, interval=0.2, journal_path=journal_path())
    start = time.time()
    recorder.start()

    def enough() -> bool:
        with Journal() as journal:
            series = metrics_store.load_series(journal, profile.name, start)
        return len(series) == len(samplers) and all(len(s.at) >= count for s in series.values())

    try:
        wait_until(enough, timeout=20)
    finally:
        recorder.stop()
        for sampler in samplers:
            sampler.client.close()


def test_a_failing_check_after_the_rollback_exits_3_with_its_evidence(
    capsys, tmp_path, controlled_cluster
):
    cluster, _, profile = controlled_cluster(nodes=1)
    with Journal() as journal:
        profile = profile_store.save(journal, profile)
    backups = ["--backup-dir", str(tmp_path / "b")]
    assert main(["session", "start", "--profile", "lab", "--to", "1.8"]) == 0
    for step in ("pre-checks", "backup"):
        assert main(["session", "run", step, "--profile", "lab", *backups]) == 0, step
    _record_samples(profile, 8)  # the window before the hop (no baseline was captured)
    with Journal() as journal:  # the rehearsal gate, overridden with a note
        session = UpgradeSession.latest_for(journal, "lab")
        rehearsal_gate.override(journal, session, session.hops[0], profile, "lab test")
    assert main(["session", "run", "upgrade", "--profile", "lab", *backups, "--yes"]) == 0
    cluster.nodes[0].options.latency_factors["1.7"] = 30.0  # 1.7 comes back 30 times slower
    capsys.readouterr()

    args = ["--profile", "lab", "--note", "slow", "--yes", "--verify-seconds", "2", *FAST]
    assert main(["session", "rollback", *args]) == 3
    out = capsys.readouterr().out
    assert "rolled back to 1.7.0" in out
    assert "checking the restored cluster for 2 s" in out
    assert ": FAIL — the restored cluster is worse than before the hop" in out
    assert "trigger" in out and "post-rollback" in out

    verify = ["session", "verify-rollback", "--profile", "lab", "--json"]
    assert main([*verify, "--seconds", "2", *FAST]) == 3
    check = json.loads(capsys.readouterr().out)
    assert check["verdict"] == "fail" and check["seconds"] >= 2
    assert check["reference"]["source"] == "samples"
    assert check["metrics"]["probe_ms"]["verdict"] == "fail"
    assert check["metrics"]["probe_ms"]["n"][1] >= 4 and isinstance(check["trigger"], int)

    assert main(["session", "status", "--profile", "lab", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["post_rollback_check"]["event"] == check["event"]
    assert status["post_rollback_check"]["verdict"] == "fail"
    raised = [t for t in status["triggers"] if t["kind"] == "post-rollback"]
    assert len(raised) == 2 and raised[-1]["id"] == check["trigger"]
    assert status["health"]["state"] == "failing"

    # too little evidence: inconclusive, exit 4; 0 s: skipped (journaled), exit 4 too
    assert main([*verify, "--seconds", "0.4", "--min-samples", "500", "--interval", "0.2"]) == 4
    short = json.loads(capsys.readouterr().out)
    assert short["verdict"] == "inconclusive" and short["needed"] > 0
    assert main([*verify, "--seconds", "0"]) == 4
    assert json.loads(capsys.readouterr().out)["verdict"] == "skipped"
    assert main(["session", "status", "--profile", "lab"]) == 0
    assert "Post-rollback check of 1.7.0 → 1.8.2: SKIPPED" in capsys.readouterr().out

    report = tmp_path / "report.html"
    assert main(["report", "-o", str(report)]) == 0
    page = report.read_text(encoding="utf-8")
    assert "Check after the rollback" in page and "Probe latency" in page


def test_verify_rollback_without_a_rolled_back_hop_exits_1(capsys):
    from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    with Journal() as journal:
        profile = profile_store.save(journal, Profile("p", (NodeEndpoint("http://x:1", "n1"),)))
        UpgradeSession.create(
            journal, profile, plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
        )
    assert main(["session", "verify-rollback", "--profile", "p", "--seconds", "1"]) == 1
    assert "No hop of session" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["session", "verify-rollback", "--profile", "p", "--seconds", "-1"])
    assert exited.value.code == 2
    assert "seconds must be 0 or more" in capsys.readouterr().err
