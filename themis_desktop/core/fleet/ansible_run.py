"""A session's upgrade and rollback steps as ansible-runner jobs (service control `ansible`).

`attach(ctx)` gives a hop's context the `AnsibleExecutor` when its profile's service control
is `ansible`; `hop_runner.upgrade` and `hop_runner.rollback` then hand their work on the nodes
to it, keeping their own checks, backups, gates and transitions. The executor exports the
hop's playbook and inventory (`ansible_export`) into the hop's private run folder and runs it
with `ansible_runner.run` in the step's worker thread: the upgrade play for the upgrade step
(each node's failure rolled back by the play's rescue, which stops the play), the rollback
play (`--tags rollback`) for the rollback step. Every task result becomes an `ansible.task`
event in the session's journal (host, task, status, duration, a bounded, redacted excerpt of
its output) and a line of the step's live log (`ansible_events`); the step's cancel flag
stops the job (`cancel_callback`), recorded as a cancelled run.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.fleet.ansible_events import RunEvents
from themis_desktop.core.fleet.ansible_export import (
    ExportOptions,
    export_files,
    host_name,
    playbook_name,
    write_files,
)
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade.hop_runner import HopContext, require_version
from themis_desktop.core.upgrade.session import Hop, SessionError, UpgradeSession
from themis_desktop.core.util.changes import Topic
from themis_desktop.core.util.paths import app_data_dir, make_private_dir

TOKEN_ENV = "THEMIS_DESKTOP_TOKEN"
JOB_TIMEOUT_S = 6 * 3600.0  # a hung play ends some time; soaks are the long part


def attach(ctx: HopContext) -> HopContext:
    """`ctx` with the executor its profile asks for (`ansible`: `AnsibleExecutor`)."""
    if ctx.profile.service.executor == "ansible":
        ctx.executor = AnsibleExecutor()
    return ctx


def run_folder(profile: Profile, session: UpgradeSession, hop: Hop) -> Path:
    """Where a hop's playbook, its runs' artifacts and (for local hosts) the play's own
    backups live: `<ansible_dir or data folder/ansible>/session-<id>/hop-<id>/`, private."""
    base = Path(profile.service.ansible_dir or app_data_dir() / "ansible").expanduser()
    folder = base / f"session-{session.id}" / f"hop-{hop.id}"
    for path in (base, base / f"session-{session.id}", folder):
        make_private_dir(path)
    return folder


def export_hop(profile: Profile, hop: Hop, folder: Path) -> str:
    """Write the hop's inventory and playbook into `folder`; the playbook's file name."""
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    service = profile.service
    local = service.controlled().kind == "demo"  # the demo's nodes run on this computer
    options = ExportOptions(
        themis_desktop=_this_command(),
        backup_dir=str(folder / "backups") if local else ExportOptions.backup_dir,
        soak=service.ansible_soak,
        interval=service.ansible_interval,
        min_samples=service.ansible_min_samples or None,
        token_env=TOKEN_ENV,
    )
    catalogue = load_catalogue()
    for skip_level in (False, True):
        plan = plan_upgrade(catalogue, hop.from_version, hop.to_version, skip_level=skip_level)
        found = [
            h
            for h in plan.hops
            if (h.source.text, h.target.text) == (hop.from_version, hop.to_version)
        ]
        if found:
            break
    else:
        raise SessionError(
            f"The release catalogue has no hop {hop.label}: the playbook cannot be written. "
            "Check the catalogue, or plan a new session."
        )
    files = export_files(profile, dataclasses.replace(plan, hops=(found[0],)), options)
    write_files(folder, files)
    return playbook_name(found[0])


class AnsibleExecutor:
    """The upgrade and rollback steps' work on the nodes as Ansible plays (`HopExecutor`)."""

    def upgrade(self, ctx: HopContext, journal: Journal, session: UpgradeSession, hop: Hop) -> None:
        """The hop's upgrade play on every node; SessionError naming the failing task and
        host (and whether the play's rescue rolled it back) when the play stopped."""
        from themis_desktop.core.backup import write_readings

        folder = run_folder(ctx.profile, session, hop)
        playbook = export_hop(ctx.profile, hop, folder)
        for node in ctx.profile.nodes:  # the writes at risk, read before the play stops any
            write_readings.before_stop(journal, ctx.profile, ctx.token, node)
        events = _run(ctx, journal, session, hop, folder, playbook, "upgrade")
        if events.status != "successful":
            raise SessionError(events.failure_text("upgrade", hop))
        require_version(ctx, hop.to_version)  # the app's own word on every node, too
        for node in ctx.profile.nodes:
            ctx.log(f"✓ {node.name}: {hop.to_version} is ready")
            session.log(
                journal,
                "hop.node-upgraded",
                f"{node.name} runs {hop.to_version} (Ansible)",
                node=node.name,
                data={"hop": hop.id},
            )

    def rollback(
        self, ctx: HopContext, journal: Journal, session: UpgradeSession, hop: Hop
    ) -> None:
        """The playbook's rollback play on every node (a node on the previous version
        already is left as it is); every node must then answer as the previous version."""
        folder = run_folder(ctx.profile, session, hop)
        playbook = playbook_name_of(folder, hop) or export_hop(ctx.profile, hop, folder)
        events = _run(ctx, journal, session, hop, folder, playbook, "rollback", tags="rollback")
        if events.status != "successful":
            raise SessionError(events.failure_text("rollback", hop))
        require_version(ctx, hop.from_version, stopped_ok=False)


