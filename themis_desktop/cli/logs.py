"""`themis-desktop logs follow|show`: the nodes' logs live, or a hop's lines from the journal."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from typing import Any

from themis_desktop.cli.common import ExitCode, print_error
from themis_desktop.core.logs.line_format import LEVELS, RANK
from themis_desktop.core.server import strict_json


def register(commands: Any) -> None:
    logs = commands.add_parser("logs", help="follow the nodes' logs, or show a hop's log lines")
    actions = logs.add_subparsers(dest="action", required=True)
    follow = actions.add_parser(
        "follow",
        help="print the nodes' log lines as they come, counted per hop phase in the journal; "
        "a burst of errors after an upgrade raises the failed-validation trigger (exit 3)",
    )
    follow.add_argument("--profile", required=True)
    follow.add_argument("--node", action="append", metavar="NAME", help="only these nodes")
    follow.add_argument("--level", choices=LEVELS, default="info", help="and worse (default info)")
    follow.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    follow.add_argument("--json", action="store_true", help="one JSON object per line")
    show = actions.add_parser("show", help="a hop's counts per phase and its stored lines")
    show.add_argument("--profile", required=True)
    show.add_argument("--session", type=int, metavar="ID", help="default: the newest session")
    show.add_argument("--hop", type=int, metavar="N", help="1-based; default: every hop")
    show.add_argument("--level", choices=LEVELS, default="warning")
    show.add_argument("--json", action="store_true")
    logs.set_defaults(func=cmd_logs)


def cmd_logs(args: argparse.Namespace) -> int:
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.journal.store import Journal

    with Journal() as journal:
        profile = profile_store.get(journal, args.profile)
        if profile is None:
            print_error(f"no profile named {args.profile!r}")
            return ExitCode.USAGE
        if args.action == "show":
            return _show(journal, args)
    return _follow(profile, args)


def _follow(profile: Any, args: argparse.Namespace) -> int:
    from themis_desktop.core.logs.watch import LogSource, LogWatch
    from themis_desktop.core.upgrade import log_phase
    from themis_desktop.core.util.paths import journal_path

    wanted = set(args.node or [n.name for n in profile.nodes])
    sources = [(n.name, LogSource.parse(n.log_source)) for n in profile.nodes if n.name in wanted]
    followed = [(name, s) for name, s in sources if s.kind != "none"]
    if not followed:
        print_error(
            f"no log source set for {', '.join(sorted(wanted)) or 'any node'}; "
            "set one with `profiles add … --log SPEC` or in the connection dialog"
        )
        return ExitCode.USAGE
    bursts = []

    def lines(batch) -> None:
        for line in batch:
            if RANK[line.level] > RANK[args.level]:
                continue
            if args.json:
                record = {"ts": line.ts, "node": line.node, "level": line.level}
                record["message"] = line.message
                print(strict_json.dumps(record, indent=None), flush=True)
            else:
                print(f"{line.node:<10} {line.level.upper():<8} {line.message}", flush=True)

    def problem(node: str, message: str) -> None:
        print_error(f"{node}: {message or 'log source reads again'}")

    def burst(found) -> None:
        bursts.append(found)
        print_error(f"rollback trigger raised (advisory): {found.note}")

    watch = LogWatch(
        profile.name,
        followed,
        phase_of=log_phase.current_phase,
        raise_trigger=log_phase.raise_burst_trigger,
        journal_path=journal_path(),
        on_lines=lines,
        on_problem=problem,
        on_burst=burst,
    )
    watch.start()
    end = time.monotonic() + args.duration if args.duration else None
    try:
        while watch.running and (end is None or time.monotonic() < end):
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        watch.stop()
    return ExitCode.ERROR_BURST if bursts else ExitCode.OK


def _show(journal: Any, args: argparse.Namespace) -> int:
    from themis_desktop.core.logs import store as log_store
    from themis_desktop.core.logs import watch as logs
    from themis_desktop.core.upgrade.session import UpgradeSession

    if args.session is not None:
        session = UpgradeSession.load(journal, args.session)
    else:
        session = UpgradeSession.latest_for(journal, args.profile)
    if session is None:
        print_error(f"{args.profile} has no upgrade session")
        return ExitCode.USAGE
    hops = session.hops if args.hop is None else session.hops[args.hop - 1 : args.hop]
    counts = log_store.phase_counts(journal, session.id)
    out = []
    for hop in hops:
        lines = log_store.hop_lines(journal, hop.id, min_level=args.level)
        out.append({"hop": hop.label, "counts": counts.get(hop.id, {}), "lines": lines})
    if args.json:
        print(strict_json.dumps([{**h, "lines": [asdict(x) for x in h["lines"]]} for h in out]))
        return ExitCode.OK
    for hop in out:
        print(f"Hop {hop['hop']}")
        for phase, levels in hop["counts"].items():
            errors, warnings = logs.errors_and_warnings(levels)
            print(f"  {phase:<13} {errors:>6} errors {warnings:>6} warnings")
        for x in hop["lines"]:
            print(f"  {x.ts[:23]} {x.node:<8} {x.phase:<11} {x.level.upper():<8} {x.message}")
    return ExitCode.OK
