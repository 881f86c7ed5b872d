"""A hop on a real demo cluster: the side service in the pre-checks (informational only),
and the installed version checked before a node is started on a new (or old) version."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.rehearsal_override import override_rehearsals
from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import NodeEndpoint
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.service.control import DemoController, StepOutput, controller_for
from themis_desktop.core.upgrade.hop_runner import (
    HopContext,
    back_up,
    confirm_installed,
    pre_checks,
    rollback,
    upgrade,
)
from themis_desktop.core.upgrade.session import SessionError, UpgradeSession
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade


class InstallsNothing(DemoController):
    """The demo's real service control, with an install step that silently does nothing
    (a package that was not there, an install command that exits 0 anyway)."""

    def install(self, node: NodeEndpoint, version: str) -> StepOutput:
        return StepOutput(f"install {version} (did nothing)", 0, "", 0.0)


@pytest.fixture
def lab(tmp_path, controlled_cluster):
    cluster, control, profile = controlled_cluster(nodes=1, version="1.7.0")
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
    plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
    with ctx.journal() as journal:
        session = UpgradeSession.create(journal, ctx.profile, plan)
    override_rehearsals(ctx.journal_path)
    return cluster, control, ctx, session, lines


def test_pre_checks_show_the_side_service_without_failing(lab):
    cluster, _, ctx, session, lines = lab
    checks = pre_checks(ctx, session, session.hops[0])
    (side,) = [c for c in checks if c.name == "side service"]
    assert side.ok and side.info
    assert f"127.0.0.1:{cluster.nodes[0].side_port}" in side.detail
    assert "health_error_service healthy" in side.detail and "error codes registered" in side.detail
    assert any(line.startswith("ℹ n1: side service — ") for line in lines)
    assert all(c.ok for c in checks)


def test_an_unreachable_side_service_does_not_fail_the_pre_checks(lab):
    _, _, ctx, session, _ = lab
    ctx.profile = replace(ctx.profile, service=ServiceConfig(kind="manual"))
    checks = pre_checks(ctx, session, session.hops[0])
    (side,) = [c for c in checks if c.name == "side service"]
    # a loopback node without a demo instance: asked at 127.0.0.1:9090, where no demo
    # node's side service is (nothing, or some other server, answers there)
    assert side.ok and side.info and side.detail.startswith("not checked: ")
    assert all(c.ok for c in checks)


def test_the_upgrade_refuses_to_start_a_node_on_the_wrong_installed_version(lab):
    cluster, control, ctx, session, _ = lab
    back_up(ctx, session, session.hops[0])
    ctx.controller = InstallsNothing(control.url)
    target = session.hops[0].to_version
    with pytest.raises(SessionError) as refused:
        upgrade(ctx, session, session.hops[0])
    message = str(refused.value)
    assert f"the installed ThemisDB is 1.7.0, not {target}" in message
    assert "left stopped rather than started on the wrong version" in message
    assert not cluster.nodes[0].running  # stopped for the install, never started again
    with ctx.journal() as journal:
        assert session.reload(journal).hops[0].state == "failed"


def test_a_rollback_confirms_the_reinstalled_version(lab):
    cluster, control, ctx, session, lines = lab
    back_up(ctx, session, session.hops[0])
    upgraded = upgrade(ctx, session, session.hops[0])
    assert any(line == f"✓ n1: {upgraded.to_version} is installed" for line in lines)
    ctx.controller = InstallsNothing(control.url)  # the old version is not reinstalled
    with pytest.raises(SessionError, match=rf"is {upgraded.to_version}, not 1\.7\.0"):
        rollback(ctx, session, upgraded, "p99 doubled")
    assert not cluster.nodes[0].running
    with ctx.journal() as journal:
        assert session.reload(journal).hops[0].state == "failed"


def test_without_a_reading_it_says_so_and_goes_on(lab):
    _, _, ctx, _, lines = lab
    ctx.profile = replace(ctx.profile, service=ServiceConfig(kind="commands", stop="x", start="y"))
    confirm_installed(ctx, ctx.profile.nodes[0], "1.8.0")
    assert lines[-1] == "… n1: installed version not checked: no binary set in the profile"
