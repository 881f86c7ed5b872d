"""A session whose service control is `ansible`: its upgrade and rollback steps run as real
ansible-runner jobs against a demo cluster on loopback (`ansible_connection: local`), each
task's result journaled and logged live; the 1.9 hop fails at the gate and the play's rescue
restores the node; a cancel stops the job."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest

from tests.core.fleet.test_ansible_export import needs_ansible
from tests.rehearsal_override import override_rehearsals
from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.fleet.ansible_run import attach
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import report
from themis_desktop.core.upgrade.hop_runner import (
    back_up,
    hop_context,
    pre_checks,
    rollback,
    upgrade,
    validate,
)
from themis_desktop.core.upgrade.session import SessionError, UpgradeSession
from themis_desktop.core.util.paths import journal_path
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade
from themis_desktop.demo.versions import default_profile

pytestmark = [needs_ansible, pytest.mark.slow]


def gated_options() -> dict:
    """A demo cluster whose gate judges fairly: a workload, versions equally fast (the
    default profiles differ a little per version), 1.9 failing 5 % of its requests."""
    equal = {v: 2.0 / default_profile(v).median_ms for v in ("1.7.0", "1.8.2", "1.9.1")}
    return {
        "workload": True,
        "latency_sigma": 0.05,
        "latency_factors": equal,
        "error_rates": {"1.9": 0.05},
    }


def ansible_lab(controlled_cluster, tmp_path: Path, nodes: int, version: str, **service):
    """A demo cluster (equally fast versions, 1.9 failing 5 % of requests) saved as "lab"
    with service control `ansible` over the demo's control API, a short but real gate."""
    cluster, control, demo = controlled_cluster(nodes=nodes, version=version, **gated_options())
    settings = {
        "ansible_soak": 3.0,
        "ansible_interval": 0.2,
        "ansible_min_samples": 10,
        **service,
    }
    config = ServiceConfig(
        kind="ansible",
        ansible_control="demo",
        control_url=demo.service.control_url,
        ansible_dir=str(tmp_path / "runs"),
        **settings,
    )
    profile = dataclasses.replace(demo, service=config)
    with Journal() as journal:
        profile_store.save(journal, profile)
    return cluster, control, profile


def _ready_session(profile, tmp_path: Path, hop: tuple[str, str], lines: list[str], cancelled=None):
    """A session of `hop` (from, to) on `profile`, pre-checked, backed up, its rehearsal
    gate overridden: ready for the upgrade step."""
    ctx = attach(
        hop_context(
            profile,
            None,
            journal_path=journal_path(),
            backup_dir=tmp_path / "backups",
            log=lines.append,
            cancelled=cancelled,
        )
    )
    plan = plan_upgrade(load_catalogue(with_user=False), *hop)
    with ctx.journal() as journal:
        session = UpgradeSession.create(journal, profile, plan)
    hop = session.hops[0]
    pre_checks(ctx, session, hop)
    back_up(ctx, session, hop)
    override_rehearsals()
    return ctx, session, hop


def _tasks(session) -> list:
    with Journal() as journal:
        return journal.events(session_id=session.id, types=["ansible.task"])


def test_a_rolling_hop_of_three_nodes_runs_as_an_ansible_play(controlled_cluster, tmp_path):
    _cluster, control, profile = ansible_lab(controlled_cluster, tmp_path, 3, "1.7.0")
    lines: list[str] = []
    ctx, session, hop = _ready_session(profile, tmp_path, ("1.7.0", "1.8"), lines)
    began = time.monotonic()
    upgraded = upgrade(ctx, session, hop)
    took = time.monotonic() - began
    assert upgraded.state == "validating", lines[-20:]
    assert [(n["version"], n["running"]) for n in control.nodes()] == [("1.8.2", True)] * 3
    events = _tasks(session)
    for node in ("n1", "n2", "n3"):
        names = [e.data["task"] for e in events if e.node == node]
        assert len(names) > 5, names
        for wanted in ("Stop the service", "Install 1.8.2", "Start the service", "is ready"):
            assert any(wanted in name for name in names), (node, wanted, names)
        assert all(e.data["status"] in ("ok", "changed", "skipped") for e in events)
        assert all(e.data["hop"] == hop.id and e.data["step"] == "upgrade" for e in events)
    assert all(isinstance(e.data["duration"], float) for e in events)
    assert any("Soak and gate" in e.data["task"] for e in events)
    # live: one line per task result, with node, task, status and duration
    assert any(line.startswith("✓ n2: Stop the service") and " s" in line for line in lines)
    with Journal() as journal:
        runs = journal.events(session_id=session.id, types=["ansible.run", "ansible.stats"])
    assert [(e.type, e.data["step"]) for e in runs] == [
        ("ansible.stats", "upgrade"),
        ("ansible.run", "upgrade"),
    ]
    assert runs[1].data["status"] == "successful" and runs[1].data["tasks"] == len(events)
    assert validate(ctx, session, upgraded)
    with Journal() as journal:
        html = report.render_html(report.collect(journal, session.id))
    assert "Ansible tasks" in html and "Upgrade step" in html
    assert html.count("<tr class='ansible'>") == len(events)
    print(f"3-node rolling hop through Ansible: {took:.1f} s")


