"""Upgrade sessions end to end on a real demo node: backup, upgrade, roll back; and the
rules that keep an admin safe (no upgrade without a backup, no rollback from a bad one)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.rehearsal_override import override_rehearsals
from themis_desktop.core.backup import catalog as backup_catalog
from themis_desktop.core.backup.restore import verify
from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.server.client import ThemisClient
from themis_desktop.core.service.control import controller_for
from themis_desktop.core.upgrade.hop_runner import (
    HopContext,
    back_up,
    compare_tree,
    pre_checks,
    rollback,
    upgrade,
    validate,
)
from themis_desktop.core.upgrade.session import SessionError, UpgradeSession
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade


@pytest.fixture
def lab(tmp_path, controlled_cluster):
    """One demo node at 1.7.0 behind its control endpoint, a saved profile, a journal."""
    _, _, profile = controlled_cluster(nodes=1)
    journal_path = tmp_path / "journal.sqlite"
    with Journal(journal_path) as journal:
        profile = profile_store.save(journal, profile)
    lines: list[str] = []
    ctx = HopContext(
        profile,
        None,
        controller_for(profile.service),
        journal_path,
        tmp_path / "backups",
        lines.append,
    )
    return ctx, lines


def _session(ctx: HopContext) -> UpgradeSession:
    plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
    with ctx.journal() as journal:
        session = UpgradeSession.create(journal, ctx.profile, plan)
    override_rehearsals(ctx.journal_path)
    return session


def _version(url: str) -> str:
    with ThemisClient(url) as client:
        return client.version(refresh=True).version


def test_backup_upgrade_write_rollback_restores_data_and_version(lab):
    ctx, lines = lab
    session = _session(ctx)
    hop = session.hops[0]
    assert (hop.from_version, hop.state) == ("1.7.0", "planned")
    assert all(c.ok for c in pre_checks(ctx, session, hop))
    (record,) = back_up(ctx, session, hop)
    upgraded = upgrade(ctx, session, session.hops[0])
    url = ctx.profile.nodes[0].url
    assert upgraded.state == "validating" and upgraded.finished is not None
    assert _version(url) == upgraded.to_version  # the demo restarted it as the new version
    assert all(c.ok for c in validate(ctx, session, upgraded))
    for i in range(50):  # writes after the upgrade: the data dir no longer equals the backup
        httpx.put(f"{url}/entities/after:{i}", json={"v": i}).raise_for_status()  # never redirected
    manifest = verify(Path(record.path)).manifest
    data_dir = Path(ctx.profile.nodes[0].data_dir)
    assert compare_tree(manifest, data_dir)  # something changed

    seen_before_start: list[list[str]] = []
    real = ctx.controller

    class Watching:  # the real controller; it looks at the data dir just before each start
        def __getattr__(self, name):
            return getattr(real, name)

        def start(self, node):
            seen_before_start.append(compare_tree(manifest, data_dir))
            return real.start(node)

    ctx.controller = Watching()
    rolled = rollback(ctx, session, session.reload(ctx.journal()).hops[0], "p99 doubled")
    assert rolled.state == "rolled-back" and rolled.note == "p99 doubled"
    # restored and reinstalled: the data dir equals the backup's manifest (once started,
    # the server recovers its WAL and rewrites its MANIFEST, as RocksDB does)
    assert seen_before_start == [[]]
    assert _version(url) == "1.7.0"
    with ctx.journal() as journal:
        events = [e.type for e in journal.events(session_id=session.id)]
        state = session.reload(journal)
    for expected in (
        "session.started",
        "hop.pre-checks",
        "hop.backed-up",
        "hop.started",
        "hop.finished",
        "hop.validated",
        "rollback.started",
        "backup.restored",
        "rollback.finished",
    ):
        assert expected in events, expected
    assert events.count("rollback.step") == 5
    assert any(e == "service.step" for e in events)
    assert state.state == "rolled-back" and state.session.ended_at
    assert any("Step 6/6" in line for line in lines)


def test_the_upgrade_step_refuses_without_a_verified_backup(lab):
    ctx, _ = lab
    session = _session(ctx)
    pre_checks(ctx, session, session.hops[0])
    with pytest.raises(SessionError, match="has no verified backup yet: back up now first"):
        upgrade(ctx, session, session.hops[0])
    (record,) = back_up(ctx, session, session.hops[0])
    Path(record.path).unlink()  # backed up, but the archive is gone since
    with pytest.raises(SessionError, match="No verified backup of n1"):
        upgrade(ctx, session, session.hops[0])
    assert _version(ctx.profile.nodes[0].url) == "1.7.0"  # nothing was stopped


def test_rollback_is_refused_when_the_backup_fails_verification(lab):
    ctx, _ = lab
    session = _session(ctx)
    (record,) = back_up(ctx, session, session.hops[0])
    upgraded = upgrade(ctx, session, session.hops[0])
    archive = Path(record.path)
    raw = bytearray(archive.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # a flipped byte in the middle of the archive
    archive.write_bytes(bytes(raw))
    with pytest.raises(SessionError, match=r"failed verification.*Nothing was stopped"):
        rollback(ctx, session, upgraded, "testing")
    assert _version(ctx.profile.nodes[0].url) == upgraded.to_version  # still serving
    with ctx.journal() as journal:
        assert session.reload(journal).hops[0].state == "validating"


def test_transitions_are_checked_journaled_and_survive_a_restart(tmp_path):
    profile = Profile("p", (NodeEndpoint("http://127.0.0.1:1", "n1"),))
    plan = plan_upgrade(load_catalogue(with_user=False), "1.5.0", "1.8")
    with Journal(tmp_path / "j.sqlite") as journal:
        session = UpgradeSession.create(journal, profile, plan)
        assert [h.from_version for h in session.hops][:1] == ["1.5.0"]
        with pytest.raises(SessionError, match="cannot go to upgrading"):
            session.transition(journal, session.hops[0], "upgrading")
        session.transition(journal, session.hops[0], "pre-checks", user="alice")
        session.raise_trigger(journal, "critical-bug", "queries return wrong rows")
        with pytest.raises(SessionError, match="needs a note"):
            session.raise_trigger(journal, "incompatibility", " ")
    with Journal(tmp_path / "j.sqlite") as journal:  # the app restarted
        again = UpgradeSession.open_for(journal, "p")
        assert again is not None and again.id == session.id
        assert again.current.state == "pre-checks"
        (trigger,) = again.triggers(journal)
        assert trigger.title == "Critical bug" and trigger.note == "queries return wrong rows"
        (event,) = journal.events(session_id=session.id, types=["hop.pre-checks"])
        assert event.user == "alice" and json.loads(json.dumps(event.data))["to"] == "pre-checks"


def test_the_catalogue_still_lists_the_hops_backups(lab):
    ctx, _ = lab
    session = _session(ctx)
    (record,) = back_up(ctx, session, session.hops[0])
    with ctx.journal() as journal:
        hop = session.reload(journal).hops[0]
        assert hop.state == "backed-up" and hop.backups == (record.id,)
        assert backup_catalog.get(journal, record.id).session_id == session.id


def test_a_failing_check_script_fails_validation_with_a_trigger(lab):
    from dataclasses import replace

    ctx, _ = lab
    check = "test -d {data_dir} && echo 'key probe:0 missing' && exit 3"
    ctx.profile = replace(ctx.profile, service=replace(ctx.profile.service, check=check))
    session = _session(ctx)
    back_up(ctx, session, session.hops[0])
    upgraded = upgrade(ctx, session, session.hops[0])
    checks = validate(ctx, session, upgraded)
    failed = [c for c in checks if not c.ok]
    assert [c.name for c in failed] == ["check script"]
    assert "exit code 3" in failed[0].detail and "key probe:0 missing" in failed[0].detail
    with ctx.journal() as journal:
        again = session.reload(journal)
        assert again.hops[0].state == "failed"
        (trigger,) = again.triggers(journal)
    assert trigger.kind == "failed-validation" and "check script" in trigger.note


def test_another_clusters_backup_of_a_same_named_node_does_not_count(lab):
    from dataclasses import replace

    from themis_desktop.core.upgrade.hop_runner import hop_backups

    ctx, _ = lab
    session = _session(ctx)
    staging = replace(ctx.profile, name="staging", id=None)
    with ctx.journal() as journal:
        profile_store.save(journal, staging)
    (record,) = back_up(replace(ctx, profile=staging), session, session.hops[0])
    assert record.profile == "staging"
    with ctx.journal() as journal:
        assert hop_backups(journal, session, session.hops[0], ctx.profile) == {"n1": None}


def test_nothing_runs_on_a_node_of_another_version_and_the_path_stops_at_a_rollback(lab):
    ctx, _ = lab
    session = _session(ctx)
    back_up(ctx, session, session.hops[0])
    hop = upgrade(ctx, session, session.hops[0])
    with pytest.raises(SessionError, match=r"cannot run now\. .*is upgraded already"):
        back_up(ctx, session, hop)  # would label 1.8 data as 1.7.0
    rollback(ctx, session, hop, "slow")
    with ctx.journal() as journal:
        assert session.reload(journal).current is None


def test_an_interrupted_rollback_can_be_run_again(lab):
    from themis_desktop.core.upgrade.hop_runner import rollback_hop

    ctx, _ = lab
    session = _session(ctx)
    back_up(ctx, session, session.hops[0])
    hop = upgrade(ctx, session, session.hops[0])
    with ctx.journal() as journal:  # the app died in the middle of a rollback
        hop = session.transition(journal, hop, "rolling-back", "interrupted")
        assert rollback_hop(session.reload(journal)).id == hop.id
    rolled = rollback(ctx, session, hop, "second try")
    assert rolled.state == "rolled-back" and _version(ctx.profile.nodes[0].url) == "1.7.0"


def test_the_upgrade_question_says_what_cannot_be_undone():
    """Issue 17, defect 5: the point of no return is named, with the backup a rollback
    would restore and the writes that would be lost."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from themis_desktop.core.upgrade.hop_runner import reversibility, upgrade_question
    from themis_desktop.core.upgrade.session import Hop

    ponr = Hop(1, 1, 0, "1.7.0", "1.8.2", "backed-up")
    no_return, note = reversibility(ponr)
    assert no_return and "ZSTD" in note
    taken = SimpleNamespace(created_at="2026-11-26T12:00:00.000Z")
    now = datetime(2026, 11, 26, 12, 20, tzinfo=UTC)
    asked, text = upgrade_question(ponr, {"n1": taken, "n2": taken}, (no_return, note), now)
    local = datetime(2026, 11, 26, 12, 0, tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M")
    assert asked and "Each node (n1, n2) is stopped, 1.8.2 is installed" in text
    assert "point of no return" in text
    assert f"rolling back means restoring the backup of {local} (20 min 0 s ago)" in text
    assert "every write made after the upgrade is lost" in text

    patch = Hop(2, 1, 0, "1.8.0", "1.8.2", "backed-up")
    assert reversibility(patch)[0] is False
    asked, text = upgrade_question(patch, {"n1": taken}, reversibility(patch), now)
    assert not asked and "Roll back now reinstalls 1.8.0" in text


def test_a_step_the_session_does_not_allow_now_is_refused_and_changes_nothing(lab):
    """Issue 17: every caller (GUI, CLI, a script) meets core's rule (`steps_now`) in the
    step itself: validate on a planned hop used to fail the hop and raise a trigger."""
    ctx, _ = lab
    session = _session(ctx)
    hop = session.hops[0]
    with pytest.raises(SessionError, match=r"Validation cannot run now\. .*nothing to validate"):
        validate(ctx, session, hop)
    with pytest.raises(SessionError, match=r"The upgrade step cannot run now\. .*back up now"):
        upgrade(ctx, session, hop)
    with ctx.journal() as journal:
        again = session.reload(journal)
        assert again.hops[0].state == "planned" and not again.triggers(journal)
        assert not [e for e in journal.events(session_id=session.id) if e.type == "hop.check"]
    assert _version(ctx.profile.nodes[0].url) == "1.7.0"

    back_up(ctx, session, hop)
    upgraded = upgrade(ctx, session, hop)  # a stale hop object: the journal's state counts
    for step, run in (("The pre-checks", pre_checks), ("The backup", back_up)):
        with pytest.raises(SessionError, match=rf"{step} cannot run now\. .*is upgraded already"):
            run(ctx, session, hop)
    rollback(ctx, session, upgraded, "slow")
    with pytest.raises(SessionError, match="was rolled back: the path stopped there"):
        validate(ctx, session, upgraded)  # the page still showed "validating"
    with ctx.journal() as journal:
        again = session.reload(journal)
        assert again.hops[0].state == "rolled-back" and not again.triggers(journal)


def test_a_step_of_another_hop_than_the_current_one_is_refused(tmp_path, lab):
    ctx, _ = lab
    plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.9")
    with ctx.journal() as journal:
        session = UpgradeSession.create(journal, ctx.profile, plan)
    second = session.hops[1]
    with pytest.raises(SessionError, match=rf"Hop {second.label} is not the hop being worked"):
        pre_checks(ctx, session, second)
    with ctx.journal() as journal:
        assert session.reload(journal).hops[1].state == "planned"


def test_a_step_refuses_a_node_that_runs_another_version(lab):
    """The journal says planned, but someone upgraded the node by hand: nothing is labelled
    with the wrong version."""
    ctx, _ = lab
    session = _session(ctx)
    node = ctx.profile.nodes[0]
    for call in (ctx.controller.stop, lambda n: ctx.controller.install(n, "1.8.0")):
        call(node)
    ctx.controller.start(node)
    from themis_desktop.core.upgrade.hop_runner import wait_ready

    wait_ready(ctx, node)
    with pytest.raises(SessionError, match=r"runs 1\.8\.\d+, expected 1\.7\.0.*nothing was"):
        back_up(ctx, session, session.hops[0])


def test_the_rollback_question_says_what_happens_and_what_cannot_be_undone():
    """The GUI's Roll back now and `session rollback` ask with these words (one copy)."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from themis_desktop.core.upgrade.hop_runner import rollback_question
    from themis_desktop.core.upgrade.session import Hop

    hop = Hop(1, 1, 0, "1.7.0", "1.8.2", "done", finished_at="2026-11-26T12:10:00.000Z")
    profile = Profile(
        "lab",
        (
            NodeEndpoint("http://127.0.0.1:1", "n1", data_dir="/srv/n1"),
            NodeEndpoint("http://127.0.0.1:2", "n2", data_dir="/srv/n2"),
        ),
    )
    taken = SimpleNamespace(
        created_at="2026-11-26T12:00:00.000Z", path="/b/themis-n1-1.7.0-x.tar.zst"
    )
    now = datetime(2026, 11, 26, 12, 20, tzinfo=UTC)
    q = rollback_question(hop, profile, {"n1": taken, "n2": None}, now)
    assert q.title == "Roll back 1.7.0 → 1.8.2" and q.prompt == "Roll back 1.7.0 → 1.8.2?"
    assert "every node of lab is stopped" in q.happens
    assert "restored from the backups taken before 1.7.0 → 1.8.2" in q.happens
    assert q.backups == ("n1: themis-n1-1.7.0-x.tar.zst, taken 20 min 0 s ago; replaces /srv/n1",)
    assert "Easy rollback — 10 min 0 s since the upgrade" in q.window
    assert "Writes made since the backups are lost" in q.lost
    assert "cannot be undone" in q.lost and ".pre-restore-" in q.lost
    assert "No backup of n2: the rollback will refuse" in q.missing
    text = q.text
    for part in (q.happens, *q.backups, q.window, q.lost, q.missing):
        assert part in text


def test_a_session_keeps_which_contested_stops_the_admin_confirmed(tmp_path):
    plan = plan_upgrade(load_catalogue(with_user=False), "1.0.0", "1.3", have=["1.1.0"])
    assert [h.target.status for h in plan.hops] == ["contested", "contested", "released"]
    path = tmp_path / "journal.sqlite"
    with Journal(path) as journal:
        profile = profile_store.save(
            journal, Profile("p", (NodeEndpoint("http://127.0.0.1:1", "n1"),))
        )
        session_id = UpgradeSession.create(journal, profile, plan).id
    with Journal(path) as journal:  # a restart: the journal has it
        hops = UpgradeSession.load(journal, session_id).hops
    assert [h.confirmed for h in hops] == [True, False, None]
    assert [h.confirmation for h in hops] == [
        "contested, confirmed by the admin",
        "contested, unconfirmed",
        "",
    ]
