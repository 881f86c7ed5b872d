"""Where an aborted or failed rollout left the cluster, and what the admin can do next.

One decision for the GUI and the command line: `decide()` turns a rollout, the versions its
nodes report now and their backups into the cluster's state (each node's version, traffic
share, whether it was restored) and the next steps, best first. `assess()` gathers those
facts (one poll of each node, the backups in the journal) and decides.

The actions themselves are `RolloutRunner.run` (resume), `.roll_back` and `.return_traffic`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from themis_desktop.core.backup import catalog as backup_catalog
from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.journal.store import Journal, parse_utc
from themis_desktop.core.rollout.runner import Rollout
from themis_desktop.core.server import errors
from themis_desktop.core.versions.releases import VersionError, parse_version

ACTIONS = ("resume", "roll-back", "return-traffic", "start", "check")
POLL_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class NodeState:
    """One node as it is: `version` None when it does not answer; `share` in percent."""

    name: str
    version: str | None
    share: float
    role: str
    restored: bool = False
    backup_at: str = ""  # ISO time of the backup this rollout made of it, if any

    def line(self) -> str:
        """`n1  1.8.2  0 % of traffic  upgraded, backup of 16:20`"""
        version = self.version or "does not answer"
        notes = [self.role]
        if self.backup_at:
            notes.append(f"backup of {when(self.backup_at)}")
        return f"{self.name}  {version}  {percent(self.share)} % of traffic  " + ", ".join(notes)


@dataclass(frozen=True)
class NextStep:
    """Something the admin can do now. `action` one of ACTIONS ("check": no button)."""

    action: str
    title: str
    detail: str
    nodes: tuple[str, ...] = ()
    command: str = ""  # the same on the command line


@dataclass(frozen=True)
class ClusterState:
    rollout_id: int | None
    status: str
    strategy: str
    from_version: str
    to_version: str
    reason: str
    nodes: tuple[NodeState, ...]
    summary: str
    steps: tuple[NextStep, ...] = field(default_factory=tuple)

    @property
    def versions(self) -> set[str]:
        return {n.version for n in self.nodes if n.version}

    @property
    def mixed(self) -> bool:
        return len(self.versions) > 1

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types (lists, not tuples), with `mixed`."""
        data = asdict(self)
        data["nodes"] = [dict(n) for n in data["nodes"]]
        data["steps"] = [{**step, "nodes": list(step["nodes"])} for step in data["steps"]]
        data["mixed"] = self.mixed
        return data

    def lines(self) -> list[str]:
        """The state and the next steps as text, for the command line."""
        out = [self.summary, *(f"  {n.line()}" for n in self.nodes)]
        for i, step in enumerate(self.steps, start=1):
            out.append(f"next {i}: {step.title}" + (f"  ({step.command})" if step.command else ""))
            out.append(f"        {step.detail}")
        return out


def decide(
    rollout: Rollout,
    versions: Mapping[str, str | None],
    backups: Mapping[str, str] | None = None,
) -> ClusterState:
    """The cluster's state and the next steps (best first) after an abort or a failure;
    other rollouts get the state only. `versions`: per node what it reports (None: down);
    `backups`: per node the time of the verified backup this rollout made of it."""
    backups = backups or {}
    r = rollout
    restored = set(r.restored)
    nodes = tuple(
        NodeState(
            name,
            versions.get(name),
            round(float(r.weights.get(name, 0.0)), 2),
            r.roles.get(name, "stable"),
            name in restored,
            backups.get(name, ""),
        )
        for name in r.roles
    )
    new = [n for n in nodes if n.version and _same(n.version, r.to_version)]
    old = [n for n in nodes if n.version and _same(n.version, r.from_version)]
    down = [n for n in nodes if n.version is None]
    idle = [n for n in nodes if n.version and n.share <= 0]
    steps: list[NextStep] = []
    if r.status in ("aborted", "failed"):
        steps = _next_steps(r, new, old, down, idle)
    return ClusterState(
        r.id,
        r.status,
        r.strategy,
        r.from_version,
        r.to_version,
        r.reason,
        nodes,
        _summary(nodes),
        tuple(steps),
    )


