"""Server-side restore points (1.5+) against real demo nodes: made, previewed, recorded
before a hop beside the verified archive, and named by the rollback question."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.server import errors
from themis_desktop.core.server.client import ThemisClient
from themis_desktop.core.service.control import controller_for
from themis_desktop.core.upgrade import restore_points
from themis_desktop.core.upgrade.hop_runner import HopContext, back_up, rollback_question
from themis_desktop.core.upgrade.restore_points import RestorePoint
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade

UPSTREAM_TAG_RULE = re.compile(r"^[a-zA-Z0-9_.-]+$")  # snapshot_manager.cpp isValidTagName


@pytest.mark.parametrize(
    ("version", "offered"),
    [("1.0.0", False), ("1.4.2", False), ("1.5.0", True), ("1.5.0-rc1", True), ("2.0.0", True)],
)
def test_snapshots_are_offered_from_1_5(version, offered):
    assert restore_points.supported(version) is offered
    assert restore_points.supported("not a version") is False


def test_the_tag_name_follows_the_servers_rule():
    now = datetime(2026, 5, 1, 12, 30, 5, tzinfo=UTC)
    name = restore_points.tag_name("1.7.0", "1.8.1-rc2", now)
    assert name == "themis-desktop-pre-1.7.0-to-1.8.1-rc2-20260501T123005Z"
    odd = restore_points.tag_name("1.7 beta/x", "9" * 200, now)
    assert UPSTREAM_TAG_RULE.match(odd) and len(odd) <= 128 and odd.endswith("T123005Z")


def test_a_restore_point_on_a_node_and_the_writes_since(start_demo_node):
    node = start_demo_node("1.5.0")
    with ThemisClient(node.url) as client:
        point = restore_points.create_restore_point(client, "n1", "1.5.0", "1.8.0")
        assert point.node == "n1" and point.tag.startswith("themis-desktop-pre-1.5.0-to-1.8.0-")
        assert restore_points.preview(client, point.tag) == 0
        with httpx.Client(base_url=node.url) as raw:
            for i in range(4):
                assert raw.put(f"/entities/orders:{i}").status_code == 201
            stored = raw.get(f"/api/v1/snapshots/tags/{point.tag}").json()
        assert restore_points.preview(client, point.tag) == 4
        assert stored["sequence_number"] == point.sequence
        assert stored["created_by"] == "themis-desktop"
        taken = datetime.fromisoformat(point.taken_at.replace("Z", "+00:00"))
        assert abs(datetime.now(UTC) - taken) < timedelta(minutes=1)
        with pytest.raises(errors.NotFound):
            restore_points.preview(client, "no-such-tag")


def test_a_node_before_1_5_has_no_restore_points(start_demo_node):
    node = start_demo_node("1.4.2")
    with ThemisClient(node.url) as client, pytest.raises(errors.NotFound):
        restore_points.create_restore_point(client, "n1", "1.4.2", "1.5.0")


def _lab(tmp_path, controlled_cluster, version: str, target: str, nodes: int = 2):
    _, _, profile = controlled_cluster(nodes=nodes, version=version)
    journal_path = tmp_path / f"journal-{version}.sqlite"
    with Journal(journal_path) as journal:
        profile = profile_store.save(journal, profile)
        plan = plan_upgrade(load_catalogue(with_user=False), version, target)
        session = UpgradeSession.create(journal, profile, plan)
    lines: list[str] = []
    ctx = HopContext(
        profile,
        None,
        controller_for(profile.service),
        journal_path,
        tmp_path / f"backups-{version}",
        lines.append,
    )
    return ctx, session, lines


def test_a_hops_backup_leaves_a_restore_point_on_each_node(tmp_path, controlled_cluster):
    ctx, session, lines = _lab(tmp_path, controlled_cluster, "1.7.0", "1.8")
    hop = session.hops[0]
    records = back_up(ctx, session, hop)
    assert len(records) == 2 and all(r.verified for r in records)  # the archive stands
    with ctx.journal() as journal:
        points = restore_points.hop_restore_points(journal, session, hop)
        state = session.reload(journal).hop(hop.id).state
    assert state == "backed-up"
    assert [p.node for p in points] == ["n1", "n2"]
    for point, node in zip(points, ctx.profile.nodes, strict=True):
        assert point.tag.startswith(f"themis-desktop-pre-1.7.0-to-{hop.to_version}-")
        with ThemisClient(node.url) as client:  # the server knows it, at that sequence
            assert restore_points.preview(client, point.tag) == 0
        assert f"✓ {node.name}: server restore point {point.tag}" in "\n".join(lines)

    question = rollback_question(hop, ctx.profile, {r.node: r for r in records}, None, points)
    assert len(question.restore_points) == 2
    assert question.restore_points[0].startswith(f"n1: server restore point {points[0].tag} (")
    assert f"sequence {points[0].sequence}, taken " in question.text
    assert "the rollback itself restores the archive" in question.text
    assert question.backups[0] in question.text  # beside the archive, never instead of it


def test_a_version_without_snapshots_gets_none_and_says_so(tmp_path, controlled_cluster):
    ctx, session, lines = _lab(tmp_path, controlled_cluster, "1.4.2", "1.5", nodes=1)
    hop = session.hops[0]
    assert back_up(ctx, session, hop)
    with ctx.journal() as journal:
        assert restore_points.hop_restore_points(journal, session, hop) == []
    assert f"Server restore points are not offered by {hop.from_version}" in lines
    question = rollback_question(hop, ctx.profile, {})
    assert question.restore_points == () and "restore point" not in question.text


def test_a_failed_restore_point_is_a_warning_not_a_failed_backup(tmp_path, controlled_cluster):
    ctx, session, lines = _lab(tmp_path, controlled_cluster, "1.7.0", "1.8", nodes=1)
    hop = session.hops[0]
    node = ctx.profile.nodes[0]
    now = datetime.now(UTC)
    with httpx.Client(base_url=node.url) as raw:  # every name the next minute could use
        for second in range(60):
            name = restore_points.tag_name("1.7.0", hop.to_version, now + timedelta(seconds=second))
            raw.post("/api/v1/snapshots/tags", json={"tag_name": name, "description": "taken"})
    (record,) = back_up(ctx, session, hop)
    assert record.verified
    with ctx.journal() as journal:
        assert restore_points.hop_restore_points(journal, session, hop) == []
        warnings = journal.events(session_id=session.id, types=["hop.warning"])
        assert session.reload(journal).hop(hop.id).state == "backed-up"
    assert len(warnings) == 1 and "Tag may already exist" in warnings[0].message
    assert any(line.startswith("⚠ n1: no server restore point") for line in lines)


def test_the_restore_points_of_a_hop_come_from_its_own_events(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal:
        from themis_desktop.core.connection.profiles import NodeEndpoint, Profile

        profile = profile_store.save(
            journal, Profile("p", (NodeEndpoint("http://127.0.0.1:1", "n1"),))
        )
        plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "2.0")
        session = UpgradeSession.create(journal, profile, plan)
        first, second = session.hops[0], session.hops[1]
        point = RestorePoint("n1", "tag-a", 42, "2026-01-01T00:00:00.000Z")
        restore_points.record(journal, session, second, point)
        assert restore_points.hop_restore_points(journal, session, first) == []
        (found,) = restore_points.hop_restore_points(journal, session, second)
    assert (found.node, found.tag, found.sequence) == ("n1", "tag-a", 42)
