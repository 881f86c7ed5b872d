"""`themis-desktop session rehearse` and `session override-rehearsal`: a dress rehearsal of a
hop on a copy of its nodes' latest verified backups (`core.rehearsal.runner`, the one
implementation the session page runs too), and an admin's override of the rehearsal gate
with a note (`core.upgrade.rehearsal_gate`).

Exit codes of `rehearse`: 0 pass, 3 fail, 4 inconclusive (or cancelled); 2 when it cannot
run (no session, no such hop, no verified backup, no rehearsal host, a copy that could not
be made). `override-rehearsal`: 0 recorded, 1 refused.

`cli/session.py` registers this module and hands it its own helpers (`context`, `latest`),
so this module never imports that one.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from typing import Any

from themis_desktop.cli.common import TOKEN_ENV, CommandError, ExitCode
from themis_desktop.core.server import strict_json

REHEARSAL_EXIT = {
    "pass": ExitCode.OK,
    "fail": ExitCode.DEGRADED,
    "inconclusive": ExitCode.NO_DATA,
    "cancelled": ExitCode.NO_DATA,
    "error": ExitCode.USAGE,
}


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"seconds must be more than 0, not {text}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"at least 1, not {value}")
    return value


def register(
    actions: Any,
    context: Callable[[argparse.Namespace, Any], Any],
    latest: Callable[[str], Any],
) -> None:
    """Add `rehearse` and `override-rehearsal` to `session`'s subcommands."""
    from themis_desktop.core.metrics.comparison import MIN_SAMPLES
    from themis_desktop.core.rehearsal.runner import DEFAULT_DURATION_S, DEFAULT_INTERVAL_S

    rehearse = actions.add_parser(
        "rehearse",
        help="rehearse a hop on a copy of the latest verified backups (exit 0 pass, 3 fail, "
        "4 inconclusive, 2 cannot run)",
    )
    rehearse.add_argument("--profile", required=True)
    rehearse.add_argument(
        "--hop", type=_count, metavar="N", help="the hop's number in the plan (default: current)"
    )
    rehearse.add_argument(
        "--duration",
        type=_seconds,
        default=DEFAULT_DURATION_S,
        metavar="S",
        help=f"run the probe workload this long (default {DEFAULT_DURATION_S:g})",
    )
    rehearse.add_argument(
        "--min-samples",
        type=_count,
        default=MIN_SAMPLES,
        metavar="N",
        help=f"samples a side before a metric is judged (default {MIN_SAMPLES})",
    )
    rehearse.add_argument(
        "--interval",
        type=_seconds,
        default=DEFAULT_INTERVAL_S,
        metavar="S",
        help=f"seconds between samples (default {DEFAULT_INTERVAL_S:g})",
    )
    rehearse.add_argument(
        "--evidence-limit",
        type=_seconds,
        metavar="S",
        help="sample on for missing evidence up to S seconds in all (default: twice the "
        "duration, at least 30 s more); still too little: inconclusive",
    )
    rehearse.add_argument(
        "--keep", action="store_true", help="keep the scratch copy afterwards (its path is shown)"
    )
    rehearse.add_argument("--scratch-dir", metavar="DIR", help="where the copy goes (default: tmp)")
    rehearse.add_argument("--json", action="store_true")
    rehearse.set_defaults(
        func=functools.partial(_rehearse, context=context, latest=latest), token_env=TOKEN_ENV
    )
    override = actions.add_parser(
        "override-rehearsal",
        help="let the current hop's upgrade step run without a passed rehearsal (a note is kept)",
    )
    override.add_argument("--profile", required=True)
    override.add_argument("--note", required=True, help="why the upgrade may go on (kept)")
    override.add_argument("--json", action="store_true")
    override.set_defaults(func=functools.partial(_override, latest=latest), token_env=TOKEN_ENV)


