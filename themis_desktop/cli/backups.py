"""`themis-desktop backup|verify|restore|backups`: back up a node, check and restore an
archive, list and prune the backup catalogue."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict
from typing import Any

from themis_desktop.cli.common import TOKEN_ENV, ExitCode, ask_first, print_error
from themis_desktop.core.server import strict_json


def register(commands: Any) -> None:
    backup = commands.add_parser("backup", help="back up a node's data and config, verified")
    backup.add_argument("--data-dir", required=True, metavar="DIR")
    backup.add_argument("--config", action="append", default=[], metavar="FILE")
    backup.add_argument("--server", metavar="URL", help="the node, for a consistent checkpoint")
    backup.add_argument("--token-env", default=TOKEN_ENV, metavar="VAR")
    backup.add_argument(
        "--node",
        help="node name in the archive name (default: the profile's name for it, or the host)",
    )
    backup.add_argument(
        "--profile",
        default=argparse.SUPPRESS,
        help="the saved profile the node belongs to, recorded with the backup (default: the "
        "profile whose node has this --data-dir or --server)",
    )
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
    backup.set_defaults(func=cmd_backup)

    verify = commands.add_parser("verify", help="check a backup archive")
    verify.add_argument("archive", metavar="ARCHIVE")
    verify.add_argument("--quick", action="store_true", help="only the archive's own checksum")
    verify.set_defaults(func=cmd_verify)

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
    restore.add_argument(
        "--binary-version",
        metavar="X.Y.Z",
        help="the ThemisDB version that will run on the restored data (default: the "
        "installed version of the profile's node); a backup written by a newer one is refused",
    )
    restore.set_defaults(func=cmd_restore)

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
    listing.set_defaults(func=cmd_backups)


def cmd_backup(args: argparse.Namespace) -> int:
    import socket
    from pathlib import Path

    from themis_desktop.core.backup.archive_format import BackupError
    from themis_desktop.core.backup.operations import back_up_and_record
    from themis_desktop.core.connection.profiles import NodeEndpoint
    from themis_desktop.core.server.errors import ThemisError
    from themis_desktop.core.util.progress_text import TerminalBar

    if not args.server and not args.stopped:
        print_error(
            "give --server URL (a running node is backed up from a checkpoint) or --stopped "
            "(its service is stopped, the files are copied as they are)"
        )
        return ExitCode.USAGE
    owner = _owner(getattr(args, "profile", None), Path(args.data_dir), args.server)
    url = args.server or "http://127.0.0.1:1"
    default_name = NodeEndpoint(args.server).name if args.server else socket.gethostname()
    name = args.node or (owner[1] if owner and owner[1] else default_name)
    node = NodeEndpoint(
        url, name, data_dir=args.data_dir, config_path=args.config[0] if args.config else None
    )
    client = None
    if args.server:  # the HTTP client (~0.2 s of imports) only when a server is asked
        from themis_desktop.core.server.client import ThemisClient

        client = ThemisClient(args.server, os.environ.get(args.token_env))
    bar, check = TerminalBar("backup"), TerminalBar("verify")
    verifying: list[bool] = []

    def verify_step(done: int, total: int) -> None:
        if not verifying:
            verifying.append(True)
            bar.close()
        check(done, total)

    try:
        version = args.themis_version or (client.version().version if client else "unknown")
        outcome = back_up_and_record(  # the one way: the Backups page and the hops do this too
            node,
            version,
            Path(args.output).resolve(),
            client,
            profile=owner[0] if owner else None,
            verify_it=not args.no_verify,
            accept_inconsistent=args.accept_inconsistent,
            extra_configs=tuple(Path(c) for c in args.config[1:]),
            progress=bar,
            verify_progress=verify_step,
        )
    except (BackupError, ThemisError) as exc:
        print_error(exc)
        return ExitCode.FAILED
    finally:
        (check if verifying else bar).close()
        if client:
            client.close()
    result = outcome.result
    assert result is not None
    if outcome.error is not None and outcome.record is not None:  # recorded, not verified
        print_error(f"{outcome.error} (it is listed as unverified: {result.archive})")
        return ExitCode.FAILED
    for warning in result.warnings:
        print_error(f"note: {warning}")
    checksum = f"sha256 {result.sha256}" if result.sha256 else "not verified"
    print(f"{result.size} bytes, {len(result.manifest.files)} entries, {checksum}")
    print(result.archive)
    if outcome.record is None:  # NotCatalogued: written, but the journal could not say so
        print_error(outcome.error or "the backup could not be added to the catalogue")
        return ExitCode.FAILED
    return ExitCode.OK


def _owner(profile: str | None, data_dir: Any, server: str | None) -> tuple[str, str] | None:
    """(profile name, node name or "") the backup is recorded under: the named profile,
    else the one saved profile that has a node with this data dir (or this --server)."""
    import sqlite3

    from themis_desktop.cli.common import CommandError
    from themis_desktop.core.backup.operations import owner_profile
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.journal.store import Journal, JournalError

    try:
        with Journal() as journal:
            profiles = profile_store.load_all(journal)
    except (JournalError, sqlite3.Error, OSError):
        profiles = []  # the backup is still taken; recording it says what went wrong
    if profile is not None:
        named = [p for p in profiles if p.name == profile]
        if not named:
            raise CommandError(
                f"there is no saved profile {profile!r} (see `profiles list`)", ExitCode.USAGE
            )
        found = owner_profile(named, data_dir, server)
        return profile, found[1].name if found else ""
    found = owner_profile(profiles, data_dir, server)
    return (found[0].name, found[1].name) if found else None


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
        return ExitCode.OK
    print(f"DAMAGED: {archive}")
    for problem in report.problems:
        print(f"  {problem}")
    return ExitCode.FAILED


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from themis_desktop.core.backup import catalog as backup_catalog
    from themis_desktop.core.backup.archive_format import BackupError
    from themis_desktop.core.backup.operations import restore_and_check
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
        return ExitCode.USAGE
    binary = args.binary_version or _binary_version(data_dir, args.server)
    if not binary:
        print_error(
            "note: the version that will run on this data is not known (give "
            "--binary-version X.Y.Z): a backup written by a newer version is not refused"
        )
    bar = TerminalBar("restore")
    try:
        result = restore_and_check(  # checked against its manifest and journaled
            Path(args.archive),
            data_dir,
            Path(args.config_dir) if args.config_dir else None,
            progress=bar,
            node_url=args.server,
            node=args.node,
            other_node=args.other_node,
            recorded=recorded,
            binary_version=binary,  # a backup newer than it is refused
        )
    except BackupError as exc:
        bar.close()
        print_error(exc)
        return ExitCode.FAILED
    bar.close()
    for line in result.recovered:
        print(line)
    print(f"restored {result.data_dir}")
    if result.kept:
        print(f"previous data kept in {result.kept}")
    for config, previous in result.configs.items():
        print(f"restored {config} (previous kept as {previous})")
    for note in result.notes:
        print_error(f"note: {note}")
    return ExitCode.OK


def _binary_version(data_dir: Any, server: str | None) -> str | None:
    """The version the profile's node with this data dir (or URL) would start as
    (`installed_version`); None when no saved profile claims it or it cannot be told."""
    import sqlite3

    from themis_desktop.core.backup.operations import owner_profile
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.journal.store import Journal, JournalError
    from themis_desktop.core.service.installed_version import installed_version

    try:
        with Journal() as journal:
            found = owner_profile(profile_store.load_all(journal), data_dir, server)
    except (JournalError, sqlite3.Error, OSError):
        return None
    if found is None:
        return None
    profile, node = found
    return installed_version(profile.service, node).version


def cmd_backups(args: argparse.Namespace) -> int:
    from pathlib import Path

    from themis_desktop.core.backup import catalog as backup_catalog
    from themis_desktop.core.backup import swap as restore_swap
    from themis_desktop.core.backup.operations import delete_backup
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.util.formatting import human_bytes

    if args.action == "prune":
        with Journal() as journal:
            victims = backup_catalog.retention_victims(journal, args.keep)
            for record in victims:
                print(("deleting " if args.yes else "would delete ") + record.path)
                if args.yes:
                    delete_backup(journal, record)  # archive, sidecar, catalogue row
        if victims and not args.yes:
            print("run again with --yes to delete them", file=sys.stderr)
        return ExitCode.OK
    with Journal() as journal:
        profiles = profile_store.load_all(journal)
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
                    "leftovers": [{**asdict(left), "path": str(left.path)} for left in leftovers],
                },
                indent=2,
            )
        )
        return ExitCode.OK
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
    return ExitCode.OK