def _next_steps(
    r: Rollout,
    new: list[NodeState],
    old: list[NodeState],
    down: list[NodeState],
    idle: list[NodeState],
) -> list[NextStep]:
    cli = f"themis-desktop rollout --profile {r.profile}"
    steps: list[NextStep] = []
    for node in down:
        steps.append(
            NextStep(
                "check",
                f"Find out why {node.name} does not answer",
                f"{node.name} does not answer, so what it runs is unknown. Look at its logs "
                "and its service; start it again before anything else.",
                (node.name,),
            )
        )
    back = [n for n in new if n.backup_at]
    if back:
        names = _names(back)
        if len(back) == 1:
            title = (
                f"Roll {names} back to {r.from_version} from its backup of "
                f"{when(back[0].backup_at)}"
            )
        else:
            title = f"Roll {names} back to {r.from_version} from their backups"
        if len(back) == 1:
            times = when(back[0].backup_at)
        else:
            times = ", ".join(f"{n.name} {when(n.backup_at)}" for n in back)
            times = f"their backups ({times})"
        rest = " The cluster then runs one version again." if len(back) == len(new) else ""
        steps.append(
            NextStep(
                "roll-back",
                title,
                f"Stops {names}, restores data and configuration from the backup (checked "
                f"again first), reinstalls {r.from_version} and gives traffic back.{rest} "
                f"Writes made to {names} after {times} are lost: this cannot be undone.",
                tuple(n.name for n in back),
                f"{cli} --roll-back {','.join(n.name for n in back)} --yes",
            )
        )
    if r.continuable and not down:
        step = r.current
        assert step is not None
        title = "Resume the rollout" if r.status == "aborted" else "Retry the failed step"
        waiting = [n.name for n in old]
        then = (
            f": {join_names(waiting)} {'is' if len(waiting) == 1 else 'are'} upgraded to "
            f"{r.to_version}, each backed up and gated, and"
            if waiting
            else " and"
        )
        steps.append(
            NextStep(
                "resume",
                title,
                f"Traffic as the plan has it at “{step.title}”, then the rollout goes on"
                f"{then} the cluster ends on {r.to_version}. An upgraded node comes back only "
                "by restoring its backup.",
                (),
                f"{cli} --resume",
            )
        )
    if idle:
        names = _names(idle)
        versions = {n.version for n in idle}
        at = f" at {versions.pop()}" if len(versions) == 1 else ""
        mixed = len({n.version for n in new + old}) > 1
        detail = f"{names} get{'s' if len(idle) == 1 else ''} a share of the traffic again."
        if mixed:
            detail += (
                " The cluster stays mixed: clients are served by both "
                f"{r.from_version} and {r.to_version} until you roll back or resume."
            )
        steps.append(
            NextStep(
                "return-traffic",
                f"Return traffic to {names}{at}",
                detail,
                tuple(n.name for n in idle),
                f"{cli} --return-traffic {','.join(n.name for n in idle)}",
            )
        )
    if r.status == "failed":  # a step failed: trying it again comes first
        steps.sort(key=lambda s: s.action != "resume")
    if not steps and not new and not down:
        steps.append(
            NextStep(
                "start",
                "Start a new rollout",
                f"Every node runs {r.from_version} and serves, as before the rollout. Find out "
                f"why it stopped ({r.reason or r.status}) before you start again.",
                (),
                f"{cli} --to {r.to_version} --strategy {r.strategy}",
            )
        )
    return steps


def _summary(nodes: tuple[NodeState, ...]) -> str:
    groups: dict[str, list[NodeState]] = {}
    for node in nodes:
        groups.setdefault(node.version or "", []).append(node)
    parts = []
    for version, members in groups.items():
        names = _names(members)
        if not version:
            parts.append(f"{names} {'does' if len(members) == 1 else 'do'} not answer")
            continue
        shares = {m.share for m in members}
        if shares == {0}:
            traffic = "without traffic"
        elif len(shares) == 1:
            each = " each" if len(members) > 1 else ""
            traffic = f"with {percent(shares.pop())} % of the traffic{each}"
        else:
            traffic = "with " + ", ".join(f"{percent(m.share)} %" for m in members)
            traffic += " of the traffic"
        restored = [m.name for m in members if m.restored]
        note = f" ({join_names(restored)} restored from backup)" if restored else ""
        verb = "runs" if len(members) == 1 else "run"
        parts.append(f"{names} {verb} {version}{note} {traffic}")
    answering = [v for v in groups if v]
    head = "Mixed versions: " if len(answering) > 1 else ""
    return head + "; ".join(parts) + "."


def assess(
    rollout: Rollout,
    profile: Profile,
    token: str | None,
    journal_path: Path | None = None,
) -> ClusterState:
    """Poll each node's version once, look up the rollout's backups, and `decide`."""
    versions: dict[str, str | None] = {}
    for node in profile.nodes:
        with profile.client(node, token, timeout=POLL_TIMEOUT_S) as client:
            try:
                info = client.version(refresh=True)
            except errors.ThemisError:
                versions[node.name] = None
                continue
        versions[node.name] = (
            info.version if info.exact else (node.version_override or info.version)
        )
    backups: dict[str, str] = {}
    if rollout.backups:
        from sqlite_utils.db import NotFoundError  # not on the window's first-paint path

        with Journal(journal_path) as journal:
            for name, backup_id in rollout.backups.items():
                try:
                    record = backup_catalog.get(journal, backup_id)
                except NotFoundError:  # forgotten since: this rollout cannot restore it
                    continue
                if record.verified and record.exists:
                    backups[name] = record.created_at
    return decide(rollout, versions, backups)


def when(iso: str) -> str:
    """`16:20` today, else `2026-12-03 16:20` (local time)."""
    try:
        at = parse_utc(iso).astimezone()
    except (ValueError, TypeError):
        return iso
    if at.date() == datetime.now().astimezone().date():
        return at.strftime("%H:%M")
    return at.strftime("%Y-%m-%d %H:%M")


def percent(share: float) -> str:
    """`50`, `33.3`: a share as people read it."""
    return f"{share:.0f}" if abs(share - round(share)) < 0.05 else f"{share:.1f}"


def _same(a: str, b: str) -> bool:
    try:
        return parse_version(a) == parse_version(b)
    except VersionError:
        return a.strip() == b.strip()


def _names(nodes: Iterable[NodeState]) -> str:
    return join_names([n.name for n in nodes])


def join_names(names: list[str]) -> str:
    """`n1`, `n1 and n2`, `n1, n2 and n3`."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
