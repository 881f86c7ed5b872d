"""The rehearsals table: its migration from the journal before it, rows read back whole,
and a read-only review of an older journal that has no such table."""

from __future__ import annotations

import sqlite3

from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import SCHEMA_VERSION, Journal, utc_now
from themis_desktop.core.upgrade import rehearsal_gate, rehearsal_store
from themis_desktop.core.upgrade.rehearsal_store import RehearsalStep
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade


def _session(path):
    with Journal(path) as journal:
        profile = profile_store.save(
            journal, Profile("p", (NodeEndpoint("http://127.0.0.1:1", "n1"),))
        )
        plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
        return profile, UpgradeSession.create(journal, profile, plan)


def test_a_journal_before_rehearsals_gets_the_table_and_rows_read_back(tmp_path):
    path = tmp_path / "j.sqlite"
    profile, session = _session(path)
    with sqlite3.connect(path) as conn:  # as the app before rehearsals left it
        conn.execute("DROP TABLE rehearsals")
        conn.execute("PRAGMA user_version = 9")
    with Journal(path, read_only=True) as review:  # a review never migrates: nothing to show
        assert rehearsal_store.for_hop(review, session.hops[0].id) == []
    with Journal(path) as journal:
        assert journal.schema_version == SCHEMA_VERSION
        hop = session.hops[0]
        row = rehearsal_store.add(
            journal,
            session_id=session.id,
            hop_id=hop.id,
            profile="p",
            from_version=hop.from_version,
            to_version=hop.to_version,
            started_at=utc_now(),
            verdict="fail",
            reason="the copy's error rate is 40 %",
            host="demo",
            scratch_dir="/tmp/x",
            kept=True,
            backups={"n1": 3},
            steps=[RehearsalStep("restore n1's backup #3", 1.25, True, "/tmp/x/n1/data")],
            evaluation=[{"metric": "error_rate", "verdict": "fail"}],
            errors=["n1 (copy): GET /entities/probe:0 failed with 500"],
        )
        assert rehearsal_store.get(journal, row.id) == row
        assert row.kept and row.backups == {"n1": 3} and row.steps[0].seconds == 1.25
        assert row.to_dict()["steps"][0]["name"] == "restore n1's backup #3"
        gate = rehearsal_gate.gate(journal, session, hop, profile)
        assert gate.state == "failed" and gate.latest == row
        assert rehearsal_store.latest(journal, hop.id, "override") is None
        assert [r.id for r in rehearsal_store.for_session(journal, session.id)] == [row.id]
