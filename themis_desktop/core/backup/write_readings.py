"""The `write_readings` table: readings of each node's write counter (`server.write_counter`)
with the time they were taken, taken at every verified backup (`kind` "backup", with its
id) and whenever the writes-at-risk meter polls (`kind` "poll"); the upgrade step takes one
just before it stops a node ("before-stop"). A backup of a stopped node is a reading of
source "stopped": whatever the node writes after it starts again counts.

A poll that says nothing new (same counter, same run of the server, the previous reading
less than `KEEP_EVERY_S` old) is not stored; at most `KEEP_PER_NODE` readings per node are
kept, the oldest going first (never a backup's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal, parse_utc, utc_now
from themis_desktop.core.server.models import Stats
from themis_desktop.core.server.write_counter import CounterReading, read_counter

KEEP_EVERY_S = 300.0  # an unchanged counter is stored again after this long
KEEP_PER_NODE = 2000
SAME_RUN_SLACK_S = 3.0  # uptimes are whole seconds on some servers


@dataclass(frozen=True)
class Reading:
    """One stored reading. `start`: when the counter started counting (`at` − uptime), None
    for a stopped node."""

    id: int
    profile: str
    node: str
    at: str
    uptime_s: float | None
    writes: int | None
    slack: int
    source: str
    kind: str
    backup_id: int | None = None

    @property
    def start(self) -> float | None:
        if self.uptime_s is None:
            return None
        return parse_utc(self.at).timestamp() - self.uptime_s

    def same_run(self, other: Reading) -> bool:
        """Both readings were taken while the counter kept counting (no restart between)."""
        if self.start is None or other.start is None:
            return False
        if abs(self.start - other.start) > SAME_RUN_SLACK_S:
            return False
        earlier, later = (self, other) if self.at <= other.at else (other, self)
        return earlier.writes is None or later.writes is None or later.writes >= earlier.writes


def record(
    journal: Journal,
    profile: str,
    node: str,
    counter: CounterReading | None,
    *,
    kind: str = "poll",
    backup_id: int | None = None,
    at: str | None = None,
) -> Reading | None:
    """Store a reading (`counter` None: the node is stopped); None when a poll said nothing
    new and was not stored."""
    at = at or utc_now()
    row = {
        "profile": profile,
        "node": node,
        "at": at,
        "uptime_s": counter.uptime_s if counter else None,
        "writes": counter.writes if counter else None,
        "slack": counter.slack if counter else 0,
        "source": counter.source if counter else "stopped",
        "kind": kind,
        "backup_id": backup_id,
    }
    if kind == "poll":
        last = latest(journal, profile, node)
        fresh = Reading(0, **row)  # type: ignore[arg-type]
        if (
            last is not None
            and last.writes == fresh.writes
            and last.source == fresh.source
            and last.same_run(fresh)
            and (parse_utc(at) - parse_utc(last.at)) < timedelta(seconds=KEEP_EVERY_S)
        ):
            return None
    with journal.transaction():
        table = journal.db.table("write_readings")
        table.insert(row)
        new_id = table.last_pk
        _prune(journal, profile, node)
    return Reading(int(new_id), **row)  # type: ignore[arg-type]


def latest(journal: Journal, profile: str, node: str) -> Reading | None:
    rows = journal.db["write_readings"].rows_where(
        "profile = ? AND node = ?", [profile, node], order_by="at desc, id desc", limit=1
    )
    return next((_reading(r) for r in rows), None)


def readings(journal: Journal, profile: str, node: str, since: str | None = None) -> list[Reading]:
    """The node's readings taken at or after `since` (all without it), oldest first."""
    where, params = "profile = ? AND node = ?", [profile, node]
    if since is not None:
        where += " AND at >= ?"
        params.append(since)
    rows = journal.db["write_readings"].rows_where(where, params, order_by="at, id")
    return [_reading(r) for r in rows]


def of_backup(journal: Journal, backup_id: int) -> Reading | None:
    """The reading taken with backup `backup_id` (None: none was)."""
    rows = journal.db["write_readings"].rows_where("backup_id = ?", [backup_id], limit=1)
    return next((_reading(r) for r in rows), None)


def _prune(journal: Journal, profile: str, node: str) -> None:
    rows = journal.db["write_readings"].rows_where(
        "profile = ? AND node = ? AND backup_id IS NULL",
        [profile, node],
        order_by="at desc, id desc",
        limit=1_000_000,
        offset=KEEP_PER_NODE,
        select="id",
    )
    old = [r["id"] for r in rows]
    if old:
        journal.db.table("write_readings").delete_where(f"id IN ({','.join('?' * len(old))})", old)


def _reading(row: dict) -> Reading:
    return Reading(**row)


# -- at a backup (`operations.back_up_and_record`) ------------------------------------------


class _StatsClient(Protocol):
    def stats(self) -> Stats: ...


NOT_READ = CounterReading(None, 0.0, "none")  # the node runs, but its counter could not be read


def counter_before_backup(client: _StatsClient | None) -> CounterReading | None:
    """The node's write counter just before its checkpoint (writes after it are at risk;
    the few between it and the checkpoint are counted too: the safe side). None: the node
    is stopped (no client), so everything it writes after it starts again counts."""
    if client is None:
        return None
    try:
        return read_counter(client.stats())
    except Exception:  # a reading is never a reason to fail a backup
        return NOT_READ


def note_backup(
    journal: Journal, profile: str, node: str, backup_id: int, counter: CounterReading | None
) -> None:
    """Store the reading of a verified backup; a journal that refuses it is left to the
    backup's own record (which failed or succeeded in the same journal)."""
    record(journal, profile, node, counter, kind="backup", backup_id=backup_id)


def before_stop(journal: Journal, profile: Profile, token: str | None, node: NodeEndpoint) -> None:
    """A reading just before the upgrade step stops `node`: the writes of the run that ends
    are then known up to the stop (never a reason to fail the step)."""
    try:
        with profile.client(node, token, timeout=3.0) as client:
            counter = read_counter(client.stats())
        record(journal, profile.name, node.name, counter, kind="before-stop")
    except Exception:  # the node may not answer; the meter then says "at least"
        return
