"""The command line: the GUI by default, and every operation as a subcommand.

Each command group is a module with `register(commands)`, which adds its subparser(s) with
`set_defaults(func=…)`; `main` runs `args.func(args)` and turns errors into exit codes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from themis_desktop import __version__
from themis_desktop.cli.common import CommandError, ExitCode, print_error

# The command groups (modules of `themis_desktop.cli`), in the order `--help` lists them.
GROUP_NAMES = (
    "demo",
    "status",
    "versions",
    "guides",
    "backups",
    "metrics",
    "session",
    "plan",
    "report",
    "rollout",
    "logs",
    "config",
    "profiles",
    "fleet",
)

# Command word -> the group that registers it. A command line naming one of these imports
# and registers only that group (a whole command's start-up is part of its time); any
# other (`--help`, a typo, a command missing here) registers every group.
# tests/cli/test_main_lazy.py checks this table against what the groups register.
COMMANDS = {
    "demo-server": "demo",
    "status": "status",
    "updates": "status",
    "path": "versions",
    "releases": "versions",
    "guide": "guides",
    "backup": "backups",
    "verify": "backups",
    "restore": "backups",
    "backups": "backups",
    "metrics": "metrics",
    "rollback-window": "session",
    "session": "session",
    "plan": "plan",
    "report": "report",
    "rollout": "rollout",
    "logs": "logs",
    "config": "config",
    "profiles": "profiles",
    "fleet": "fleet",
}


def group(name: str) -> ModuleType:
    """The module of the command group `name`, imported now (import statements: the layer
    contracts see them)."""
    if name == "demo":
        from themis_desktop.cli import demo

        return demo
    if name == "status":
        from themis_desktop.cli import status

        return status
    if name == "versions":
        from themis_desktop.cli import versions

        return versions
    if name == "guides":
        from themis_desktop.cli import guides

        return guides
    if name == "backups":
        from themis_desktop.cli import backups

        return backups
    if name == "metrics":
        from themis_desktop.cli import metrics

        return metrics
    if name == "session":
        from themis_desktop.cli import session

        return session
    if name == "plan":
        from themis_desktop.cli import plan

        return plan
    if name == "report":
        from themis_desktop.cli import report

        return report
    if name == "rollout":
        from themis_desktop.cli import rollout

        return rollout
    if name == "logs":
        from themis_desktop.cli import logs

        return logs
    if name == "config":
        from themis_desktop.cli import config

        return config
    if name == "profiles":
        from themis_desktop.cli import profiles

        return profiles
    if name == "fleet":
        from themis_desktop.cli import fleet

        return fleet
    raise ValueError(f"no command group {name!r}")


def groups_for(argv: Sequence[str] | None) -> tuple[str, ...]:
    """The groups a command line needs: those of the command words in it, else all."""
    words = sys.argv[1:] if argv is None else argv
    named = {COMMANDS[word] for word in words if word in COMMANDS}
    return tuple(name for name in GROUP_NAMES if name in named) or GROUP_NAMES


def build_parser(groups: Sequence[str] = GROUP_NAMES) -> argparse.ArgumentParser:
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
    for name in groups:
        group(name).register(commands)
    return parser


def open_window(args: argparse.Namespace) -> int:
    """No command: the main window (or the self-test, or a journal to review)."""
    launcher = None
    if args.demo and not (args.self_test or args.review):
        from themis_desktop.demo.launcher import app_demo_launcher

        launcher = app_demo_launcher(args.demo_version)
        launcher.spawn()  # before the GUI's imports: the cluster starts while they run
    try:
        from themis_desktop.ui.app import run_gui
    except BaseException:
        if launcher is not None:
            launcher.discard()
        raise

    if args.self_test:
        from themis_desktop.ui.self_test import run_self_test

        return run_self_test()
    if args.review:
        from themis_desktop.ui.review import run_review

        return run_review(args.review)
    return run_gui(profile=args.profile, launcher=launcher)


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

    args = build_parser(groups_for(argv)).parse_args(argv)
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
