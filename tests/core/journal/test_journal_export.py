"""Exporting a journal for support: a consistent copy with every planted secret gone."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.export import export_journal, redact_cell
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import session_store

SECRETS = {
    "bearer": "tok_BEARER_5f1c2e9a7b",
    "query": "QUERYTOKEN_77ab99",
    "password": "hunter2-PASSWORD",
    "api_key": "AKIA_APIKEY_123456",
    "hex": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "url": "URLPASS_5531",
    "json": "JSONSECRET_0042",
    "deleted": "DELETED_TOKEN_31337",
}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def journal_path(tmp_path) -> Path:
    path = tmp_path / "journal.sqlite"
    with Journal(path) as journal:
        profile = profile_store.save(
            journal,
            Profile(
                "prod",
                (NodeEndpoint("https://db1:8765", name="db1"),),
                ca_file="/etc/ssl/ca.pem",
            ),
        )
        session = session_store.start(journal, profile, "1.7.0", "1.8.0")
        journal.add_event(
            "hop.command",
            "ran the upgrade command",
            session_id=session.id,
            node="db1",
            data={
                "command": f"curl -H 'Authorization: Bearer {SECRETS['bearer']}' https://db1",
                "output": f"GET /admin?token={SECRETS['query']} → 200\npassword: "
                f"{SECRETS['password']}",
                "token": SECRETS["json"],
                "exit_code": 0,
            },
        )
        journal.add_event(
            "node.down",
            f"db1 refused api_key={SECRETS['api_key']}; token {SECRETS['hex']} "
            f"(via https://admin:{SECRETS['url']}@proxy:3128)",
            node="db1",
        )
        journal.add_event("hop.check", "db1: ready", session_id=session.id, node="db1")
        doomed = journal.add_event("note", f"token={SECRETS['deleted']}")
        with journal.transaction():
            journal.db["events"].delete(doomed)  # its bytes may still sit in a free page
    return path


def test_export_strips_planted_secrets_and_leaves_the_original_alone(journal_path, tmp_path):
    before = _digest(journal_path)
    original = journal_path.read_bytes()
    planted = [s for name, s in SECRETS.items() if name != "deleted"]  # (secure_delete builds)
    assert all(secret.encode() in original for secret in planted)  # the test is meaningful
    dest = tmp_path / "out" / "export.sqlite"
    report = export_journal(journal_path, dest)

    data = dest.read_bytes()
    for name, secret in SECRETS.items():
        assert secret.encode() not in data, f"{name} secret left in the export"
    assert _digest(journal_path) == before
    assert report.total == 2  # cells changed
    assert report.redacted["events.data"] == 1
    assert report.redacted["events.message"] == 1
    assert "redacted" in report.summary()
    assert report.size == len(data)
    assert not list(dest.parent.glob(".*partial*"))  # written under a temporary name

    with Journal(dest, read_only=True) as exported:  # still a journal, the rest kept
        events = exported.events()
        assert [e.type for e in events] == [
            "session.started",
            "hop.command",
            "node.down",
            "hop.check",
        ]
        command = events[1].data
        assert command["exit_code"] == 0 and command["token"] == "[redacted]"
        assert command["command"] == "curl -H 'Authorization: [redacted]' https://db1"
        assert "db1 refused" in events[2].message
        assert profile_store.get(exported, "prod").ca_file == "/etc/ssl/ca.pem"
        assert "https://admin:[redacted]@proxy:3128" in events[2].message


def test_export_works_while_the_journal_is_open_for_writing(journal_path, tmp_path):
    writer = Journal(journal_path)
    try:
        writer.add_event("node.up", "db1 answers again", node="db1")  # in the WAL only
        report = export_journal(journal_path, tmp_path / "live.sqlite")
    finally:
        writer.close()
    conn = sqlite3.connect(report.path)
    try:
        messages = [row[0] for row in conn.execute("SELECT message FROM events")]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    assert "db1 answers again" in messages
    assert mode == "delete"


def test_export_refuses_to_overwrite_its_source(journal_path):
    with pytest.raises(ValueError):
        export_journal(journal_path, journal_path)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("sha256 " + "ab" * 32, True),  # a checksum is no secret
        ("node n1 is down (401: token missing)", True),
        ("Upgrade session 1.7.0 → 1.8.0", True),
        ("--password hunter2 --user bob", False),
        ("X-Api-Key: 0123456789abcdef", False),
        ('{"nested": {"secret": "s"}}', False),
    ],
)
def test_redaction_keeps_ordinary_text(text, kept):
    assert (redact_cell(text) == text) is kept
