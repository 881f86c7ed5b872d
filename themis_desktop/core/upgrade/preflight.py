"""The pre-flight readiness of a hop: a named suite of checks, each blocking or a warning,
each rerunnable on its own and each naming the items that fail it; one verdict over them
(ready, ready with warnings, blocked).

Every run of a check is journaled as a `preflight.check` event of the session (its hop,
severity, status, message and items), so the latest result of each check is known later
(`latest`). The upgrade step runs the whole suite on the spot before it touches a node and
refuses while it is blocked (`hop_runner.upgrade`); warnings never block.

What each check measures and the limits it uses are in its docstring. Two gaps in the data:
the release catalogue names no HTTP routes, ports or tokens per line, so the paths a target
changes are `PATH_CHANGES` below (1.8's unversioned-path redirect, from themisdb-api.md);
and neither the real server's nor the demo's log records requests (client address, user
agent, path), so `clients` can only read access lines in the combined log format where a
node's log source has them, and says so when it found none.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.errors import ThemisDesktopError
from themis_desktop.core.journal.store import Journal, parse_utc
from themis_desktop.core.server import errors
from themis_desktop.core.upgrade.hop_backups import hop_backups
from themis_desktop.core.upgrade.session import Hop, SessionError, UpgradeSession

Severity = Literal["blocking", "warning"]
Status = Literal["pass", "fail"]
Verdict = Literal["ready", "warnings", "blocked"]
EVENT = "preflight.check"

BACKUP_MAX_AGE = timedelta(hours=24)  # a backup older than this is not "recent enough"
CHECKPOINT_FACTOR = 1.0  # a server checkpoint beside the data: up to its size again
ARCHIVE_FACTOR = 1.0  # the archive in the backup folder: zstd, at worst the data's size
BINARIES_BYTES = 512 << 20  # the new version's binaries and packages on the node's disk
DISK_MARGIN = 1.1  # 10 % on top of the sum
L0_FILES_LIMIT = 20  # RocksDB's level0_slowdown_writes_trigger default
PENDING_COMPACTION_LIMIT = 64 << 30  # RocksDB's soft_pending_compaction_bytes_limit default
LOG_TAIL_BYTES = 4 << 20  # how much of a node's log the clients check reads
# HTTP paths a line changes (the catalogue has no field for them): the line, what changes,
# and which request paths are affected (themisdb-api.md: 1.8's versioned routing)
_NEVER_REDIRECTED = re.compile(
    r"^/(?:$|health|version|stats|metrics|admin/|config|entities|api/v\d+/|v\d+/)"
)
PATH_CHANGES: dict[tuple[int, int], tuple[str, Callable[[str], bool]]] = {
    (1, 8): (
        "unversioned API paths answer 301 → /v1/<path>",
        lambda path: not _NEVER_REDIRECTED.match(path),
    ),
}
# the combined log format: ADDR - USER [TIME] "METHOD PATH PROTO" STATUS SIZE "REF" "AGENT"
_ACCESS = re.compile(
    r'^(?P<addr>\S+) \S+ \S+ \[[^\]]*\] "(?P<method>[A-Z]+) (?P<path>\S+)[^"]*" \d{3} \S+'
    r'(?: "[^"]*" "(?P<agent>[^"]*)")?'
)


class PreflightContext(Protocol):
    """What the checks need of a step's context (`hop_runner.HopContext` has it)."""

    profile: Profile
    token: str | None
    backup_dir: Path | None

    def journal(self) -> Journal: ...


@dataclass(frozen=True)
class Outcome:
    """What one check found: pass or fail, in words, and the items that fail it."""

    status: Status
    message: str
    items: tuple[str, ...] = ()


CheckFunction = Callable[[PreflightContext, UpgradeSession, Hop], Outcome]


@dataclass(frozen=True)
class Check:
    """A named check of the suite."""

    name: str
    severity: Severity
    title: str
    function: CheckFunction


@dataclass(frozen=True)
class CheckResult:
    """One run of a check on a hop, as journaled."""

    name: str
    severity: Severity
    status: Status
    message: str
    items: tuple[str, ...] = ()
    at: str = ""

    @property
    def blocks(self) -> bool:
        return self.status == "fail" and self.severity == "blocking"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "severity": self.severity,
            "status": self.status,
            "message": self.message,
            "items": list(self.items),
        }


