"""Every token the app knows is redacted before anything reaches the journal, and the
journal export re-scans every table for known and token-looking values (issue 16, item 14).
"""

from __future__ import annotations

import json
import secrets as random
import sqlite3
from pathlib import Path

import keyring
import pytest

from tests.core.connection.test_secrets import DictKeyring
from themis_desktop.core.connection import profile_store, secrets
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.export import export_journal, redact_text
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import session_store
from themis_desktop.core.util import redaction


def _token(prefix: str) -> str:
    """A fresh token no other test has registered (letters and digits, mixed case)."""
    return f"{prefix}Q{random.token_hex(10)}Zx9"


def _raw(path: Path) -> bytes:
    """Everything on disk for the journal at `path`: the file and its -wal."""
    wal = Path(f"{path}-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.fixture
def dict_keyring():
    backend = DictKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_every_way_of_obtaining_a_token_registers_it(monkeypatch, dict_keyring):
    prompted, from_keyring, named_var, default_var = (_token(p) for p in ("p", "k", "n", "d"))
    secrets.TokenStore().set("typed", prompted, persist=False)  # the token prompt, the dialog
    dict_keyring.set_password(secrets.SERVICE, "prod", from_keyring)  # saved in an earlier run
    assert secrets.TokenStore().get("prod") == from_keyring
    monkeypatch.setenv("MY_TOKEN", named_var)
    assert redaction.token_from_env("MY_TOKEN") == named_var  # --token-env MY_TOKEN
    monkeypatch.setenv("THEMIS_DESKTOP_TOKEN", default_var)  # watched without being asked

    known = redaction.known_tokens()
    for token in (prompted, from_keyring, named_var, default_var):
        assert token in known
        assert redaction.redact(f"refused {token}!") == "refused [redacted]!"


def test_the_journal_redacts_known_tokens_in_every_column_it_writes(tmp_path, monkeypatch):
    token = _token("j")
    quoted = 'ab"c\\' + _token("q")  # JSON escapes it inside the data column
    redaction.remember(token)
    redaction.remember(quoted)
    path = tmp_path / "journal.sqlite"
    with Journal(path) as journal:
        profile = profile_store.save(journal, Profile("prod", (NodeEndpoint("http://db1:8765"),)))
        session = session_store.start(journal, profile, "1.7.0", "1.8.0")
        journal.add_event(
            "hop.check",
            f"answers — The server failed with HTTP 502: proxy refused {token}",
            session_id=session.id,
            node=f"db1 {token}",
            data={"output": f"echo {token}", "raw": quoted, token: 1},
        )
        with journal.transaction():  # a module writing through sqlite_utils directly
            journal.db["checklist"].insert(
                {"session_id": session.id, "hop": "h", "step_id": "s", "note": token}
            )
        stored = journal.events(session_id=session.id)[-1]
        assert stored.message.endswith("proxy refused [redacted]")
        assert stored.node == "db1 [redacted]"
        assert stored.data == {"output": "echo [redacted]", "raw": "[redacted]", "[redacted]": 1}
    raw = _raw(path)
    assert token.encode() not in raw
    assert json.dumps(quoted)[1:-1].encode() not in raw


def test_short_tokens_are_redacted_as_whole_words_only():
    redaction.remember("k9Xq")  # 4 characters: a word of its own, never inside another
    assert redaction.redact("token k9Xq refused") == "token [redacted] refused"
    assert redaction.redact("k9Xqz and ak9Xq stay") == "k9Xqz and ak9Xq stay"
    redaction.remember("abc")  # shorter than any token worth the name: never replaced
    assert redaction.redact("abc def") == "abc def"


def test_token_looking_words_are_told_apart_from_names_and_checksums():
    raw = "upstream said Zk3vQ9pL2xR7mN4tB8wY1cH6 twice"
    assert redact_text(raw) == "upstream said [redacted] twice"
    for ordinary in (
        "sha256 " + "ab" * 32,
        "backup themis-n1-1.7.0-20240101T120000Z.tar.zst verified",
        "checkpoint .themis-checkpoint-20240101T120000123456Z removed",
        "index idx_events_session_id_ts rebuilt",
        "/var/lib/themisdb/data/ThemisDesktopSessionReport2024Final",
    ):
        assert redact_text(ordinary) == ordinary


def _old_journal(path: Path, planted: dict[str, str]) -> None:
    """A journal as an older version wrote it: secrets stored verbatim (no write boundary)."""
    with Journal(path) as journal:
        profile = profile_store.save(journal, Profile("prod", (NodeEndpoint("http://db1:8765"),)))
        session_id = session_store.start(journal, profile, "1.7.0", "1.8.0").id
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO events (session_id, ts, type, message) VALUES (?, ?, ?, ?)",
            [session_id, "2026-11-26T10:00:00.000Z", "hop.check", planted["message"]],
        )
        conn.execute(
            "INSERT INTO checklist (session_id, hop, step_id, state, note) VALUES (?,?,?,?,?)",
            [session_id, "1.7.0->1.8.0", "backup", "done", planted["note"]],
        )
        conn.execute(  # a table the export used to skip, in a column declared REAL
            "INSERT INTO samples (profile, node, at, version, probe_ms) VALUES (?,?,?,?,?)",
            ["prod", "db1", 1.0, planted["version"], planted["real"]],
        )
    conn.close()


def test_the_export_rescans_every_table_for_known_and_token_looking_values(tmp_path, dict_keyring):
    registered, in_keyring, unknown = _token("r"), _token("k"), "Zk3vQ9pL2xR7mN4tB8wY1cH6"
    redaction.remember(registered)
    planted = {
        "message": f"answers — HTTP 502: upstream refused {registered} and {unknown}",
        "note": f"used {in_keyring}",
        "version": f"1.8.0 {registered}",
        "real": f"{registered}",
    }
    source = tmp_path / "journal.sqlite"
    _old_journal(source, planted)
    # stored in the keyring by an earlier run of the app, never used in this one
    dict_keyring.set_password(secrets.SERVICE, "prod", in_keyring)
    assert in_keyring not in redaction.known_tokens()
    assert all(t.encode() in source.read_bytes() for t in (registered, in_keyring, unknown))

    dest = tmp_path / "export.sqlite"
    report = export_journal(source, dest, secrets.TokenStore().get)

    data = dest.read_bytes()
    for token in (registered, in_keyring, unknown):
        assert token.encode() not in data
    assert report.redacted == {
        "events.message": 1,
        "checklist.note": 1,
        "samples.version": 1,
        "samples.probe_ms": 1,
    }
    assert "4 secret-looking value(s) redacted" in report.summary()
    with Journal(dest, read_only=True) as exported:
        assert exported.events()[-1].message == (
            "answers — HTTP 502: upstream refused [redacted] and [redacted]"
        )
