"""`themis-desktop guide list|validate|render|steps`: the migration guides."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from themis_desktop.cli.common import CommandError, ExitCode, print_error
from themis_desktop.core.server import strict_json


def register(commands: Any) -> None:
    guide = commands.add_parser("guide", help="list, validate, render migration guides")
    guide_actions = guide.add_subparsers(dest="action", required=True)
    guide_list = guide_actions.add_parser("list", help="the bundled guides with hop and status")
    guide_list.add_argument("--folder", help="a folder of guides instead of the bundled ones")
    validate = guide_actions.add_parser("validate", help="check guides against the template")
    validate.add_argument("paths", nargs="+", metavar="PATH", help="guide files or folders")
    render = guide_actions.add_parser("render", help="a standalone HTML page of a guide")
    render.add_argument("file", metavar="FILE")
    render.add_argument("-o", "--output", required=True, metavar="OUT.html")
    steps = guide_actions.add_parser("steps", help="the checklist items with ids and phases")
    steps.add_argument("file", metavar="FILE")
    steps.add_argument("--json", action="store_true")
    guide.set_defaults(func=cmd_guide)


def cmd_guide(args: argparse.Namespace) -> int:
    from themis_desktop.core.guides import library as guides

    try:
        return {"list": _list, "validate": _validate, "render": _render, "steps": _steps}[
            args.action
        ](args)
    except guides.GuideError as exc:  # a guide that cannot be read
        raise CommandError(exc, ExitCode.USAGE) from exc


def _list(args: argparse.Namespace) -> int:
    from pathlib import Path

    from themis_desktop.core.guides import library as guides

    for guide in guides.load_folder(Path(args.folder) if args.folder else None):
        hop = " → ".join(guide.hop) if guide.hop else "general"
        errors = f", {guide.errors} error(s)" if guide.errors else ""
        print(f"{hop:<14} {guide.status:<9} {guide.path.name}{errors}")
    return ExitCode.OK


def _validate(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from themis_desktop.core.guides import library as guides

    files, findings = [], []
    for path in (p for arg in args.paths for p in _guide_files(Path(arg))):
        guide = guides.load_guide(path)
        if guides.is_index(path, guide.meta):  # as a folder of guides skips its README
            print(
                f"{path}: not a migration guide (a README or index without front "
                "matter): not validated",
                file=sys.stderr,
            )
            continue
        files.append(path)
        findings += guide.findings
    for finding in findings:
        print(finding)
    failed = sum(f.severity == "error" for f in findings)
    print(
        f"{len(files)} guide(s), {failed} error(s), {len(findings) - failed} warning(s)",
        file=sys.stderr,
    )
    return ExitCode.FAILED if failed else ExitCode.OK


def _render(args: argparse.Namespace) -> int:
    from pathlib import Path

    from themis_desktop.core.guides import library as guides
    from themis_desktop.core.guides.render import render_guide

    guide = guides.load_guide(Path(args.file))
    rendered = render_guide(guide)
    Path(args.output).write_text(rendered.page(guide.title), encoding="utf-8")
    if rendered.warning:  # too large, pathological or too slow: shown as plain text
        print_error(f"warning: {args.file}: {rendered.warning}")
    print(f"wrote {args.output}")
    return ExitCode.OK


def _steps(args: argparse.Namespace) -> int:
    from pathlib import Path

    from themis_desktop.core.guides import library as guides

    guide = guides.load_guide(Path(args.file))
    if args.json:
        print(strict_json.dumps([asdict(s) for s in guide.steps]))
    else:
        for step in guide.steps:
            print(f"{step.id:<24} {step.phase:<11} {step.text}")
            for option in step.options:  # alternatives: the admin takes one
                print(f"{'':<24} {'':<11}   option {option.key}: {option.label}")
    return ExitCode.OK


def _guide_files(path):
    if path.is_dir():
        return sorted(p for p in path.glob("*.md") if p.name.lower() != "readme.md")
    return [path]
