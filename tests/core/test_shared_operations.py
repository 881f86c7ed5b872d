"""Issue 20: each operation the window and the command line share has one implementation in
core, so the same operation leaves the same journal rows whoever runs it: a backup (the
command line, the Backups page's call, the hop runner, the rollout runner), a delete, a
restore, and the hop a rollback undoes. Real demo nodes, real archives, the real journal."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tests.rehearsal_override import override_rehearsals
from themis_desktop.cli import main
from themis_desktop.core.backup import catalog as backup_catalog
from themis_desktop.core.backup.archive_format import sidecar_path
from themis_desktop.core.backup.operations import (
    NodeJob,
    back_up_and_record_all,
    delete_backup,
    restore_node,
)
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.rollout import runner as rollouts
from themis_desktop.core.rollout.traffic import router_for
from themis_desktop.core.upgrade import hop_runner
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.core.util.paths import journal_path
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade


def _saved(controlled_cluster, name: str = "lab"):
    """A one-node cluster at 1.7.0 saved as profile `name` (as the Connection dialog does)."""
    _, _, profile = controlled_cluster(nodes=1)
    with Journal() as journal:
        return profile_store.save(journal, dataclasses.replace(profile, name=name))


def _open_session(profile) -> UpgradeSession:
    plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
    with Journal() as journal:
        session = UpgradeSession.create(journal, profile, plan)
    override_rehearsals()
    return session


def _columns(record) -> tuple:
    return (
        record.profile,
        record.node,
        record.version,
        record.verified,
        record.session_id,
        record.consistent,
        record.checkpoint,
    )


def _events(kind: str) -> list:
    with Journal() as journal:
        return journal.events(types=[kind])


def test_a_backup_fills_the_same_columns_whoever_takes_it(capsys, tmp_path, controlled_cluster):
    profile = _saved(controlled_cluster)
    session = _open_session(profile)
    node = profile.nodes[0]
    # the command line, given only paths: the profile owning that data dir is recorded
    cli = ["backup", "--server", node.url, "--data-dir", node.data_dir]
    assert main([*cli, "--config", node.config_path, "-o", str(tmp_path / "cli")]) == 0
    # the Backups page's call
    (page,) = back_up_and_record_all(
        profile, None, [NodeJob(node, "1.7.0")], tmp_path / "page", journal_path=journal_path()
    )
    # the hop runner's backup step
    ctx = hop_runner.hop_context(
        profile, None, journal_path=journal_path(), backup_dir=tmp_path / "hop"
    )
    (hop,) = hop_runner.back_up(ctx, session, session.hops[0])
    # the rollout runner's backup step
    rollout = rollouts.Rollout("lab", "rolling", "1.7.0", "1.8.2", steps=[])
    runner = rollouts.RolloutRunner(rollout, ctx, router_for(profile.router))
    runner._run_step(rollouts.Step("backup", "Verified backup of n1", ("n1",)))

    with Journal() as journal:
        records = backup_catalog.backups(journal)
    assert len(records) == 4
    assert page.record in records and hop in records
    assert rollout.backups["n1"] in {r.id for r in records}
    assert {_columns(r) for r in records} == {("lab", "n1", "1.7.0", True, session.id, True, True)}
    created = _events("backup.created")
    assert len(created) == 4
    assert {(e.session_id, e.node) for e in created} == {(session.id, "n1")}
    # the open session keeps all four from retention
    with Journal() as journal:
        assert backup_catalog.retention_victims(journal, keep_last=0) == []


def test_a_delete_removes_the_same_files_and_rows_from_the_page_and_the_cli(
    capsys, tmp_path, controlled_cluster
):
    profile = _saved(controlled_cluster)
    node = profile.nodes[0]
    for _ in range(3):
        back_up_and_record_all(profile, None, [NodeJob(node, "1.7.0")], tmp_path / "b")
    with Journal() as journal:
        newest, *older = backup_catalog.backups(journal)
    assert main(["backups", "prune", "--keep", "1", "--yes"]) == 0  # the two older ones
    with Journal() as journal:
        delete_backup(journal, newest)  # the Backups page's Delete
        assert backup_catalog.backups(journal) == []
    for record in (newest, *older):
        archive = Path(record.path)
        assert not archive.exists() and not sidecar_path(archive).exists()
    deleted = _events("backup.deleted")
    assert sorted(e.data["backup_id"] for e in deleted) == sorted(r.id for r in (newest, *older))
    assert {(e.node, e.data["profile"], e.session_id) for e in deleted} == {("n1", "lab", None)}


def test_a_restore_is_checked_and_journaled_the_same_from_the_page_and_the_cli(
    capsys, tmp_path, controlled_cluster
):
    profile = _saved(controlled_cluster)
    session = _open_session(profile)
    node = profile.nodes[0]
    (outcome,) = back_up_and_record_all(profile, None, [NodeJob(node, "1.7.0")], tmp_path / "b")
    record = outcome.record
    ctx = hop_runner.hop_context(profile, None, journal_path=journal_path())
    ctx.controller.stop(node)
    marker = Path(node.data_dir) / "CURRENT"
    original = marker.read_bytes()
    marker.write_text("changed")
    config_dir = str(Path(node.config_path).parent)
    cli = ["restore", record.path, "--data-dir", node.data_dir, "--config-dir", config_dir]
    assert main([*cli, "--node", "n1", "--server", node.url, "--yes"]) == 0
    assert marker.read_bytes() == original
    marker.write_text("changed again")
    result = restore_node(node, record, journal_path=journal_path())  # the page, hop, rollout
    assert marker.read_bytes() == original and result.manifest is not None
    restored = _events("backup.restored")
    assert len(restored) == 2
    rows = {
        (e.session_id, e.node, e.data["backup_id"], e.data["profile"], e.data["ok"])
        for e in restored
    }
    assert rows == {(session.id, "n1", record.id, "lab", True)}
    assert all(Path(e.data["kept"]).is_dir() for e in restored)


def _upgraded(profile, tmp_path) -> tuple[UpgradeSession, hop_runner.HopContext]:
    session = _open_session(profile)
    ctx = hop_runner.hop_context(
        profile, None, journal_path=journal_path(), backup_dir=tmp_path / profile.name
    )
    hop_runner.back_up(ctx, session, session.hops[0])
    hop_runner.upgrade(ctx, session, session.reload(ctx.journal()).hops[0])
    with ctx.journal() as journal:
        return session.reload(journal), ctx


def _rollback_rows(session: UpgradeSession) -> list[tuple]:
    with Journal() as journal:
        events = journal.events(session_id=session.id)
    started = next(i for i, e in enumerate(events) if e.type == "rollback.started")
    return [
        (e.type, e.node, (e.data or {}).get("hop"), (e.data or {}).get("backup_id"))
        for e in events[started:]
    ]


def test_the_cli_and_the_window_roll_back_the_same_hop_with_the_same_rows(
    capsys, tmp_path, controlled_cluster
):
    by_cli, cli_ctx = _upgraded(_saved(controlled_cluster, "cli"), tmp_path)
    by_window, window_ctx = _upgraded(_saved(controlled_cluster, "window"), tmp_path)
    # the hop each would undo, and the question naming it, are core's
    cli_hop = hop_runner.rollback_hop(by_cli)
    assert cli_hop is not None and cli_hop.id == by_cli.hops[0].id
    assert main(["session", "rollback", "--profile", "cli", "--note", "slow"]) == 1  # no --yes
    with Journal() as journal:
        backups = hop_runner.rollback_candidates(journal, by_cli, cli_hop, cli_ctx.profile)
    question = hop_runner.rollback_question(cli_hop, cli_ctx.profile, backups, restore_points=[])
    assert question.text.splitlines()[0] in capsys.readouterr().out
    # the post-rollback check has its own tests (a skipped one is journaled too); here the
    # six steps are compared
    rollback = ["session", "rollback", "--profile", "cli", "--note", "slow", "--yes"]
    assert main([*rollback, "--verify-seconds", "0"]) == 0
    # the window: the session model asks rollback_hop and runs core's rollback
    window_hop = hop_runner.rollback_hop(by_window)
    assert window_hop is not None
    hop_runner.rollback(window_ctx, by_window, window_hop, "slow")

    def normalised(session, hop):  # ids differ between the two sessions
        backup = hop.backups[0]
        return [
            (kind, node, "hop" if h == hop.id else h, "backup" if b == backup else b)
            for kind, node, h, b in _rollback_rows(session)
            if kind != "rollback.verified"
        ]

    with Journal() as journal:
        cli_hop = by_cli.reload(journal).hops[0]
        window_hop = by_window.reload(journal).hops[0]
    assert normalised(by_cli, cli_hop) == normalised(by_window, window_hop)
    assert ("rollback.verified", None, cli_hop.id, None) in _rollback_rows(by_cli)
    assert ("backup.restored", "n1", None, "backup") in normalised(by_cli, cli_hop)
    assert cli_hop.state == window_hop.state == "rolled-back"


def test_a_rollout_restore_checks_the_restored_files_before_the_node_starts(
    monkeypatch, tmp_path, controlled_cluster
):
    """The rollout's abort restored without the manifest check; now it is `restore_node`'s,
    and restored files that differ from the backup stop it before the node is started."""
    import pytest

    from themis_desktop.core.backup import operations
    from themis_desktop.core.backup.archive_format import BackupError
    from themis_desktop.core.server.client import ThemisClient
    from themis_desktop.core.server.errors import ThemisError

    profile = _saved(controlled_cluster)
    node = profile.nodes[0]
    ctx = hop_runner.hop_context(profile, None, journal_path=journal_path(), backup_dir=tmp_path)
    rollout = rollouts.Rollout("lab", "rolling", "1.7.0", "1.8.2", steps=[])
    runner = rollouts.RolloutRunner(rollout, ctx, router_for(profile.router))
    runner._run_step(rollouts.Step("backup", "Verified backup of n1", ("n1",)))
    # as if the disk gave back other bytes than were written
    monkeypatch.setattr(
        operations, "compare_tree", lambda manifest, data_dir, **_: ["changed CURRENT"]
    )
    with pytest.raises(BackupError, match="restored data differs from its backup"):
        runner._restore(node, rollout.backups["n1"])
    with ThemisClient(node.url, timeout=1) as client, pytest.raises(ThemisError):
        client.health()  # stopped for the restore, and not started again
    (event,) = _events("backup.restored")
    assert event.node == "n1" and event.data["ok"] is False
