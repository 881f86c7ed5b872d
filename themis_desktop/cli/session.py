"""`themis-desktop rollback-window` and `themis-desktop session start|status|run|rollback|
trigger|acknowledge|preflight` (and `verify-rollback`, in `session_verify`; `rehearse` and
`override-rehearsal`, in `session_rehearse`): the upgrade sessions, one hop at a time."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from typing import Any

from themis_desktop.cli.common import (
    TOKEN_ENV,
    CommandError,
    ExitCode,
    ask_first,
    confirm,
    detect_version,
    print_error,
)
from themis_desktop.core.server import strict_json


def register(commands: Any) -> None:
    window = commands.add_parser(
        "rollback-window", help="the rollback band since an upgrade finished"
    )
    window.add_argument("--since", required=True, metavar="ISO8601", help="when the hop finished")
    window.add_argument("--now", metavar="ISO8601", help="another moment than now (planning)")
    window.add_argument("--json", action="store_true")
    window.set_defaults(func=cmd_rollback_window)

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
    status.add_argument(
        "--half-done-after",
        type=float,
        metavar="HOURS",
        help="warn when the session is left half done this long (default: "
        "$THEMIS_DESKTOP_HALF_DONE_HOURS, else 2)",
    )
    status.add_argument(
        "--no-poll",
        action="store_true",
        help="do not read the nodes' write counters now (use the readings in the journal)",
    )
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
    from themis_desktop.cli import session_verify  # the check after the rollback (exit 3: fails)

    session_verify.add_check_arguments(rollback, "--verify-seconds")
    session_verify.register(actions, _context, _latest)
    from themis_desktop.cli import session_predict  # predicted duration and downtime

    session_predict.register(actions, _latest)
    from themis_desktop.cli import session_rehearse  # rehearse, override-rehearsal

    session_rehearse.register(actions, _context, _latest)
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
    preflight = actions.add_parser(
        "preflight",
        help="the hop's pre-flight checks and verdict (exit 0 ready, 1 warnings, 3 blocked)",
    )
    preflight.add_argument("--profile", required=True)
    preflight.add_argument(
        "--hop", type=int, metavar="N", help="the hop's number in the plan (default: current)"
    )
    preflight.add_argument(
        "--check", action="append", metavar="NAME", help="run only this check (repeatable)"
    )
    preflight.add_argument("--backup-dir", metavar="DIR", help="where backups go (disk check)")
    preflight.add_argument("--json", action="store_true")
    for parser, func in (
        (start, _start),
        (status, _status),
        (step, _run_step),
        (rollback, _rollback),
        (trigger, _trigger),
        (acknowledge, _acknowledge),
        (preflight, _preflight),
    ):
        parser.set_defaults(func=func, token_env=TOKEN_ENV)


def cmd_rollback_window(args: argparse.Namespace) -> int:
    from themis_desktop.core.upgrade.rollback_window import describe, parse_time, window

    try:
        since = parse_time(args.since)
        now = parse_time(args.now) if args.now else None
    except ValueError as exc:
        raise CommandError(f"not an ISO 8601 time: {exc}", ExitCode.USAGE) from exc
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
    return ExitCode.OK


def _session_errors(action: Callable[[argparse.Namespace], int]) -> Callable:
    """A `session` action whose SessionError, ServiceError, BackupError or ThemisError
    exits 1 with its words."""

    @functools.wraps(action)
    def run(args: argparse.Namespace) -> int:
        from themis_desktop.core.backup.archive_format import BackupError
        from themis_desktop.core.server.errors import ThemisError
        from themis_desktop.core.service.control import ServiceError
        from themis_desktop.core.upgrade.session import SessionError

        try:
            return action(args)
        except (SessionError, ServiceError, BackupError, ThemisError) as exc:
            raise CommandError(exc, ExitCode.FAILED) from exc

    return run


@_session_errors
def _trigger(args: argparse.Namespace) -> int:
    from themis_desktop.core.journal.store import Journal

    with Journal() as journal:
        session = _open(journal, args.profile)
        raised = session.raise_trigger(journal, args.kind, args.note)
    print(f"trigger {raised.id} recorded on session {session.id}: {args.kind}")
    return ExitCode.OK


@_session_errors
def _acknowledge(args: argparse.Namespace) -> int:
    from themis_desktop.core.journal.store import Journal

    with Journal() as journal:
        session = _open(journal, args.profile)
        done = session.acknowledge(journal, args.trigger, args.note)
    ack = done.acknowledged
    print(f"trigger {done.id} ({done.title}) acknowledged by {ack.user} at {ack.at}: {ack.note}")
    return ExitCode.OK


def _latest(profile: str):
    """The profile's newest session (SessionError without one), the journal closed again."""
    from themis_desktop.core.journal.store import Journal

    with Journal() as journal:
        return _open(journal, profile)


