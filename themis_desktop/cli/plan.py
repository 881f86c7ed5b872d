"""`themis-desktop plan export`: a fleet upgrade as Ansible (an inventory and a playbook per
hop) for a saved profile; Ansible executes it, Themis Desktop's own commands back up, gate
and restore inside it.

Exit codes: 0 written; 1 the profile or its version cannot be used; 2 bad input."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from themis_desktop.cli.common import TOKEN_ENV, CommandError, ExitCode, detect_version


def register(commands: Any) -> None:
    plan = commands.add_parser("plan", help="export an upgrade plan for a fleet tool (Ansible)")
    actions = plan.add_subparsers(dest="action", required=True)
    export = actions.add_parser(
        "export",
        help="write DIR/inventory.yml and DIR/upgrade-<from>-<to>.yml per hop",
    )
    export.add_argument("--profile", required=True, help="the saved profile of the fleet")
    export.add_argument("--to", required=True, metavar="X.Y", help="the target version or line")
    export.add_argument(
        "--from", dest="source", metavar="X.Y.Z", help="current version (default: asked)"
    )
    export.add_argument("--format", choices=("ansible",), default="ansible")
    export.add_argument("-o", "--output", required=True, metavar="DIR")
    export.add_argument("--strategy", choices=("rolling", "canary"), default="rolling")
    export.add_argument(
        "--steps", default="5,20,50,100", metavar="P,P,…", help="canary steps in %% (batches)"
    )
    export.add_argument(
        "--soak", type=float, default=60.0, metavar="S", help="seconds of baseline and gate"
    )
    export.add_argument("--interval", type=float, default=1.0, metavar="S", help="sampling")
    export.add_argument("--min-samples", type=int, metavar="N", help="the gate's evidence a side")
    export.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="METRIC=PCT",
        help="the gate's fail threshold of a metric in percent (repeatable)",
    )
    export.add_argument("--baseline-minutes", type=float, metavar="N")
    export.add_argument(
        "--backup-dir",
        metavar="DIR",
        help="where the hosts keep the backups (default: DIR/backups for the demo, "
        "/var/backups/themisdb otherwise)",
    )
    export.add_argument(
        "--themis-desktop",
        metavar="PATH",
        help="the themis-desktop command on the hosts (default: this one)",
    )
    export.add_argument("--token-env", default=TOKEN_ENV, metavar="VAR")
    plan.set_defaults(func=cmd_plan)


def cmd_plan(args: argparse.Namespace) -> int:
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.fleet.ansible_export import ExportOptions, export_files, write_files
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    with Journal() as journal:
        profile = profile_store.get(journal, args.profile)
    if profile is None:
        raise CommandError(
            f"no profile named {args.profile!r} (see `themis-desktop profiles list`)",
            ExitCode.USAGE,
        )
    output = Path(args.output).resolve()
    options = ExportOptions(
        themis_desktop=args.themis_desktop or _this_command(),
        backup_dir=args.backup_dir
        or str(
            output / "backups"
            if profile.service.controlled().kind == "demo"
            else "/var/backups/themisdb"
        ),
        strategy=args.strategy,
        canary_steps=_steps(args.steps),
        soak=args.soak,
        interval=args.interval,
        min_samples=args.min_samples,
        thresholds=tuple(_threshold(t) for t in args.threshold),
        baseline_minutes=args.baseline_minutes,
        token_env=args.token_env,
    )
    source = args.source or detect_version(profile, args.token_env)
    plan = plan_upgrade(load_catalogue(), source, args.to)
    files = export_files(profile, plan, options)
    for path in write_files(output, files):
        print(path)
    first = next(name for name in files if name != "inventory.yml")
    print(
        f"run: ansible-playbook -i {output / 'inventory.yml'} {output / first}"
        " (--tags rollback --limit NODE rolls a node back)",
        file=sys.stderr,
    )
    return ExitCode.OK


def _this_command() -> str:
    """The themis-desktop beside the running interpreter (a venv's), else on PATH."""
    beside = Path(sys.executable).with_name("themis-desktop")
    if beside.is_file():
        return str(beside)
    return shutil.which("themis-desktop") or "themis-desktop"


def _steps(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise ValueError(f"--steps {text!r}: give percentages like 5,20,50,100") from None


def _threshold(text: str) -> tuple[str, float]:
    from themis_desktop.core.metrics.catalog import METRICS

    metric, _, percent = text.partition("=")
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r} (one of {', '.join(METRICS)})")
    try:
        return metric, float(percent.rstrip("%"))
    except ValueError:
        raise ValueError(f"--threshold {text!r}: give METRIC=PERCENT") from None
