"""`themis-desktop config check|apply`: a node's config against the target version.

`check` exits 1 when a finding would break at the target, 0 otherwise, 2 when the config,
the versions or the node cannot be read. `apply` writes the picked changes atomically and
keeps the old file beside it.
"""

from __future__ import annotations

import argparse
import os
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

from themis_desktop.cli.common import (
    TOKEN_ENV,
    CommandError,
    ExitCode,
    ask,
    confirm,
    release_catalogue,
)
from themis_desktop.core.server import strict_json

_DEFAULT_PICK = ("breaks", "changes", "recommended")


def register(commands: Any) -> None:
    config = commands.add_parser(
        "config", help="check a node's config against a target version, apply the advice"
    )
    actions = config.add_subparsers(dest="action", required=True)
    check = actions.add_parser(
        "check",
        help="changed defaults, added/removed keys and legacy paths (exit 1 if any would break)",
    )
    source = check.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", metavar="FILE", help="the node's config file (.yaml/.json)")
    source.add_argument("--server", metavar="URL", help="read it with GET /config (config:read)")
    check.add_argument("--token-env", default=TOKEN_ENV, metavar="VAR")
    check.add_argument("--ca-file", help="CA certificate (PEM) to verify TLS with")
    check.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    check.add_argument("--json", action="store_true", help="print JSON instead of a table")
    apply = actions.add_parser(
        "apply",
        help="write the advised changes to the config file (the old file is kept as .bak)",
    )
    apply.add_argument("--config", required=True, metavar="FILE")
    apply.add_argument(
        "--only",
        metavar="KEY[,KEY…]",
        help="only these findings (key or id); default: every finding that breaks, changes "
        "behaviour or is recommended",
    )
    apply.add_argument("--yes", action="store_true", help="apply without asking")
    apply.add_argument(
        "--reload",
        metavar="NODE_URL",
        help="then send that node SIGHUP through its service control (1.8+ only: it re-reads "
        "the TLS certificates, not the config); with --control-url (demo), --unit (systemd), "
        "--reload-command, else the step is asked",
    )
    apply.add_argument("--control-url", metavar="URL", help="the demo instance's control API")
    apply.add_argument("--unit", metavar="UNIT", help="systemd unit: systemctl reload UNIT")
    apply.add_argument("--reload-command", metavar="CMD", help="shell command that sends SIGHUP")
    for parser in (check, apply):
        parser.add_argument("--target", required=True, metavar="X", help="target version (1.8)")
        parser.add_argument(
            "--from",
            dest="source_version",
            metavar="V",
            help="the version the node runs (default: asked from --server, else unknown)",
        )
        parser.add_argument(
            "--today", type=_day, metavar="YYYY-MM-DD", help="the date legacy paths are judged on"
        )
        parser.add_argument(
            "--catalogue", metavar="FILE", help="a user catalogue that extends ours"
        )
    config.set_defaults(func=cmd_config)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def cmd_config(args: argparse.Namespace) -> int:
    """A config, version, catalogue (ValueErrors) or node that cannot be read: exit 2."""
    from themis_desktop.core.server.errors import ThemisError

    try:
        return _check(args) if args.action == "check" else _apply(args)
    except ThemisError as exc:
        raise CommandError(exc, ExitCode.USAGE) from exc


def _findings(args: argparse.Namespace) -> tuple[Any, str | None, list[Any]]:
    """The document, the node's version (if known) and the findings."""
    from themis_desktop.core.config import advisor as config_advisor
    from themis_desktop.core.config.file import ConfigDocument

    releases = release_catalogue(args.catalogue)
    current = args.source_version
    path = Path(args.config) if args.config else None
    if path is not None:
        doc = ConfigDocument.load(path)
    else:
        doc, asked = _from_server(args)
        current = current or asked
    findings = config_advisor.check(
        doc,
        args.target,
        releases,
        current=current,
        config_path=path.resolve() if path else None,
        today=args.today,
    )
    return doc, current, findings


def _from_server(args: argparse.Namespace) -> tuple[Any, str | None]:
    from themis_desktop.core.config.file import ConfigDocument
    from themis_desktop.core.server.client import ThemisClient
    from themis_desktop.core.server.errors import ThemisError

    token = os.environ.get(args.token_env)
    with ThemisClient(
        args.server, token, verify_tls=not args.insecure, ca_file=args.ca_file
    ) as client:
        doc = ConfigDocument.from_mapping(client.config(), source=f"GET {client.url}/config")
        if args.source_version:
            return doc, None
        try:
            info = client.version()
        except ThemisError:
            return doc, None
        return doc, info.version if info.exact else None


