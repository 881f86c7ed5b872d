"""`themis-desktop rollback-window` and `themis-desktop session ...`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from themis_desktop.core.server import strict_json


def add_parsers(commands: Any) -> None:
    window = commands.add_parser(
        "rollback-window", help="the rollback band since an upgrade finished"
    )
    window.add_argument("--since", required=True, metavar="ISO8601", help="when the hop finished")
    window.add_argument("--now", metavar="ISO8601", help="another moment than now (planning)")
    window.add_argument("--json", action="store_true")


def add_report_parser(commands: Any) -> None:
    report = commands.add_parser("report", help="a session report as HTML or PDF")
    report.add_argument("--session", type=int, help="the session id (default: the newest)")
    report.add_argument("-o", "--output", required=True, metavar="FILE.html|FILE.pdf")
    report.add_argument("--journal", metavar="FILE", help="another journal (e.g. a colleague's)")


def cmd_report(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # pictures need no screen
    from themis_desktop.core.connection.secrets import TokenStore
    from themis_desktop.core.journal.store import Journal, JournalError
    from themis_desktop.ui.app import application
    from themis_desktop.ui.dialogs.report_export import write_report

    journal_path = Path(args.journal) if args.journal else None
    try:
        with Journal(journal_path, read_only=journal_path is not None) as journal:
            rows = list(journal.db["sessions"].rows_where(order_by="id DESC", limit=1))
            session_id = args.session or (rows[0]["id"] if rows else None)
            if session_id is None or not journal.db["sessions"].count_where("id = ?", [session_id]):
                print(
                    f"themis-desktop: no session {args.session or ''} in the journal".rstrip(),
                    file=sys.stderr,
                )
                return 2
            tokens = TokenStore()
            secrets = tuple(t for p in journal.profiles() if (t := tokens.get(p.name)))
    except JournalError as exc:
        print(f"themis-desktop: {exc}", file=sys.stderr)
        return 2
    application()
    try:
        out = write_report(journal_path, session_id, Path(args.output), secrets)
    except (ValueError, OSError) as exc:
        print(f"themis-desktop: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out} (session {session_id})")
    return 0


def cmd_rollback_window(args: argparse.Namespace) -> int:
    from themis_desktop.core.upgrade.rollback_window import describe, parse_time, window

    try:
        since = parse_time(args.since)
        now = parse_time(args.now) if args.now else None
    except ValueError as exc:
        print(f"themis-desktop: not an ISO 8601 time: {exc}", file=sys.stderr)
        return 2
    state = window(since, now)
    if args.json:
        print(
            strict_json.dumps(
                {
                    "band": state.band.key,
                    "title": state.band.title,
                    "meaning": state.band.meaning,
                    "elapsed_seconds": state.elapsed,
                    "next_band": state.next_band.key if state.next_band else None,
                    "seconds_to_next_band": state.to_next,
                },
                indent=2,
            )
        )
    else:
        print(describe(state))
        print(f"  {state.band.meaning}")
    return 0


def add_session_parser(commands: Any, token_env: str) -> None:
    session = commands.add_parser(
        "session", help="upgrade sessions: start, status, steps, rollback"
    )
    actions = session.add_subparsers(dest="action", required=True)
    start = actions.add_parser("start", help="plan a session for a saved profile")
    start.add_argument("--profile", required=True)
    start.add_argument("--to", required=True, metavar="X", help="target version or line")
    start.add_argument(
        "--from", dest="source", metavar="V", help="current version (default: asked)"
    )
    status = actions.add_parser("status", help="the profile's open session (or the newest)")
    status.add_argument("--profile")
    status.add_argument("--json", action="store_true")
    step = actions.add_parser("run", help="run a step of the current hop")
    step.add_argument("step", choices=("pre-checks", "backup", "upgrade", "validate"))
    step.add_argument("--profile", required=True)
    step.add_argument("--backup-dir", metavar="DIR", help="where backups go (default: data folder)")
    step.add_argument(
        "--yes",
        action="store_true",
        help="run the upgrade step without asking (needed without a terminal)",
    )
    rollback = actions.add_parser("rollback", help="roll the last upgraded hop back")
    rollback.add_argument("--profile", required=True)
    rollback.add_argument("--note", required=True, help="what went wrong (kept in the journal)")
    rollback.add_argument(
        "--yes", action="store_true", help="roll back without asking (needed without a terminal)"
    )
    trigger = actions.add_parser("trigger", help="record a rollback trigger with a note")
    trigger.add_argument(
        "kind",
        choices=(
            "critical-bug",
            "data-integrity",
            "incompatibility",
            "failed-validation",
            "performance",
        ),
    )
    trigger.add_argument("--profile", required=True)
    trigger.add_argument("--note", required=True)
    acknowledge = actions.add_parser(
        "acknowledge", help="acknowledge a raised trigger with a note (what was decided)"
    )
    acknowledge.add_argument("--profile", required=True)
    acknowledge.add_argument(
        "--trigger", required=True, type=int, metavar="ID", help="its id (see `session status`)"
    )
    acknowledge.add_argument("--note", required=True, help="what you decided (kept)")
    for parser in (start, status, step, rollback, trigger, acknowledge):
        parser.set_defaults(token_env=token_env)


def cmd_session(args: argparse.Namespace) -> int:
    from themis_desktop.core.backup.archive_format import BackupError
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.server.errors import ThemisError
    from themis_desktop.core.service.control import ServiceError
    from themis_desktop.core.upgrade.session import SessionError

    try:
        with Journal() as journal:
            if args.action == "start":
                return _start(args, journal)
            if args.action == "status":
                return _status(args, journal)
            session = _open(journal, args.profile)
            if args.action == "trigger":
                raised = session.raise_trigger(journal, args.kind, args.note)
                print(f"trigger {raised.id} recorded on session {session.id}: {args.kind}")
                return 0
            if args.action == "acknowledge":
                done = session.acknowledge(journal, args.trigger, args.note)
                ack = done.acknowledged
                print(
                    f"trigger {done.id} ({done.title}) acknowledged by {ack.user} at {ack.at}: "
                    f"{ack.note}"
                )
                return 0
        if args.action == "run":
            return _run_step(args, session)
        return _rollback(args, session)
    except (SessionError, ServiceError, BackupError, ThemisError) as exc:
        print(f"themis-desktop: {exc}", file=sys.stderr)
        return 1


def _open(journal, profile: str):
    from themis_desktop.core.upgrade.session import SessionError, UpgradeSession

    session = UpgradeSession.latest_for(journal, profile)
    if session is None:
        raise SessionError(
            f"No upgrade session for {profile!r}: `themis-desktop session start "
            f"--profile {profile} --to X` plans one."
        )
    return session


def _start(args: argparse.Namespace, journal) -> int:
    from themis_desktop.core.upgrade.session import SessionError, UpgradeSession
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    profile = journal.profile(args.profile)
    if profile is None:
        raise SessionError(
            f"No profile named {args.profile!r} (see `themis-desktop profiles list`)."
        )
    if UpgradeSession.open_for(journal, profile.name):
        raise SessionError(f"{profile.name} has an open session: finish or roll it back first.")
    source = args.source or _detect_version(profile, args.token_env)
    plan = plan_upgrade(load_catalogue(), source, args.to)
    session = UpgradeSession.create(journal, profile, plan)
    print(
        f"session {session.id}: {profile.name} {source} → {plan.target.text}, "
        f"{len(session.hops)} hop(s)"
    )
    for hop in session.hops:
        print(f"  {hop.position + 1}. {hop.label}")
    return 0


def _detect_version(profile, token_env: str) -> str:
    import os

    from themis_desktop.core.server.errors import ThemisError
    from themis_desktop.core.upgrade.session import SessionError

    node = profile.nodes[0]
    if node.version_override:
        return node.version_override
    try:
        with profile.client(node, os.environ.get(token_env)) as client:
            info = client.version()
    except ThemisError as exc:
        raise SessionError(f"The version of {node.name} is unknown ({exc}); give --from.") from None
    if not info.exact:
        raise SessionError(f"{node.name} only says it is an era-A server; give --from.")
    return info.version


def _status(args: argparse.Namespace, journal) -> int:
    from themis_desktop.core.upgrade import health_state
    from themis_desktop.core.upgrade.rollback_window import window
    from themis_desktop.core.upgrade.session import UpgradeSession
    from themis_desktop.core.upgrade.steps import steps_now

    if args.profile:
        session = UpgradeSession.latest_for(journal, args.profile)
    else:
        rows = list(journal.db["sessions"].rows_where(order_by="id DESC", limit=1))
        session = UpgradeSession.load(journal, rows[0]["id"]) if rows else None
    if session is None:
        print("no upgrade session")
        return 1
    last = session.last_finished
    state = window(last.finished) if last and last.finished else None
    health = health_state.assess(session, health_state.gather(journal, session))
    triggers = session.triggers(journal)
    steps = steps_now(session)
    data = {
        "session": session.id,
        "profile": session.profile,
        "state": session.state,
        "health": _health_json(health),
        "from": session.session.from_version,
        "to": session.session.to_version,
        "hops": [
            {
                "from": h.from_version,
                "to": h.to_version,
                "state": h.state,
                "health": health.hops[h.id].level,
                "finished_at": h.finished_at,
                "backups": list(h.backups),
                "note": h.note,
                "confirmed": h.confirmed,  # None: the target was not contested
            }
            for h in session.hops
        ],
        "steps": {"allowed": list(steps.allowed_steps), "refused": steps.refused},
        "rollback_window": (
            {
                "hop": last.label,
                "band": state.band.key,
                "elapsed_seconds": state.elapsed,
                "seconds_to_next_band": state.to_next,
            }
            if state and last
            else None
        ),
        "triggers": [
            {
                "id": t.id,
                "kind": t.kind,
                "note": t.note,
                "at": t.at,
                "user": t.user,
                "acknowledged": (
                    {
                        "at": t.acknowledged.at,
                        "user": t.acknowledged.user,
                        "note": t.acknowledged.note,
                    }
                    if t.acknowledged
                    else None
                ),
            }
            for t in triggers
        ],
    }
    if args.json:
        print(strict_json.dumps(data, indent=2))
        return 0
    from themis_desktop.core.upgrade.rollback_window import describe

    print(
        f"session {session.id} ({session.profile}): {data['from']} → {data['to']}, {session.state}"
    )
    print(f"health: {health.title.upper()}")
    for reason in health.reasons:
        print(f"  {reason.level:<8} {reason.text}")
    for i, h in enumerate(session.hops, start=1):
        line = f"  {i}. {h.label:<18} {h.state:<12} {health.hops[h.id].title}"
        print(f"{line} ({h.confirmation})" if h.confirmation else line)
    if steps.allowed_steps:
        print(f"steps now: {', '.join(steps.allowed_steps)} (session run STEP)")
    else:
        print(f"no step now: {steps.why_not('pre-checks')}")
    if state and last:
        print(f"rollback window of {last.label}: {describe(state)}")
    for t in triggers:
        line = f"trigger {t.id}: {t.title} — {t.note} ({t.user}, {t.at})"
        if t.acknowledged:
            ack = t.acknowledged
            line += f"; acknowledged by {ack.user} ({ack.at}): {ack.note}"
        else:
            line += (
                f"; not acknowledged (session acknowledge --profile {session.profile} "
                f"--trigger {t.id} --note ...)"
            )
        print(line)
    return 0


def _health_json(health) -> dict:
    return {
        "state": health.level,
        "reasons": [{"level": r.level, "source": r.source, "text": r.text} for r in health.reasons],
        "open_triggers": [t.id for t in health.open_triggers],
    }


def _context(args: argparse.Namespace, session):
    import os
    from pathlib import Path

    from themis_desktop.core.connection.secrets import TokenStore
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.service.control import controller_for
    from themis_desktop.core.upgrade.hop_runner import HopContext
    from themis_desktop.core.util.paths import app_data_dir, journal_path

    with Journal() as journal:
        profile = journal.profile(session.profile)
    token = os.environ.get(args.token_env) or TokenStore().get(profile.name)
    backup_dir = Path(getattr(args, "backup_dir", None) or app_data_dir() / "backups")
    return HopContext(
        profile,
        token,
        controller_for(profile.service, confirm=_confirm),
        journal_path(),
        backup_dir,
        lambda line: print(f"  {line}", flush=True),
    )


def _confirm(text: str) -> bool:
    """A manual step: the admin does it and says so."""
    if not sys.stdin.isatty():
        return False
    answer = input(f"{text} [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def ask_first(text: str, prompt: str, yes: bool, action: str) -> bool:
    """Before a step that changes servers and cannot all be undone: with `yes`, go ahead;
    on a terminal, show `text` and ask `prompt` [y/N] (no is the default); without a
    terminal, refuse and say to add --yes. False: nothing was done."""
    if yes:
        return True
    print(text, flush=True)
    if not sys.stdin.isatty():
        print(
            f"themis-desktop: not asking without a terminal: add --yes to {action} "
            "(nothing was changed).",
            file=sys.stderr,
        )
        return False
    try:
        answer = input(f"{prompt} [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() in ("y", "yes"):
        return True
    print("Nothing was changed.")
    return False


def _run_step(args: argparse.Namespace, session) -> int:
    from themis_desktop.core.upgrade import hop_runner
    from themis_desktop.core.upgrade.steps import steps_now

    steps = steps_now(session)  # the rule the session page's buttons follow
    hop = steps.hop
    if not steps.allowed(args.step):
        print(
            f"themis-desktop: {args.step} cannot run now. {steps.why_not(args.step)}",
            file=sys.stderr,
        )
        return 1
    ctx = _context(args, session)
    if args.step == "upgrade" and not _ask_upgrade(args, ctx, session, hop):
        return 1
    print(f"hop {hop.label}: {args.step}")
    if args.step == "pre-checks":
        return 0 if all(c.ok for c in hop_runner.pre_checks(ctx, session, hop)) else 1
    if args.step == "backup":
        hop_runner.back_up(ctx, session, hop)
        return 0
    if args.step == "upgrade":
        hop_runner.upgrade(ctx, session, hop)
        return 0
    return 0 if all(c.ok for c in hop_runner.validate(ctx, session, hop)) else 1


def _ask_upgrade(args: argparse.Namespace, ctx, session, hop) -> bool:
    """The upgrade step asks first, in the words the GUI asks with (`upgrade_question`).
    Without a verified backup of every node there is no question: the step refuses."""
    from themis_desktop.core.upgrade import hop_runner

    with ctx.journal() as journal:
        backups = hop_runner.hop_backups(journal, session, hop, ctx.profile)
    if any(record is None for record in backups.values()):
        return True  # the step itself refuses, and says why
    _, text = hop_runner.upgrade_question(hop, backups, hop_runner.reversibility(hop))
    return ask_first(text, f"Upgrade {hop.label}?", args.yes, "run the upgrade step")


def _rollback(args: argparse.Namespace, session) -> int:
    from themis_desktop.core.backup import restore_points
    from themis_desktop.core.upgrade import hop_runner

    hop = hop_runner.rollback_hop(session)  # the one the GUI's Roll back now undoes
    if hop is None:
        print(f"themis-desktop: {hop_runner.nothing_to_roll_back(session)}", file=sys.stderr)
        return 1
    if hop.state == "rolling-back":
        print(f"hop {hop.label} was being rolled back when that stopped: running it again")
    ctx = _context(args, session)
    with ctx.journal() as journal:  # the backups the rollback restores, named in the question
        backups = hop_runner.rollback_candidates(journal, session, hop, ctx.profile)
        points = restore_points.hop_restore_points(journal, session, hop)
    question = hop_runner.rollback_question(  # the GUI's words
        hop, ctx.profile, backups, restore_points=points
    )
    if not ask_first(question.text, question.prompt, args.yes, "roll back"):
        return 1
    hop_runner.rollback(ctx, session, hop, args.note)
    print(f"rolled back to {hop.from_version}")
    return 0
