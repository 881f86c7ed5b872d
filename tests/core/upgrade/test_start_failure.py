"""A node that does not come up after its start is explained with its own log line and the
known issue it shows: on the demo instance's 1.0.x (its known issues on, as by default)."""

from __future__ import annotations

import pytest

from tests.rehearsal_override import override_rehearsals
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.service.control import controller_for
from themis_desktop.core.upgrade.hop_runner import HopContext, back_up, pre_checks, upgrade
from themis_desktop.core.upgrade.session import SessionError, UpgradeSession
from themis_desktop.core.upgrade.start_failure import explain
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade

REASON = "Column families not opened: prompt_templates"


def test_a_line_of_a_known_issue_is_explained_with_what_it_means_for_a_rollback():
    line = f"Failed to open RocksDB TransactionDB: Invalid argument: {REASON}"
    text = explain("db1", "1.0.1", line, rollback_to="1.0.0")
    assert text.startswith(f"db1 did not start as 1.0.1: its log says “{line}”.")
    assert "known issue of 1.0.1" in text and "1.0.0 cannot be restarted on its data" in text
    assert "What to do:" in text


def test_a_line_of_no_known_issue_is_quoted_with_what_to_do():
    text = explain("db1", "1.7.0", "Failed to bind 0.0.0.0:8765: address in use", "1.6.0")
    assert "its log says “Failed to bind 0.0.0.0:8765: address in use”" in text
    assert "known issue" not in text and "retry the step, or roll back" in text


def test_an_upgrade_from_the_demos_1_0_fails_with_the_servers_reason(tmp_path, controlled_cluster):
    _, _, profile = controlled_cluster(nodes=1, version="1.0.0")
    journal_path = tmp_path / "journal.sqlite"
    with Journal(journal_path) as journal:
        profile = profile_store.save(journal, profile)
        plan = plan_upgrade(load_catalogue(with_user=False), "1.0.0", "1.0.1")
        session = UpgradeSession.create(journal, profile, plan)
    override_rehearsals(journal_path)
    ctx = HopContext(profile, None, controller_for(profile.service), journal_path, tmp_path / "b")
    ctx.ready_timeout = 15.0
    hop = session.hops[0]
    assert all(c.ok for c in pre_checks(ctx, session, hop))
    back_up(ctx, session, hop)
    with Journal(journal_path) as journal:
        hop = session.reload(journal).hop(hop.id)
    with pytest.raises(SessionError) as failed:
        upgrade(ctx, session, hop)
    assert REASON in str(failed.value) and "known issue of 1.0.1" in str(failed.value)
    with Journal(journal_path) as journal:
        assert session.reload(journal).hop(hop.id).state == "failed"
