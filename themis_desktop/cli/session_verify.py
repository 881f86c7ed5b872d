"""`themis-desktop session verify-rollback` and the check `session rollback` runs after a
rollback: the restored cluster sampled and judged against the hop's pre-upgrade reference
(`core.upgrade.rollback_check`, the one implementation the session page runs too).

Exit codes of `verify-rollback`: 0 pass, 3 fail (the post-rollback trigger is raised),
4 anything that is no pass (inconclusive, marginal, no baseline, skipped); 1 when it cannot
run (no session, no rolled-back hop). `session rollback` exits 3 when its check fails, 0
otherwise (the rollback itself succeeded; the check's outcome is printed).

`cli/session.py` registers this module and hands it its own helpers (`context`, `latest`),
so this module never imports that one.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from themis_desktop.cli.common import TOKEN_ENV, CommandError, ExitCode
from themis_desktop.core.server import strict_json


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"seconds must be 0 or more, not {text}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"at least 1, not {value}")
    return value


def _positive(text: str) -> float:
    value = _seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("the interval must be more than 0 seconds")
    return value


def add_check_arguments(parser: argparse.ArgumentParser, seconds_flag: str) -> None:
    """The check's options: how long (`seconds_flag`), the evidence a verdict needs, the
    sampling interval."""
    from themis_desktop.core.metrics.comparison import MIN_SAMPLES
    from themis_desktop.core.upgrade.rollback_check import DEFAULT_SECONDS, SAMPLE_INTERVAL_S

    parser.add_argument(
        seconds_flag,
        dest="verify_seconds",
        type=_seconds,
        default=DEFAULT_SECONDS,
        metavar="S",
        help=f"sample the restored cluster this long (default {DEFAULT_SECONDS:g}; 0 skips "
        "the check, journaled)",
    )
    parser.add_argument(
        "--min-samples",
        type=_count,
        default=MIN_SAMPLES,
        metavar="N",
        help=f"samples a side before a metric is judged (default {MIN_SAMPLES})",
    )
    parser.add_argument(
        "--interval",
        type=_positive,
        default=SAMPLE_INTERVAL_S,
        metavar="S",
        help=f"seconds between samples (default {SAMPLE_INTERVAL_S:g})",
    )


def register(
    actions: Any,
    context: Callable[[argparse.Namespace, Any], Any],
    latest: Callable[[str], Any],
) -> argparse.ArgumentParser:
    """Add `session verify-rollback`; `context(args, session)` builds a `HopContext` and
    `latest(profile)` finds the profile's newest session (cli/session.py's own)."""
    verify = actions.add_parser(
        "verify-rollback",
        help="check the restored cluster after a rollback against the hop's baseline "
        "(exit 0 pass, 3 fail, 4 inconclusive)",
    )
    verify.add_argument("--profile", required=True)
    add_check_arguments(verify, "--seconds")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=_verify, token_env=TOKEN_ENV, make_context=context, latest=latest)
    return verify


def exit_code(check: Any) -> int:
    """0 pass, 3 fail, 4 anything else (no verdict is no pass)."""
    if check.passed:
        return ExitCode.OK
    return ExitCode.DEGRADED if check.failed else ExitCode.NO_DATA


def _verify(args: argparse.Namespace) -> int:
    from themis_desktop.core.backup.archive_format import BackupError
    from themis_desktop.core.server.errors import ThemisError
    from themis_desktop.core.service.control import ServiceError
    from themis_desktop.core.upgrade.session import SessionError

    try:
        session = args.latest(args.profile)
        hop = session.rolled_back
        if hop is None:
            raise SessionError(
                f"No hop of session {session.id} was rolled back: there is nothing to check "
                "after a rollback (`session rollback` runs the check itself)."
            )
        check = run_check(args, args.make_context(args, session), session, hop)
    except (SessionError, ServiceError, BackupError, ThemisError) as exc:
        raise CommandError(exc, ExitCode.FAILED) from exc
    if args.json:
        print(strict_json.dumps(check.as_json(), indent=2))
    return exit_code(check)


def run_check(args: argparse.Namespace, ctx: Any, session: Any, hop: Any) -> Any:
    """Run the check of rolled-back `hop` with the options of `args`; the context's log
    prints its lines unless `--json` asked for the JSON alone."""
    import signal
    import threading

    from themis_desktop.core.upgrade import rollback_check

    if getattr(args, "json", False):
        ctx.log = lambda line: None
    elif args.verify_seconds:
        print(f"checking the restored cluster for {args.verify_seconds:g} s (Ctrl+C ends it)")
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():  # Ctrl+C judges what it has
        previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        return rollback_check.verify_rollback(
            ctx,
            session,
            hop,
            seconds=args.verify_seconds,
            min_samples=args.min_samples,
            interval=args.interval,
            cancelled=stop,
        )
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def after_rollback(args: argparse.Namespace, ctx: Any, session: Any, hop: Any) -> int:
    """The check `session rollback` runs once its hop is rolled back: 3 when it fails."""
    check = run_check(args, ctx, session, hop)
    return ExitCode.DEGRADED if check.failed else ExitCode.OK


def status_json(journal: Any, session: Any) -> dict[str, Any] | None:
    """The newest post-rollback check of the session (`session status --json`)."""
    from themis_desktop.core.upgrade import rollback_check

    found = rollback_check.latest(journal, session)
    return found.as_json() if found is not None else None


def status_line(journal: Any, session: Any) -> str | None:
    """The newest post-rollback check in one line (`session status`)."""
    from themis_desktop.core.upgrade import rollback_check

    found = rollback_check.latest(journal, session)
    return found.headline if found is not None else None
