"""The command line: the GUI by default, and every operation as a subcommand."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from dataclasses import asdict, replace
from typing import Any

from themis_desktop import __version__
from themis_desktop.core.server import strict_json

TOKEN_ENV = "THEMIS_DESKTOP_TOKEN"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="themis-desktop",
        description="Upgrade console for ThemisDB. Without a command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"themis-desktop {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start a 3-node demo instance (v1.7.0) and connect to it",
    )
    parser.add_argument("--demo-version", default="1.7.0", help="version of the demo instance")
    parser.add_argument("--profile", help="connect to this saved connection profile")
    parser.add_argument(
        "--review",
        metavar="JOURNAL",
        help="open a colleague's journal read-only (nothing can change a server)",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="start offscreen, open the main window, render a guide, exit 0 (for packagers)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    from themis_desktop.demo.main import add_arguments as add_demo_arguments

    demo = commands.add_parser("demo-server", help="run the demo ThemisDB server in the foreground")
    add_demo_arguments(demo)

    status = commands.add_parser("status", help="version, health and stats of nodes")
    _add_target_arguments(status)
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")

    updates = commands.add_parser("updates", help="what each node's own update checker reports")
    _add_target_arguments(updates)
    updates.add_argument("--check", action="store_true", help="make each node check now")
    updates.add_argument("--json", action="store_true", help="print JSON instead of lines")

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

    releases = commands.add_parser("releases", help="the release catalogue")
    releases.add_argument("--catalogue", metavar="FILE", help="a user catalogue that extends ours")

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

    backup = commands.add_parser("backup", help="back up a node's data and config, verified")
    backup.add_argument("--data-dir", required=True, metavar="DIR")
    backup.add_argument("--config", action="append", default=[], metavar="FILE")
    backup.add_argument("--server", metavar="URL", help="the node, for a consistent checkpoint")
    backup.add_argument("--token-env", default=TOKEN_ENV, metavar="VAR")
    backup.add_argument("--node", help="node name in the archive name (default: host name)")
    backup.add_argument(
        "--themis-version",
        metavar="X.Y.Z",
        help="version of the node (default: asked from --server)",
    )
    backup.add_argument(
        "--stopped",
        action="store_true",
        help="the node's service is stopped (no --server): copy its files",
    )
    backup.add_argument(
        "--accept-inconsistent",
        action="store_true",
        help="copy a running node's files without a checkpoint",
    )
    backup.add_argument("--no-verify", action="store_true")
    backup.add_argument("-o", "--output", required=True, metavar="OUTDIR")

    verify = commands.add_parser("verify", help="check a backup archive")
    verify.add_argument("archive", metavar="ARCHIVE")
    verify.add_argument("--quick", action="store_true", help="only the archive's own checksum")

    restore = commands.add_parser("restore", help="restore a backup (the node must be stopped)")
    restore.add_argument("archive", metavar="ARCHIVE")
    restore.add_argument("--data-dir", required=True, metavar="DIR")
    restore.add_argument("--config-dir", metavar="DIR")
    restore.add_argument("--server", metavar="URL", help="refuse if this node still answers")
    restore.add_argument("--yes", action="store_true", help="really replace the data")
    restore.add_argument(
        "--node", help="the node this data dir belongs to (the archive must be its backup)"
    )
    restore.add_argument(
        "--other-node",
        action="store_true",
        help="put a backup of another node (or another data dir) here on purpose",
    )

    listing = commands.add_parser("backups", help="the backup catalogue")
    listing_actions = listing.add_subparsers(dest="action", required=True)
    listing_list = listing_actions.add_parser("list")
    listing_list.add_argument("--json", action="store_true")
    prune = listing_actions.add_parser(
        "prune",
        help="delete old backups: keeps the newest N per node, the newest verified "
        "one and those of open upgrade sessions",
    )
    prune.add_argument("--keep", type=int, default=5, metavar="N")
    prune.add_argument("--yes", action="store_true", help="really delete (default: only list)")

    from themis_desktop.cli import config as cli_config
    from themis_desktop.cli import logs as cli_logs
    from themis_desktop.cli import metrics as cli_metrics
    from themis_desktop.cli import rollout as cli_rollout
    from themis_desktop.cli import session as cli_session

    cli_metrics.add_parser(commands, TOKEN_ENV)
    cli_session.add_parsers(commands)
    cli_session.add_session_parser(commands, TOKEN_ENV)
    cli_session.add_report_parser(commands)
    cli_rollout.add_parser(commands, TOKEN_ENV)
    cli_logs.add_parser(commands)
    cli_config.add_parser(commands, TOKEN_ENV)

    profiles = commands.add_parser("profiles", help="list, show, add or remove connection profiles")
    actions = profiles.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="list saved profiles")
    show = actions.add_parser(
        "show", help="every setting of a profile (whether a token is stored, never the token)"
    )
    show.add_argument("name")
    show.add_argument("--json", action="store_true", help="as JSON")
    add = actions.add_parser(
        "add",
        help="add or replace a profile",
        description="Add or replace a profile, with every setting the Connection dialog has. "
        "Per-node options are given once for every node ({node} is its name) or once per "
        "URL, in order.",
    )
    add.add_argument("name")
    add.add_argument("urls", nargs="+", metavar="URL")
    add.add_argument("--ca-file", help="CA certificate (PEM) to verify the nodes' TLS with")
    add.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    add.add_argument(
        "--token-env", metavar="VAR", help="store the token read from this environment variable"
    )
    add.add_argument(
        "--name",
        dest="node_name",
        action="append",
        metavar="NODE",
        help="a node's name (default host:port); once per URL, in order (each node needs its own)",
    )
    add.add_argument(
        "--version-override",
        action="append",
        metavar="VERSION",
        help="a node's exact version, for servers before 1.3 that do not report it; once for "
        "every node or once per URL",
    )
    add.add_argument(
        "--log",
        action="append",
        metavar="SPEC",
        help="where a node's log is read: file:PATH, journald[:UNIT] or command:CMD; once for "
        "every node ({node} is its name) or once per URL, in order",
    )
    add.add_argument(
        "--data-dir",
        action="append",
        metavar="DIR",
        help="a node's data dir on this host, for file backups and restores; once for every "
        "node ({node} is its name) or once per URL, in order",
    )
    add.add_argument(
        "--config",
        action="append",
        metavar="FILE",
        help="a node's config file on this host; once for every node or once per URL",
    )
    service = add.add_argument_group(
        "service control",
        "how upgrades stop, start and install the nodes' service; in the commands "
        "{node} {version} {data_dir} {config} {url} are filled in, shell-quoted",
    )
    service.add_argument(
        "--service",
        choices=("manual", "systemd", "commands", "demo"),
        default="manual",
        help="manual: you do each step and confirm (default); systemd: systemctl on this "
        "computer; commands: the commands below; demo: a demo-server's control API",
    )
    service.add_argument("--unit", metavar="UNIT", help="systemd unit (default themisdb)")
    service.add_argument("--stop-cmd", metavar="CMD", help="command that stops a node")
    service.add_argument("--start-cmd", metavar="CMD", help="command that starts a node")
    service.add_argument(
        "--install-cmd",
        metavar="CMD",
        help="command that installs {version} (systemd/commands; none: you do it and confirm)",
    )
    service.add_argument(
        "--binary",
        metavar="PATH",
        help="the installed themis_server ({node} allowed; systemd/commands): its --version "
        "is checked before a node is started on a new version",
    )
    service.add_argument(
        "--reload-cmd", metavar="CMD", help="command that sends SIGHUP to a node (commands)"
    )
    service.add_argument(
        "--pid-file",
        metavar="PATH",
        help="the server's pid file ({node} allowed; commands): a stop sends SIGTERM (or runs "
        "--stop-cmd) and then SIGKILL after --stop-timeout if it still runs",
    )
    service.add_argument(
        "--stop-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds a stopped server may take to exit before SIGKILL (default 30)",
    )
    service.add_argument(
        "--write-check",
        action="store_true",
        help="readiness and validation write and read back a test key "
        "(themis-desktop:probe:<node>); without it they only read",
    )
    service.add_argument(
        "--control-url", metavar="URL", help="the `control` URL a demo-server prints (demo)"
    )
    service.add_argument(
        "--router",
        choices=("none", "demo", "manual", "commands"),
        default="none",
        help="how rollouts shift traffic between nodes (canary, blue-green need one)",
    )
    service.add_argument(
        "--router-cmd",
        metavar="CMD",
        help="--router commands: sets the weights; {weights} is host:port=percent,…",
    )
    service.add_argument(
        "--check-cmd",
        metavar="CMD",
        help="run per node when a hop is validated, e.g. a read of known keys (any kind)",
    )
    remove = actions.add_parser("remove", help="remove a profile (its sessions stay)")
    remove.add_argument("name")
    return parser


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
    from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
    from themis_desktop.core.connection.secrets import TokenStore
    from themis_desktop.core.journal.store import Journal

    token = os.environ.get(args.token_env)
    if args.target_profile:
        with Journal() as journal:
            profile = journal.profile(args.target_profile)
        if profile is None:
            raise SystemExit(
                f"themis-desktop: no profile named {args.target_profile!r} "
                "(see `themis-desktop profiles list`)"
            )
        return profile, token or TokenStore().get(profile.name)
    if not args.urls:
        raise SystemExit("themis-desktop: give node URLs or --profile NAME")
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
    return 0 if all(s.up for s in statuses) else 1


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
    return 1 if any(s.state == FAILED for _, s in answers) else 0


def _status_json(status: Any) -> dict[str, Any]:
    data = asdict(status)
    data["state"] = status.state
    return data


def _catalogue(args: argparse.Namespace):
    from pathlib import Path

    from themis_desktop.core.versions.releases import Catalogue

    return Catalogue.load(Path(args.catalogue) if args.catalogue else None)


def cmd_path(args: argparse.Namespace) -> int:
    from themis_desktop.core.versions.catalogue_file import CatalogueError, left_out
    from themis_desktop.core.versions.known_issues import hop_warnings
    from themis_desktop.core.versions.releases import VersionError
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    try:
        catalogue = _catalogue(args)
        for problem in catalogue.problems:  # a broken user catalogue: the bundled one serves
            print(f"themis-desktop: {left_out(problem)}", file=sys.stderr)
        plan = plan_upgrade(catalogue, args.source, args.target, args.skip_level, args.have)
    except (VersionError, CatalogueError) as exc:
        print(f"themis-desktop: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(strict_json.dumps(plan.to_json()))
        return 0
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
    return 0


def cmd_releases(args: argparse.Namespace) -> int:
    from themis_desktop.core.versions.catalogue_file import CatalogueError, left_out
    from themis_desktop.core.versions.releases import VersionError

    try:
        catalogue = _catalogue(args)
    except (CatalogueError, VersionError) as exc:
        print(f"themis-desktop: {exc}", file=sys.stderr)
        return 2
    for problem in catalogue.problems:  # a broken user catalogue: the bundled one serves
        print(f"themis-desktop: {left_out(problem)}", file=sys.stderr)
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
    return 0


def _print_issues(issues, indent: str) -> None:
    """Known issues of a line or release: what, affects, evidence, what to do, sources."""
    for issue in issues:
        print(f"{indent}known issue {issue.id} ({', '.join(issue.affects)}): {issue.summary}")
        print(f"{indent}  evidence: {issue.evidence}")
        print(f"{indent}  what to do: {issue.workaround}")
        if issue.source:
            print(f"{indent}  source: {', '.join(issue.source)}")


def cmd_guide(args: argparse.Namespace) -> int:
    from pathlib import Path

    from themis_desktop.core.guides import library as guides

    try:
        if args.action == "list":
            for guide in guides.load_folder(Path(args.folder) if args.folder else None):
                hop = " → ".join(guide.hop) if guide.hop else "general"
                errors = f", {guide.errors} error(s)" if guide.errors else ""
                print(f"{hop:<14} {guide.status:<9} {guide.path.name}{errors}")
            return 0
        if args.action == "validate":
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
            return 1 if failed else 0
        guide = guides.load_guide(Path(args.file))
    except guides.GuideError as exc:
        print(f"themis-desktop: {exc}", file=sys.stderr)
        return 2
    if args.action == "render":
        from themis_desktop.core.guides.render import render_guide

        rendered = render_guide(guide)
        Path(args.output).write_text(rendered.page(guide.title), encoding="utf-8")
        if rendered.warning:  # too large, pathological or too slow: shown as plain text
            print(f"themis-desktop: warning: {args.file}: {rendered.warning}", file=sys.stderr)
        print(f"wrote {args.output}")
        return 0
    if args.json:
        print(strict_json.dumps([asdict(s) for s in guide.steps]))
    else:
        for step in guide.steps:
            print(f"{step.id:<24} {step.phase:<11} {step.text}")
            for option in step.options:  # alternatives: the admin takes one
                print(f"{'':<24} {'':<11}   option {option.key}: {option.label}")
    return 0


def _guide_files(path):
    if path.is_dir():
        return sorted(p for p in path.glob("*.md") if p.name.lower() != "readme.md")
    return [path]


def cmd_backup(args: argparse.Namespace) -> int:
    import socket
    import sqlite3
    from pathlib import Path

    from themis_desktop.core.backup import catalog as backup_catalog
    from themis_desktop.core.backup.archive_format import BackupError
    from themis_desktop.core.backup.node import backup_node
    from themis_desktop.core.backup.restore import remember_checksum, verify
    from themis_desktop.core.connection.profiles import NodeEndpoint
    from themis_desktop.core.journal.store import Journal, JournalError
    from themis_desktop.core.server.client import ThemisClient
    from themis_desktop.core.server.errors import ThemisError
    from themis_desktop.core.util.progress_text import TerminalBar

    url = args.server or "http://127.0.0.1:1"
    name = args.node or (NodeEndpoint(args.server).name if args.server else socket.gethostname())
    node = NodeEndpoint(
        url, name, data_dir=args.data_dir, config_path=args.config[0] if args.config else None
    )
    if not args.server and not args.stopped:
        print(
            "themis-desktop: give --server URL (a running node is backed up from a "
            "checkpoint) or --stopped (its service is stopped, the files are copied as they "
            "are)",
            file=sys.stderr,
        )
        return 2
    client = ThemisClient(args.server, os.environ.get(args.token_env)) if args.server else None
    bar = TerminalBar("backup")
    try:
        version = args.themis_version or (client.version().version if client else "unknown")
        result = backup_node(
            node,
            Path(args.output).resolve(),
            client,
            version,
            accept_inconsistent=args.accept_inconsistent,
            extra_configs=tuple(Path(c) for c in args.config[1:]),
            progress=bar,
        )
        bar.close()
        verified = False
        if not args.no_verify:
            check = TerminalBar("verify")
            report = verify(result.archive, progress=check)
            check.close()
            if not report.ok:
                print(
                    "themis-desktop: the new backup does not verify: " + "; ".join(report.problems),
                    file=sys.stderr,
                )
                return 1
            remember_checksum(report)
            result = replace(
                result, sha256=report.archive_sha256, warnings=(*result.warnings, *report.notes)
            )
            verified = True
    except (BackupError, ThemisError) as exc:
        bar.close()
        print(f"themis-desktop: {exc}", file=sys.stderr)
        return 1
    finally:
        if client:
            client.close()
    for warning in result.warnings:
        print(f"themis-desktop: note: {warning}", file=sys.stderr)
    checksum = f"sha256 {result.sha256}" if result.sha256 else "not verified"
    print(f"{result.size} bytes, {len(result.manifest.files)} entries, {checksum}")
    print(result.archive)
    try:
        with Journal() as journal:
            backup_catalog.record(journal, result, verified=verified)
    except (JournalError, sqlite3.Error, OSError) as exc:
        print(
            f"themis-desktop: the backup was written{' and verified' if verified else ''}: "
            f"{result.archive}, but it could not be added to the backup catalogue ({exc}). "
            "Keep the file; once the journal is writable, `verify` it to list it again.",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from themis_desktop.core.backup import catalog as backup_catalog
    from themis_desktop.core.backup.restore import quick_verify, remember_checksum, verify
    from themis_desktop.core.util.progress_text import TerminalBar

    archive = Path(args.archive)
    recorded = backup_catalog.find_by_path(archive)
    if args.quick:
        report = quick_verify(archive, recorded=recorded)
    else:
        bar = TerminalBar("verify")
        report = verify(archive, progress=bar, recorded=recorded)
        bar.close()
        remember_checksum(report)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    if report.ok:
        what = "checksum matches" if args.quick else f"{report.files_checked} files checked"
        print(f"OK: {archive} ({what})")
        return 0
    print(f"DAMAGED: {archive}")
    for problem in report.problems:
        print(f"  {problem}")
    return 1


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from themis_desktop.cli.session import ask_first
    from themis_desktop.core.backup import catalog as backup_catalog
    from themis_desktop.core.backup.archive_format import BackupError
    from themis_desktop.core.backup.restore import restore
    from themis_desktop.core.util.progress_text import TerminalBar

    data_dir = Path(args.data_dir)
    recorded = backup_catalog.find_by_path(Path(args.archive))
    taken = ""
    if recorded is not None:
        from datetime import UTC, datetime

        from themis_desktop.core.journal.store import parse_utc
        from themis_desktop.core.util.formatting import human_duration

        age = (datetime.now(UTC) - parse_utc(recorded.created_at)).total_seconds()
        taken = f" (the backup of {recorded.node} at {recorded.version}, {human_duration(age)} old)"
    configs = f" and the config files in {args.config_dir}" if args.config_dir else ""
    text = (
        f"Restore {args.archive}{taken}: the data in {data_dir}{configs} is replaced by the "
        f"backup's. The current data is moved aside as {data_dir.name}.pre-restore-<time>; "
        "the node then serves the backup's data: every write made after the backup was taken "
        "is gone from it, and this cannot be undone here (only by putting that copy back by "
        "hand). The node must be stopped first."
    )
    if not ask_first(text, f"Replace {data_dir}?", args.yes, "restore"):
        return 2
    bar = TerminalBar("restore")
    try:
        result = restore(
            Path(args.archive),
            data_dir,
            Path(args.config_dir) if args.config_dir else None,
            progress=bar,
            node_url=args.server,
            node=args.node,
            other_node=args.other_node,
            recorded=recorded,
        )
    except BackupError as exc:
        bar.close()
        print(f"themis-desktop: {exc}", file=sys.stderr)
        return 1
    bar.close()
    for line in result.recovered:
        print(line)
    print(f"restored {result.data_dir}")
    if result.kept:
        print(f"previous data kept in {result.kept}")
    for config, previous in result.configs.items():
        print(f"restored {config} (previous kept as {previous})")
    return 0


def cmd_backups(args: argparse.Namespace) -> int:
    from pathlib import Path

    from themis_desktop.core.backup import catalog as backup_catalog
    from themis_desktop.core.backup import swap as restore_swap
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.util.formatting import human_bytes

    if args.action == "prune":
        with Journal() as journal:
            victims = backup_catalog.retention_victims(journal, args.keep)
            for record in victims:
                print(("deleting " if args.yes else "would delete ") + record.path)
                if args.yes:
                    for path in (record.path, record.path + ".manifest.json"):
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(path)
                    backup_catalog.forget(journal, record.id)
        if victims and not args.yes:
            print("run again with --yes to delete them", file=sys.stderr)
        return 0
    with Journal() as journal:
        profiles = journal.profiles()
        for line in restore_swap.recover_profiles(profiles):  # finish what a crash left
            print(line)
        records = backup_catalog.backups(journal)
        data_parents = tuple(
            Path(node.data_dir).absolute().parent
            for profile in profiles
            for node in profile.nodes
            if node.data_dir
        )
        leftovers = backup_catalog.leftovers(journal, data_parents)
    if args.json:
        print(
            strict_json.dumps(
                {
                    "backups": [asdict(r) for r in records],
                    "leftovers": [
                        {**asdict(left), "path": str(left.path)} for left in leftovers
                    ],
                },
                indent=2,
            )
        )
        return 0
    for r in records:
        verified = "verified" if r.verified else "unverified"
        print(
            f"{r.created_at}  {r.node:<14} {r.version:<10} {human_bytes(r.size):>10}  "
            f"{verified:<10}  {r.path}"
        )
    if leftovers:
        held = human_bytes(sum(left.size for left in leftovers))
        print(f"\n{len(leftovers)} leftover(s) of interrupted backups or restores hold {held}:")
        for left in leftovers:
            state = f"in use by process {left.pid}" if left.alive else "left by a dead process"
            print(f"  {human_bytes(left.size):>10}  {left.kind:<10}  {state:<32}  {left.path}")
        if any(not left.alive for left in leftovers):
            print("  (the next backup or restore of that node removes the dead ones)")
    return 0


def cmd_profiles(args: argparse.Namespace) -> int:
    from themis_desktop.core.connection.profiles import Profile
    from themis_desktop.core.connection.secrets import TokenStore
    from themis_desktop.core.journal.store import Journal

    token = os.environ.get(args.token_env) if getattr(args, "token_env", None) else None
    with Journal() as journal:
        if args.action == "list":
            for profile in journal.profiles():
                urls = ", ".join(n.url for n in profile.nodes)
                print(f"{profile.name}: {urls}  [service: {_service_text(profile.service)}]")
            return 0
        if args.action in ("remove", "show"):
            found = journal.profile(args.name)
            if found is None:
                print(
                    f"themis-desktop: no profile named {args.name!r} "
                    "(see `themis-desktop profiles list`)",
                    file=sys.stderr,
                )
                return 1
            if args.action == "show":
                settings = found.settings()
                settings["token_stored"] = TokenStore().get(found.name) is not None
                print(strict_json.dumps(settings) if args.json else _profile_text(settings))
                return 0
            journal.delete_profile(args.name)
            TokenStore().set(args.name, None)
            return 0
        try:
            nodes = _node_settings(args)
            service = _service_config(args)
            router = _router_config(args)
            ca_file = _ca_file(args.ca_file)
        except ValueError as exc:
            print(f"themis-desktop: {exc}", file=sys.stderr)
            return 2
        profile = journal.save_profile(
            Profile(
                args.name,
                nodes,
                verify_tls=not args.insecure,
                ca_file=ca_file,
                uses_auth=bool(token),
                service=service,
                router=router,
            )
        )
    if args.token_env:
        if not token:
            print(f"themis-desktop: ${args.token_env} is empty; no token stored", file=sys.stderr)
        elif not TokenStore().set(profile.name, token):
            print("themis-desktop: no OS keyring here; the token was not stored", file=sys.stderr)
    print(f"saved profile {profile.name!r} with {len(profile.nodes)} node(s)")
    return 0


def _profile_text(settings: dict[str, Any]) -> str:
    """`profiles show`: a profile's settings (`Profile.settings()`) as lines to read."""
    tls, service, router = settings["tls"], settings["service"], settings["router"]
    if settings["token_stored"]:
        token = "stored on this computer"
    else:
        token = "needed, none stored here" if settings["uses_auth"] else "none (auth off)"
    lines = [f"profile {settings['name']}" + (" (demo instance)" if settings["demo"] else "")]
    for node in settings["nodes"]:
        lines += [
            f"  node {node['name']}: {node['url']}",
            f"    data dir:  {node['data_dir'] or '-'}",
            f"    config:    {node['config'] or '-'}",
            f"    version:   {_override(node['version_override'])}",
            f"    log:       {node['log_source'] or '-'}",
        ]
    lines += [
        "  TLS: "
        + ("certificates verified" if tls["verify"] else "certificates NOT verified")
        + (f" with the CA file {tls['ca_file']}" if tls["ca_file"] else ""),
        f"  token: {token}",
        f"  service control: {service['kind']}",
    ]
    fields = {
        "systemd": ("unit", "install", "binary"),
        "commands": ("stop", "start", "install", "binary"),
        "demo": ("control_url",),
    }.get(service["kind"], ())
    lines += [f"    {key}: {service[key]}" for key in (*fields, "check") if service[key]]
    detail = router["control_url"] or router["command"]
    lines.append(f"  traffic router: {router['kind']}" + (f" {detail}" if detail else ""))
    return "\n".join(lines)