@dataclass(frozen=True)
class Preflight:
    """The results of a hop's checks (one run, or the latest of each) and their verdict."""

    hop: Hop
    results: tuple[CheckResult, ...] = field(default_factory=tuple)

    @property
    def verdict(self) -> Verdict:
        if any(r.blocks for r in self.results):
            return "blocked"
        return "warnings" if any(r.status == "fail" for r in self.results) else "ready"

    @property
    def blocking(self) -> list[CheckResult]:
        return [r for r in self.results if r.blocks]

    def as_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "checks": [r.as_json() for r in self.results]}


CHECKS: dict[str, Check] = {}


def _check(name: str, severity: Severity, title: str) -> Callable[[CheckFunction], CheckFunction]:
    def register(function: CheckFunction) -> CheckFunction:
        CHECKS[name] = Check(name, severity, title, function)
        return function

    return register


def _passed(message: str) -> Outcome:
    return Outcome("pass", message)


def _failed(message: str, items: Sequence[str]) -> Outcome:
    return Outcome("fail", message, tuple(items))


# -- running ------------------------------------------------------------------------------


def run_preflight(
    ctx: PreflightContext,
    session: UpgradeSession,
    hop: Hop,
    names: Sequence[str] | None = None,
    *,
    journal: Journal | None = None,
) -> Preflight:
    """Run the checks `names` (all, in the suite's order, by default) on `hop` and journal
    each result; a check that cannot finish fails with the reason."""
    unknown = [n for n in names or () if n not in CHECKS]
    if unknown:
        raise SessionError(
            f"No pre-flight check named {', '.join(unknown)}: the checks are {', '.join(CHECKS)}."
        )
    chosen = [CHECKS[n] for n in CHECKS if names is None or n in names]
    with _journal(ctx, journal) as open_journal:
        session = session.reload(open_journal)
        hop = session.hop(hop.id)
        results = []
        for check in chosen:
            try:
                outcome = check.function(ctx, session, hop)
            except (ThemisDesktopError, OSError, ValueError) as exc:
                outcome = _failed(f"could not be checked: {exc}", [])
            results.append(_record(open_journal, session, hop, check, outcome))
    return Preflight(hop, tuple(results))


@contextmanager
def _journal(ctx: PreflightContext, journal: Journal | None) -> Iterator[Journal]:
    if journal is not None:
        yield journal
        return
    with ctx.journal() as opened:
        yield opened


def _record(
    journal: Journal, session: UpgradeSession, hop: Hop, check: Check, outcome: Outcome
) -> CheckResult:
    data = {
        "hop": hop.id,
        "check": check.name,
        "severity": check.severity,
        "status": outcome.status,
        "items": list(outcome.items),
    }
    text = f"{check.title}: {outcome.status} — {outcome.message}"
    event = session.log(journal, EVENT, text, data=data | {"message": outcome.message})
    at = journal.event(event).ts
    return CheckResult(
        check.name, check.severity, outcome.status, outcome.message, outcome.items, at
    )


def latest(journal: Journal, session: UpgradeSession, hop: Hop) -> Preflight | None:
    """The latest result of each check run on `hop` (None: no check ran yet), in the suite's
    order; a check never run is left out (the upgrade step runs them all anyway)."""
    found: dict[str, CheckResult] = {}
    for event in journal.events(session_id=session.id, types=[EVENT]):
        data = event.data or {}
        if data.get("hop") != hop.id or data.get("check") not in CHECKS:
            continue
        found[data["check"]] = CheckResult(
            data["check"],
            data.get("severity", CHECKS[data["check"]].severity),
            data.get("status", "fail"),
            data.get("message", event.message),
            tuple(data.get("items") or ()),
            event.ts,
        )
    if not found:
        return None
    return Preflight(hop, tuple(found[n] for n in CHECKS if n in found))


def refusal(preflight: Preflight, profile: str) -> str:
    """Why the upgrade step refuses a blocked hop and how to rerun each blocking check."""
    parts = []
    for result in preflight.blocking:
        items = f" ({'; '.join(result.items[:3])}{' …' if len(result.items) > 3 else ''})"
        parts.append(f"{result.name}: {result.message}{items if result.items else ''}")
    reruns = "; ".join(
        f"themis-desktop session preflight --profile {profile} --check {r.name}"
        for r in preflight.blocking
    )
    return (
        f"The upgrade step of hop {preflight.hop.label} is blocked by its pre-flight checks. "
        + " ".join(f"{p}." if not p.endswith(".") else p for p in parts)
        + f" Fix them, rerun each on its own ({reruns}), then run the upgrade step again. "
        "Nothing was changed."
    )