def _check(args: argparse.Namespace) -> int:
    from themis_desktop.core.config import advisor as config_advisor

    doc, current, findings = _findings(args)
    breaks = config_advisor.breaking(findings)
    if args.json:
        data = {
            "source": doc.source,
            "target": args.target,
            "current": current,
            "findings": [f.as_json() for f in findings],
            "breaking": breaks,
            "note": doc.note or None,
        }
        print(strict_json.dumps(data, indent=2, default=str))
        return ExitCode.BREAKS if breaks else ExitCode.OK
    _print_findings(doc, current, args.target, findings)
    return ExitCode.BREAKS if breaks else ExitCode.OK


_HOW = {"manual": "by hand", "keep": "built in, nothing to do"}


def _print_findings(doc: Any, current: str | None, target: str, findings: list[Any]) -> None:
    from themis_desktop.core.config import advisor as config_advisor
    from themis_desktop.core.config.advisor import diff_rows

    count = sum(f.severity == "breaks" for f in findings)
    print(
        f"Config {doc.source}, {current or 'unknown version'} → {target}: "
        f"{len(findings)} finding(s)" + (f", {count} would break" if count else "")
    )
    if doc.note:
        print(textwrap.fill(f"note: {doc.note}", 100, subsequent_indent="  "))
    for finding, row in zip(findings, diff_rows(doc, findings), strict=True):
        how = "" if finding.applicable else f"  [{_HOW[config_advisor.action(finding)]}]"
        print(f"\n{row.severity.upper():<12} {row.key}  (since {finding.since}){how}")
        print(f"{'':<12} {row.current} → {row.recommended}")
        print(textwrap.fill(row.reason, 100, initial_indent=" " * 13, subsequent_indent=" " * 13))


def _apply(args: argparse.Namespace) -> int:
    from themis_desktop.core.config import advisor as config_advisor
    from themis_desktop.core.config import reload as config_reload

    doc, current, findings = _findings(args)
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        chosen = [f for f in findings if f.id in wanted or f.key in wanted]
        missing = [w for w in wanted if not any(w in (f.id, f.key) for f in chosen)]
        if missing:
            ids = ", ".join(f.id for f in findings) or "none"
            raise CommandError(
                f"no finding for {', '.join(missing)} (findings: {ids})", ExitCode.USAGE
            )
    else:
        chosen = [f for f in findings if f.severity in _DEFAULT_PICK]
    manual = [f for f in chosen if config_advisor.action(f) == "manual"]
    chosen = [f for f in chosen if f.applicable]
    for finding in manual:
        print(textwrap.fill(f"by hand: {finding.reason}", 100, subsequent_indent="  "))
    if not chosen:
        print(f"Nothing to change automatically in {args.config}.")
        return ExitCode.OK
    print(f"Changes to {args.config} ({current or 'unknown version'} → {args.target}):")
    rows = config_advisor.diff_rows(doc, chosen)
    for row in rows:
        print(f"  {row.key}: {row.current} → {row.recommended}  ({row.severity})")
    answer = ask(
        f"Apply {len(chosen)} change(s)? The old file is kept.", args.yes, "apply these changes"
    )
    if not answer:  # None: not asked without a terminal
        return ExitCode.USAGE if answer is None else ExitCode.OK
    path = Path(args.config)
    backup = config_advisor.apply_to_file(path, findings, [f.id for f in chosen])
    print(f"Written {path}; the old config is kept as {backup}.")
    plan = config_reload.reload_plan(current, [row.key for row in rows])
    print(textwrap.fill(plan.words, 100))
    return _reload(args, plan) if args.reload else ExitCode.OK


def _reload(args: argparse.Namespace, plan: Any) -> int:
    """`--reload NODE_URL`: SIGHUP through the service control the options name."""
    from themis_desktop.core.config import reload as config_reload
    from themis_desktop.core.connection.profiles import NodeEndpoint
    from themis_desktop.core.connection.service_config import ServiceConfig
    from themis_desktop.core.service.control import ServiceError

    if not plan.offer_reload:
        raise CommandError("not reloading: " + plan.words, ExitCode.USAGE)
    if args.control_url:
        service = ServiceConfig(kind="demo", control_url=args.control_url)
    elif args.unit:
        service = ServiceConfig(kind="systemd", unit=args.unit)
    elif args.reload_command:
        command = args.reload_command
        service = ServiceConfig(kind="commands", stop="true", start="true", reload=command)
    else:
        service = ServiceConfig()

    def ask_reload(text: str) -> bool:
        return args.yes or confirm(text)

    try:
        step = config_reload.reload_node(
            service, NodeEndpoint(args.reload), plan, confirm=ask_reload
        )
    except ServiceError as exc:
        raise CommandError(exc, ExitCode.USAGE) from exc
    print(f"Reloaded (SIGHUP): {step.command}")
    return ExitCode.OK
