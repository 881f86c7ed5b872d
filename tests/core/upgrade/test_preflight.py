"""The pre-flight of a 1.8 → 1.9 hop on a real two-node demo cluster: it lists each blocker
with the offending items, a fixed check rerun on its own clears, and the upgrade step
refuses while the hop is blocked and proceeds once it is ready."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rehearsal_override import override_rehearsals
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.server.client import ThemisClient
from themis_desktop.core.service.control import controller_for
from themis_desktop.core.upgrade import preflight
from themis_desktop.core.upgrade.hop_runner import HopContext, back_up, upgrade
from themis_desktop.core.upgrade.preflight import run_preflight
from themis_desktop.core.upgrade.session import SessionError, UpgradeSession
from themis_desktop.core.util.paths import app_data_dir
from themis_desktop.core.versions.catalogue_file import USER_CATALOGUE, load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade

REMOVED_KEY = "storage.legacy_row_cache_mb"
# a user catalogue may say what a line removes (the bundled one knows no removal in 1.9)
USER_LINES = f"""\
format: 1
lines:
  - line: "1.9"
    config:
      - {{change: removed, key: {REMOVED_KEY}, severity: breaks,
          reason: "The 1.9 server refuses to start while the key is set."}}
"""


@pytest.fixture
def lab(tmp_path, controlled_cluster):
    """Two demo nodes at 1.8.2 behind their control endpoint, a saved profile, a session
    planned to 1.9 and the context of its steps."""
    _, _, profile = controlled_cluster(nodes=2, version="1.8.2")
    (app_data_dir() / USER_CATALOGUE).write_text(USER_LINES)
    journal_path = tmp_path / "journal.sqlite"
    with Journal(journal_path) as journal:
        profile = profile_store.save(journal, profile)
        plan = plan_upgrade(load_catalogue(), "1.8.2", "1.9")
        session = UpgradeSession.create(journal, profile, plan)
    override_rehearsals(journal_path)
    ctx = HopContext(
        profile, None, controller_for(profile.service), journal_path, tmp_path / "backups"
    )
    return ctx, session


def _by_name(result: preflight.Preflight) -> dict[str, preflight.CheckResult]:
    return {r.name: r for r in result.results}


def _config(ctx: HopContext, node: int = 0) -> Path:
    return Path(ctx.profile.nodes[node].config_path)


def _set_removed_key(ctx: HopContext) -> None:
    path = _config(ctx)
    text = path.read_text(encoding="utf-8")
    key = REMOVED_KEY.split(".")[1]
    path.write_text(text.replace("storage:\n", f"storage:\n  {key}: 256\n"), encoding="utf-8")


def _remove_key(ctx: HopContext) -> None:
    path = _config(ctx)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if REMOVED_KEY.split(".")[1] not in line]
    path.write_text("".join(kept), encoding="utf-8")


def test_a_1_8_to_1_9_hop_lists_its_blockers_with_the_offending_items(lab):
    ctx, session = lab
    hop = session.hops[0]
    assert (hop.from_version, hop.to_version[:3]) == ("1.8.2", "1.9")
    with ctx.journal() as journal:
        raised = session.raise_trigger(journal, "critical-bug", "orders lose their lines")
    _set_removed_key(ctx)

    result = run_preflight(ctx, session, hop)

    assert result.verdict == "blocked"
    checks = _by_name(result)
    assert list(checks) == list(preflight.CHECKS)  # the whole suite, in its order
    assert {r.name for r in result.blocking} == {"backup", "config", "triggers"}
    backup = checks["backup"]
    assert backup.severity == "blocking" and backup.status == "fail"
    assert [item.split(":")[0] for item in backup.items] == ["n1", "n2"]
    assert "run the backup step" in backup.items[0]
    (item,) = checks["config"].items
    assert item.startswith(f"n1: {REMOVED_KEY} (removed in 1.9)")
    (item,) = checks["triggers"].items
    assert f"trigger {raised.id} (Critical bug)" in item and f"--trigger {raised.id}" in item
    for passing in ("nodes", "version-skew", "disk", "compaction", "clients"):
        assert checks[passing].status == "pass", checks[passing]
    assert "changes no HTTP path" in checks["clients"].message
    with ctx.journal() as journal:  # each run is journaled: the latest is known later
        events = journal.events(session_id=session.id, types=["preflight.check"])
        assert len(events) == len(preflight.CHECKS)
        latest = preflight.latest(journal, session, hop)
    assert latest is not None and latest.as_json() == result.as_json()
    assert result.as_json()["checks"][0].keys() == {
        "name",
        "severity",
        "status",
        "message",
        "items",
    }


def test_fixing_a_blocker_and_rerunning_that_check_alone_clears_it(lab):
    ctx, session = lab
    hop = session.hops[0]
    with ctx.journal() as journal:
        raised = session.raise_trigger(journal, "performance", "p99 up 30 % on n2")
    _set_removed_key(ctx)
    assert run_preflight(ctx, session, hop).verdict == "blocked"

    with ctx.journal() as journal:
        session.acknowledge(journal, raised.id, "a batch job; it ended", user="ana")
    (again,) = run_preflight(ctx, session, hop, ["triggers"]).results
    assert (again.name, again.status, again.items) == ("triggers", "pass", ())
    with ctx.journal() as journal:
        latest = preflight.latest(journal, session, hop)
    assert _by_name(latest)["triggers"].status == "pass"
    assert {r.name for r in latest.blocking} == {"backup", "config"}  # the others stand

    _remove_key(ctx)
    assert run_preflight(ctx, session, hop, ["config"]).verdict == "ready"
    back_up(ctx, session, hop)
    assert run_preflight(ctx, session, hop, ["backup"]).verdict == "ready"
    with ctx.journal() as journal:
        latest = preflight.latest(journal, session, hop)
    assert latest.verdict != "blocked" and not latest.blocking


def test_a_check_that_does_not_exist_is_refused_with_the_names(lab):
    ctx, session = lab
    with pytest.raises(SessionError, match="No pre-flight check named disks: the checks are"):
        run_preflight(ctx, session, session.hops[0], ["disks"])


def test_the_upgrade_step_refuses_while_blocked_and_proceeds_once_ready(lab):
    ctx, session = lab
    hop = session.hops[0]
    back_up(ctx, session, hop)
    with ctx.journal() as journal:
        raised = session.raise_trigger(journal, "data-integrity", "a checksum mismatch on n1")

    with pytest.raises(SessionError) as refused:
        upgrade(ctx, session, hop)
    text = str(refused.value)
    assert "blocked by its pre-flight checks" in text and "triggers:" in text
    assert "session preflight --profile lab --check triggers" in text
    assert "Nothing was changed." in text
    with ctx.journal() as journal:
        assert session.reload(journal).hops[0].state == "backed-up"
    for node in ctx.profile.nodes:
        with ThemisClient(node.url) as client:
            assert client.version(refresh=True).version == "1.8.2"

    with ctx.journal() as journal:
        session.acknowledge(journal, raised.id, "restored the row from the audit log")
    upgraded = upgrade(ctx, session, hop)
    assert upgraded.state == "validating"
    with ThemisClient(ctx.profile.nodes[1].url) as client:
        assert client.version(refresh=True).version == upgraded.to_version


def test_warnings_never_block_the_upgrade_step(lab):
    """A config that sets another port than the profile reaches the node on is a warning:
    reported and journaled, and the upgrade step goes on (the demo keeps its own port)."""
    ctx, session = lab
    hop = session.hops[0]
    path = _config(ctx, 1)
    port = ctx.profile.nodes[1].url.rsplit(":", 1)[1]
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(f"port: {port}", "port: 8765", 1), encoding="utf-8")
    result = run_preflight(ctx, session, hop, ["tokens-ports"])
    assert result.verdict == "warnings"
    (item,) = result.results[0].items
    assert item.startswith(
        f"n2: its config sets server.port 8765, the profile reaches it on {port}"
    )

    back_up(ctx, session, hop)
    assert upgrade(ctx, session, hop).state == "validating"
    with ctx.journal() as journal:
        latest = preflight.latest(journal, session, hop)
    assert latest.verdict == "warnings"  # the run the upgrade step made
    assert _by_name(latest)["tokens-ports"].status == "fail"
