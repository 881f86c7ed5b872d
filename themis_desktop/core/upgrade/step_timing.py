"""How long each step of a hop took on each node, kept in the journal as `step.timing`
events (one per node and step: backup, stop, install, start, ready, validation, restore),
and the samples the duration prediction learns from: these timings, the backup catalogue's
verified backups, and the restores and validations of rehearsals.

The hop runner calls `record`, `record_backups` and `measure` from its steps; nothing here
decides anything. Events only (`Journal.add_event` / `Journal.events`): no table of its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from themis_desktop.core.journal.store import Journal, parse_utc, utc_now

if TYPE_CHECKING:
    from themis_desktop.core.connection.profiles import NodeEndpoint
    from themis_desktop.core.upgrade.session import Hop, UpgradeSession

EVENT = "step.timing"
STEPS = ("backup", "stop", "install", "start", "ready", "validation", "restore")
PHASES = ("backup", "upgrade", "validate", "rollback")


@dataclass(frozen=True)
class Timing:
    """One measured step on one node (`seconds` of wall-clock time)."""

    step: str
    seconds: float
    node: str | None = None
    phase: str = ""
    hop: int | None = None
    session_id: int | None = None
    profile: str | None = None
    data_bytes: int | None = None  # the node's data (data dir) when the step ran
    keys: int | None = None
    at: str = ""
    source: str = "session"  # session, backup catalogue, rehearsal

    @property
    def when(self) -> datetime | None:
        try:
            return parse_utc(self.at) if self.at else None
        except ValueError:
            return None


def step_of(action: str) -> str | None:
    """The step a service action counts for: "install 1.8.2" → "install"."""
    word = action.split(" ", 1)[0]
    return word if word in STEPS else None


def record(
    journal: Journal,
    session: UpgradeSession | None,
    hop: Hop | None,
    node: str,
    step: str,
    seconds: float,
    *,
    phase: str,
    data_bytes: int | None = None,
    keys: int | None = None,
    extra: dict[str, Any] | None = None,
) -> int:
    """Journal one step's duration on `node` (a `step.timing` event of the session)."""
    data: dict[str, Any] = {
        "step": step,
        "seconds": round(max(0.0, seconds), 4),
        "phase": phase,
        "hop": hop.id if hop else None,
        "profile": session.profile if session else None,
        "data_bytes": data_bytes,
        "keys": keys,
    } | (extra or {})
    return journal.add_event(
        EVENT,
        f"{step} of {node} took {seconds:.2f} s",
        session_id=session.id if session else None,
        node=node,
        data=data,
    )


def data_size(node: NodeEndpoint) -> int | None:
    """The bytes in the node's data dir (None without one): what a backup or restore reads."""
    if not node.data_dir or not Path(node.data_dir).is_dir():
        return None
    from themis_desktop.core.backup.node import folder_size

    try:
        return folder_size(Path(node.data_dir))
    except OSError:
        return None


SIZED_STEPS = ("backup", "restore", "ready")  # their durations grow with the data
SERVICE_EVENT = "service.step"  # the hop runner's service action, with its `seconds`


@contextmanager
def measure(
    journal: Journal,
    session: UpgradeSession,
    hop: Hop,
    node: NodeEndpoint,
    phase: str,
    step: str | None = None,
) -> Iterator[None]:
    """Journal how long the work in the block took on `node`, once it succeeded: as `step`
    when one is named; otherwise the service actions it ran (the `service.step` events it
    journaled: stop, install, start, each with the service's own seconds) and, after a
    start, the wait for the node to be ready (from the start's end to the block's end)."""
    before = [e.id for e in journal.events(session_id=session.id, types=[SERVICE_EVENT])]
    marker = before[-1] if before else 0
    began = time.monotonic()
    yield
    sizes: list[int | None] = []  # the data dir, walked once and only when a step needs it

    def add(name: str, seconds: float) -> None:
        if name in SIZED_STEPS and not sizes:
            sizes.append(data_size(node))
        size = sizes[0] if name in SIZED_STEPS else None
        record(journal, session, hop, node.name, name, seconds, phase=phase, data_bytes=size)

    if step is not None:
        add(step, time.monotonic() - began)
        return
    started_at = None
    for event in journal.events(session_id=session.id, types=[SERVICE_EVENT]):
        data = event.data or {}
        name = step_of(str(data.get("action", "")))
        seconds = data.get("seconds")
        if event.id <= marker or event.node != node.name or name is None:
            continue
        if isinstance(seconds, int | float):
            add(name, float(seconds))
        if name == "start":
            started_at = event.ts
    if started_at is not None:
        add("ready", max(0.0, (parse_utc(utc_now()) - parse_utc(started_at)).total_seconds()))


