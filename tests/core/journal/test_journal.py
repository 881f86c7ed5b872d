"""The journal: schema versioning, profiles without secrets, sessions and events."""

from __future__ import annotations

import sqlite3

import pytest

from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import SCHEMA_VERSION, Journal, JournalError
from themis_desktop.core.upgrade import session_store


@pytest.fixture
def journal(tmp_path):
    with Journal(tmp_path / "journal.sqlite") as j:
        yield j


def test_new_journal_is_at_the_current_schema_in_wal_mode(journal):
    assert journal.schema_version == SCHEMA_VERSION
    assert journal.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_default_location_is_the_app_data_dir(isolated_home):
    with Journal() as j:
        assert j.path == isolated_home / "journal.sqlite"


def test_profile_round_trips_with_its_nodes_in_order(journal):
    profile = Profile(
        "prod",
        nodes=(
            NodeEndpoint(
                "db1:8765", data_dir="/var/lib/themisdb", config_path="/etc/themisdb/config.yaml"
            ),
            NodeEndpoint("https://db2:8765", name="db2"),
        ),
        verify_tls=False,
        ca_file="/etc/ssl/ca.pem",
    )
    saved = profile_store.save(journal, profile)
    loaded = profile_store.get(journal, "prod")
    assert loaded == saved
    assert [n.url for n in loaded.nodes] == ["http://db1:8765", "https://db2:8765"]


def test_saving_a_profile_again_updates_it(journal):
    profile_store.save(journal, Profile("lab", nodes=(NodeEndpoint("a:1"),)))
    profile_store.save(journal, Profile("lab", nodes=(NodeEndpoint("b:2"),)))
    assert [p.name for p in profile_store.load_all(journal)] == ["lab"]
    assert profile_store.get(journal, "lab").nodes[0].url == "http://b:2"


def test_journal_has_no_column_for_a_token(journal):
    columns = {c.name for table in journal.db.tables for c in table.columns}
    assert not {c for c in columns if "token" in c or "password" in c or "secret" in c}


def test_deleting_a_profile_keeps_its_sessions(journal):
    profile = profile_store.save(journal, Profile("old", nodes=(NodeEndpoint("a:1"),)))
    session = session_store.start(journal, profile, "1.6.2", "1.7.3", user="ana")
    assert profile_store.delete(journal, "old")
    assert profile_store.get(journal, "old") is None
    assert session_store.get(journal, session.id).profile_id is None


def test_session_start_is_an_event(journal):
    session = session_store.start(journal, None, "1.7.3", "1.8.1", user="ana")
    events = journal.events(session_id=session.id)
    assert [(e.type, e.user) for e in events] == [("session.started", "ana")]
    assert session.state == "planned"


def test_events_keep_order_type_and_data(journal):
    journal.add_event("node.down", "refused", node="node-1", data={"kind": "refused"})
    journal.add_event("node.up", node="node-1")
    events = journal.events(types=["node.down"])
    assert len(events) == 1
    assert events[0].data == {"kind": "refused"}
    assert events[0].ts.endswith("Z")
    assert [e.type for e in journal.events()] == ["node.down", "node.up"]


def test_events_survive_reopening(tmp_path):
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        j.add_event("note", "kept")
    with Journal(path) as j:
        assert [e.message for e in j.events()] == ["kept"]


def test_read_only_journal_refuses_writes(tmp_path):
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        j.add_event("note", "x")
    with Journal(path, read_only=True) as j:
        assert len(j.events()) == 1
        with pytest.raises(sqlite3.OperationalError):
            j.add_event("note", "y")


def test_journal_from_a_newer_app_is_refused(tmp_path):
    path = tmp_path / "j.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(JournalError, match="newer Themis Desktop"):
        Journal(path)


def test_garbage_file_is_a_clear_error(tmp_path):
    path = tmp_path / "j.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalError, match="cannot be opened"):
        Journal(path)
    assert path.read_bytes().startswith(b"this is not sqlite")


def test_many_threads_opening_a_new_journal_migrate_it_once(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "fresh.sqlite"

    def open_and_write(i):
        with Journal(path) as j:
            return j.add_event("note", str(i))

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(open_and_write, range(16)))
    assert len(set(ids)) == 16
    with Journal(path) as j:
        assert j.schema_version == SCHEMA_VERSION


def test_a_failed_profile_save_leaves_the_old_profile_whole(journal, monkeypatch):
    profile_store.save(journal, Profile("p", nodes=(NodeEndpoint("a:1"), NodeEndpoint("b:2"))))
    table = journal.db["profile_nodes"]

    def broken_insert_all(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(type(table), "insert_all", broken_insert_all)
    with pytest.raises(sqlite3.OperationalError):
        profile_store.save(journal, Profile("p", nodes=(NodeEndpoint("c:3"),)))
    monkeypatch.undo()
    assert [n.url for n in profile_store.get(journal, "p").nodes] == ["http://a:1", "http://b:2"]


def test_a_v8_journal_moves_its_choice_rows_into_the_choice_column(tmp_path):
    import sqlite_utils

    from themis_desktop.core.guides import checklist
    from themis_desktop.core.journal.store import MIGRATIONS

    path = tmp_path / "v8.sqlite"
    db = sqlite_utils.Database(path)  # a journal as schema 8 wrote it: a choice in a row
    for step in MIGRATIONS[:8]:
        step(db)
    db.execute("PRAGMA user_version = 8")
    db["sessions"].insert({"id": 1, "from_version": "1.3.0", "to_version": "1.4.1"})
    row = {"session_id": 1, "hop": "1.3→1.4", "at": "2026-01-02T03:04:05.000Z", "user": "ana"}
    db["checklist"].insert_all(
        [
            {**row, "step_id": "upgrade", "state": "done", "note": "ok", "reason": ""},
            {**row, "step_id": "upgrade@choice", "state": "done", "note": "B", "reason": "Docker"},
            {**row, "step_id": "install@choice", "state": "done", "note": "A", "reason": ""},
        ]
    )
    db.conn.commit()
    db.conn.close()
    with Journal(path) as journal:
        assert journal.schema_version == SCHEMA_VERSION
        assert {"choice", "choice_label"} <= set(journal.db["checklist"].columns_dict)
        assert not list(journal.db["checklist"].rows_where("step_id LIKE '%@choice'"))
        states = checklist.states(journal, 1)
    assert sorted(states) == [("1.3→1.4", "install"), ("1.3→1.4", "upgrade")]
    upgrade, install = states[("1.3→1.4", "upgrade")], states[("1.3→1.4", "install")]
    assert (upgrade.state, upgrade.note, upgrade.choice, upgrade.choice_label) == (
        "done",
        "ok",
        "B",
        "Docker",
    )
    assert (install.state, install.at, install.user, install.choice) == (
        "open",
        "2026-01-02T03:04:05.000Z",
        "ana",
        "A",
    )
