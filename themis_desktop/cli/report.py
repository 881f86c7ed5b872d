"""`themis-desktop report`: a session's report as HTML or PDF (drawn with Qt, offscreen
when there is no screen)."""

from __future__ import annotations

import argparse
from typing import Any

from themis_desktop.cli.common import CommandError, ExitCode


def register(commands: Any) -> None:
    report = commands.add_parser("report", help="a session report as HTML or PDF")
    report.add_argument("--session", type=int, help="the session id (default: the newest)")
    report.add_argument("-o", "--output", required=True, metavar="FILE.html|FILE.pdf")
    report.add_argument("--journal", metavar="FILE", help="another journal (e.g. a colleague's)")
    report.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """Exit 2 when the session, the journal or the output file cannot be used."""
    import os
    from pathlib import Path

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # pictures need no screen
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.connection.secrets import TokenStore
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.upgrade import session_store
    from themis_desktop.ui.app import application
    from themis_desktop.ui.dialogs.report_export import write_report

    journal_path = Path(args.journal) if args.journal else None
    with Journal(journal_path, read_only=journal_path is not None) as journal:
        session_id = args.session or session_store.newest_id(journal)
        if session_id is None or not session_store.exists(journal, session_id):
            raise CommandError(f"no session {args.session or ''} in the journal", ExitCode.USAGE)
        tokens = TokenStore()
        secrets = tuple(t for p in profile_store.load_all(journal) if (t := tokens.get(p.name)))
    application()
    try:
        out = write_report(journal_path, session_id, Path(args.output), secrets)
    except (ValueError, OSError) as exc:
        raise CommandError(exc, ExitCode.USAGE) from exc
    print(f"wrote {out} (session {session_id})")
    return ExitCode.OK
