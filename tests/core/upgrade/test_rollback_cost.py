"""Rollback state, not only time, on a real demo node (workload off, so every write is one
of ours): a 1.7 → 1.8 hop is "binary swap" until 1.8 writes, then "restore only"; the
writes at risk grow with real writes and drop to 0 after a new verified backup; a restart
that hides writes says "at least"; a newer backup is never restored onto an older binary;
a session left half done warns after the configured time (fixed clock)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from themis_desktop.core.backup import write_readings
from themis_desktop.core.backup.operations import NodeJob, back_up_and_record_all, restore_node
from themis_desktop.core.backup.version_guard import NewerBackupRefused, written_by
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal, parse_utc, utc_now
from themis_desktop.core.server.models import Stats
from themis_desktop.core.server.write_counter import parse_raw_stats, read_counter
from themis_desktop.core.service.control import controller_for
from themis_desktop.core.upgrade import rehearsal_gate, rollback_cost
from themis_desktop.core.upgrade.hop_runner import HopContext, back_up, upgrade
from themis_desktop.core.upgrade.rollback_cost import BINARY_SWAP, RESTORE_ONLY
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade


@pytest.fixture
def lab(tmp_path, controlled_cluster):
    """One demo node at 1.7.0 (no workload) behind its control endpoint, a saved profile,
    a journal, and a 1.7 → 1.8 session."""
    cluster, _, profile = controlled_cluster(nodes=1)
    journal_path = tmp_path / "journal.sqlite"
    with Journal(journal_path) as journal:
        profile = profile_store.save(journal, profile)
        plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
        session = UpgradeSession.create(journal, profile, plan)
    ctx = HopContext(
        profile, None, controller_for(profile.service), journal_path, tmp_path / "backups"
    )
    return cluster, ctx, session


def _write(ctx: HopContext, count: int, prefix: str = "k") -> None:
    """`count` real writes (PUT /entities/<key>) to every node."""
    for node in ctx.profile.nodes:
        with ctx.profile.client(node, None) as client:
            for i in range(count):
                client.put_entity(f"{prefix}{i}", "value")


def _cost(ctx: HopContext, session: UpgradeSession) -> rollback_cost.RollbackCost:
    with ctx.journal() as journal:
        return rollback_cost.poll_and_assess(journal, session, ctx.profile, None)


def test_the_write_counter_is_read_from_rocksdb_stats_else_an_upper_bound():
    text = "** DB Stats **\nUptime(secs): 12.5 total, 1.0 interval\nCumulative writes: 7 writes"
    assert parse_raw_stats(text) == (7, 0, 12.5)
    assert parse_raw_stats("Cumulative writes: 1234K writes, 1234K keys") == (1234000, 999, None)
    assert parse_raw_stats("no counter here") is None

    def stats(raw: str, requests: float) -> Stats:
        return Stats.from_json(
            {
                "server": {"uptime_seconds": 30, "total_requests": requests},
                "storage": {"raw_stats": raw},
            }
        )

    assert read_counter(stats(text, 99)).source == "rocksdb"
    assert read_counter(stats(text, 99)).uptime_s == 12.5  # the database's own clock
    upper = read_counter(stats("", 99))
    assert (upper.source, upper.writes, upper.uptime_s) == ("requests", 99, 30)
    assert read_counter(stats("", 0)).writes is None


def test_a_one_way_hop_is_binary_swap_until_the_new_version_writes(lab):
    _, ctx, session = lab
    hop = session.hops[0]
    assert _cost(ctx, session).hops[0].mode == BINARY_SWAP  # not upgraded yet
    back_up(ctx, session, hop)
    _write(ctx, 3, "before")
    cost = _cost(ctx, session)
    n1 = cost.at_risk["n1"]
    assert (n1.writes, n1.at_least) == (3, False) and n1.since_backup is not None
    assert "n1: 3 writes since its last verified backup" in cost.meter_text()

    with ctx.journal() as journal:
        hop = session.reload(journal).hop(hop.id)
        rehearsal_gate.override(journal, session, hop, ctx.profile, "rollback cost test")
    upgraded = upgrade(ctx, session, hop)
    cost = _cost(ctx, session)
    assert upgraded.state == "validating" and cost.current == hop.id
    assert cost.mode.one_way and cost.mode.mode == BINARY_SWAP, cost.mode.reason
    # the reading taken just before the stop: the 3 writes of 1.7 are counted exactly
    assert (cost.at_risk["n1"].writes, cost.at_risk["n1"].at_least) == (3, False)

    _write(ctx, 2, "after")  # 1.8 writes: its ZSTD WAL cannot be read by 1.7
    cost = _cost(ctx, session)
    assert cost.mode.mode == RESTORE_ONLY and cost.mode.written == ("n1",)
    assert "1.8" in cost.mode.reason and "only a restore" in cost.mode.reason
    assert cost.at_risk["n1"].writes == 5
    data = cost.as_json()
    assert data["mode"] == RESTORE_ONLY and data["hop"] == hop.label
    assert data["writes_at_risk"]["n1"]["writes"] == 5
    assert data["hops"][0]["writes_at_risk"]["n1"]["writes"] == 5  # since the hop's backup

    # a new verified backup: nothing at risk any more; the hop stays restore only
    records = back_up_and_record_all(
        ctx.profile,
        None,
        [NodeJob(node, "1.8.0") for node in ctx.profile.nodes],
        ctx.backup_dir / "after",
        journal_path=ctx.journal_path,
    )
    assert all(o.verified for o in records)
    cost = _cost(ctx, session)
    assert (
        cost.at_risk["n1"].writes == 0 and cost.at_risk["n1"].since_backup == records[0].record.id
    )
    assert cost.mode.mode == RESTORE_ONLY
    _write(ctx, 1, "later")
    assert _cost(ctx, session).at_risk["n1"].writes == 1
    # the rollback question names the writes since the backup the rollback restores
    with ctx.journal() as journal:
        from themis_desktop.core.upgrade.hop_runner import rollback_candidates

        backups = rollback_candidates(journal, session.reload(journal), hop, ctx.profile)
        lines = rollback_cost.rollback_lines(journal, ctx.profile, backups)
    assert lines == [
        "n1: 6 writes since that backup: a restore loses them or they must be reconciled "
        f"(backup {backups['n1'].id})"
    ]


def test_a_restart_between_readings_makes_the_count_a_lower_bound(lab):
    _, ctx, session = lab
    back_up(ctx, session, session.hops[0])
    _write(ctx, 2, "a")
    assert _cost(ctx, session).at_risk["n1"].writes == 2
    _write(ctx, 3, "b")  # never read: the restart below resets the counter
    node = ctx.profile.nodes[0]
    ctx.controller.stop(node)
    ctx.controller.start(node)
    _write(ctx, 1, "c")
    n1 = _cost(ctx, session).at_risk["n1"]
    assert (n1.writes, n1.at_least) == (3, True)
    assert n1.count_text == "at least 3"


def test_a_backup_of_a_newer_version_is_never_restored_onto_an_older_binary(lab):
    _, ctx, _ = lab
    node = ctx.profile.nodes[0]
    with ctx.profile.client(node, None) as client:
        written = client.version().version
    outcome = back_up_and_record_all(
        ctx.profile, None, [NodeJob(node, written)], ctx.backup_dir, journal_path=ctx.journal_path
    )[0]
    record = outcome.record
    assert record is not None and record.version == written == "1.7.0"  # the server's word
    assert written_by(Path(record.path)) == "1.7.0"  # the sidecar/manifest says so too
    ctx.controller.stop(node)
    before = sorted(p.name for p in Path(node.data_dir).iterdir())
    with pytest.raises(NewerBackupRefused, match=r"written by ThemisDB 1\.7\.0.*1\.6\.0"):
        restore_node(node, record, journal_path=ctx.journal_path, binary_version="1.6.0")
    assert sorted(p.name for p in Path(node.data_dir).iterdir()) == before  # untouched
    # the same version (or a newer binary) restores
    result = restore_node(node, record, journal_path=ctx.journal_path, binary_version="1.10.0")
    assert result.kept is not None


def test_a_half_done_session_warns_after_the_configured_time(lab):
    _, ctx, session = lab
    hop = session.hops[0]
    assert rollback_cost.half_done(session) is None  # nothing upgraded yet
    with ctx.journal() as journal:
        for state in ("pre-checks", "backed-up", "upgrading", "validating"):
            hop = session.transition(journal, session.reload(journal).hop(hop.id), state)
        session = session.reload(journal)
    started = parse_utc(session.hops[0].started_at)
    early = rollback_cost.half_done(session, now=started + timedelta(hours=1, minutes=59))
    assert early is not None and not early.warning
    late = rollback_cost.half_done(session, now=started + timedelta(hours=2, minutes=1))
    assert late.warning and "upgraded and is not validated" in late.reason
    assert "Half done for 2 h 1 min" in late.text or "Half done for 2 h" in late.text
    custom = rollback_cost.half_done(session, started + timedelta(minutes=31), threshold_s=1800)
    assert custom.warning and custom.as_json()["threshold_seconds"] == 1800
    mixed = rollback_cost.half_done(
        session, started + timedelta(hours=3), versions={"n1": "1.8.0", "n2": "1.7.0"}
    )
    assert mixed.warning  # the unvalidated hop is named first
    with ctx.journal() as journal:
        session.transition(journal, session.reload(journal).hop(hop.id), "done")
        done = session.reload(journal)
    assert rollback_cost.half_done(done, started + timedelta(hours=5)) is None  # validated


def test_a_hop_that_failed_validation_or_half_way_is_half_done(lab):
    _, ctx, session = lab
    with ctx.journal() as journal:
        hop = session.hops[0]
        for state in ("pre-checks", "backed-up", "upgrading"):
            hop = session.transition(journal, session.reload(journal).hop(hop.id), state)
        session.transition(journal, hop, "failed", "the upgrade step failed")
        half_way = session.reload(journal)
    started = parse_utc(half_way.hops[0].started_at)
    found = rollback_cost.half_done(half_way, started + timedelta(hours=3))
    assert found.warning and "failed half-way" in found.reason
    with ctx.journal() as journal:  # upgraded (its new version answered), then not valid
        session.transition(journal, half_way.hops[0], "failed", "bad", finished_at=utc_now())
        failed = session.reload(journal)
    found = rollback_cost.half_done(failed, started + timedelta(hours=3))
    assert found.warning and "upgraded and failed validation" in found.reason
    assert "roll it back to 1.7.0" in found.advice


def test_nodes_on_different_versions_are_half_done_too(lab):
    _, _, session = lab
    created = parse_utc(session.session.created_at)
    mixed = {"n1": "1.8.0", "n2": "1.7.0"}
    assert rollback_cost.half_done(session, created + timedelta(hours=3)) is None
    nodes = rollback_cost.half_done(session, created + timedelta(hours=3), versions=mixed)
    assert nodes.warning and "different versions (1.7.0, 1.8.0)" in nodes.reason
    assert not rollback_cost.half_done(
        session, created + timedelta(hours=1), versions=mixed
    ).warning


def test_readings_that_say_nothing_new_are_not_stored(lab):
    _, ctx, session = lab
    back_up(ctx, session, session.hops[0])
    for _ in range(3):
        _cost(ctx, session)
    with ctx.journal() as journal:
        kinds = [r.kind for r in write_readings.readings(journal, "lab", "n1")]
    assert kinds == ["backup"]  # the polls read the same counter in the same run


def _reading(i: int, at_s: float, uptime: float | None, writes, source="rocksdb", kind="poll"):
    from datetime import UTC, datetime

    at = datetime.fromtimestamp(1_800_000_000 + at_s, UTC).isoformat(timespec="milliseconds")
    return write_readings.Reading(
        i, "lab", "n1", at.replace("+00:00", "Z"), uptime, writes, 0, source, kind
    )


def test_counting_across_runs_stops_and_servers_without_a_counter():
    since = _reading(0, 0, None, None).at
    # a stopped node's backup: every write of its next run counts, exactly
    stopped = _reading(1, 0, None, None, source="stopped", kind="backup")
    later = [_reading(2, 50, 40, 7)]
    found = rollback_cost.count_since("n1", later, stopped, since)
    assert (found.writes, found.at_least) == (7, False)
    # a run closed by a reading just before its stop loses nothing unseen
    base = _reading(1, 0, 100, 10, kind="backup")
    closed = [_reading(2, 30, 130, 12, kind="before-stop"), _reading(3, 60, 20, 5)]
    found = rollback_cost.count_since("n1", closed, base, base.at)
    assert (found.writes, found.at_least) == (7, False)
    # ... one that was not: at least
    open_end = [_reading(2, 30, 130, 12), _reading(3, 60, 20, 5)]
    assert rollback_cost.count_since("n1", open_end, base, base.at).at_least
    # a server without the counter: every request, an upper bound, said so
    requests = [_reading(2, 30, 130, 500, source="requests")]
    req_base = _reading(1, 0, 100, 300, source="requests", kind="backup")
    found = rollback_cost.count_since("n1", requests, req_base, req_base.at)
    assert found.upper_bound and found.writes == 200
    assert found.count_text.startswith("at most 200")
    # nothing readable at all: unknown
    unknown = rollback_cost.count_since(
        "n1", [_reading(2, 30, 5, None, source="none")], None, since
    )
    assert unknown.writes is None and unknown.count_text == "unknown"
