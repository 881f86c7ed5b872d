"""Dress rehearsals on a real demo cluster: a copy of the latest verified backup runs the
hop's target beside production, is judged against it, and gates the upgrade step."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.rehearsal.host import DemoHost, RehearsalError
from themis_desktop.core.rehearsal.runner import RehearsalOptions, rehearse
from themis_desktop.core.service.control import controller_for
from themis_desktop.core.upgrade import rehearsal_gate, rehearsal_store
from themis_desktop.core.upgrade.hop_runner import HopContext, back_up, upgrade
from themis_desktop.core.upgrade.report import collect, render_html
from themis_desktop.core.upgrade.session import SessionError, UpgradeSession
from themis_desktop.core.upgrade.steps import steps_now
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade

FAST = {"duration_s": 3.0, "interval_s": 0.25, "min_samples": 8}


def tree_hashes(folder: str | Path) -> dict[str, str]:
    """Every file under `folder` and its SHA-256."""
    root = Path(folder)
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def make_lab(tmp_path, controlled_cluster, version: str, to: str, **options):
    _, control, profile = controlled_cluster(nodes=1, version=version, **options)
    journal_path = tmp_path / "journal.sqlite"
    with Journal(journal_path) as journal:
        profile = profile_store.save(journal, profile)
        plan = plan_upgrade(load_catalogue(with_user=False), version, to)
        session = UpgradeSession.create(journal, profile, plan)
    ctx = HopContext(
        profile, None, controller_for(profile.service), journal_path, tmp_path / "backups"
    )
    back_up(ctx, session, session.hops[0])
    return ctx, control, session


def gate_of(ctx, session):
    with ctx.journal() as journal:
        session = session.reload(journal)
        return rehearsal_gate.gate(journal, session, session.hops[0], ctx.profile)


def test_a_misbehaving_target_fails_its_rehearsal_and_holds_the_upgrade_until_an_override(
    tmp_path, controlled_cluster
):
    ctx, control, session = make_lab(
        tmp_path, controlled_cluster, "1.8.0", "1.9", error_rates={"1.9": 0.5}
    )
    hop = session.hops[0]
    data_dir = ctx.profile.nodes[0].data_dir
    before = tree_hashes(data_dir)
    lines: list[str] = []
    result = rehearse(
        ctx.profile,
        None,
        session,
        hop,
        journal_path=ctx.journal_path,
        options=RehearsalOptions(**FAST, scratch_root=tmp_path),
        log=lines.append,
    )
    assert result.verdict == "fail", result.reason
    assert "error" in result.reason.lower()
    assert result.errors and "500" in " ".join(result.errors)  # the copy's own log says so
    names = [s.name for s in result.steps]
    assert any(n.startswith("restore") for n in names)
    assert any(n.startswith("version of the copy") for n in names)
    assert all(s.seconds >= 0 for s in result.steps)
    # the evidence: the error rate's verdict, or (when 1.9's errors hit the copy's checks
    # first, as they may on a loaded machine) the failed step that met them
    error_rate_failed = any(
        r["metric"] == "error_rate" and r["verdict"] == "fail" for r in result.evaluation
    )
    failed_steps = [f"{s.name}: {s.detail}" for s in result.steps if not s.ok]
    assert error_rate_failed or failed_steps, (result.reason, result.evaluation)
    assert tree_hashes(data_dir) == before  # production untouched
    assert not Path(result.scratch_dir).exists()  # the copy is gone
    assert control.handle("GET", "/rehearsals", b"")[1] == []  # and stopped

    gate = gate_of(ctx, session)
    assert gate.state == "failed" and "did not pass" in (gate.refusal or "")
    with ctx.journal() as journal:
        fresh = session.reload(journal)
        assert "did not pass" in (steps_now(fresh, None, gate).why_not("upgrade") or "")
    with pytest.raises(SessionError, match="did not pass"):
        upgrade(ctx, session, session.hops[0])
    with ctx.journal() as journal, pytest.raises(SessionError, match="needs a note"):
        rehearsal_gate.override(journal, session.reload(journal), hop, ctx.profile, "  ")
    with ctx.journal() as journal:
        rehearsal_gate.override(
            journal, session.reload(journal), hop, ctx.profile, "known 1.9 issue, accepted"
        )
        assert [e.type for e in journal.events(session_id=session.id)].count(
            "rehearsal.override"
        ) == 1
    assert gate_of(ctx, session).state == "overridden"
    assert upgrade(ctx, session, session.hops[0]).state == "validating"
    with ctx.journal() as journal:  # the report lists the rehearsal and the override
        page = render_html(collect(journal, session.id))
    assert "Rehearsals on a copy" in page and "gate overridden" in page
    assert "known 1.9 issue, accepted" in page and "version of the copy" in page


def test_a_healthy_target_passes_and_the_upgrade_step_is_allowed(tmp_path, controlled_cluster):
    ctx, control, session = make_lab(tmp_path, controlled_cluster, "1.7.0", "1.8")
    hop = session.hops[0]
    data_dir = ctx.profile.nodes[0].data_dir
    before = tree_hashes(data_dir)
    assert gate_of(ctx, session).state == "missing"
    result = rehearse(
        ctx.profile,
        None,
        session,
        hop,
        journal_path=ctx.journal_path,
        options=RehearsalOptions(**FAST, scratch_root=tmp_path, keep=True),
    )
    assert result.verdict == "pass", (result.reason, result.evaluation)
    assert tree_hashes(data_dir) == before
    kept = Path(result.scratch_dir)
    assert result.kept and (kept / ctx.profile.nodes[0].name / "data").is_dir()  # --keep
    assert control.handle("GET", "/rehearsals", b"")[1] == []  # stopped all the same
    gate = gate_of(ctx, session)
    assert gate.state == "passed" and gate.refusal is None
    with ctx.journal() as journal:
        assert rehearsal_store.latest(journal, hop.id).id == result.id
    assert upgrade(ctx, session, session.hops[0]).state == "validating"


def test_a_copy_answering_another_version_fails(tmp_path, controlled_cluster):
    ctx, _, session = make_lab(tmp_path, controlled_cluster, "1.7.0", "1.8")

    class WrongVersionHost(DemoHost):  # the host installs the wrong version on the copy
        def start(self, node, folder, data_dir, version):
            return super().start(node, folder, data_dir, "1.7.0")

    result = rehearse(
        ctx.profile,
        None,
        session,
        session.hops[0],
        journal_path=ctx.journal_path,
        options=RehearsalOptions(**FAST, scratch_root=tmp_path),
        host=WrongVersionHost(ctx.profile.service.control_url),
    )
    assert result.verdict == "fail"
    assert "answers as 1.7.0" in result.reason and "target" in result.reason
    assert not Path(result.scratch_dir).exists()


def test_no_rehearsal_without_a_verified_backup(tmp_path, controlled_cluster):
    _, _, profile = controlled_cluster(nodes=1)
    journal_path = tmp_path / "journal.sqlite"
    with Journal(journal_path) as journal:
        profile = profile_store.save(journal, profile)
        plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
        session = UpgradeSession.create(journal, profile, plan)
    with pytest.raises(RehearsalError, match="back up now"):
        rehearse(profile, None, session, session.hops[0], journal_path=journal_path)


def test_a_commands_rehearsal_host_runs_the_copy_with_the_profiles_commands(
    tmp_path, controlled_cluster
):
    """A real installation's rehearsal host: shell commands with {data_dir}, {version} and
    {port} start the target on the copy (here a demo-server process) and stop it again."""
    import dataclasses
    import shlex
    import sys

    from themis_desktop.core.rehearsal.host import CommandsHost, host_for

    ctx, _, session = make_lab(tmp_path, controlled_cluster, "1.7.0", "1.8")
    server = f"{shlex.quote(sys.executable)} -m themis_desktop demo-server"
    service = dataclasses.replace(
        ctx.profile.service,
        rehearsal_start=(
            "mkdir -p {folder}/base/node-1 && mv {data_dir} {folder}/base/node-1/data && "
            f"({server} --port {{port}} --version {{version}} --data-dir {{folder}}/base "
            "--no-router --no-workload --data-size-mb 1 > {folder}/server.out 2>&1 & "
            "echo $! > {folder}/pid)"
        ),
        rehearsal_stop=(
            "pid=$(cat {folder}/pid); kill $pid; while kill -0 $pid 2>/dev/null; do sleep 0.1; done"
        ),
    )
    profile = dataclasses.replace(ctx.profile, service=service)
    assert isinstance(host_for(service), CommandsHost)
    before = tree_hashes(profile.nodes[0].data_dir)
    result = rehearse(
        profile,
        None,
        session,
        session.hops[0],
        journal_path=ctx.journal_path,
        options=RehearsalOptions(**FAST, scratch_root=tmp_path, ready_timeout_s=30),
    )
    assert result.host == "commands"
    assert result.verdict == "pass", (result.reason, result.steps)
    assert tree_hashes(profile.nodes[0].data_dir) == before
    assert not Path(result.scratch_dir).exists()


def test_without_a_rehearsal_host_the_message_says_what_to_set():
    from themis_desktop.core.connection.service_config import ServiceConfig
    from themis_desktop.core.rehearsal.host import host_for

    for kind in ("manual", "systemd"):
        with pytest.raises(RehearsalError, match="Set a rehearsal start and stop command"):
            host_for(ServiceConfig(kind=kind))


def test_a_cancelled_rehearsal_is_recorded_and_leaves_nothing_behind(tmp_path, controlled_cluster):
    import threading

    ctx, control, session = make_lab(tmp_path, controlled_cluster, "1.7.0", "1.8")
    cancel = threading.Event()
    seen: list[tuple[str, float | None, float]] = []

    def progress(text: str, left: float | None, done: float) -> None:
        seen.append((text, left, done))
        if text.startswith("Probing"):
            cancel.set()  # the Cancel button, while the probes run

    result = rehearse(
        ctx.profile,
        None,
        session,
        session.hops[0],
        journal_path=ctx.journal_path,
        options=RehearsalOptions(duration_s=30, interval_s=0.25, scratch_root=tmp_path),
        progress=progress,
        cancelled=cancel,
    )
    assert result.verdict == "cancelled"
    assert any(left for _, left, _ in seen)  # the time left was told
    assert [d for _, _, d in seen] == sorted(d for _, _, d in seen)  # progress only grows
    assert not Path(result.scratch_dir).exists()
    assert control.handle("GET", "/rehearsals", b"")[1] == []
    assert gate_of(ctx, session).state == "cancelled"