# -- the checks ---------------------------------------------------------------------------


@_check("nodes", "blocking", "Every node answers, is ready and runs the hop's version")
def _nodes(ctx: PreflightContext, session: UpgradeSession, hop: Hop) -> Outcome:
    """Each node answers `/health`, is ready (`/health/ready`, era B) and runs the hop's
    starting version (`/version`; on era A the profile's version override)."""
    items = []
    for node in ctx.profile.nodes:
        problem = _node_problem(ctx, node, hop.from_version)
        if problem:
            items.append(f"{node.name}: {problem}")
    if items:
        return _failed(
            f"{len(items)} of {len(ctx.profile.nodes)} node(s) are not ready to be upgraded "
            f"from {hop.from_version}",
            items,
        )
    return _passed(f"every node answers, is ready and runs {hop.from_version}")


def _node_problem(ctx: PreflightContext, node: NodeEndpoint, expected: str) -> str | None:
    with ctx.profile.client(node, ctx.token, timeout=5.0) as client:
        try:
            client.health()
        except errors.ThemisError as exc:
            return f"does not answer ({exc})"
        try:
            ready = client.ready()
            if not ready.ready:
                return f"not ready ({ready.status})"
        except errors.NotFound:
            pass  # era A has no readiness route
        except errors.ThemisError as exc:
            return f"readiness unknown ({exc})"
        try:
            info = client.version(refresh=True)
        except errors.ThemisError as exc:
            return f"version unknown ({exc})"
    if not info.exact:  # era A: only the profile can say (as the hop's pre-checks do)
        known = node.version_override
        return None if known in (None, expected) else f"profile says {known}, expected {expected}"
    return None if info.version == expected else f"runs {info.version}, expected {expected}"


def _version(client: Any, node: NodeEndpoint) -> str:
    try:
        info = client.version(refresh=True)
    except errors.ThemisError:
        return "unknown"
    return str(info.version) if info.exact else node.version_override or "era A (unknown)"


@_check("version-skew", "blocking", "No version skew between the nodes")
def _skew(ctx: PreflightContext, session: UpgradeSession, hop: Hop) -> Outcome:
    """The nodes that answer all run one version."""
    versions: dict[str, str] = {}
    for node in ctx.profile.nodes:
        with ctx.profile.client(node, ctx.token, timeout=5.0) as client:
            try:
                client.health()
            except errors.ThemisError:
                continue  # the nodes check names it
            versions[node.name] = _version(client, node)
    if len(set(versions.values())) > 1:
        return _failed(
            f"the nodes run {len(set(versions.values()))} different versions",
            [f"{name}: {version}" for name, version in versions.items()],
        )
    return _passed(f"{len(versions)} answering node(s) run one version")


@_check("backup", "blocking", "A recent verified backup of every node")
def _backup(ctx: PreflightContext, session: UpgradeSession, hop: Hop) -> Outcome:
    """Every node has a verified backup of the hop's starting version, taken since the
    previous hop finished (`hop_backups`) and within `BACKUP_MAX_AGE`."""
    now = datetime.now(UTC)
    items = []
    with ctx.journal() as journal:
        found = hop_backups(journal, session, hop, ctx.profile)
    for node, record in found.items():
        if record is None:
            items.append(
                f"{node}: no verified backup of {hop.from_version} since the hop became "
                "current: run the backup step"
            )
            continue
        age = now - parse_utc(record.created_at)
        if age > BACKUP_MAX_AGE:
            hours = age.total_seconds() / 3600
            items.append(
                f"{node}: newest verified backup is {hours:.0f} h old (limit "
                f"{BACKUP_MAX_AGE.total_seconds() / 3600:.0f} h): back up again"
            )
    if items:
        return _failed(f"{len(items)} node(s) lack a recent verified backup", items)
    return _passed(f"every node has a verified backup of {hop.from_version} from the last day")