def _rehearse(args: argparse.Namespace, *, context: Callable, latest: Callable) -> int:
    from pathlib import Path

    from themis_desktop.core.errors import ThemisDesktopError
    from themis_desktop.core.rehearsal.runner import RehearsalOptions, rehearse

    try:
        session = latest(args.profile)
        hop = _hop(session, args.hop)
        ctx = context(args, session)
        options = RehearsalOptions(
            duration_s=args.duration,
            interval_s=args.interval,
            min_samples=args.min_samples,
            limit_s=args.evidence_limit,
            keep=args.keep,
            scratch_root=Path(args.scratch_dir) if args.scratch_dir else None,
        )
        if not args.json:
            print(f"hop {hop.label}: rehearsing on a copy for {args.duration:g} s")
        result = rehearse(
            ctx.profile,
            ctx.token,
            session,
            hop,
            journal_path=ctx.journal_path,
            options=options,
            log=None if args.json else ctx.log,
        )
    except ThemisDesktopError as exc:
        raise CommandError(exc, ExitCode.USAGE) from exc
    if args.json:
        print(strict_json.dumps(result.to_dict(), indent=2))
    else:
        print(f"rehearsal {result.id} of hop {hop.label}: {result.verdict.upper()}")
        print(f"  {result.reason}")
        for step in result.steps:
            mark = "ok  " if step.ok else "FAIL"
            print(f"  {mark} {step.name} ({step.seconds:.1f} s) {step.detail}".rstrip())
        for row in result.evaluation:
            print(f"  {row['metric']:<14} {row['verdict']:<12} {row['reason']}")
        for line in result.errors:
            print(f"  log: {line}")
        if result.kept:
            print(f"  the copy is kept in {result.scratch_dir}")
    return REHEARSAL_EXIT.get(result.verdict, ExitCode.USAGE)


def _hop(session: Any, number: int | None) -> Any:
    from themis_desktop.core.upgrade.session import SessionError

    if number is not None:
        if not 1 <= number <= len(session.hops):
            raise SessionError(
                f"Session {session.id} has hops 1 to {len(session.hops)}, not {number}."
            )
        return session.hops[number - 1]
    if session.current is None:
        raise SessionError(
            f"Session {session.id} has no hop to upgrade now; give --hop N to rehearse one."
        )
    return session.current


def _override(args: argparse.Namespace, *, latest: Callable) -> int:
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.upgrade import rehearsal_gate
    from themis_desktop.core.upgrade.session import SessionError

    try:
        session = latest(args.profile)
        with Journal() as journal:
            session = session.reload(journal)
            hop = session.current
            if hop is None:
                raise SessionError(f"Session {session.id} has no hop to upgrade now.")
            profile = profile_store.get(journal, session.profile)
            if profile is None:
                raise SessionError(f"The profile {session.profile!r} is gone.")
            row = rehearsal_gate.override(journal, session, hop, profile, args.note)
    except SessionError as exc:
        raise CommandError(exc, ExitCode.FAILED) from exc
    if args.json:
        print(strict_json.dumps(row.to_dict(), indent=2))
    else:
        print(f"rehearsal gate of hop {hop.label} overridden by {row.user}: {row.note}")
    return ExitCode.OK


def status_json(journal: Any, session: Any) -> dict | None:
    """The current hop's rehearsal gate for `session status --json` (None without a hop)."""
    from themis_desktop.core.upgrade import rehearsal_gate

    gate = rehearsal_gate.current_gate(journal, session)
    return gate.to_dict() if gate else None


def status_line(journal: Any, session: Any) -> str | None:
    """One line for `session status`."""
    from themis_desktop.core.upgrade import rehearsal_gate

    gate = rehearsal_gate.current_gate(journal, session)
    if gate is None:
        return None
    if gate.latest is not None:
        text = f"rehearsal: {gate.state} (latest {gate.latest.verdict}: {gate.latest.reason})"
    else:
        text = f"rehearsal: {gate.state}"
    if gate.override is not None:
        text += f"; overridden by {gate.override.user}: {gate.override.note}"
    return text