def _open(journal, profile: str):
    from themis_desktop.core.upgrade.session import SessionError, UpgradeSession

    session = UpgradeSession.latest_for(journal, profile)
    if session is None:
        raise SessionError(
            f"No upgrade session for {profile!r}: `themis-desktop session start "
            f"--profile {profile} --to X` plans one."
        )
    return session


@_session_errors
def _start(args: argparse.Namespace) -> int:
    from themis_desktop.core.journal.store import Journal

    with Journal() as journal:
        return _plan(args, journal)


def _plan(args: argparse.Namespace, journal) -> int:
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.upgrade.session import SessionError, UpgradeSession
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    profile = profile_store.get(journal, args.profile)
    if profile is None:
        raise SessionError(
            f"No profile named {args.profile!r} (see `themis-desktop profiles list`)."
        )
    if UpgradeSession.open_for(journal, profile.name):
        raise SessionError(f"{profile.name} has an open session: finish or roll it back first.")
    source = args.source or detect_version(profile, args.token_env)
    plan = plan_upgrade(load_catalogue(), source, args.to)
    session = UpgradeSession.create(journal, profile, plan)
    print(
        f"session {session.id}: {profile.name} {source} → {plan.target.text}, "
        f"{len(session.hops)} hop(s)"
    )
    for hop in session.hops:
        print(f"  {hop.position + 1}. {hop.label}")
    return ExitCode.OK


@_session_errors
def _status(args: argparse.Namespace) -> int:
    from themis_desktop.core.journal.store import Journal

    with Journal() as journal:
        return _show_status(args, journal)


def _prediction(args: argparse.Namespace, journal, session) -> dict | None:
    """The current hop's predicted durations (`session_predict`), in the JSON only."""
    if not args.json:
        return None
    from themis_desktop.cli import session_predict

    return session_predict.status_json(journal, session, args.token_env)


def _show_status(args: argparse.Namespace, journal) -> int:
    from themis_desktop.cli import session_verify
    from themis_desktop.core.upgrade import health_state, preflight, session_store
    from themis_desktop.core.upgrade.rollback_window import window
    from themis_desktop.core.upgrade.session import UpgradeSession
    from themis_desktop.core.upgrade.steps import steps_now

    if args.profile:
        session = UpgradeSession.latest_for(journal, args.profile)
    else:
        newest = session_store.newest_id(journal)
        session = UpgradeSession.load(journal, newest) if newest is not None else None
    if session is None:
        print("no upgrade session")
        return ExitCode.FAILED
    last = session.last_finished
    state = window(last.finished) if last and last.finished else None
    health = health_state.assess(session, health_state.gather(journal, session))
    triggers = session.triggers(journal)
    current = session.current  # its latest pre-flight holds the upgrade step back too
    from themis_desktop.cli import session_rehearse
    from themis_desktop.core.upgrade.rehearsal_gate import current_gate

    steps = steps_now(
        session,
        preflight.latest(journal, session, current) if current else None,
        current_gate(journal, session),
    )
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
        "decide_by": _decide_by(journal, session),
        "rollback_cost": (cost := _rollback_cost(args, journal, session)),
        "post_rollback_check": session_verify.status_json(journal, session),
        "prediction": _prediction(args, journal, session),
        "rehearsal": session_rehearse.status_json(journal, session),
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
        return ExitCode.OK
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
    for line in _rollback_cost_lines(cost):
        print(line)
    if data["post_rollback_check"]:
        print(session_verify.status_line(journal, session))
    rehearsal_line = session_rehearse.status_line(journal, session)
    if rehearsal_line:
        print(rehearsal_line)
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
    return ExitCode.OK


