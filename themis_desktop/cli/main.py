"""The command line: the GUI by default, and every operation as a subcommand.

Each command group is a module with `register(commands)`, which adds its subparser(s) with
`set_defaults(func=…)`; `main` runs `args.func(args)` and turns errors into exit codes.
"""

from __future__ import annotations

import argparse
import os
import sys

from themis_desktop import __version__
from themis_desktop.cli import (
    backups,
    config,
    demo,
    guides,
    logs,
    metrics,
    profiles,
    report,
    rollout,
    session,
    status,
    versions,
)
from themis_desktop.cli.common import CommandError, ExitCode, print_error

# In the order `--help` lists them.
GROUPS = (
    demo,  # demo-server
    status,  # status, updates
    versions,  # path, releases
    guides,  # guide
    backups,  # backup, verify, restore, backups
    metrics,  # metrics
    session,  # rollback-window, session
    report,  # report
    rollout,  # rollout
    logs,  # logs
    config,  # config
    profiles,  # profiles
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="themis-desktop",
        description="Upgrade console for ThemisDB. Without a command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"themis-desktop {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start a 3-node demo instance (v1.7.0) and connect to it",
    )
    parser.add_argument("--demo-version", default="1.7.0", help="version of the demo instance")
    parser.add_argument("--profile", help="connect to this saved connection profile")
    parser.add_argument(
        "--review",
        metavar="JOURNAL",
        help="open a colleague's journal read-only (nothing can change a server)",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="start offscreen, open the main window, render a guide, exit 0 (for packagers)",
    )
    parser.set_defaults(func=open_window)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        group.register(commands)
    return parser


def open_window(args: argparse.Namespace) -> int:
    """No command: the main window (or the self-test, or a journal to review)."""
    from themis_desktop.ui.app import run_gui

    if args.self_test:
        from themis_desktop.ui.self_test import run_self_test

        return run_self_test()
    if args.review:
        from themis_desktop.ui.review import run_review

        return run_review(args.review)
    return run_gui(demo=args.demo, profile=args.profile, demo_version=args.demo_version)


def main(argv: list[str] | None = None) -> int:
    """Run the command line and turn errors into exit codes, once: a `ThemisDesktopError`
    (core's one root: its message says what happened and what to do) exits 1, except bad
    input (a `ValueError`: addresses, versions, files) and a journal that cannot be used
    (damaged, read-only, disk full: `JournalError`), which exit 2. Known tokens never reach
    the terminal (`redaction.redacted_output`) nor the log file (`setup_logging`)."""
    from themis_desktop.core.errors import ThemisDesktopError
    from themis_desktop.core.journal.store import JournalError
    from themis_desktop.core.util import redaction
    from themis_desktop.core.util.logging_setup import setup_logging, stop_logging

    args = build_parser().parse_args(argv)
    redaction.token_from_env(getattr(args, "token_env", None))  # --token-env's value is secret
    log = setup_logging()
    try:
        with redaction.redacted_output():
            try:
                return int(args.func(args))
            except BrokenPipeError:  # e.g. `themis-desktop releases | head`
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return int(ExitCode.OK)
            except CommandError as exc:
                print_error(exc)
                return int(exc.code)
            except (ValueError, JournalError) as exc:  # bad input, an unusable journal
                print_error(exc)
                return int(ExitCode.USAGE)
            except ThemisDesktopError as exc:  # a node, a service, a backup, a session …
                print_error(exc)
                return int(ExitCode.FAILED)
    finally:
        stop_logging(log)
