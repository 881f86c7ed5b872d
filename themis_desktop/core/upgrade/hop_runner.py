"""The work of a hop on every node: pre-checks, the verified backup, the upgrade step,
validation, and the six-step rollback. Each step's outcome goes into the session's journal
and to a live log; a failure stops with a message that says what to do next.

Runs in a worker thread (one journal connection per call, as the journal wants). Each
step announces what it changed in `HopContext.changed` (a `util.changes.ChangeLog`:
sessions, events, backups, nodes), also when it fails half-way, so views reload what is
affected.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from themis_desktop.core.backup import catalog as backup_catalog
from themis_desktop.core.backup import write_readings
from themis_desktop.core.backup.archive_format import Manifest
from themis_desktop.core.backup.catalog import BackupRecord
from themis_desktop.core.backup.operations import NodeJob, back_up_and_record_all, restore_node
from themis_desktop.core.backup.restore import compare_tree, remember_checksum, verify
from themis_desktop.core.backup.version_guard import refuse_newer
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal, utc_now
from themis_desktop.core.logs.start_watch import StartWatch
from themis_desktop.core.server import errors
from themis_desktop.core.server.data_check import check_data
from themis_desktop.core.service.control import Confirm, controller_for
from themis_desktop.core.service.installed_version import installed_version, is_era_a
from themis_desktop.core.upgrade import prediction, start_failure, step_timing
from themis_desktop.core.upgrade.hop_backups import hop_backups
from themis_desktop.core.upgrade.restore_points import RestorePoint
from themis_desktop.core.upgrade.session import Hop, SessionError, UpgradeSession
from themis_desktop.core.upgrade.steps import steps_now
from themis_desktop.core.util.changes import ChangeLog, Topic
from themis_desktop.core.util.paths import default_backup_dir

if TYPE_CHECKING:
    from themis_desktop.core.server.client import ThemisClient
    from themis_desktop.core.service.control import StepOutput

Log = Callable[[str], None]
READY_TIMEOUT_S = 120.0
ROLLBACK_STEPS = (
    "stop services",
    "restore data and config",
    "reinstall the previous version",
    "verify data integrity",
    "resume services",
    "document the issues",
)
STEP_NAMES = {
    "pre-checks": "The pre-checks",
    "backup": "The backup",
    "upgrade": "The upgrade step",
    "validate": "Validation",
}


class NodeService(Protocol):
    """What the steps ask of a node's service (a `service.control.ServiceController`)."""

    def stop(self, node: NodeEndpoint) -> StepOutput: ...
    def start(self, node: NodeEndpoint) -> StepOutput: ...
    def install(self, node: NodeEndpoint, version: str) -> StepOutput: ...


class HopExecutor(Protocol):
    """Runs the upgrade or the rollback step's work on the nodes instead of the app's own
    node-by-node actions (core/fleet/ansible_run.py: an Ansible play). The step around it
    stays the same: its checks, transitions and journal; the executor journals its own
    events and raises (a SessionError saying what to do) when the work did not succeed."""

    def upgrade(
        self, ctx: HopContext, journal: Journal, session: UpgradeSession, hop: Hop
    ) -> None: ...

    def rollback(
        self, ctx: HopContext, journal: Journal, session: UpgradeSession, hop: Hop
    ) -> None: ...


@dataclass
class HopContext:
    """What a step needs besides the session: the profile, its token, service control."""

    profile: Profile
    token: str | None
    controller: NodeService
    journal_path: Path | None = None
    backup_dir: Path | None = None
    log: Log = field(default=lambda line: None)
    ready_timeout: float = READY_TIMEOUT_S
    cancelled: threading.Event = field(default_factory=threading.Event)
    changed: ChangeLog = field(default_factory=ChangeLog)  # what the steps changed
    executor: HopExecutor | None = None  # the profile's executor (an `ansible` profile's)

    def journal(self) -> Journal:
        return Journal(self.journal_path)


def hop_context(
    profile: Profile,
    token: str | None,
    *,
    journal_path: Path | None = None,
    backup_dir: Path | None = None,
    confirm: Confirm | None = None,
    log: Log | None = None,
    cancelled: threading.Event | None = None,
) -> HopContext:
    """The context of a session's or a rollout's steps, built one way for the window and
    the command line: the profile's service controller (`confirm` asks before a privileged
    step) and the backup folder (`paths.default_backup_dir()` unless one is chosen)."""
    return HopContext(
        profile,
        token,
        controller_for(profile.service, confirm=confirm),
        journal_path,
        Path(backup_dir) if backup_dir else default_backup_dir(),
        log or (lambda line: None),
        cancelled=cancelled if cancelled is not None else threading.Event(),
    )


@dataclass(frozen=True)
class Check:
    node: str
    name: str
    ok: bool
    detail: str
    info: bool = False  # informational only: shown, never fails the step (ok stays True)


# -- the rule of the steps -----------------------------------------------------------------