def _override(version: str | None) -> str:
    return f"{version} (set in the profile)" if version else "as the node reports it"


def _ca_file(path: str | None) -> str | None:
    """`--ca-file` as an absolute path to an existing file (as the Connection dialog asks)."""
    from pathlib import Path

    if not path:
        return None
    if not Path(path).is_file():
        raise ValueError(f"--ca-file: the CA file {path} does not exist")
    return str(Path(path).absolute())


def _per_node(nodes: tuple, option: str, values: list[str], field: str, parse=str) -> tuple:
    """The nodes with one of their settings from a repeated option: given once for every
    node (`{node}` is its name) or once per URL, in order; ValueError for a wrong count or
    a value `parse` refuses (the message names the option and the node)."""
    from dataclasses import replace

    if not values:
        return nodes
    if len(values) not in (1, len(nodes)):
        raise ValueError(f"{option}: give one for every node or one per URL ({len(nodes)})")
    values = values * len(nodes) if len(values) == 1 else values
    changed = []
    for node, value in zip(nodes, values, strict=True):
        try:
            setting = parse(value.replace("{node}", node.name))
        except ValueError as exc:
            raise ValueError(f"{option} of {node.name}: {exc}") from None
        changed.append(replace(node, **{field: setting}))
    return tuple(changed)