def playbook_name_of(folder: Path, hop: Hop) -> str | None:
    """The playbook the upgrade step exported into `folder`, if it is there."""
    name = f"upgrade-{hop.from_version}-{hop.to_version}.yml"
    return name if (folder / name).is_file() and (folder / "inventory.yml").is_file() else None


def _run(
    ctx: HopContext,
    journal: Journal,
    session: UpgradeSession,
    hop: Hop,
    folder: Path,
    playbook: str,
    step: str,
    tags: str | None = None,
) -> RunEvents:
    """One ansible-runner job in this thread, its events journaled as they come."""
    try:
        import ansible_runner  # type: ignore[import-untyped]  # ships no type information
    except ImportError:
        raise SessionError(
            "ansible-runner is not installed, and this profile's steps run through Ansible: "
            "install it (pip install 'themis-desktop[ansible]'), then run the step again. "
            "Nothing was changed."
        ) from None
    binary = _ansible_playbook()
    hosts = {host_name(node): node.name for node in ctx.profile.nodes}
    events = RunEvents(ctx, journal, session, hop, step, hosts)
    ident = f"{step}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    ctx.log(f"… Ansible: {playbook}{' --tags ' + tags if tags else ''} (run {ident})")
    ctx.changed.add(Topic.EVENTS)
    began = time.monotonic()
    try:
        runner = ansible_runner.run(
            private_data_dir=str(folder),
            project_dir=str(folder),
            playbook=playbook,
            inventory=str(folder / "inventory.yml"),
            ident=ident,
            tags=tags,
            envvars=_environment(folder, ctx.token, binary),
            suppress_env_files=True,  # no env/ files with the token in the run folder
            event_handler=events.handle,
            cancel_callback=ctx.cancelled.is_set,
            quiet=True,
            timeout=JOB_TIMEOUT_S,
        )
    finally:
        _scrub_command_file(folder / "artifacts" / ident / "command")
    events.finish(runner.status, runner.rc, ident, time.monotonic() - began)
    return events


def _scrub_command_file(path: Path) -> None:
    """ansible-runner keeps the job's command and whole environment in `artifacts/<ident>/
    command` (0600, in a private folder); the environment holds the token: keep the command
    and the working folder only."""
    import json

    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        kept = {"command": kept.get("command"), "cwd": kept.get("cwd"), "env": "(not kept)"}
        path.write_text(json.dumps(kept), encoding="utf-8")
    except (OSError, ValueError, AttributeError):
        path.unlink(missing_ok=True)


def _ansible_playbook() -> str:
    beside = Path(sys.executable).with_name("ansible-playbook")
    found = str(beside) if beside.is_file() else shutil.which("ansible-playbook")
    if found is None:
        raise SessionError(
            "ansible-playbook is not installed, and this profile's steps run through Ansible: "
            "install ansible-core (pip install 'themis-desktop[ansible]'). Nothing was changed."
        )
    return found


def _this_command() -> str:
    """The themis-desktop beside the running interpreter (a venv's), else on PATH: the
    play's backup, gate and restore commands (the hosts of `ansible_connection: local`)."""
    beside = Path(sys.executable).with_name("themis-desktop")
    if beside.is_file():
        return str(beside)
    return shutil.which("themis-desktop") or "themis-desktop"


def _environment(folder: Path, token: str | None, binary: str) -> dict[str, Any]:
    """ansible-playbook's environment on top of ours: a UTF-8 locale (ansible-core needs
    one), its own home and temporary files in the run folder, no colours, the token (in the
    environment only: `suppress_env_files`)."""
    dirs = dict.fromkeys([str(Path(binary).parent), str(Path(sys.executable).parent)])
    env: dict[str, Any] = {
        "ANSIBLE_HOME": str(folder / ".ansible"),
        "ANSIBLE_LOCAL_TEMP": str(folder / ".ansible" / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "PYTHONWARNINGS": "ignore",
        "PATH": os.pathsep.join([*dirs, os.environ.get("PATH", "")]),
    }
    if "UTF-8" not in (os.environ.get("LC_ALL") or os.environ.get("LANG") or "").upper():
        env["LC_ALL"] = "C.UTF-8"
    if token:
        env[TOKEN_ENV] = token
    return env