def refusal(session: UpgradeSession | None, hop: Hop | None, step: str) -> str | None:
    """Why `step` of `hop` may not run now (`session_steps.steps_now`, and `hop` must be the
    hop being worked on), in words for the user; None: it may run. The steps themselves,
    the session page and `session run STEP` all follow this one rule."""
    steps = steps_now(session)
    reason = steps.why_not(step)
    if reason is None and hop is not None and steps.hop is not None and hop.id != steps.hop.id:
        reason = (
            f"Hop {hop.label} is not the hop being worked on ({steps.hop.label} is): reload "
            "the session and run the step of its current hop."
        )
    if reason is None:
        return None
    return f"{STEP_NAMES.get(step, step)} cannot run now. {reason} Nothing was changed."


def _allowed(journal: Journal, session: UpgradeSession, hop: Hop, step: str) -> Hop:
    """The journal's hop if `step` may run now; SessionError with the reason otherwise (the
    caller's session may be stale: another window or the command line moved on)."""
    fresh = session.reload(journal)
    why = refusal(fresh, hop, step)
    if why is not None:
        raise SessionError(why)
    return fresh.hop(hop.id)


def _check_allowed(ctx: HopContext, session: UpgradeSession, hop: Hop, step: str) -> Hop:
    with ctx.journal() as journal:
        return _allowed(journal, session, hop, step)


# -- pre-checks -------------------------------------------------------------------------


def pre_checks(ctx: HopContext, session: UpgradeSession, hop: Hop) -> list[Check]:
    """Every node answers, is ready and runs the hop's starting version."""
    with ctx.journal() as journal:
        hop = _allowed(journal, session, hop, "pre-checks")
        hop = session.transition(journal, hop, "pre-checks", f"Pre-checks of hop {hop.label}")
        ctx.changed.add(Topic.SESSIONS, Topic.EVENTS)
        checks = [c for n in ctx.profile.nodes for c in _node_checks(ctx, n, hop.from_version)]
        checks += _known_issue_checks(hop)
        _record_checks(ctx, journal, session, hop, checks)
    return checks


def _known_issue_checks(hop: Hop) -> list[Check]:
    """The catalogue's known issues of the hop's versions, as informational rows."""
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.known_issues import hop_warnings
    from themis_desktop.core.versions.releases import VersionError

    try:
        warnings = hop_warnings(load_catalogue(), hop.from_version, hop.to_version)
    except VersionError:
        return []
    return [Check("all nodes", "known issue", True, text, info=True) for text in warnings]


def _node_checks(
    ctx: HopContext, node: NodeEndpoint, version: str, *, after_upgrade: bool = False
) -> list[Check]:
    """Answers, runs `version`, is ready (era B), serves its data (a read; a test key
    written and read back where the profile allows); before a hop it needs a data dir,
    after it the profile's check command runs."""
    with ctx.profile.client(node, ctx.token, timeout=5.0) as client:
        try:
            client.health()
        except errors.ThemisError as exc:
            return [Check(node.name, "answers", False, str(exc))]
        checks = [Check(node.name, "answers", True, "health OK")]
        checks.append(_version_check(client, node, version))
        try:
            ready = client.ready()
            checks.append(Check(node.name, "ready", ready.ready, ready.status))
        except errors.NotFound:
            pass  # era A has no readiness route
        except errors.ThemisError as exc:
            checks.append(Check(node.name, "ready", False, str(exc)))
        served = check_data(client, node.name, write=ctx.profile.service.write_check)
        checks.append(Check(node.name, "serves data", served.ok, served.detail))
        era = client.era or ("A" if is_era_a(version) else "B")
    if era == "B":  # its health/error side service: informational, never a failure
        from themis_desktop.core.service.side_health import probe

        side = probe(ctx.profile, node, era)
        detail = side.summary if side.reachable else f"not checked: {side.reason}"
        checks.append(Check(node.name, "side service", True, detail, info=True))
    if not after_upgrade and not node.data_dir:
        checks.append(Check(node.name, "data dir", False, "not set in the profile: no backup"))
    if after_upgrade and ctx.profile.service.check:
        checks.append(_check_script(ctx, node, version))
    return checks


def node_checks(ctx: HopContext, node: NodeEndpoint, version: str) -> list[Check]:
    """Validation's checks of one node (answers, version, ready, serves data, the profile's
    check command): what a rehearsal runs on its copy."""
    return _node_checks(ctx, node, version, after_upgrade=True)


def _record_checks(
    ctx: HopContext, journal: Journal, session: UpgradeSession, hop: Hop, checks: list[Check]
) -> None:
    for c in checks:
        mark = "ℹ" if c.info else "✓" if c.ok else "✗"
        ctx.log(f"{mark} {c.node}: {c.name} — {c.detail}")
        data = {"ok": c.ok, "hop": hop.id} | ({"info": True} if c.info else {})
        session.log(journal, "hop.check", f"{c.name}: {c.detail}", node=c.node, data=data)