def _decide_by(journal, session) -> dict | None:
    """When the metrics evidence is enough and the rollback band ends, from the newest
    verdict recorded for the profile since the hop finished (None before either)."""
    from datetime import UTC, datetime

    from themis_desktop.core.upgrade import decide_by

    record = decide_by.recorded_verdict(journal, session)
    found = decide_by.for_session(session, record, datetime.now(UTC))
    return found.as_json() if found else None


def _rollback_cost(args: argparse.Namespace, journal, session) -> dict | None:
    """`core.upgrade.rollback_cost` for the session: each node's write counter read now
    (stored in the journal) unless --no-poll; None when its profile is gone."""
    import os

    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.upgrade import rollback_cost

    profile = profile_store.get(journal, session.profile) if session.profile else None
    if profile is None:
        return None
    hours = args.half_done_after
    if hours is None:
        hours = float(os.environ.get("THEMIS_DESKTOP_HALF_DONE_HOURS") or 2)
    if args.no_poll or session.ended:
        cost = rollback_cost.assess(journal, session, profile, threshold_s=hours * 3600)
    else:
        from themis_desktop.core.connection.secrets import TokenStore

        token = os.environ.get(args.token_env) or TokenStore().get(profile.name)
        cost = rollback_cost.poll_and_assess(
            journal, session, profile, token, threshold_s=hours * 3600
        )
    return cost.as_json()


def _rollback_cost_lines(cost: dict | None) -> list[str]:
    if not cost:
        return []
    lines = [f"rollback of {h['hop']}: {h['mode']} ({h['reason']})" for h in cost["hops"]]
    for node, w in cost["writes_at_risk"].items():
        count = "unknown" if w["writes"] is None else str(w["writes"])
        if w["writes"] is not None and w["upper_bound"]:
            count = f"at most {count} (every request counted)"
        elif w["writes"] is not None and w["at_least"]:
            count = f"at least {count}"
        since = f"backup {w['since_backup']}" if w["since_backup"] else "no verified backup"
        lines.append(f"writes at risk on {node}: {count} since {since}")
    half = cost.get("half_done")
    if half and half["warning"]:
        lines.append(
            f"WARNING: half done since {half['since']}: {half['reason']}. {half['advice']}"
        )
    return lines


def _health_json(health) -> dict:
    return {
        "state": health.level,
        "reasons": [{"level": r.level, "source": r.source, "text": r.text} for r in health.reasons],
        "open_triggers": [t.id for t in health.open_triggers],
    }


def _context(args: argparse.Namespace, session):
    import os

    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.connection.secrets import TokenStore
    from themis_desktop.core.fleet.ansible_run import attach
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.upgrade.hop_runner import hop_context
    from themis_desktop.core.util.paths import journal_path

    with Journal() as journal:
        profile = profile_store.get(journal, session.profile)
    token = os.environ.get(args.token_env) or TokenStore().get(profile.name)
    return attach(  # an `ansible` profile's upgrade and rollback run as Ansible plays
        hop_context(
            profile,
            token,
            journal_path=journal_path(),
            backup_dir=getattr(args, "backup_dir", None),
            confirm=confirm,
            log=lambda line: print(f"  {line}", flush=True),
        )
    )


@_session_errors
def _run_step(args: argparse.Namespace) -> int:
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.upgrade import hop_runner, preflight
    from themis_desktop.core.upgrade.steps import steps_now

    session = _latest(args.profile)
    from themis_desktop.core.upgrade.rehearsal_gate import current_gate

    with Journal() as journal:  # the rule the session page's buttons follow, readiness too
        latest = preflight.latest(journal, session, session.current) if session.current else None
        rehearsal = current_gate(journal, session)
    steps = steps_now(session, latest, rehearsal)
    hop = steps.hop
    if not steps.allowed(args.step):
        print_error(f"{args.step} cannot run now. {steps.why_not(args.step)}")
        return ExitCode.FAILED
    ctx = _context(args, session)
    if args.step == "upgrade" and not _ask_upgrade(args, ctx, session, hop):
        return ExitCode.FAILED
    print(f"hop {hop.label}: {args.step}")
    if args.step == "pre-checks":
        checks = hop_runner.pre_checks(ctx, session, hop)
        return ExitCode.OK if all(c.ok for c in checks) else ExitCode.FAILED
    if args.step == "backup":
        hop_runner.back_up(ctx, session, hop)
        return ExitCode.OK
    if args.step == "upgrade":
        hop_runner.upgrade(ctx, session, hop)
        return ExitCode.OK
    checks = hop_runner.validate(ctx, session, hop)
    return ExitCode.OK if all(c.ok for c in checks) else ExitCode.FAILED


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


