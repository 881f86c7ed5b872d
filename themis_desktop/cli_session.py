"""`themis-desktop rollback-window` and `themis-desktop session ...`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parsers(commands: Any) -> None:
    window = commands.add_parser(
        "rollback-window", help="the rollback band since an upgrade finished"
    )
    window.add_argument("--since", required=True, metavar="ISO8601", help="when the hop finished")
    window.add_argument("--now", metavar="ISO8601", help="another moment than now (planning)")
    window.add_argument("--json", action="store_true")


def cmd_rollback_window(args: argparse.Namespace) -> int:
    from themis_desktop.core.rollback_window import describe, parse_time, window

    try:
        since = parse_time(args.since)
        now = parse_time(args.now) if args.now else None
    except ValueError as exc:
        print(f"themis-desktop: not an ISO 8601 time: {exc}", file=sys.stderr)
        return 2
    state = window(since, now)
    if args.json:
        print(
            json.dumps(
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