def require_version(ctx: HopContext, version: str, *, stopped_ok: bool = False) -> None:
    """Every node runs `version` (as far as it can tell); SessionError before anything is
    touched otherwise. A stopped node passes only with `stopped_ok` (its files are copied)."""
    for node in ctx.profile.nodes:
        with ctx.profile.client(node, ctx.token, timeout=5.0) as client:
            try:
                client.health()
            except (errors.ConnectionRefused, errors.HostNotFound):
                if stopped_ok:
                    continue
                raise SessionError(
                    f"{node.name} does not answer: start it (or find out why it is down) "
                    "before the upgrade step. Nothing was changed."
                ) from None
            except errors.ThemisError as exc:
                raise SessionError(
                    f"{node.name} cannot be checked ({exc}); nothing was changed."
                ) from None
            check = _version_check(client, node, version)
        if not check.ok:
            raise SessionError(
                f"{node.name}: {check.detail}. This step is for nodes on {version}; nothing "
                "was changed. Check the session's state (a hop may have been rolled back)."
            )


def _version_check(client: ThemisClient, node: NodeEndpoint, expected: str) -> Check:
    try:
        info = client.version(refresh=True)
    except errors.ThemisError as exc:
        return Check(node.name, "version", False, str(exc))
    if not info.exact:
        known = node.version_override
        ok = known is None or known == expected
        return Check(node.name, "version", ok, f"era A server; profile says {known or '?'}")
    ok = info.version == expected
    return Check(node.name, "version", ok, f"runs {info.version}, expected {expected}")


# -- backups ------------------------------------------------------------------------------


def back_up(
    ctx: HopContext,
    session: UpgradeSession,
    hop: Hop,
    progress: Callable[[int, int], None] | None = None,
) -> list[BackupRecord]:
    """A verified backup of every node; the hop then counts as backed up."""
    hop = _check_allowed(ctx, session, hop, "backup")
    if ctx.backup_dir is None:
        raise SessionError("No backup folder is set.")
    require_version(ctx, hop.from_version, stopped_ok=True)  # the label must be true
    with ctx.journal() as journal:  # journaled once, before the hop's work starts
        prediction.before_hop(journal, session, hop, ctx.profile, ctx.token, ctx.log)
    started = utc_now()
    jobs = [NodeJob(node, hop.from_version) for node in ctx.profile.nodes]
    taken = _take_restore_points(ctx, hop)
    ctx.log(f"Backing up {len(jobs)} node(s) of {hop.from_version} …")
    outcomes = back_up_and_record_all(  # each recorded as it lands, with this session
        ctx.profile,
        ctx.token,
        jobs,
        ctx.backup_dir,
        session_id=session.id,
        journal_path=ctx.journal_path,
        progress=progress,
        cancelled=ctx.cancelled,
        changed=ctx.changed,
    )
    records = [o.record for o in outcomes if o.record is not None]
    for outcome in outcomes:
        ok = outcome.verified and outcome.record is not None
        ctx.log(
            f"{'✓' if ok else '✗'} {outcome.node.name}: "
            + (outcome.result.archive.name if ok and outcome.result else str(outcome.error))
        )
    with ctx.journal() as journal:
        failed = [o for o in outcomes if not o.verified or o.record is None]
        if failed or len(outcomes) < len(jobs):
            names = ", ".join(o.node.name for o in failed) or "cancelled"
            raise SessionError(f"The backup of {names} did not verify; the hop stays where it is.")
        current = session.reload(journal).hop(hop.id)
        if current.state in ("planned", "failed"):
            current = session.transition(journal, current, "pre-checks", "Backup before the hop")
        ctx.changed.add(Topic.SESSIONS, Topic.EVENTS)
        session.transition(
            journal,
            current,
            "backed-up",
            f"Verified backups of every node for hop {hop.label}",
            backups=[r.id for r in records],
            data={"backups": [r.id for r in records]},
        )
        _record_restore_points(ctx, journal, session, hop, taken)
        step_timing.record_backups(journal, session, hop, records, started, ctx.profile.nodes)
    return records


Taken = list[tuple[NodeEndpoint, RestorePoint | Exception]]  # per node: its point, or why not


def _take_restore_points(ctx: HopContext, hop: Hop) -> Taken:
    """A server-side restore point on each node whose version has them (1.5+), taken just
    before the archives so that each archive holds its tag too (upstream keeps tags in
    RocksDB: restoring an archive taken before the tag would drop it). Per node the point,
    or the error that prevented it."""
    from themis_desktop.core.upgrade import restore_points

    if not restore_points.supported(hop.from_version):
        ctx.log(f"Server restore points are not offered by {hop.from_version}")
        return []
    taken: Taken = []
    for node in ctx.profile.nodes:
        try:
            with ctx.profile.client(node, ctx.token, timeout=10.0) as client:
                point = restore_points.create_restore_point(
                    client, node.name, hop.from_version, hop.to_version
                )
        except (errors.ThemisError, restore_points.RestorePointError) as exc:
            taken.append((node, exc))
        else:
            taken.append((node, point))
    return taken


def _record_restore_points(
    ctx: HopContext,
    journal: Journal,
    session: UpgradeSession,
    hop: Hop,
    taken: Taken,
) -> None:
    """Beside the verified archives, the restore points; a failure is a warning, never the
    backup step's."""
    from themis_desktop.core.upgrade import restore_points

    for node, point in taken:
        if isinstance(point, Exception):
            ctx.log(f"⚠ {node.name}: no server restore point ({point}); the archive stands")
            session.log(
                journal,
                "hop.warning",
                f"No server restore point: {point}",
                node=node.name,
                data={"hop": hop.id, "node": node.name},
            )
            continue
        restore_points.record(journal, session, hop, point)
        ctx.log(f"✓ {node.name}: server restore point {point.tag} (sequence {point.sequence})")


