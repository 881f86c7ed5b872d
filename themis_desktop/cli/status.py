"""`themis-desktop status` and `themis-desktop updates`: what the nodes say now."""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict
from typing import Any

from themis_desktop.cli.common import TOKEN_ENV, CommandError, ExitCode
from themis_desktop.core.server import strict_json


def register(commands: Any) -> None:
    status = commands.add_parser("status", help="version, health and stats of nodes")
    _add_target_arguments(status)
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.set_defaults(func=cmd_status)

    updates = commands.add_parser("updates", help="what each node's own update checker reports")
    _add_target_arguments(updates)
    updates.add_argument("--check", action="store_true", help="make each node check now")
    updates.add_argument("--json", action="store_true", help="print JSON instead of lines")
    updates.set_defaults(func=cmd_updates)


def _add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("urls", nargs="*", metavar="URL", help="node addresses (http://host:port)")
    parser.add_argument("--profile", dest="target_profile", help="use a saved profile's nodes")
    parser.add_argument(
        "--token-env",
        default=TOKEN_ENV,
        metavar="VAR",
        help=f"environment variable holding the bearer token (default {TOKEN_ENV})",
    )
    parser.add_argument("--ca-file", help="CA certificate (PEM) to verify TLS with")
    parser.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    parser.add_argument("--timeout", type=float, default=5.0)


def _target_profile(args: argparse.Namespace):
    """The profile named by --profile, or an ad-hoc one from the URLs."""
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
    from themis_desktop.core.connection.secrets import TokenStore
    from themis_desktop.core.journal.store import Journal

    token = os.environ.get(args.token_env)
    if args.target_profile:
        with Journal() as journal:
            profile = profile_store.get(journal, args.target_profile)
        if profile is None:
            raise CommandError(
                f"no profile named {args.target_profile!r} (see `themis-desktop profiles list`)"
            )
        return profile, token or TokenStore().get(profile.name)
    if not args.urls:
        raise CommandError("give node URLs or --profile NAME")
    nodes = tuple(NodeEndpoint(url) for url in args.urls)
    return Profile("command line", nodes, verify_tls=not args.insecure, ca_file=args.ca_file), token


def cmd_status(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from themis_desktop.core.server.node_status import poll_node
    from themis_desktop.core.util.formatting import human_duration
    from themis_desktop.core.versions.update_status import ask_update_status

    profile, token = _target_profile(args)

    def poll(node):
        """The node's status and, when it is up, what its own update checker says."""
        with profile.client(node, token, timeout=args.timeout) as client:
            status = poll_node(client, node.name, node.version_override)
            return status, ask_update_status(client) if status.up else None

    with ThreadPoolExecutor(max_workers=8) as pool:
        polled = list(pool.map(poll, profile.nodes))
    statuses = [s for s, _ in polled]
    if args.json:
        print(
            strict_json.dumps(
                [{**_status_json(s), "updates": u and u.to_json()} for s, u in polled]
            )
        )
    else:
        for s, updates in polled:
            version = f"v{s.version.version} ({s.version.source})" if s.version else "version ?"
            line = f"{s.name:<22} {s.state:<10} {version:<28}"
            if s.up:
                qps = f"{s.stats.queries_per_second:.1f} q/s" if s.stats else ""
                line += f" up {human_duration(s.health.uptime_seconds):<12} {qps}"
            print(line.rstrip())
            for text in ([s.error] if s.error else []) + list(s.notes):
                print(f"    {text}")
            if updates is not None:
                print(f"    updates: {_updates_words(updates)}")
    return ExitCode.OK if all(s.up for s in statuses) else ExitCode.FAILED


def _updates_words(u: Any) -> str:
    """`status`'s words for what a node's own update checker says (an UpdateStatus)."""
    from datetime import UTC, datetime

    from themis_desktop.core.util.formatting import human_duration
    from themis_desktop.core.versions import update_status as us

    checked = u.last_check_time
    try:
        when = datetime.fromisoformat(checked.replace("Z", "+00:00"))
        if when.tzinfo is not None:
            checked = f"{human_duration((datetime.now(UTC) - when).total_seconds())} ago"
    except ValueError:
        pass
    checked = f"checked {checked}" if checked else "never checked"
    latest = u.latest.version if u.latest else "?"
    if u.state == "up_to_date":
        return f"up to date (latest {latest}, {checked})"
    if u.state == "update_available":
        return f"{latest} available ({checked})"
    if u.state == "critical_update":
        fix = u.latest_critical.version if u.latest_critical else latest
        return f"critical update available: {latest} (security fix in {fix}, {checked})"
    if u.state == "check_failed":
        return f"the server's check failed ({u.message or 'no reason given'}, {checked})"
    if u.state == "checking":
        return "the server is checking now"
    if u.state == "unknown":
        return "the server has not checked yet"
    if u.state == us.NOT_ENABLED:
        return "not enabled on this server"
    if u.state == us.NOT_REACHABLE:
        return f"not reachable ({u.message})"
    if u.state == us.NO_ROUTE:
        return "this server has no update checker route"
    return f"not asked ({u.message})"


def cmd_updates(args: argparse.Namespace) -> int:
    """Each node's update checker (exit 1 when a node could not be asked at all)."""
    from concurrent.futures import ThreadPoolExecutor

    from themis_desktop.core.versions.update_status import FAILED, ask_update_status

    profile, token = _target_profile(args)

    def ask(node):
        with profile.client(node, token, timeout=args.timeout) as client:
            return node.name, ask_update_status(client, check=args.check)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, profile.nodes))
    if args.json:
        print(strict_json.dumps([{"node": name, **s.to_json()} for name, s in answers]))
    else:
        for name, s in answers:
            print(f"{name:<22} {s.summary()}")
            if s.hint:
                print(f"    {s.hint}")
    return ExitCode.FAILED if any(s.state == FAILED for _, s in answers) else ExitCode.OK


def _status_json(status: Any) -> dict[str, Any]:
    data = asdict(status)
    data["state"] = status.state
    return data