@_check("disk", "blocking", "Free disk for a checkpoint, the archive and the new binaries")
def _disk(ctx: PreflightContext, session: UpgradeSession, hop: Hop) -> Outcome:
    """On the data dir's filesystem: a checkpoint (`CHECKPOINT_FACTOR` × the data) and the
    new binaries (`BINARIES_BYTES`); on the backup folder's: the archive (`ARCHIVE_FACTOR`
    × the data); summed where both are one filesystem, plus `DISK_MARGIN`. The data size
    is the data dir's files (the data dir must be on this host: backups read it here)."""
    from themis_desktop.core.util.formatting import human_bytes

    items, sizes = [], []
    need: dict[int, tuple[Path, int]] = {}  # per filesystem: a path on it, bytes needed
    for node in ctx.profile.nodes:
        data = Path(node.data_dir) if node.data_dir else None
        if data is None or not data.is_dir():
            items.append(f"{node.name}: data dir {'not set' if data is None else data} not found")
            continue
        size = _tree_size(data)
        sizes.append(size)
        _add(need, data, int(size * CHECKPOINT_FACTOR) + BINARIES_BYTES)
        if ctx.backup_dir is not None:
            _add(need, _existing(ctx.backup_dir), int(size * ARCHIVE_FACTOR))
    for path, wanted in need.values():
        wanted = int(wanted * DISK_MARGIN)
        free = shutil.disk_usage(path).free
        if free < wanted:
            items.append(f"{path}: {human_bytes(free)} free, needs {human_bytes(wanted)}")
    if items:
        return _failed("not enough room (or no data dir to measure) for the hop", items)
    total = human_bytes(sum(sizes))
    return _passed(f"room for checkpoints, archives and binaries ({total} of data)")


def _add(need: dict[int, tuple[Path, int]], path: Path, amount: int) -> None:
    device = os.stat(path).st_dev
    where, before = need.get(device, (path, 0))
    need[device] = (where, before + amount)


def _existing(path: Path) -> Path:
    """`path`, or its nearest parent that exists (the backup folder may be made later)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _tree_size(root: Path) -> int:
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue  # compacted away while walking
    return total


@_check("compaction", "warning", "Pending compaction and L0 files below limits")
def _compaction(ctx: PreflightContext, session: UpgradeSession, hop: Hop) -> Outcome:
    """`/stats`: pending compaction bytes under `PENDING_COMPACTION_LIMIT` and L0 files
    under `L0_FILES_LIMIT` (RocksDB's own slow-down thresholds): above them a restart
    replays and compacts for long. A node that does not report them passes ("no data")."""
    from themis_desktop.core.util.formatting import human_bytes

    items, unknown = [], []
    for node in ctx.profile.nodes:
        try:
            with ctx.profile.client(node, ctx.token, timeout=5.0) as client:
                rocksdb = client.stats().rocksdb
        except errors.ThemisError as exc:
            items.append(f"{node.name}: no stats ({exc})")
            continue
        pending = rocksdb.estimate_pending_compaction_bytes
        l0 = rocksdb.files_per_level.get("L0")
        if pending is None and l0 is None:
            unknown.append(node.name)
        if pending is not None and pending >= PENDING_COMPACTION_LIMIT:
            items.append(
                f"{node.name}: {human_bytes(pending)} pending compaction (limit "
                f"{human_bytes(PENDING_COMPACTION_LIMIT)})"
            )
        if l0 is not None and l0 >= L0_FILES_LIMIT:
            items.append(f"{node.name}: {l0} L0 files (limit {L0_FILES_LIMIT})")
    if items:
        return _failed("compaction is behind: let it catch up before the restart", items)
    note = f" ({', '.join(unknown)}: no data)" if unknown else ""
    return _passed(f"compaction keeps up on every node{note}")


@_check("config", "blocking", "No config key the target moves or removes breaks the start")
def _config(ctx: PreflightContext, session: UpgradeSession, hop: Hop) -> Outcome:
    """The config advisor's findings of severity "breaks" about keys the target removes,
    renames or moves (each node's config file, as in the profile)."""
    return _config_findings(ctx, hop, "breaks")


@_check("config-cleanup", "warning", "Config keys the target moves or removes")
def _config_cleanup(ctx: PreflightContext, session: UpgradeSession, hop: Hop) -> Outcome:
    """The same findings of severity "changes": ignored by the target (or legacy paths
    that still work for a while); clean them up."""
    return _config_findings(ctx, hop, "changes")


def _config_findings(ctx: PreflightContext, hop: Hop, severity: str) -> Outcome:
    from themis_desktop.core.config import advisor
    from themis_desktop.core.config.file import ConfigDocument
    from themis_desktop.core.versions.catalogue_file import load_catalogue

    catalogue = load_catalogue()
    items, unread = [], []
    for node in ctx.profile.nodes:
        if not node.config_path or not Path(node.config_path).is_file():
            unread.append(node.name)
            continue
        path = Path(node.config_path)
        findings = advisor.check(
            ConfigDocument.load(path),
            hop.to_version,
            catalogue,
            current=hop.from_version,
            config_path=path.resolve(),
        )
        items += [
            f"{node.name}: {f.key} ({f.kind} in {f.since}): {advisor.action(f)} it"
            + (f" → {f.to}" if f.to else "")
            for f in findings
            if f.severity == severity and f.kind in ("removed", "renamed", "legacy-path")
        ]
    note = f"; not read: {', '.join(unread)} (no config file here)" if unread else ""
    if items:
        return _failed(f"{len(items)} config key(s) to change for {hop.to_version}{note}", items)
    return _passed(f"no key that {hop.to_version} moves or removes{note}")


@_check("clients", "warning", "No client calls a path the target changes")
def _clients(ctx: PreflightContext, session: UpgradeSession, hop: Hop) -> Outcome:
    """The paths the lines of the hop change (`PATH_CHANGES`) against the requests in each
    node's log (file sources; access lines in the combined log format), grouped by client
    address and user agent."""
    from themis_desktop.core.versions.releases import line_of, parse_version

    low, high = line_of(parse_version(hop.from_version)), line_of(parse_version(hop.to_version))
    changes = [change for line, change in PATH_CHANGES.items() if low < line <= high]
    if not changes:
        return _passed(f"{hop.to_version} changes no HTTP path we know of")
    callers: dict[tuple[str, str], set[str]] = {}
    seen = 0
    for node in ctx.profile.nodes:
        for addr, agent, path in _requests(node):
            seen += 1
            if any(affected(path.split("?", 1)[0]) for _, affected in changes):
                callers.setdefault((addr, agent or "no user agent"), set()).add(path)
    what = "; ".join(text for text, _ in changes)
    if callers:
        items = [
            f"{addr} ({agent}): {', '.join(sorted(paths)[:5])}"
            for (addr, agent), paths in sorted(callers.items())
        ]
        return _failed(f"{len(items)} client(s) call paths that change ({what})", items)
    if not seen:
        return _passed(
            f"not checked: the nodes' logs record no requests (client address, user agent, "
            f"path); check your clients by hand ({what})"
        )
    return _passed(f"no client among {seen} logged request(s) calls a changed path ({what})")


def _requests(node: NodeEndpoint) -> Iterator[tuple[str, str, str]]:
    if not node.log_source.startswith("file:"):
        return
    path = Path(node.log_source[len("file:") :])
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, 2) - LOG_TAIL_BYTES))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return
    for line in text.splitlines():
        found = _ACCESS.match(line)
        if found:
            yield found["addr"], found["agent"] or "", found["path"]