# -- the upgrade step -----------------------------------------------------------------------


def upgrade(ctx: HopContext, session: UpgradeSession, hop: Hop) -> Hop:
    """stop → install → start → /health/ready → /version is the target, node by node;
    first the rehearsal gate (a passed rehearsal since the latest backup, or an override)
    and the hop's pre-flight suite, run on the spot: either refuses the step."""
    with ctx.journal() as journal:
        hop = _allowed(journal, session, hop, "upgrade")
        session = session.reload(journal)
        missing = [n for n, r in hop_backups(journal, session, hop, ctx.profile).items() if not r]
        if missing:
            raise SessionError(
                f"No verified backup of {', '.join(missing)} taken after the previous hop: "
                "back up now, then run the upgrade step."
            )
        _require_rehearsal(ctx, journal, session, hop)
        _require_preflight(ctx, journal, session, hop)
        require_version(ctx, hop.from_version)  # never upgrade a node from another version
        prediction.before_hop(journal, session, hop, ctx.profile, ctx.token, ctx.log)
        _require_executor(ctx)
        hop = session.transition(journal, hop, "upgrading", f"Upgrading {hop.label}")
        ctx.changed.add(Topic.SESSIONS, Topic.EVENTS, Topic.NODES)
        try:
            if ctx.executor is not None:
                ctx.executor.upgrade(ctx, journal, session, hop)
            for node in ctx.profile.nodes if ctx.executor is None else ():
                _node_upgrade(ctx, journal, session, node, hop)
        except Exception as exc:
            session.transition(journal, hop, "failed", f"The upgrade step failed: {exc}")
            raise
        return session.transition(
            journal,
            hop,
            "validating",
            f"{hop.to_version} answers on every node",
            finished_at=utc_now(),
        )


def _require_executor(ctx: HopContext) -> None:
    """An `ansible` profile's steps run only through its executor (never half by the app)."""
    if ctx.executor is None and ctx.profile.service.executor != "app":
        raise SessionError(
            f"{ctx.profile.name} runs its upgrades and rollbacks through "
            f"{ctx.profile.service.executor}, which this caller did not set up. Nothing was "
            "changed: run the step from the session page or `themis-desktop session`."
        )


def _require_rehearsal(
    ctx: HopContext, journal: Journal, session: UpgradeSession, hop: Hop
) -> None:
    """A passed rehearsal of the hop since its latest verified backup, or an override
    (`rehearsal_gate`); SessionError with the gate's refusal otherwise."""
    from themis_desktop.core.upgrade import rehearsal_gate

    state = rehearsal_gate.require(journal, session, hop, ctx.profile)
    if state.override is not None:
        ctx.log(f"⚠ rehearsal gate overridden: {state.override.note}")
    else:
        ctx.log("✓ rehearsal: passed on a copy")


def _require_preflight(
    ctx: HopContext, journal: Journal, session: UpgradeSession, hop: Hop
) -> None:
    """The whole pre-flight suite, run on the spot (an earlier run may be stale) and
    journaled; SessionError naming the blocking checks while it is blocked. Warnings are
    logged and never block."""
    from themis_desktop.core.upgrade import preflight

    result = preflight.run_preflight(ctx, session, hop, journal=journal)
    ctx.changed.add(Topic.EVENTS)
    for check in result.results:
        if check.status == "fail":
            mark = "✗" if check.blocks else "⚠"
            ctx.log(f"{mark} pre-flight {check.name}: {check.message}")
    if result.verdict == "blocked":
        raise SessionError(preflight.refusal(result, ctx.profile.name))
    ctx.log(f"✓ pre-flight: {'ready' if result.verdict == 'ready' else 'ready with warnings'}")


def _node_upgrade(
    ctx: HopContext, journal: Journal, session: UpgradeSession, node: NodeEndpoint, hop: Hop
) -> None:
    version = hop.to_version
    write_readings.before_stop(journal, ctx.profile, ctx.token, node)  # writes at risk
    with step_timing.measure(journal, session, hop, node, "upgrade"):  # each step's time
        upgrade_node(
            ctx,
            node,
            version,
            lambda action, call: _run(ctx, journal, session, node, action, call),
            rollback_to=hop.from_version,
        )
    ctx.log(f"✓ {node.name}: {version} is ready")
    session.log(journal, "hop.node-upgraded", f"{node.name} runs {version}", node=node.name)


def upgrade_node(
    ctx: HopContext,
    node: NodeEndpoint,
    version: str,
    run: Callable[[str, Callable[[], StepOutput]], None],
    rollback_to: str | None = None,
) -> None:
    """stop → install `version` → start → `/health/ready` → answers as `version`.
    `run(action, call)` performs each service action (and records it as its caller wants).
    Before the start, the installed binary must say `version` where it can be asked."""
    run("stop", lambda: ctx.controller.stop(node))
    run(f"install {version}", lambda: ctx.controller.install(node, version))
    confirm_installed(ctx, node, version)
    start_and_wait(
        ctx, node, version, lambda: run("start", lambda: ctx.controller.start(node)), rollback_to
    )
    _expect_version(ctx, node, version)