def _preflight(args: argparse.Namespace) -> int:
    """Exit 0 ready, 1 ready with warnings, 3 blocked; 2 when it cannot check (no session,
    no such hop or check): a failure to check must not read as "warnings"."""
    from themis_desktop.core.errors import ThemisDesktopError

    try:
        return _run_preflight(args)
    except ThemisDesktopError as exc:
        raise CommandError(exc, ExitCode.USAGE) from exc


def _run_preflight(args: argparse.Namespace) -> int:
    from themis_desktop.core.upgrade import preflight
    from themis_desktop.core.upgrade.session import SessionError

    session = _latest(args.profile)
    unknown = [name for name in args.check or () if name not in preflight.CHECKS]
    if unknown:
        raise CommandError(
            f"no pre-flight check named {', '.join(unknown)} (the checks: "
            f"{', '.join(preflight.CHECKS)})",
            ExitCode.USAGE,
        )
    if args.hop is not None:
        if not 1 <= args.hop <= len(session.hops):
            raise CommandError(
                f"session {session.id} has hops 1 to {len(session.hops)}, not {args.hop}",
                ExitCode.USAGE,
            )
        hop = session.hops[args.hop - 1]
    else:
        hop = session.current
        if hop is None:
            raise SessionError(
                f"Session {session.id} has no hop to upgrade now; give --hop N to check one."
            )
    result = preflight.run_preflight(_context(args, session), session, hop, args.check)
    if args.json:
        print(strict_json.dumps(result.as_json(), indent=2))
    else:
        print(f"hop {hop.label}: {result.verdict.upper()}")
        for check in result.results:
            mark = "ok  " if check.status == "pass" else f"{check.severity.upper()}"
            print(f"  {mark:<8} {check.name}: {check.message}")
            for item in check.items:
                print(f"             - {item}")
    return {
        "ready": ExitCode.OK,
        "warnings": ExitCode.WARNINGS,
        "blocked": ExitCode.BLOCKED,
    }[result.verdict]


@_session_errors
def _rollback(args: argparse.Namespace) -> int:
    from themis_desktop.core.upgrade import hop_runner, restore_points, rollback_cost

    session = _latest(args.profile)
    hop = hop_runner.rollback_hop(session)  # the one the GUI's Roll back now undoes
    if hop is None:
        print_error(hop_runner.nothing_to_roll_back(session))
        return ExitCode.FAILED
    if hop.state == "rolling-back":
        print(f"hop {hop.label} was being rolled back when that stopped: running it again")
    ctx = _context(args, session)
    with ctx.journal() as journal:  # the backups the rollback restores, named in the question
        backups = hop_runner.rollback_candidates(journal, session, hop, ctx.profile)
        points = restore_points.hop_restore_points(journal, session, hop)
        rollback_cost.poll(journal, ctx.profile, ctx.token)  # the writes a restore loses, now
        at_risk = rollback_cost.rollback_lines(journal, ctx.profile, backups)
    question = hop_runner.rollback_question(  # the GUI's words
        hop, ctx.profile, backups, restore_points=points, writes_at_risk=at_risk
    )
    if not ask_first(question.text, question.prompt, args.yes, "roll back"):
        return ExitCode.FAILED
    hop_runner.rollback(ctx, session, hop, args.note)
    print(f"rolled back to {hop.from_version}")
    from themis_desktop.cli import session_verify

    return session_verify.after_rollback(args, ctx, session, hop)
