"""`themis-desktop path` and `themis-desktop releases`: the upgrade path and the catalogue.

A version or catalogue that cannot be read is a ValueError: `main` exits 2 with its words.
"""

from __future__ import annotations

import argparse
from typing import Any

from themis_desktop.cli.common import ExitCode, release_catalogue
from themis_desktop.core.server import strict_json


def register(commands: Any) -> None:
    path = commands.add_parser("path", help="plan the upgrade path between two versions")
    path.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="X",
        help="current version (1.7, v1.7.3, 1.8.0-rc1)",
    )
    path.add_argument(
        "--to",
        dest="target",
        default="latest",
        metavar="Y",
        help="target version or line (default: latest)",
    )
    path.add_argument(
        "--skip-level",
        action="store_true",
        help="plan the direct hop (not recommended) instead of the sequential path",
    )
    path.add_argument(
        "--have",
        action="append",
        default=[],
        metavar="X",
        help="a release you have checked you can install (confirms a contested stop; "
        "repeat for each)",
    )
    path.add_argument("--json", action="store_true")
    path.add_argument("--catalogue", metavar="FILE", help="a user catalogue that extends ours")
    path.set_defaults(func=cmd_path)

    releases = commands.add_parser("releases", help="the release catalogue")
    releases.add_argument("--catalogue", metavar="FILE", help="a user catalogue that extends ours")
    releases.set_defaults(func=cmd_releases)


def cmd_path(args: argparse.Namespace) -> int:
    from themis_desktop.core.versions.known_issues import hop_warnings
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    catalogue = release_catalogue(args.catalogue)
    plan = plan_upgrade(catalogue, args.source, args.target, args.skip_level, args.have)
    if args.json:
        print(strict_json.dumps(plan.to_json()))
        return ExitCode.OK
    print(
        f"Upgrade path {plan.current} → {plan.target}: {len(plan.hops)} hop(s), "
        f"{plan.guides_missing} guide(s) missing, {plan.breaking_changes} breaking change(s)"
    )
    for number, hop in enumerate(plan.hops, start=1):
        marker = "  ← point of no return" if number - 1 == plan.point_of_no_return else ""
        status = ""
        if hop.status == "contested":
            status = f"  [contested, {'confirmed by you' if hop.confirmed else 'not confirmed'}]"
        print(
            f"  {number}. {hop.title:<22} guide {hop.guide:<10} "
            f"{len(hop.breaking_changes):>2} breaking  {hop.reversibility}{marker}{status}"
        )
        for text in hop.breaking_changes:
            print(f"       ! {text}")
        for text in hop.notes:
            contested = text.startswith(f"{hop.target} is contested")
            print(f"       {'?' if contested else '·'} {text}")
        if hop.status == "contested":
            print(f"         sources: {', '.join(hop.target.source) or 'none recorded'}")
        for text in hop_warnings(catalogue, hop.source, hop.target):
            print(f"       ⚠ {text}")
    for warning in plan.warnings:
        print(f"warning: {warning}")
    if plan.unconfirmed:
        print(f"confirm: {plan.confirm_hint()}")
    for number, condition in enumerate(plan.conditions, start=1):
        print(f"  condition {number}: {condition}")
    return ExitCode.OK


def cmd_releases(args: argparse.Namespace) -> int:
    catalogue = release_catalogue(args.catalogue)
    for line in catalogue.lines:
        guide = "guide" if line.guide else "no guide"
        print(f"{line.name:<5} {line.summary}  [{guide}, {line.reversibility}]")
        _print_issues(line.known_issues, "      ")
        for release in line.releases:
            mark = "" if release.status == "released" else f"[{release.status}] "
            print(
                f"      {release.text:<12} {release.date:<11} ({release.confidence})  "
                f"{mark}{release.summary}"
            )
            if release.status != "released" and release.evidence:
                print(f"        {release.status}: {release.evidence}")
            if release.source:
                print(f"        source: {', '.join(release.source)}")
            _print_issues(release.known_issues, "        ")
        for reason in line.stop_reasons():
            print(f"      stop {line.stop or 'none'}: {reason}")
    return ExitCode.OK


def _print_issues(issues, indent: str) -> None:
    """Known issues of a line or release: what, affects, evidence, what to do, sources."""
    for issue in issues:
        print(f"{indent}known issue {issue.id} ({', '.join(issue.affects)}): {issue.summary}")
        print(f"{indent}  evidence: {issue.evidence}")
        print(f"{indent}  what to do: {issue.workaround}")
        if issue.source:
            print(f"{indent}  source: {', '.join(issue.source)}")