def confirm_installed(
    ctx: HopContext,
    node: NodeEndpoint,
    version: str,
    then: str = "run the step again, or roll back",
) -> None:
    """The version `node`'s service would start as is `version` (`themis_server --version`,
    or the demo instance's word); SessionError naming both otherwise, before any start.
    No reading (manual control, no binary in the profile, an era-A target): logged, go on."""
    reading = installed_version(ctx.profile.service, node, expected=version)
    if reading.version is None:
        ctx.log(f"… {node.name}: installed version not checked: {reading.reason}")
        return
    if reading.version != version:
        raise SessionError(
            f"{node.name}: the installed ThemisDB is {reading.version}, not {version} "
            f"({reading.reason}). The node was left stopped rather than started on the wrong "
            f"version. Install {version} on it (check the profile's install command and "
            f"binary), then {then}."
        )
    ctx.log(f"✓ {node.name}: {version} is installed")


def _run(
    ctx: HopContext,
    journal: Journal,
    session: UpgradeSession,
    node: NodeEndpoint,
    action: str,
    call: Callable[[], StepOutput],
) -> None:
    ctx.log(f"… {node.name}: {action}")
    try:
        out = call()
    except Exception as exc:
        session.log(
            journal,
            "service.failed",
            f"{action}: {exc}",
            node=node.name,
            data={"action": action, "output": _redacted(getattr(exc, "output", ""), ctx.token)},
        )
        raise
    session.log(
        journal,
        "service.step",
        f"{action}: {out.command} (exit {out.returncode}, {out.seconds:.1f} s)",
        node=node.name,
        data={
            "action": action,
            "command": out.command,
            "returncode": out.returncode,
            "seconds": round(out.seconds, 3),
            "output": _redacted(out.output, ctx.token),
        },
    )


def _check_script(ctx: HopContext, node: NodeEndpoint, version: str) -> Check:
    """The profile's own check (a read of known keys, a smoke test) for one node."""
    from themis_desktop.core.service.control import ServiceError, fill, run_command

    try:
        command = fill(ctx.profile.service.check, node, version)
        out = run_command(["/bin/sh", "-c", command], command, node, "check", 300.0)
    except (ServiceError, ValueError) as exc:
        return Check(node.name, "check script", False, _redacted(str(exc), ctx.token))
    last = out.output.strip().splitlines()[-1:] or ["exit 0"]
    return Check(node.name, "check script", True, _redacted(last[0], ctx.token))


def _redacted(text: str, token: str | None) -> str:
    """Command output as the journal keeps it: never with the token in it."""
    return text.replace(token, "[token]") if token and text else text


def start_and_wait(
    ctx: HopContext,
    node: NodeEndpoint,
    version: str,
    start: Callable[[], object],
    rollback_to: str | None = None,
) -> None:
    """`start()` the node's service as `version`, then `wait_ready`, watching its log from
    just before the start: a server that logs an error instead of coming up is reported
    with its own words (and the known issue they show), without waiting out the timeout."""
    watch = StartWatch(node)
    try:
        try:
            start()
        except Exception as exc:  # the service manager saw it fail: the log says why
            reason = watch.reason()
            if reason:
                text = start_failure.explain(node.name, version, reason, rollback_to)
                raise SessionError(f"{text} ({exc})") from exc
            raise
        wait_ready(ctx, node, version=version, watch=watch, rollback_to=rollback_to)
    finally:
        watch.close()