@_check("tokens-ports", "warning", "The tokens and ports the target expects")
def _tokens_ports(ctx: PreflightContext, session: UpgradeSession, hop: Hop) -> Outcome:
    """A profile that uses auth has its token (the backup's checkpoint and the restore
    points need the admin scope); each node's config file sets `server.port` to the port
    the profile reaches it on (a restart reads the file, which wins over flags)."""
    from themis_desktop.core.config.file import MISSING, ConfigDocument

    items = []
    if ctx.profile.uses_auth and not ctx.token:
        items.append(
            f"{ctx.profile.name}: uses auth, but no token is set (keyring, or "
            "THEMIS_DESKTOP_TOKEN): the admin routes will refuse"
        )
    for node in ctx.profile.nodes:
        if not node.config_path or not Path(node.config_path).is_file():
            continue
        port = ConfigDocument.load(node.config_path).get("server.port")
        reached = urlsplit(node.url).port
        if port is not MISSING and reached is not None and str(port) != str(reached):
            items.append(
                f"{node.name}: its config sets server.port {port}, the profile reaches it on "
                f"{reached}: after the restart it listens on {port}"
            )
    if items:
        return _failed("a token or port does not match what the nodes will expect", items)
    return _passed("tokens and configured ports match the profile")


@_check("triggers", "blocking", "No open rollback trigger")
def _triggers(ctx: PreflightContext, session: UpgradeSession, hop: Hop) -> Outcome:
    """Every rollback trigger of the session is acknowledged: an open one is an undecided
    rollback question, not a time to go further."""
    with ctx.journal() as journal:
        open_ = [t for t in session.triggers(journal) if t.open]
    if not open_:
        return _passed("no open trigger")
    items = [
        f"trigger {t.id} ({t.title}): {t.note} — session acknowledge --profile "
        f"{ctx.profile.name} --trigger {t.id} --note ..."
        for t in open_
    ]
    return _failed(f"{len(open_)} trigger(s) not acknowledged", items)