def _log_spec(text: str) -> str:
    from themis_desktop.core.logs.watch import LogSource

    return LogSource.parse(text).spec


def _node_settings(args: argparse.Namespace) -> tuple:
    """The profile's nodes with their `--name` (first: the others' `{node}` is the name
    given), `--version-override`, `--log`, `--data-dir` and `--config` settings."""
    from pathlib import Path

    from themis_desktop.core.connection.profiles import NodeEndpoint
    from themis_desktop.core.server.models import clean_version

    def absolute(path: str) -> str:  # a profile outlives the working folder
        return str(Path(path).absolute())

    def name(text: str) -> str:
        if not text.strip():
            raise ValueError("a node's name cannot be empty")
        return text.strip()

    def version(text: str) -> str:
        try:
            return clean_version(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a version number (e.g. 1.2.0)") from None

    nodes = tuple(NodeEndpoint(url) for url in args.urls)
    nodes = _per_node(nodes, "--name", args.node_name or [], "name", name)
    names = [node.name for node in nodes]
    if len(set(names)) != len(names):
        raise ValueError(
            "two nodes have the same name: give each node its own with --name, once per URL"
        )
    nodes = _per_node(
        nodes, "--version-override", args.version_override or [], "version_override", version
    )
    nodes = _per_node(nodes, "--log", args.log or [], "log_source", _log_spec)
    nodes = _per_node(nodes, "--data-dir", args.data_dir or [], "data_dir", absolute)
    return _per_node(nodes, "--config", args.config or [], "config_path", absolute)


def _router_config(args: argparse.Namespace) -> Any:
    """How rollouts shift traffic (`--router`); demo uses the --control-url too."""
    from themis_desktop.core.rollout.traffic import RouterConfig

    if args.router_cmd and args.router != "commands":
        raise ValueError("--router-cmd goes with --router commands")
    return RouterConfig(
        args.router,
        control_url=(args.control_url or "") if args.router == "demo" else "",
        command=args.router_cmd or "",
    )


def _service_config(args: argparse.Namespace) -> Any:
    """The ServiceConfig of `profiles add`; ValueError for options of another kind."""
    from themis_desktop.core.service.config import ServiceConfig

    given = {
        "--unit": args.unit,
        "--stop-cmd": args.stop_cmd,
        "--start-cmd": args.start_cmd,
        "--install-cmd": args.install_cmd,
        "--binary": args.binary,
        "--reload-cmd": args.reload_cmd,
        "--pid-file": args.pid_file,
        "--control-url": args.control_url,
    }
    allowed = {
        "manual": (),
        "systemd": ("--unit", "--install-cmd", "--binary"),
        "commands": (
            "--stop-cmd",
            "--start-cmd",
            "--install-cmd",
            "--binary",
            "--reload-cmd",
            "--pid-file",
        ),
        "demo": ("--control-url",),
    }[args.service]
    stray = [name for name, value in given.items() if value and name not in allowed]
    if stray:
        raise ValueError(f"{', '.join(stray)} does not apply to --service {args.service}")
    return ServiceConfig(
        args.service,
        unit=args.unit or "themisdb",
        stop=args.stop_cmd or "",
        start=args.start_cmd or "",
        install=args.install_cmd or "",
        control_url=args.control_url or "",
        check=args.check_cmd or "",
        binary=args.binary or "",
        reload=args.reload_cmd or "",
        pid_file=args.pid_file or "",
        stop_timeout=args.stop_timeout,
        write_check=args.write_check,
    )


def _service_text(service: Any) -> str:
    """`manual`, `systemd themisdb`, `commands`, `demo http://…` for `profiles list`."""
    detail = {"systemd": service.unit, "demo": service.control_url}.get(service.kind, "")
    return f"{service.kind} {detail}".strip()


def main(argv: list[str] | None = None) -> int:
    """Run the command line; exit 2 for bad input and for a journal that cannot be used
    (damaged, read-only, disk full: `JournalError` says what to do). Known tokens never
    reach the terminal (`secrets.redacted_output`)."""
    from themis_desktop.core.connection import secrets
    from themis_desktop.core.journal.store import JournalError

    args = build_parser().parse_args(argv)
    secrets.token_from_env(getattr(args, "token_env", None))  # --token-env's value is secret
    with secrets.redacted_output():
        try:
            return _run(args)
        except BrokenPipeError:  # e.g. `themis-desktop releases | head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except (ValueError, JournalError) as exc:  # bad addresses, a journal that is unusable
            print(f"themis-desktop: {exc}", file=sys.stderr)
            return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "demo-server":
        from themis_desktop.demo.main import run

        return run(args)
    if args.command == "status":
        return cmd_status(args)
    if args.command == "updates":
        return cmd_updates(args)
    if args.command == "profiles":
        return cmd_profiles(args)
    if args.command == "path":
        return cmd_path(args)
    if args.command == "releases":
        return cmd_releases(args)
    if args.command == "guide":
        return cmd_guide(args)
    if args.command == "report":
        from themis_desktop.cli.session import cmd_report

        return cmd_report(args)
    if args.command == "rollout":
        from themis_desktop.cli.rollout import cmd_rollout

        return cmd_rollout(args)
    if args.command == "session":
        from themis_desktop.cli.session import cmd_session

        return cmd_session(args)
    if args.command == "rollback-window":
        from themis_desktop.cli.session import cmd_rollback_window

        return cmd_rollback_window(args)
    if args.command == "logs":
        from themis_desktop.cli.logs import cmd_logs

        return cmd_logs(args)
    if args.command == "metrics":
        from themis_desktop.cli.metrics import cmd_metrics

        return cmd_metrics(args)
    if args.command == "config":
        from themis_desktop.cli.config import cmd_config

        return cmd_config(args)
    if args.command in ("backup", "verify", "restore", "backups"):
        return {
            "backup": cmd_backup,
            "verify": cmd_verify,
            "restore": cmd_restore,
            "backups": cmd_backups,
        }[args.command](args)
    from themis_desktop.ui.app import run_gui

    if args.self_test:
        from themis_desktop.ui.self_test import run_self_test

        return run_self_test()
    if args.review:
        from themis_desktop.ui.review import run_review

        return run_review(args.review)
    return run_gui(demo=args.demo, profile=args.profile, demo_version=args.demo_version)
