"""`themis-desktop rollout`: one hop on a cluster with a strategy, one line per event;
after an abort or a failure, the cluster's state and the next steps (`rollout_next`)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Any

from themis_desktop.cli.common import (
    TOKEN_ENV,
    ExitCode,
    ask_first,
    confirm,
    detect_version,
    print_error,
)
from themis_desktop.core.server import strict_json


def register(commands: Any) -> None:
    rollout = commands.add_parser(
        "rollout", help="upgrade a cluster one hop with a rolling, canary or blue-green rollout"
    )
    rollout.add_argument("--profile", required=True)
    rollout.add_argument("--to", metavar="X", help="the next version (one hop)")
    rollout.add_argument("--strategy", choices=("rolling", "canary", "blue-green"))
    rollout.add_argument(
        "--steps", default="5,20,50,100", metavar="P,P,…", help="canary traffic steps in %%"
    )
    rollout.add_argument(
        "--soak", type=float, default=60.0, metavar="S", help="seconds a gate watches"
    )
    rollout.add_argument("--interval", type=float, default=1.0, metavar="S", help="sampling")
    rollout.add_argument(
        "--min-samples",
        type=int,
        default=50,
        metavar="N",
        help="samples a gate needs on each side before it can pass or fail (default 50)",
    )
    rollout.add_argument("--order", metavar="N,N,…", help="node names in upgrade order")
    rollout.add_argument("--from", dest="source", metavar="V", help="current version")
    rollout.add_argument(
        "--resume", action="store_true", help="resume the paused (or aborted) rollout"
    )
    rollout.add_argument(
        "--switch-back", action="store_true", help="blue-green: traffic back to blue (asks first)"
    )
    rollout.add_argument(
        "--status", action="store_true", help="the cluster's state and the next steps"
    )
    rollout.add_argument(
        "--abort", action="store_true", help="abort the paused rollout (asks first)"
    )
    rollout.add_argument(
        "--roll-back",
        metavar="N,N,…",
        help="restore these nodes from the rollout's backups (asks first)",
    )
    rollout.add_argument("--return-traffic", metavar="N,N,…", help="give these nodes traffic again")
    rollout.add_argument(
        "--yes",
        action="store_true",
        help="--abort, --roll-back or --switch-back without asking (needed without a terminal)",
    )
    rollout.add_argument("--backup-dir", metavar="DIR")
    rollout.add_argument("--json-events", action="store_true", help="one JSON object per event")
    rollout.set_defaults(func=cmd_rollout, token_env=TOKEN_ENV)


def cmd_rollout(args: argparse.Namespace) -> int:

    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.connection.secrets import TokenStore
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.rollout import explain as rollout_explain
    from themis_desktop.core.rollout import next_steps as rollout_next
    from themis_desktop.core.rollout import runner as rollouts
    from themis_desktop.core.rollout.traffic import router_for
    from themis_desktop.core.upgrade.hop_runner import hop_context
    from themis_desktop.core.upgrade.session import SessionError
    from themis_desktop.core.util.paths import journal_path
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    def emit(event: dict) -> None:
        if args.json_events:
            print(strict_json.dumps(event, indent=None, default=str), flush=True)
        else:
            print(f"{event['at'][11:19]}  {event['event']:<10} {event['message']}", flush=True)

    def show_state(rollout) -> None:
        """The cluster as it is and the next steps (the same as the GUI's)."""
        state = rollout_next.assess(rollout, profile, token, journal_path())
        if args.json_events:
            emit(
                {
                    "event": "state",
                    "message": state.summary,
                    "at": _now(),
                    "status": state.status,
                    "state": state.to_json(),
                }
            )
        else:
            print("\n".join(state.lines()), flush=True)

    def nodes_of(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in {node.name for node in profile.nodes}]
        if unknown or not names:
            known = ", ".join(node.name for node in profile.nodes)
            raise SessionError(f"Unknown node {', '.join(unknown) or '(none)'}: one of {known}.")
        return names

    rollout = None
    names: list[str] = []
    try:
        with Journal() as journal:
            profile = profile_store.get(journal, args.profile)
            if profile is None:
                raise SessionError(f"No profile named {args.profile!r}.")
            previous = rollouts.latest(journal, profile.name)
        token = os.environ.get(args.token_env) or TokenStore().get(profile.name)
        router = router_for(profile.router, confirm=confirm)
        if args.status:
            if previous is None:
                raise SessionError(f"There is no rollout of {profile.name} yet.")
            show_state(previous)
            return ExitCode.OK
        if args.switch_back:
            if previous is None:
                raise SessionError("There is no rollout to switch back.")
            if previous.strategy == "blue-green":  # else core refuses, and says why
                question = rollout_explain.switch_back_question(previous)
                text, prompt = "\n".join(question.details), question.text
                if not _ask_first(args, text, prompt, "switch back"):
                    return ExitCode.FAILED
            rollouts.switch_back(journal_path(), previous, router, profile)
            emit({"event": "switched-back", "message": "traffic is back on blue", "at": _now()})
            return ExitCode.OK
        action = None
        if args.abort or args.roll_back:
            if previous is None:
                raise SessionError(f"There is no rollout of {profile.name} yet.")
            if args.abort and not previous.resumable:
                raise SessionError(
                    f"Rollout {previous.id} is {previous.status}: there is nothing to abort."
                )
            if args.abort:
                question = rollout_explain.abort_question(previous)
                text, prompt, doing = "\n".join(question.details), question.text, "abort"
            else:
                state = rollout_next.assess(previous, profile, token, journal_path())
                text, prompt = _roll_back_words(previous, nodes_of(args.roll_back), state)
                doing = "roll back"
            if not _ask_first(args, text, prompt, doing):
                return ExitCode.FAILED
        if args.abort:
            rollout, action = previous, "abort"
        elif args.roll_back or args.return_traffic:
            if previous is None:
                raise SessionError(f"There is no rollout of {profile.name} yet.")
            rollout = previous
            action = "roll-back" if args.roll_back else "return-traffic"
            names = nodes_of(args.roll_back or args.return_traffic)
        elif args.resume:
            if previous is None or not (previous.resumable or previous.continuable):
                raise SessionError("There is no paused or aborted rollout to resume.")
            rollout = previous
        else:
            if previous is not None and previous.status in ("paused", "running"):
                raise SessionError(
                    f"Rollout {previous.id} is {previous.status}: --resume it, or abort it first."
                )
            if not (args.to and args.strategy):
                raise SessionError("Give --to and --strategy (or --resume).")
            source = args.source or detect_version(profile, args.token_env)
            hop_plan = plan_upgrade(load_catalogue(), source, args.to)
            if len(hop_plan.hops) != 1:
                raise SessionError(
                    f"A rollout is one hop; the next from {source} is "
                    f"{hop_plan.hops[0].target.text if hop_plan.hops else 'none'}."
                )
            steps = tuple(float(p) for p in args.steps.split(",") if p.strip())
            order = tuple(args.order.split(",")) if args.order else None
            rollout = rollouts.plan(
                profile,
                args.strategy,
                source,
                hop_plan.hops[0].target.text,
                canary_steps=steps,
                soak=args.soak,
                order=order,
            )
            with Journal() as journal:
                rollouts.save(journal, rollout)
        context = hop_context(
            profile,
            token,
            journal_path=journal_path(),
            backup_dir=args.backup_dir,
            confirm=confirm,
        )
        runner = rollouts.RolloutRunner(
            rollout,
            context,
            router,
            interval=args.interval,
            on_event=emit,
            min_samples=args.min_samples,
        )
        try:
            if action == "roll-back":
                result = runner.roll_back(names)
            elif action == "return-traffic":
                result = runner.return_traffic(names)
            else:
                if action == "abort":
                    runner.abort()
                result = runner.run()
        except KeyboardInterrupt:
            runner.pause()
            return ExitCode.PAUSED
    except (SessionError, ValueError) as exc:
        print_error(exc)
        return ExitCode.FAILED
    except Exception as exc:  # a step failed: the rollout is saved as failed
        print_error(f"the rollout failed: {exc}")
        if rollout is not None and rollout.status == "failed":
            _show_quietly(show_state, rollout)
        return ExitCode.FAILED
    if result.status in ("aborted", "failed"):
        _show_quietly(show_state, result)
    if action in ("roll-back", "return-traffic"):
        return ExitCode.OK
    outcome = {"done": ExitCode.OK, "aborted": ExitCode.ABORTED, "paused": ExitCode.PAUSED}
    return outcome.get(result.status, ExitCode.FAILED)


def _ask_first(args: argparse.Namespace, text: str, prompt: str, action: str) -> bool:
    """`common.ask_first`: on a terminal ask [y/N], --yes skips, refuse without one.
    With --json-events stdout carries one JSON object a line: the question goes to stderr."""
    out = sys.stderr if args.json_events else sys.stdout
    with contextlib.redirect_stdout(out):
        return ask_first(text, prompt, args.yes, action)


def _roll_back_words(rollout, names: list[str], state) -> tuple[str, str]:
    """What restoring `names` does and what cannot be undone: the GUI's next step
    (`rollout_next`) when it names these nodes, the same words otherwise."""
    from themis_desktop.core.rollout.next_steps import join_names

    who = join_names(names)
    prompt = f"Roll {who} back to {rollout.from_version}?"
    for step in state.steps:
        if step.action == "roll-back" and set(step.nodes) == set(names):
            return f"{step.title}.\n{step.detail}", prompt
    return (
        f"Roll {who} back to {rollout.from_version} from the rollout's backups.\n"
        f"Stops {who}, restores data and configuration from the rollout's backups (checked "
        f"again first), reinstalls {rollout.from_version} and gives traffic back. Writes made "
        f"to {who} after their backups were taken are lost: this cannot be undone.",
        prompt,
    )


def _show_quietly(show_state, rollout) -> None:
    """The next steps after an abort or a failure; a node that does not answer is shown
    as such, but nothing here may hide the rollout's own outcome."""
    try:
        show_state(rollout)
    except Exception as exc:  # the journal or a node failing now: say so, keep the exit code
        print_error(f"the cluster's state could not be read: {exc}")


def _now() -> str:
    from themis_desktop.core.journal.store import utc_now

    return utc_now()