def test_the_1_9_hop_fails_at_the_gate_and_the_rescue_restores_the_node(
    controlled_cluster, tmp_path
):
    _cluster, control, profile = ansible_lab(controlled_cluster, tmp_path, 2, "1.8.2")
    lines: list[str] = []
    ctx, session, hop = _ready_session(profile, tmp_path, ("1.8.2", "1.9"), lines)
    with pytest.raises(SessionError) as failed:
        upgrade(ctx, session, hop)
    text = str(failed.value)
    assert "failed on n1" in text and "Soak and gate" in text, text
    assert "rolled n1 back to 1.8.2" in text
    assert [(n["version"], n["running"]) for n in control.nodes()] == [("1.8.2", True)] * 2
    with Journal() as journal:
        fresh = session.reload(journal)
        assert fresh.hop(hop.id).state == "failed"
        run = journal.events(session_id=session.id, types=["ansible.run"])[-1]
    assert run.data["status"] == "failed" and run.data["rescued"] == ["n1"]
    events = _tasks(session)
    failed_tasks = [e for e in events if e.data["status"] == "failed"]
    assert failed_tasks[0].node == "n1" and "Soak and gate" in failed_tasks[0].data["task"]
    assert any(e.data["task"].startswith("Rollback 2/6") for e in events)
    assert not any(e.node == "n2" for e in events)  # the next node was never touched
    # the session's rollback runs the rollback play: n1 is back already, n2 never moved
    rolled = rollback(ctx, fresh, fresh.hop(hop.id), "the 1.9 gate failed")
    assert rolled.state == "rolled-back"
    with Journal() as journal:
        runs = journal.events(session_id=session.id, types=["ansible.run"])
    assert [(r.data["step"], r.data["status"]) for r in runs] == [
        ("upgrade", "failed"),
        ("rollback", "successful"),
    ]


def test_cancel_stops_the_job_and_the_step_is_recorded_cancelled(controlled_cluster, tmp_path):
    _cluster, control, profile = ansible_lab(
        controlled_cluster, tmp_path, 1, "1.7.0", ansible_soak=60.0, ansible_interval=1.0
    )
    lines: list[str] = []
    cancelled = threading.Event()
    ctx, session, hop = _ready_session(profile, tmp_path, ("1.7.0", "1.8"), lines, cancelled)
    outcome: list[BaseException | None] = []

    def work() -> None:
        try:
            upgrade(ctx, session, hop)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=work, name="ansible-upgrade")
    worker.start()
    try:
        from tests.conftest import wait_until

        wait_until(
            lambda: any("Sample the metrics" in line for line in lines),
            timeout=60,
            what="the play's 60 s baseline soak to start",
        )
        cancelled.set()
        asked = time.monotonic()
    finally:
        cancelled.set()
        worker.join(timeout=60)
    assert not worker.is_alive()
    assert time.monotonic() - asked < 10, "the job did not stop within a few seconds"
    assert isinstance(outcome[0], SessionError) and "Cancelled" in str(outcome[0])
    with Journal() as journal:
        run = journal.events(session_id=session.id, types=["ansible.run"])[-1]
        assert session.reload(journal).hop(hop.id).state == "failed"
    assert run.data["status"] == "cancelled"
    assert [(n["version"], n["running"]) for n in control.nodes()] == [("1.7.0", True)]
    # the runner's record of the job keeps its command, not the environment (the token)
    commands = list((tmp_path / "runs").rglob("artifacts/*/command"))
    assert commands and all('"env": "(not kept)"' in p.read_text() for p in commands)
