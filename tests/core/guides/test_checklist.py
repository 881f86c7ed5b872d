"""Checklist state is stored in the journal per session, hop and step, with time and user."""

from __future__ import annotations

import sqlite3

import pytest

from themis_desktop.core.guides import checklist
from themis_desktop.core.journal.store import SCHEMA_VERSION, Journal
from themis_desktop.core.upgrade import session_store


@pytest.fixture
def journal(tmp_path):
    with Journal(tmp_path / "j.sqlite") as j:
        yield j


def test_ticking_a_step_records_time_user_and_an_event(journal):
    session = session_store.start(journal, None, "1.7.0", "1.8.2", user="ana")
    state = checklist.set_step(journal, session.id, "1.7→1.8", "backup-abc", "done", user="ana")
    assert (state.state, state.user) == ("done", "ana") and state.at.endswith("Z")
    assert checklist.states(journal, session.id)[("1.7→1.8", "backup-abc")] == state
    assert [e.type for e in journal.events(session_id=session.id)][-1] == "step.done"


def test_notes_survive_state_changes_and_skips_need_a_reason(journal):
    session = session_store.start(journal, None, "1.7.0", "1.8.2")
    checklist.set_note(journal, session.id, "h", "s", "took 4 minutes")
    checklist.set_step(journal, session.id, "h", "s", "done")
    with pytest.raises(ValueError, match="needs a reason"):
        checklist.set_step(journal, session.id, "h", "s", "skipped")
    skipped = checklist.set_step(journal, session.id, "h", "s", "skipped", reason="single node")
    assert (skipped.note, skipped.reason) == ("took 4 minutes", "single node")
    reopened = checklist.set_step(journal, session.id, "h", "s", "open")
    assert reopened.reason == "" and reopened.note == "took 4 minutes"


def test_state_is_per_session(journal):
    one = session_store.start(journal, None, "1.7.0", "1.8.2")
    two = session_store.start(journal, None, "1.7.0", "1.8.2")
    checklist.set_step(journal, one.id, "h", "s", "done")
    assert checklist.states(journal, two.id) == {}


def test_a_version_1_journal_is_migrated_keeping_its_data(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:  # what the first release wrote
        conn.execute(
            "CREATE TABLE profiles (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "verify_tls INTEGER, ca_file TEXT, demo INTEGER, uses_auth INTEGER, "
            "created_at TEXT, updated_at TEXT)"
        )
        conn.execute(
            "CREATE TABLE profile_nodes (id INTEGER PRIMARY KEY, profile_id INTEGER, "
            "position INTEGER, name TEXT, url TEXT, data_dir TEXT, config_path TEXT, "
            "version_override TEXT)"
        )
        conn.execute(
            "CREATE TABLE sessions (id INTEGER PRIMARY KEY, profile_id INTEGER, "
            "from_version TEXT, to_version TEXT, state TEXT, created_at TEXT, "
            "created_by TEXT, ended_at TEXT)"
        )
        conn.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, session_id INTEGER, ts TEXT, "
            "type TEXT, user TEXT, node TEXT, message TEXT, data TEXT)"
        )
        conn.execute(
            "INSERT INTO events (ts, type, message) VALUES ('2026-01-01T00:00:00Z', 'note', 'kept')"
        )
        conn.execute("PRAGMA user_version = 1")
    with Journal(path) as journal:
        assert journal.schema_version == SCHEMA_VERSION
        assert [e.message for e in journal.events()] == ["kept"]
        session = session_store.start(journal, None, "1.7.0", "1.8.2")
        checklist.set_step(journal, session.id, "h", "s", "done")


def test_a_note_keeps_who_ticked_the_step_and_when(journal):
    session = session_store.start(journal, None, "1.7.0", "1.8.2")
    ticked = checklist.set_step(journal, session.id, "h", "s", "done", user="ana")
    noted = checklist.set_note(journal, session.id, "h", "s", "checked twice")
    assert (noted.state, noted.at, noted.user, noted.note) == (
        "done",
        ticked.at,
        "ana",
        "checked twice",
    )
    assert journal.events(session_id=session.id)[-1].type == "step.note"


def test_the_option_taken_for_a_choice_step_is_kept_beside_its_state(tmp_path):
    path = tmp_path / "j.sqlite"
    with Journal(path) as journal:
        session = session_store.start(journal, None, "1.3.0", "1.4.1")
        chosen = checklist.set_choice(
            journal, session.id, "1.3→1.4", "upgrade-abc", "B", "Docker", user="ana"
        )
        assert (chosen.state, chosen.choice, chosen.choice_label) == ("open", "B", "Docker")
        event = journal.events(session_id=session.id)[-1]
        assert (event.type, event.user) == ("step.choice", "ana")
        assert "option B (Docker)" in event.message
        ticked = checklist.set_step(journal, session.id, "1.3→1.4", "upgrade-abc", "done")
        assert (ticked.state, ticked.choice) == ("done", "B")  # ticking keeps the choice
        checklist.set_choice(journal, session.id, "1.3→1.4", "upgrade-abc", "A", "Packages")
        with pytest.raises(ValueError, match="key of an option"):
            checklist.set_choice(journal, session.id, "1.3→1.4", "upgrade-abc", " ")
    with Journal(path) as journal:  # a restart: the journal still has it
        states = checklist.states(journal, session.id)
        assert list(states) == [("1.3→1.4", "upgrade-abc")]  # the choice is no step of its own
        state = states[("1.3→1.4", "upgrade-abc")]
        assert (state.state, state.choice, state.choice_label) == ("done", "A", "Packages")


def test_a_choice_is_a_column_of_its_steps_row(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal:
        session = session_store.start(journal, None, "1.3.0", "1.4.1")
        checklist.set_choice(journal, session.id, "1.3→1.4", "upgrade", "B", "Docker")
        checklist.set_step(journal, session.id, "1.3→1.4", "upgrade", "done", note="pulled")
        rows = list(journal.db["checklist"].rows_where("session_id = ?", [session.id]))
    assert [
        (r["step_id"], r["state"], r["note"], r["choice"], r["choice_label"]) for r in rows
    ] == [("upgrade", "done", "pulled", "B", "Docker")]
