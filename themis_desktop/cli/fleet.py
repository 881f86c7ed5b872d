"""`themis-desktop fleet status`: every saved profile (cluster) at a glance."""

from __future__ import annotations

import argparse
import os
from typing import Any

from themis_desktop.cli.common import TOKEN_ENV, CommandError, ExitCode


def register(commands: Any) -> None:
    fleet = commands.add_parser("fleet", help="every saved profile (cluster) at a glance")
    actions = fleet.add_subparsers(dest="fleet_command", metavar="ACTION", required=True)
    status = actions.add_parser(
        "status",
        help="nodes' versions and health, the session in progress, the rollback band, "
        "behind the latest release; exit 1 if a node is down",
    )
    status.add_argument(
        "--profile",
        dest="fleet_profiles",
        action="append",
        default=[],
        metavar="NAME",
        help="only this saved profile (repeatable; default every saved profile)",
    )
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.add_argument(
        "--timeout", type=float, default=5.0, help="each request's deadline in seconds"
    )
    status.add_argument(
        "--workers", type=int, default=16, help="nodes asked at the same time (default 16)"
    )
    status.add_argument(
        "--token-env",
        default=TOKEN_ENV,
        metavar="VAR",
        help=f"environment variable holding a bearer token for every profile (default "
        f"{TOKEN_ENV}; else each profile's stored token)",
    )
    status.set_defaults(func=cmd_fleet_status)
    # the Fleet page's background poller (a request on stdin, a JSON line per poll): the
    # same command in the packaged app, where `python -m` does not exist
    worker = actions.add_parser("poll-worker", help=argparse.SUPPRESS)
    worker.set_defaults(func=cmd_fleet_poll_worker)


def cmd_fleet_poll_worker(args: argparse.Namespace) -> int:
    from themis_desktop.core.fleet import poll_worker

    return poll_worker.main()


class _Tokens:
    """The token from the environment, else each profile's stored one."""

    def __init__(self, from_env: str | None) -> None:
        self.from_env = from_env
        self._store: Any = None

    def get(self, profile: str) -> str | None:
        if self.from_env:
            return self.from_env
        if self._store is None:
            from themis_desktop.core.connection.secrets import TokenStore

            self._store = TokenStore()
        return self._store.get(profile)


def cmd_fleet_status(args: argparse.Namespace) -> int:
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.fleet.status import poll_fleet
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.server import strict_json

    if args.workers < 1:
        raise CommandError("--workers must be at least 1", ExitCode.USAGE)
    with Journal() as journal:
        profiles = profile_store.load_all(journal)
        if args.fleet_profiles:
            known = {p.name for p in profiles}
            missing = [n for n in args.fleet_profiles if n not in known]
            if missing:
                raise CommandError(
                    f"no profile named {missing[0]!r} (see `themis-desktop profiles list`)",
                    ExitCode.USAGE,
                )
            wanted = set(args.fleet_profiles)
            profiles = [p for p in profiles if p.name in wanted]
        if not profiles:
            raise CommandError(
                "no saved profile (add one with `themis-desktop profiles add NAME URL...`)"
            )
        fleet = poll_fleet(
            profiles,
            _Tokens(os.environ.get(args.token_env)),
            journal,
            max_workers=args.workers,
            timeout=args.timeout,
        )
    if args.json:
        print(strict_json.dumps(fleet.as_json(), indent=2))
    else:
        _print_table(fleet)
    return ExitCode.OK if fleet.all_up else ExitCode.FAILED


def _print_table(fleet: Any) -> None:
    print(f"latest release: {fleet.latest}")
    for c in fleet.clusters:
        behind = {True: "behind latest", False: "at latest", None: "version ?"}[c.behind]
        versions = ", ".join(c.versions) or "?"
        print(
            f"{c.profile:<20} {c.health:<9} {c.up_count}/{len(c.nodes)} up  {versions:<16} {behind}"
        )
        if c.session:
            s = c.session
            line = f"    session {s.text}; health {s.health}"
            if s.band_title:
                line += f"; {s.band_title.lower()} ({s.band_hop})"
            print(line)
        for n in c.nodes:
            if not n.up or n.state != "up":
                print(f"    {n.name}: {n.state}" + (f" — {n.error}" if n.error else ""))
