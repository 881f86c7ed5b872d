"""`themis-desktop session predict`: how long a hop of the profile's session will take,
per node and step, and how long each node is down (`core.upgrade.prediction`, the one
implementation the plan and the session page show); with what the hop's steps took
beside the prediction journaled before them, once they ran. And the prediction that
`session status --json` includes (`status_json`).

`cli/session.py` registers this module and hands it its `latest(profile)`, so this module
never imports that one.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from themis_desktop.cli.common import TOKEN_ENV, CommandError, ExitCode
from themis_desktop.core.server import strict_json

STATUS_TIMEOUT_S = 2.0  # `session status` asks each node for its size this long at most


def register(actions: Any, latest: Callable[[str], Any]) -> argparse.ArgumentParser:
    predict = actions.add_parser(
        "predict",
        help="predicted duration and downtime of a hop, per node and step (and, once it "
        "ran, against what it took)",
    )
    predict.add_argument("--profile", required=True)
    predict.add_argument(
        "--hop", type=int, metavar="N", help="the hop's number in the plan (default: current)"
    )
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(func=_predict, token_env=TOKEN_ENV, latest=latest)
    return predict


def _token(profile: Any, token_env: str) -> str | None:
    from themis_desktop.core.connection.secrets import TokenStore

    return os.environ.get(token_env) or TokenStore().get(profile.name)


def _hop(session: Any, number: int | None) -> Any:
    from themis_desktop.core.upgrade.session import SessionError

    if number is None:
        return session.current or session.hops[-1]
    if not 1 <= number <= len(session.hops):
        raise SessionError(
            f"Session {session.id} has {len(session.hops)} hop(s): give --hop 1 to "
            f"{len(session.hops)}."
        )
    return session.hops[number - 1]


def _predict(args: argparse.Namespace) -> int:
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.errors import ThemisDesktopError
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.upgrade import prediction, prediction_text, step_timing
    from themis_desktop.core.upgrade.session import SessionError

    try:
        session = args.latest(args.profile)
        hop = _hop(session, args.hop)
        with Journal() as journal:
            profile = profile_store.get(journal, session.profile)
            if profile is None:
                raise SessionError(f"The profile {session.profile!r} of the session is gone.")
            token = _token(profile, args.token_env)
            fresh = prediction.for_hop(
                journal, profile, token, hop.from_version, hop.to_version, hop=hop.id
            )
            before = prediction.recorded(journal, session.id, hop.id)
            timings = [
                t for t in step_timing.session_timings(journal, session.id) if t.hop == hop.id
            ]
    except ThemisDesktopError as exc:
        raise CommandError(exc, ExitCode.FAILED) from exc
    rows = prediction.comparison(before, timings) if timings else []
    if args.json:
        print(
            strict_json.dumps(
                {
                    "session": session.id,
                    "hop": hop.position + 1,
                    "label": hop.label,
                    "state": hop.state,
                    "prediction": fresh.to_json(),
                    "summary": prediction_text.summary_line(fresh),
                    "journaled_before_the_hop": before.to_json() if before else None,
                    "against_actual": [
                        {
                            "node": r.node,
                            "phase": r.phase,
                            "step": r.step,
                            "predicted": [r.low, r.high] if r.low is not None else None,
                            "actual": r.actual,
                            "verdict": r.verdict,
                        }
                        for r in rows
                    ],
                },
                indent=2,
            )
        )
        return ExitCode.OK
    print(f"session {session.id}, hop {hop.position + 1} ({hop.state}):")
    for line in prediction_text.detail_lines(fresh):
        print(f"  {line}")
    if rows:
        print("  predicted before the hop against what it took:")
        for r in rows:
            span = (
                prediction_text.range_text((r.low, r.high))
                if r.low is not None and r.high is not None
                else "—"
            )
            took = prediction_text.seconds_text(r.actual) if r.actual is not None else "—"
            print(f"    {r.node:<10} {r.phase:<9} {r.step:<11} {span:<18} {took:<10} {r.verdict}")
    return ExitCode.OK


def status_json(journal: Any, session: Any, token_env: str = TOKEN_ENV) -> dict[str, Any] | None:
    """The current hop's prediction for `session status --json`: the one journaled before
    its work once it started, a fresh one before (each node asked briefly for its size).
    None when no hop is left."""
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.upgrade import prediction, prediction_text

    hop = session.current
    if hop is None:
        return None
    made = prediction.recorded(journal, session.id, hop.id)
    source = "journaled before the hop"
    if made is None:
        profile = profile_store.get(journal, session.profile)
        if profile is None:
            return None
        made = prediction.for_hop(
            journal,
            profile,
            _token(profile, token_env),
            hop.from_version,
            hop.to_version,
            hop=hop.id,
            timeout=STATUS_TIMEOUT_S,
        )
        source = "fresh"
    return {
        "hop": hop.position + 1,
        "label": hop.label,
        "source": source,
        "total_seconds": list(made.total),
        "downtime_seconds": list(made.downtime),
        "rollback_seconds": list(made.rollback_total),
        "assumed": made.assumed,
        "summary": prediction_text.summary_line(made),
        "nodes": made.to_json()["nodes"],
    }