# -- reading ------------------------------------------------------------------------------


def timing_of(event: Any) -> Timing | None:
    """The timing a `step.timing` event holds (None: not one, or damaged)."""
    data = event.data or {}
    step, seconds = data.get("step"), data.get("seconds")
    if step not in STEPS or not isinstance(seconds, int | float) or seconds < 0:
        return None
    data_bytes = data.get("data_bytes")
    keys = data.get("keys")
    return Timing(
        step=step,
        seconds=float(seconds),
        node=event.node,
        phase=str(data.get("phase") or ""),
        hop=data.get("hop") if isinstance(data.get("hop"), int) else None,
        session_id=event.session_id,
        profile=data.get("profile"),
        data_bytes=int(data_bytes) if isinstance(data_bytes, int | float) else None,
        keys=int(keys) if isinstance(keys, int | float) else None,
        at=event.ts,
        source=str(data.get("source") or "session"),
    )


def session_timings(journal: Journal, session_id: int) -> list[Timing]:
    """The steps measured in one session, in order."""
    found = (timing_of(e) for e in journal.events(session_id=session_id, types=[EVENT]))
    return [t for t in found if t is not None]


def samples(journal: Journal) -> list[Timing]:
    """Everything the prediction learns from, oldest first: the sessions' step timings,
    verified backups of the catalogue that no timing covers (backup and verify, from its
    start to its verification), and rehearsal steps journaled with a duration."""
    events = journal.events(types=[EVENT])
    timings = [t for e in events if (t := timing_of(e)) is not None]
    covered = {(e.data or {}).get("backup_id") for e in events} - {None}
    timings += _catalogue_backups(journal, covered)
    timings += _rehearsal_steps(journal)
    return sorted(timings, key=lambda t: t.at)


def _catalogue_backups(journal: Journal, covered: set[Any]) -> list[Timing]:
    from themis_desktop.core.backup import catalog

    found = []
    for record in catalog.backups(journal):
        if record.id in covered or not record.verified_at:
            continue
        try:
            seconds = (parse_utc(record.verified_at) - parse_utc(record.created_at)).total_seconds()
        except ValueError:
            continue
        if 0 < seconds < 7 * 86_400:  # created_at has whole seconds: a rough measurement
            found.append(
                Timing(
                    "backup",
                    seconds,
                    record.node,
                    "backup",
                    profile=record.profile,
                    data_bytes=record.size,  # the archive's size stands for the data's
                    at=record.verified_at,
                    source="backup catalogue",
                )
            )
    return found


REHEARSAL_STEPS = (("restore ", "restore"), ("validation checks", "validation"))


def _rehearsal_steps(journal: Journal) -> list[Timing]:
    """The restores and validations of past rehearsals (their steps that went well), when
    the journal has rehearsals; none is fine."""
    try:
        from themis_desktop.core.upgrade import rehearsal_store, session_store

        runs = [
            r
            for s in session_store.load_all(journal)
            for r in rehearsal_store.for_session(journal, s.id)
            if r.kind == "rehearsal"
        ]
    except Exception:  # no rehearsals table (yet), or one of another shape: nothing to learn
        return []
    found = []
    for run in runs:
        for step in run.steps:
            name = next(
                (ours for prefix, ours in REHEARSAL_STEPS if step.name.startswith(prefix)), None
            )
            if name is None or not step.ok or step.seconds < 0:
                continue
            found.append(
                Timing(
                    name,
                    float(step.seconds),
                    None,
                    "rehearsal",
                    run.hop_id,
                    run.session_id,
                    run.profile,
                    at=run.finished_at or run.started_at,
                    source="rehearsal",
                )
            )
    return found


def record_backups(
    journal: Journal,
    session: UpgradeSession,
    hop: Hop,
    records: Sequence[Any],
    started_at: str,
    nodes: Sequence[NodeEndpoint],
) -> None:
    """The backup step's duration per node: the nodes are backed up one after the other,
    so each one's took from the previous one's verification (the step's start for the
    first) to its own (`BackupRecord.verified_at`, journal time)."""
    sizes = {n.name: data_size(n) for n in nodes}
    previous = started_at
    for rec in sorted(records, key=lambda r: r.verified_at or ""):
        if not rec.verified_at:
            continue
        try:
            seconds = (parse_utc(rec.verified_at) - parse_utc(previous)).total_seconds()
        except ValueError:
            continue
        previous = rec.verified_at
        record(
            journal,
            session,
            hop,
            rec.node,
            "backup",
            seconds,
            phase="backup",
            data_bytes=sizes.get(rec.node),
            extra={"backup_id": rec.id, "archive_bytes": rec.size},
        )


ROLLBACK_STEP = {2: "restore"}  # rollback steps timed as a whole (the others: their actions)
