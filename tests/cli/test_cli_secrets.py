"""A token that a server or proxy echoes back never reaches the terminal, the journal, the
report or the exported journal (issue 16, item 14): a real loopback proxy, the real CLI."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from themis_desktop.cli import main
from themis_desktop.core.journal.export import export_journal
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import session_store
from themis_desktop.core.util.paths import journal_path

TOKEN = "Tq7RwX2vLp9KzN4mB6yHc3Fd"  # raw: no "Bearer", no "token=" before it when echoed


@contextmanager
def echoing_proxy() -> Iterator[str]:
    """A proxy that refuses every request with a 502 whose body repeats the credentials."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            sent = self.headers.get("Authorization", "").removeprefix("Bearer ")
            body = f"upstream refused {sent}".encode()
            self.send_response(502)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="echoing-proxy")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _on_disk(path: Path) -> bytes:
    wal = Path(f"{path}-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_a_token_echoed_by_a_proxy_is_redacted_everywhere(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("THEMIS_DESKTOP_TOKEN", TOKEN)
    with echoing_proxy() as url:
        assert main(["profiles", "add", "lab", url]) == 0
        assert main(["session", "start", "--profile", "lab", "--to", "1.8", "--from", "1.7.0"]) == 0
        assert main(["session", "run", "pre-checks", "--profile", "lab"]) == 1
    shown = capsys.readouterr()
    assert "upstream refused [redacted]" in shown.out  # the check says what the proxy said …
    assert TOKEN not in shown.out + shown.err  # … without the token

    with Journal() as journal:
        checks = [e.message for e in journal.events(types=["hop.check"])]
    assert any("upstream refused [redacted]" in m for m in checks)
    assert TOKEN.encode() not in _on_disk(journal_path())

    report = tmp_path / "report.html"
    assert main(["report", "-o", str(report)]) == 0
    assert "upstream refused [redacted]" in report.read_text(encoding="utf-8")
    assert TOKEN not in report.read_text(encoding="utf-8")

    exported = export_journal(journal_path(), tmp_path / "export.sqlite")
    assert TOKEN.encode() not in exported.path.read_bytes()


def test_a_token_from_a_named_variable_is_kept_off_the_terminal(capsys, monkeypatch):
    monkeypatch.setenv("LAB_TOKEN", "Lb5Tn8Qw2Zr7Xc4Vm9Kp")
    with echoing_proxy() as url:
        assert main(["status", url, "--token-env", "LAB_TOKEN"]) == 1
    shown = capsys.readouterr()
    assert "upstream refused [redacted]" in shown.out + shown.err
    assert "Lb5Tn8Qw2Zr7Xc4Vm9Kp" not in shown.out + shown.err


def test_a_journal_written_before_the_fix_gives_a_report_without_the_token(
    tmp_path, capsys, monkeypatch
):
    """The token is in the environment (not in any keyring) when the report is made; hex,
    so no heuristic would spot it."""
    token = "9f2c4e6a8b0d1f3e5a7c9e1b"
    assert main(["profiles", "add", "lab", "http://127.0.0.1:1"]) == 0
    assert main(["session", "start", "--profile", "lab", "--to", "1.8", "--from", "1.7.0"]) == 0
    with Journal() as journal:
        session_id = session_store.load_all(journal)[-1].id
    conn = sqlite3.connect(journal_path())  # as an older version stored it: verbatim
    with conn:
        conn.execute(
            "INSERT INTO events (session_id, ts, type, message, data) VALUES (?, ?, ?, ?, ?)",
            [
                session_id,
                "2026-11-26T10:00:00.000Z",
                "trigger.raised",
                f"saw {token}",
                '{"kind": "critical-bug"}',
            ],
        )
    conn.close()
    monkeypatch.setenv("THEMIS_DESKTOP_TOKEN", token)
    report = tmp_path / "old.html"
    assert main(["report", "-o", str(report)]) == 0
    text = report.read_text(encoding="utf-8")
    assert "saw [redacted]" in text and token not in text
