"""The session report of a real demo session, as HTML and PDF: complete, and without secrets."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser

from tests.rehearsal_override import override_rehearsals
from themis_desktop.cli import main
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.logs.line_format import parse_plain
from themis_desktop.core.logs.watch import HopPhase, store
from themis_desktop.core.metrics.sampling import Sample
from themis_desktop.core.metrics.store import insert_samples
from themis_desktop.core.service.control import controller_for
from themis_desktop.core.upgrade.hop_runner import HopContext, back_up, rollback, upgrade, validate
from themis_desktop.core.upgrade.report import scrub
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.core.util.paths import journal_path
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade

SECRETS = ("hunter2-db-password", "tok_5f2e9a7c41d8b36e0a9c5d7f1b2e4a6c8d0f1e3a5b7c9d1e")


def _session(tmp_path, controlled_cluster) -> int:
    _, _, profile = controlled_cluster(nodes=1)
    with Journal() as journal:
        profile = profile_store.save(journal, profile)
        session = UpgradeSession.create(
            journal, profile, plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
        )
        now = time.time()
        insert_samples(
            journal,
            "lab",
            [
                Sample("n1", now - 60 + i, True, {"probe_ms": 3.0 + i % 3, "request_rate": 50.0})
                for i in range(60)
            ],
        )
        hop = session.hops[0]
        lines = [  # the log watch's record of the hop, one line with a secret in it
            parse_plain("n1", f"[2026-11-26 10:00:01.000] [themis] [{level}] [thread 1] {text}", 0)
            for level, text in (
                ("error", "WAL sync failed: IO error"),
                ("warning", f"client sent token={SECRETS[1]}"),
                ("info", "Server listening"),
            )
        ]
        store(journal, HopPhase(session.id, hop.id, hop.label, "validating"), lines, lines[:2])
    ctx = HopContext(
        profile, None, controller_for(profile.service), journal_path(), tmp_path / "backups"
    )
    back_up(ctx, session, session.hops[0])
    override_rehearsals()
    hop = upgrade(ctx, session, session.hops[0])
    validate(ctx, session, hop)
    with ctx.journal() as journal:  # raised after the upgrade: an open one would block it
        session.raise_trigger(
            journal, "critical-bug", f"orders wrong; password={SECRETS[0]} Bearer {SECRETS[1]}"
        )
        hop = session.reload(journal).hops[0]
    rollback(ctx, session, hop, f"p99 doubled; api_key={SECRETS[1]}")
    return session.id


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"])


def test_html_and_pdf_reports_of_a_session(tmp_path, controlled_cluster, capsys):
    session_id = _session(tmp_path, controlled_cluster)
    page = tmp_path / "report.html"
    assert main(["report", "--session", str(session_id), "-o", str(page)]) == 0
    text = page.read_text()
    parser = _Parser()
    parser.feed(text)
    assert parser.tags.count("table") >= 4
    assert len(parser.images) >= 2 and all(
        s.startswith("data:image/png;base64,") for s in parser.images
    )  # graph + metrics plots
    for expected in (
        "1.7.0 → 1.8",
        "Verified backup",
        "rolled-back",
        "critical-bug",
        "p99 doubled",
        "Environment",
        "Easy rollback at the rollback",
        "hop.started",
        "WAL sync failed: IO error",  # the hop's log lines …
        "<th>Errors</th>",  # … and its counts per phase
    ):
        assert expected in text, expected
    assert re.search(r"<code>[0-9a-f]{64}</code>", text)  # the backup's SHA-256
    for secret in SECRETS:
        assert secret not in text
    pdf = tmp_path / "report.pdf"
    assert main(["report", "--session", str(session_id), "-o", str(pdf)]) == 0
    raw = pdf.read_bytes()
    assert raw.startswith(b"%PDF") and raw.count(b"/Type /Page") >= 2
    assert not list(tmp_path.glob("*.partial"))


def test_scrub_removes_what_looks_like_a_secret():
    assert scrub("Authorization: Bearer abc.def") == "Authorization: Bearer [redacted]"
    assert scrub('{"token": "s3cr3t"}') == '{"token": "[redacted]"}'
    assert scrub("the node answers 1.8.0 at 12:00") == "the node answers 1.8.0 at 12:00"
    assert scrub("mine", known=("mine",)) == "[redacted]"


def test_a_missing_session_or_format_is_one_line(tmp_path, capsys):
    assert main(["report", "--session", "42", "-o", str(tmp_path / "r.html")]) == 2
    assert "no session 42" in capsys.readouterr().err


def test_the_report_shows_the_option_chosen_and_the_confirmed_contested_stops(tmp_path):
    from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
    from themis_desktop.core.guides import checklist

    plan = plan_upgrade(load_catalogue(with_user=False), "1.0.0", "1.3", have=["1.1.0"])
    with Journal() as journal:
        profile = profile_store.save(
            journal, Profile("p", (NodeEndpoint("http://127.0.0.1:1", "n1"),))
        )
        session = UpgradeSession.create(journal, profile, plan)
        last = session.hops[-1]
        checklist.set_choice(journal, session.id, last.label, "upgrade", "B", "Docker")
        checklist.set_step(journal, session.id, last.label, "upgrade", "done", user="ana")
        checklist.set_step(journal, session.id, last.label, "backup", "done", user="ana")
    page = tmp_path / "report.html"
    assert main(["report", "--session", str(session.id), "-o", str(page)]) == 0
    text = page.read_text()
    assert "<th>Option chosen</th>" in text
    assert re.search(r"<td>upgrade</td><td>done</td><td>B Docker</td>", text)
    assert re.search(r"<td>backup</td><td>done</td><td>—</td>", text)
    first, second = session.hops[0].label, session.hops[1].label
    assert f"{first} (contested, confirmed by the admin)" in text
    assert f"{second} (contested, unconfirmed)" in text