def wait_ready(
    ctx: HopContext,
    node: NodeEndpoint,
    *,
    version: str | None = None,
    watch: StartWatch | None = None,
    rollback_to: str | None = None,
) -> None:
    """Until the node answers ready (`/health/ready`, or `/health` on era A) and serves its
    data (`check_data`: `/health` alone says healthy over a closed database)."""
    deadline = time.monotonic() + ctx.ready_timeout
    last, answered = "no answer yet", False
    with ctx.profile.client(node, ctx.token, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if ctx.cancelled.is_set():
                raise SessionError("Cancelled while waiting for the node to be ready.")
            answered, last = _answers_ready(client)
            if answered:
                served = check_data(client, node.name, write=ctx.profile.service.write_check)
                if served.ok:
                    return
                last = f"answers, but {served.detail}"
            else:  # only a server that does not answer is explained by its log's errors
                # (one that answers may log its clients' failed requests as errors)
                _raise_start_failure(node, version, watch, rollback_to)
            ctx.cancelled.wait(0.2)
    if not answered:
        _raise_start_failure(node, version, watch, rollback_to)
    where = "" if watch and watch.watching else " (set a log source in the profile to see why)"
    raise SessionError(
        f"{node.name} was not ready within {ctx.ready_timeout:.0f} s ({last}). Look at its "
        f"service log{where}; roll back if it does not come up."
    )


def _raise_start_failure(
    node: NodeEndpoint, version: str | None, watch: StartWatch | None, rollback_to: str | None
) -> None:
    """SessionError in the server's words when its log has an error since the start."""
    reason = watch.reason() if watch else None
    if reason:
        raise SessionError(start_failure.explain(node.name, version or "?", reason, rollback_to))


def _answers_ready(client: ThemisClient) -> tuple[bool, str]:
    """(ready, what it said): `/health/ready` on era B, `/health` where there is none."""
    try:
        try:
            ready = client.ready()
            return ready.ready, f"not ready ({ready.status})"
        except errors.NotFound:
            client.health()
            return True, "healthy"
    except errors.ThemisError as exc:
        return False, str(exc)


def _expect_version(ctx: HopContext, node: NodeEndpoint, version: str) -> None:
    with ctx.profile.client(node, ctx.token, timeout=5.0) as client:
        info = client.version(refresh=True)
    if info.exact and info.version != version:
        raise SessionError(f"{node.name} answers as {info.version}, not {version}.")


# -- validation -----------------------------------------------------------------------------


def validate(ctx: HopContext, session: UpgradeSession, hop: Hop) -> list[Check]:
    """Health, readiness and version of every node (and the profile's check command); a
    failure raises the trigger "failed validation" and the hop fails (ready to roll back)."""
    hop = _check_allowed(ctx, session, hop, "validate")
    checks: list[Check] = []
    took: dict[str, float] = {}  # per node: how long its checks took
    for node in ctx.profile.nodes:
        began = time.monotonic()
        checks += _node_checks(ctx, node, hop.to_version, after_upgrade=True)
        took[node.name] = time.monotonic() - began
    with ctx.journal() as journal:
        for name, seconds in took.items():
            step_timing.record(journal, session, hop, name, "validation", seconds, phase="validate")
        _record_checks(ctx, journal, session, hop, checks)
        ctx.changed.add(Topic.SESSIONS, Topic.EVENTS)
        bad = [c for c in checks if not c.ok]
        if bad:
            note = "; ".join(f"{c.node} {c.name}: {c.detail}" for c in bad)
            session.raise_trigger(journal, "failed-validation", note)
            session.transition(journal, hop, "failed", f"Validation failed: {note}")
        else:
            session.transition(journal, hop, "done", f"Hop {hop.label} validated")
    return checks


# -- rollback ---------------------------------------------------------------------------------


def rollback(ctx: HopContext, session: UpgradeSession, hop: Hop, note: str) -> Hop:
    """The six steps of the rollback procedure. The hop's backups are verified first: if
    one fails, nothing is stopped or changed."""
    if not note.strip():
        raise SessionError("Write down what went wrong: a rollback needs a note.")
    with ctx.journal() as journal:
        session = session.reload(journal)
        hop = session.hop(hop.id)
        records = rollback_backups(journal, session, hop, ctx.profile)
        manifests: dict[str, Manifest] = {}
        for node in ctx.profile.nodes:
            record = records[node.name]
            refuse_newer(Path(record.path), hop.from_version, record)  # before anything stops
            ctx.log(f"… verifying {Path(record.path).name}")
            report = verify(Path(record.path), cancelled=ctx.cancelled, recorded=record)
            if not report.ok or report.manifest is None:
                raise SessionError(
                    f"The backup of {node.name} ({Path(record.path).name}) failed verification: "
                    f"{'; '.join(report.problems[:3])}. Nothing was stopped or changed. Restore "
                    "an older verified backup by hand (Backups page), or fix forward."
                )
            remember_checksum(report)
            manifests[node.name] = report.manifest
        _require_executor(ctx)
        hop = session.transition(
            journal,
            hop,
            "rolling-back",
            f"Rolling back {hop.label}: {note}",
            data={"note": note, "backups": [r.id for r in records.values()]},
        )
        ctx.changed.add(Topic.SESSIONS, Topic.EVENTS, Topic.NODES)
        try:
            if ctx.executor is not None:
                ctx.executor.rollback(ctx, journal, session, hop)
            own = ROLLBACK_STEPS[:5] if ctx.executor is None else ()  # else the executor's
            for step, action in enumerate(own, start=1):
                ctx.log(f"Step {step}/6: {action}")
                for node in ctx.profile.nodes:
                    timed = step_timing.ROLLBACK_STEP.get(step)  # else: its service actions
                    with step_timing.measure(journal, session, hop, node, "rollback", timed):
                        _rollback_step(ctx, journal, session, node, step, hop, records, manifests)
                session.log(
                    journal,
                    "rollback.step",
                    f"Step {step}/6 done: {action}",
                    data={"step": step, "hop": hop.id},
                )
        except Exception as exc:
            session.log(
                journal,
                "rollback.step",
                f"Rollback stopped: {exc}",
                data={"ok": False, "hop": hop.id},
            )
            session.transition(journal, hop, "failed", f"Rollback stopped: {exc}")
            raise
        ctx.log("Step 6/6: document the issues")
        return session.transition(
            journal,
            hop,
            "rolled-back",
            f"Rolled back to {hop.from_version}: {note}",
            note=note,
            data={"note": note},
        )


def rollback_hop(session: UpgradeSession) -> Hop | None:
    """The hop a rollback would undo (`UpgradeSession.rollback_hop`): the GUI's Roll back
    now and `themis-desktop session rollback` both ask this one function."""
    return session.rollback_hop


def nothing_to_roll_back(session: UpgradeSession) -> str:
    """Why there is no hop to roll back, in words for the user (when `rollback_hop` is None)."""
    rolled = session.rolled_back
    if rolled is not None:
        note = f": {rolled.note}" if rolled.note else ""
        return (
            f"Hop {rolled.label} of session {session.id} was upgraded and rolled back "
            f"already (it runs {rolled.from_version} again{note}); nothing is left to roll "
            "back. Plan a new session to try the upgrade again."
        )
    return (
        f"No hop of session {session.id} was upgraded yet: nothing to roll back (the nodes "
        "still run the version they had)."
    )


def reversibility(hop: Hop) -> tuple[bool, str]:
    """Whether `hop` is a point of no return (a binary swap cannot undo it: rolling back
    means restoring the backup taken before it) and the catalogue's note on it. A hop the
    catalogue cannot judge counts as one (the safe side)."""
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    try:
        plan = plan_upgrade(load_catalogue(), hop.from_version, hop.to_version)
    except Exception as exc:  # a broken user catalogue or an unknown version
        return True, f"The release catalogue cannot say how this hop rolls back ({exc})."
    steps = [h for h in plan.hops if h.reversibility != "binary-swap"]
    if not steps:
        return False, " ".join(h.reversibility_note for h in plan.hops if h.reversibility_note)
    return True, " ".join(h.reversibility_note for h in steps if h.reversibility_note)


def upgrade_question(
    hop: Hop,
    backups: dict[str, BackupRecord | None],
    reversibility: tuple[bool, str],
    now: datetime | None = None,
) -> tuple[bool, str]:
    """What the upgrade step of `hop` does and what cannot be undone, asked before it runs:
    (point of no return, the words). On a point of no return, rolling back means restoring
    the backup of its time, and every write after the upgrade is lost."""
    from themis_desktop.core.journal.store import parse_utc
    from themis_desktop.core.util.formatting import human_duration

    no_return, note = reversibility
    taken = min(parse_utc(r.created_at) for r in backups.values() if r is not None)
    when = taken.astimezone().strftime("%Y-%m-%d %H:%M")
    age = human_duration(((now or datetime.now(UTC)) - taken).total_seconds())
    text = (
        f"Run the upgrade step of hop {hop.label} now?\n\n"
        f"Each node ({', '.join(backups)}) is stopped, {hop.to_version} is installed and "
        "started; the node serves no requests until it is ready again."
    )
    if no_return:
        return True, text + (
            f"\n\nThis hop is the point of no return. {note}\n\nAfter this step, rolling "
            f"back means restoring the backup of {when} ({age} ago): every write made after "
            f"the upgrade is lost. Reinstalling {hop.from_version} alone cannot undo it."
        )
    return False, text + (
        f"\n\nIf it goes wrong, Roll back now reinstalls {hop.from_version} and restores the "
        f"backup of {when} ({age} ago); writes made after the upgrade are lost then."
    )


@dataclass(frozen=True)
class RollbackQuestion:
    """What Roll back now does and what cannot be undone: the GUI's dialog and
    `themis-desktop session rollback` ask with these words (`rollback_question`)."""

    title: str
    prompt: str  # the question itself, answered yes or no
    happens: str  # what the six steps do
    backups: tuple[str, ...]  # per node: the backup restored, its age, what it replaces
    window: str | None  # the rollback window, when the hop was upgraded
    lost: str  # what cannot be undone
    missing: str | None  # nodes without a backup: the rollback refuses
    restore_points: tuple[str, ...] = ()  # per node: its server restore point (1.5+)
    known_issues: tuple[str, ...] = ()  # of the version returned to, that get in the way
    writes_at_risk: tuple[str, ...] = ()  # per node: the writes a restore loses (rollback_cost)

    @property
    def text(self) -> str:
        """The question as plain text (a terminal)."""
        parts = [self.happens, "\n".join(f"  {line}" for line in self.backups)]
        parts.append("\n".join(f"  {line}" for line in self.writes_at_risk))
        parts.append("\n".join(f"  {line}" for line in self.restore_points))
        parts.append("\n".join(self.known_issues))
        parts += [self.window or "", self.lost, self.missing or ""]
        return "\n\n".join(p for p in parts if p)


def rollback_question(
    hop: Hop,
    profile: Profile,
    backups: dict[str, BackupRecord | None],
    now: datetime | None = None,
    restore_points: Sequence[RestorePoint] = (),
    writes_at_risk: Sequence[str] = (),
) -> RollbackQuestion:
    """The words asked before rolling `hop` back: each node's backup (`backups`, by node
    name, as `rollback_candidates` finds them), its age and the data dir it replaces, the
    rollback window, and that writes since the backups are lost; beside them, the server
    restore points taken before the hop (`restore_points.hop_restore_points`)."""
    from themis_desktop.core.journal.store import parse_utc
    from themis_desktop.core.upgrade import restore_points as points
    from themis_desktop.core.upgrade.rollback_window import describe, window
    from themis_desktop.core.util.formatting import human_duration

    now = now or datetime.now(UTC)
    label, previous = hop.label, hop.from_version
    lines, missing = [], []
    for node in profile.nodes:
        record = backups.get(node.name)
        if record is None:
            missing.append(node.name)
            continue
        age = human_duration((now - parse_utc(record.created_at)).total_seconds())
        replaces = node.data_dir or "its data dir (not set in the profile)"
        lines.append(f"{node.name}: {Path(record.path).name}, taken {age} ago; replaces {replaces}")
    return RollbackQuestion(
        title=f"Roll back {label}",
        prompt=f"Roll back {label}?",
        happens=(
            f"Roll back hop {label} to {previous}: every node of {profile.name} is stopped, "
            f"its data and config are restored from the backups taken before {label}, "
            f"{previous} is reinstalled, the restored files are checked against each "
            "backup's manifest and the service is started again."
        ),
        backups=tuple(lines),
        window=f"Rollback window: {describe(window(hop.finished, now))}." if hop.finished else None,
        lost=(
            "Writes made since the backups are lost: this cannot be undone from here (the "
            "replaced data is kept beside each data dir as <data dir>.pre-restore-<time>, "
            f"to reconcile by hand). The path stops at this hop: {label} is not run again "
            "in this session; a new session plans the upgrade again."
        ),
        missing=(
            f"No backup of {', '.join(missing)}: the rollback will refuse (nothing is "
            "stopped or changed)."
            if missing
            else None
        ),
        restore_points=tuple(points.describe(p, now) for p in restore_points),
        known_issues=tuple(_rollback_issues(previous)),
        writes_at_risk=tuple(writes_at_risk),  # `rollback_cost.rollback_lines`
    )


def _rollback_issues(back_to: str) -> list[str]:
    """The catalogue's known issues of `back_to` that get in a rollback's way."""
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.known_issues import rollback_warnings
    from themis_desktop.core.versions.releases import VersionError

    try:
        return rollback_warnings(load_catalogue(), back_to)
    except VersionError:
        return []


def rollback_candidates(
    journal: Journal, session: UpgradeSession, hop: Hop, profile: Profile
) -> dict[str, BackupRecord | None]:
    """Per node, the backup a rollback of `hop` would restore (None: there is none): the
    one attached to the hop when it was backed up, else the newest fitting one."""
    attached = {}
    for backup_id in hop.backups:
        record = backup_catalog.find(journal, backup_id)
        if record is not None and record.profile == profile.name:
            attached[record.node] = record
    found = {
        n: attached.get(n) or r for n, r in hop_backups(journal, session, hop, profile).items()
    }
    return {n: r if r is not None and r.exists else None for n, r in found.items()}


def rollback_backups(
    journal: Journal, session: UpgradeSession, hop: Hop, profile: Profile
) -> dict[str, BackupRecord]:
    """The backups a rollback of `hop` restores: those attached to the hop when it was
    backed up, else the newest fitting ones (the confirmation names exactly these)."""
    found = rollback_candidates(journal, session, hop, profile)
    missing = [n for n, r in found.items() if r is None]
    if missing:
        raise SessionError(
            f"No backup of {', '.join(missing)} for hop {hop.label}: a rollback needs the data "
            "from before the hop. Restore an older backup by hand from the Backups page."
        )
    return found  # type: ignore[return-value]


def _rollback_step(
    ctx: HopContext,
    journal: Journal,
    session: UpgradeSession,
    node: NodeEndpoint,
    step: int,
    hop: Hop,
    records: dict[str, BackupRecord],
    manifests: dict[str, Manifest],
) -> None:
    if step == 1:
        _run(ctx, journal, session, node, "stop", lambda: ctx.controller.stop(node))
    elif step == 2:
        if not node.data_dir:
            raise SessionError(f"{node.name} has no data dir in its profile: cannot restore.")
        result = restore_node(  # checked against the manifest, journaled as backup.restored
            node,
            records[node.name],
            session_id=session.id,
            journal_path=ctx.journal_path,
            cancelled=ctx.cancelled,
            changed=ctx.changed,
            binary_version=hop.from_version,  # a backup newer than it is refused
        )
        for line in (*result.recovered, *result.notes):
            ctx.log(line)
        ctx.log(f"✓ {node.name}: data restored (the replaced data is kept as {result.kept})")
    elif step == 3:
        _run(
            ctx,
            journal,
            session,
            node,
            f"install {hop.from_version}",
            lambda: ctx.controller.install(node, hop.from_version),
        )
        confirm_installed(ctx, node, hop.from_version, "roll back again")
    elif step == 4:
        problems = compare_tree(manifests[node.name], Path(node.data_dir or ""))
        if problems:
            raise SessionError(
                f"{node.name}'s restored data differs from its backup: {'; '.join(problems[:3])}. "
                "Do not start the node; restore again from the Backups page."
            )
        ctx.log(f"✓ {node.name}: every file matches the backup's manifest")
    elif step == 5:
        start_and_wait(
            ctx,
            node,
            hop.from_version,
            lambda: _run(ctx, journal, session, node, "start", lambda: ctx.controller.start(node)),
        )
        _expect_version(ctx, node, hop.from_version)
        ctx.log(f"✓ {node.name}: {hop.from_version} is ready again")
