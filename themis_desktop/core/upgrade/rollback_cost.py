"""What a rollback would cost now, not only how long ago the upgrade was: per hop whether a
binary swap still undoes it or only a restore does, the writes each node has taken since
its last verified backup (what a restore loses or must reconcile), and whether the session
has been left half done for too long. One implementation for the session page, the header
countdown, the rollback question and `session status --json`.

- **Mode.** A hop the catalogue calls `binary-swap` stays "binary swap". A one-way hop
  (`restore-backup`: e.g. 1.8's ZSTD WAL, stream writer and backups) is "binary swap" until
  its new version writes: once a node's write counter moved in a run of the server started
  after the upgrade began (or rose after the hop finished), the old binary cannot read the
  data any more and only a restore brings it back: "restore only".
- **Writes at risk.** From the readings of each node's write counter
  (`backup.write_readings`): the reading taken with its last verified backup, then every
  poll. The counter starts at zero when the server (its database) starts, so increases are
  summed run by run; where a restart fell between two readings, writes may have been
  missed: "at least N". A server without RocksDB's counter gives an upper bound from every
  request it served ("at most N", reads included), or "unknown".
- **Half done.** Nodes on different versions, or a hop upgraded and not validated, for
  longer than `HALF_DONE_AFTER_S` (configurable): a warning with what to do.

`assess` reads the journal only (a review can show it); `poll` reads each node's `/stats`
and stores the readings first (the GUI's meter and `session status`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from themis_desktop.core.backup import catalog as backup_catalog
from themis_desktop.core.backup import write_readings
from themis_desktop.core.backup.catalog import BackupRecord
from themis_desktop.core.backup.write_readings import SAME_RUN_SLACK_S, Reading
from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.journal.store import Journal, parse_utc, utc_now
from themis_desktop.core.server.write_counter import read_counter
from themis_desktop.core.upgrade.session import Hop, UpgradeSession
from themis_desktop.core.util.formatting import human_duration

logger = logging.getLogger(__name__)
BINARY_SWAP = "binary swap"
RESTORE_ONLY = "restore only"
POLL_TIMEOUT_S = 2.0  # per node and request: a silent node delays the meter, never hangs it
HALF_DONE_AFTER_S = 2 * 3600.0  # the default: a setting in the window, an option of the CLI
UPGRADED = frozenset({"upgrading", "validating", "done", "failed", "rolling-back"})
UNVALIDATED = frozenset({"upgrading", "validating"})


# -- writes since a moment --------------------------------------------------------------------


@dataclass(frozen=True)
class NodeWrites:
    """A node's writes since `since` (its backup `since_backup`), as of `as_of`.

    `writes` None: unknown. `at_least`: a restart may have hidden more. `upper_bound`: counted
    from every request (reads included), so at most this many. `slack`: RocksDB rounded the
    count, it may be this much more."""

    node: str
    writes: int | None
    at_least: bool = False
    upper_bound: bool = False
    slack: int = 0
    since_backup: int | None = None
    since: str | None = None
    as_of: str | None = None

    @property
    def count_text(self) -> str:
        if self.writes is None:
            return "unknown"
        number = f"{self.writes:,}".replace(",", " ")
        if self.upper_bound:
            return f"at most {number} (every request counted, reads included)"
        if self.at_least:
            return f"at least {number}"
        return f"about {number}" if self.slack else number

    def text(self, what: str = "since its last verified backup") -> str:
        """`node-1: 12 writes since its last verified backup (backup 4)`."""
        if self.since_backup is None and self.writes is None:
            return f"{self.node}: no verified backup, writes not counted"
        plural = "" if self.writes == 1 and not self.at_least else "s"
        backup = f" (backup {self.since_backup})" if self.since_backup is not None else ""
        return f"{self.node}: {self.count_text} write{plural} {what}{backup}"

    def as_json(self) -> dict[str, Any]:
        return {
            "writes": self.writes,
            "at_least": self.at_least,
            "upper_bound": self.upper_bound,
            "slack": self.slack,
            "since_backup": self.since_backup,
            "since": self.since,
            "as_of": self.as_of,
        }


def _runs(readings: Sequence[Reading]) -> list[list[Reading]]:
    """Consecutive readings of one run of the server (its counter kept counting)."""
    runs: list[list[Reading]] = []
    for reading in readings:
        if runs and runs[-1][-1].same_run(reading):
            runs[-1].append(reading)
        else:
            runs.append([reading])
    return runs


def count_since(
    node: str, readings: Sequence[Reading], base: Reading | None, since: str
) -> NodeWrites:
    """The writes counted after `since` from `readings` (oldest first, all at or after
    `since`), starting from `base` (the reading taken at `since`: None when none was)."""
    seen = [r for r in readings if base is None or r.id != base.id]
    chain = ([base] if base is not None else []) + seen
    live = [r for r in chain if r.writes is not None]
    as_of = chain[-1].at if chain else None
    if not live:
        stopped = base is not None and base.source == "stopped" and not seen
        return NodeWrites(node, 0 if stopped else None, as_of=as_of)
    upper = any(r.source == "requests" for r in live)
    since_ts = parse_utc(since).timestamp()
    total, slack, at_least = 0, 0, False
    runs = _runs([r for r in chain if r.source != "stopped"])
    for index, run in enumerate(runs):
        counted = [r for r in run if r.writes is not None]
        if index + 1 < len(runs) and run[-1].kind != "before-stop":
            at_least = True  # writes after this run's last reading went unseen
        if not counted:
            at_least = True
            continue
        first, last = counted[0], counted[-1]
        assert first.writes is not None and last.writes is not None
        started = run[0].start
        if base is not None and run[0] is base:
            total += last.writes - first.writes  # the backup's run: from its reading on
            slack += last.slack + first.slack
        elif started is not None and started >= since_ts - SAME_RUN_SLACK_S:
            total += last.writes  # the counter started at zero after `since`
            slack += last.slack
            if index == 0 and (base is None or base.source != "stopped"):
                at_least = True  # the run going at `since` ended unseen
        else:  # a run already going at `since`, read only later: its first writes unseen
            total += last.writes - first.writes
            slack += last.slack + first.slack
            at_least = True
    return NodeWrites(node, total, at_least and not upper, upper, slack, as_of=as_of)


def writes_since_backup(journal: Journal, profile: str, record: BackupRecord) -> NodeWrites:
    """The writes node `record.node` took since `record` was taken."""
    base = write_readings.of_backup(journal, record.id)
    since = base.at if base is not None else record.created_at
    later = write_readings.readings(journal, profile, record.node, since)
    found = count_since(record.node, later, base, since)
    return _tagged(found, record, since)


def _tagged(found: NodeWrites, record: BackupRecord, since: str) -> NodeWrites:
    return NodeWrites(
        found.node,
        found.writes,
        found.at_least,
        found.upper_bound,
        found.slack,
        record.id,
        since,
        found.as_of,
    )


def last_verified_backup(journal: Journal, profile: str, node: str) -> BackupRecord | None:
    return next(
        (r for r in backup_catalog.backups(journal, node) if r.profile == profile and r.verified),
        None,
    )


def writes_at_risk(journal: Journal, profile: Profile) -> dict[str, NodeWrites]:
    """Per node of `profile`: the writes since its last verified backup."""
    found = {}
    for node in profile.nodes:
        record = last_verified_backup(journal, profile.name, node.name)
        found[node.name] = (
            writes_since_backup(journal, profile.name, record)
            if record is not None
            else NodeWrites(node.name, None)
        )
    return found


# -- the mode of a hop ------------------------------------------------------------------------


@dataclass(frozen=True)
class HopMode:
    """How `hop` can be undone now: `mode` BINARY_SWAP or RESTORE_ONLY, and why."""

    hop_id: int
    label: str
    one_way: bool  # the catalogue: only a restore undoes it once the new version writes
    mode: str
    reason: str
    note: str = ""  # the catalogue's note on it
    written: tuple[str, ...] = ()  # the nodes whose new version wrote

    def as_json(self) -> dict[str, Any]:
        return {
            "hop": self.label,
            "id": self.hop_id,
            "one_way": self.one_way,
            "mode": self.mode,
            "reason": self.reason,
            "written": list(self.written),
        }


def one_way(hop: Hop) -> tuple[bool, str]:
    """The catalogue's word on `hop` (`hop_runner.reversibility`)."""
    from themis_desktop.core.upgrade.hop_runner import reversibility

    return reversibility(hop)


def wrote_after(readings: Sequence[Reading], hop: Hop) -> bool | None:
    """Did the node write with `hop`'s new version? True once its counter moved in a run
    started after the upgrade began or rose after the hop finished; None: its counter
    cannot say (no RocksDB counter)."""
    if not hop.started_at:
        return False
    began = parse_utc(hop.started_at).timestamp()
    after = [
        r
        for r in readings
        if r.at >= hop.started_at and r.writes is not None and r.kind != "before-stop"
    ]
    if any(r.source == "requests" for r in after):
        return None
    for run in _runs(after):
        started = run[0].start  # a whole-second uptime only makes it look later: no slack
        if started is not None and started >= began:
            if any((r.writes or 0) > 0 for r in run):
                return True
        elif hop.finished_at:
            finished = [r for r in run if r.at >= hop.finished_at]
            if len(finished) >= 2 and (finished[-1].writes or 0) > (finished[0].writes or 0):
                return True
    return False


def hop_mode(journal: Journal, profile: Profile, hop: Hop) -> HopMode:
    """BINARY_SWAP or RESTORE_ONLY for `hop`, with the reason in words."""
    no_return, note = one_way(hop)
    if not no_return:
        return HopMode(
            hop.id,
            hop.label,
            False,
            BINARY_SWAP,
            "the catalogue: the old binary reads the new data",
            note,
        )
    if hop.state not in UPGRADED:
        reason = (
            "not upgraded yet"
            if hop.state != "rolled-back"
            else "rolled back: the restored data is the old version's"
        )
        return HopMode(hop.id, hop.label, True, BINARY_SWAP, reason, note)
    written, blind = [], []
    for node in profile.nodes:
        seen = write_readings.readings(journal, profile.name, node.name, hop.started_at)
        said = wrote_after(seen, hop)
        if said is None:
            blind.append(node.name)
        elif said:
            written.append(node.name)
    if written:
        reason = (
            f"{hop.to_version} wrote on {', '.join(written)}: {hop.from_version} cannot read "
            "the data any more, only a restore brings it back"
        )
        return HopMode(hop.id, hop.label, True, RESTORE_ONLY, reason, note, tuple(written))
    if blind:
        reason = (
            f"the write counter of {', '.join(blind)} cannot be read (no RocksDB statistics): "
            "assume it wrote"
        )
        return HopMode(hop.id, hop.label, True, RESTORE_ONLY, reason, note)
    return HopMode(
        hop.id,
        hop.label,
        True,
        BINARY_SWAP,
        f"no write since the upgrade yet: reinstalling {hop.from_version} still works",
        note,
    )


# -- half done --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HalfDone:
    """A session left half done since `since`: `warning` once past `threshold_s`."""

    since: str
    elapsed_s: float
    threshold_s: float
    reason: str
    advice: str

    @property
    def warning(self) -> bool:
        return self.elapsed_s >= self.threshold_s

    @property
    def text(self) -> str:
        return f"Half done for {human_duration(self.elapsed_s)}: {self.reason}. {self.advice}"

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "elapsed_seconds": self.elapsed_s,
            "threshold_seconds": self.threshold_s,
            "warning": self.warning,
            "reason": self.reason,
            "advice": self.advice,
        }


def half_done(
    session: UpgradeSession,
    now: datetime | None = None,
    threshold_s: float = HALF_DONE_AFTER_S,
    versions: Mapping[str, str] | None = None,
) -> HalfDone | None:
    """Is `session` half done (a hop upgraded and not validated, or its nodes on different
    versions per `versions`), and since when? None when it is not."""
    if session.ended:
        return None
    now = now or datetime.now(UTC)
    mixed = sorted(set((versions or {}).values()))
    hop = next((h for h in session.hops if h.state in UNVALIDATED and h.started_at), None)
    failed = next(
        (h for h in session.hops if h.state == "failed" and h.started_at and not h.note), None
    )
    if hop is not None:
        reason = (
            f"hop {hop.label} was upgraded and is not validated"
            if hop.state == "validating"
            else f"hop {hop.label} is still upgrading"
        )
        advice = f"Validate it, or roll it back to {hop.from_version}."
        since = hop.started_at
    elif len(mixed) > 1:
        reason = f"the nodes run different versions ({', '.join(mixed)})"
        advice = "Finish the hop on every node, or roll it back."
        last = failed or next((h for h in reversed(session.hops) if h.started_at), None)
        since = last.started_at if last is not None else session.session.created_at
    elif failed is not None and failed.finished_at is None:
        reason = f"the upgrade step of {failed.label} failed half-way"
        advice = (
            f"Check each node's version; run the step again or roll back to {failed.from_version}."
        )
        since = failed.started_at
    elif failed is not None:
        reason = f"hop {failed.label} was upgraded and failed validation"
        advice = f"Fix it and validate again, or roll it back to {failed.from_version}."
        since = failed.started_at
    else:
        return None
    assert since is not None
    elapsed = max(0.0, (now - parse_utc(since)).total_seconds())
    return HalfDone(since, elapsed, threshold_s, reason, advice)


# -- the whole picture ------------------------------------------------------------------------


@dataclass(frozen=True)
class RollbackCost:
    """What the session page, the countdown and `session status` show."""

    hops: tuple[HopMode, ...]
    at_risk: dict[str, NodeWrites]  # per node, since its last verified backup
    hop_at_risk: dict[int, dict[str, NodeWrites]] = field(default_factory=dict)  # since its backups
    half_done: HalfDone | None = None
    current: int | None = None  # the hop the countdown follows (the last upgraded)
    polled: dict[str, str] = field(default_factory=dict)  # per node: why it could not be read

    @property
    def mode(self) -> HopMode | None:
        """The mode of the hop the countdown follows."""
        return next((h for h in self.hops if h.hop_id == self.current), None)

    def meter_text(self) -> str:
        """One line per node: `node-1: 12 writes since its last verified backup (backup 4)`."""
        return "\n".join(w.text() for w in self.at_risk.values())

    def as_json(self) -> dict[str, Any]:
        mode = self.mode
        return {
            "hop": mode.label if mode else None,
            "mode": mode.mode if mode else None,
            "writes_at_risk": {n: w.as_json() for n, w in self.at_risk.items()},
            "hops": [
                h.as_json()
                | {
                    "writes_at_risk": (
                        {n: w.as_json() for n, w in self.hop_at_risk[h.hop_id].items()}
                        if h.hop_id in self.hop_at_risk
                        else None
                    )
                }
                for h in self.hops
            ],
            "half_done": self.half_done.as_json() if self.half_done else None,
            "unread": dict(self.polled),
        }


def rollback_lines(
    journal: Journal, profile: Profile, backups: Mapping[str, BackupRecord | None]
) -> list[str]:
    """For the rollback question: per node, the writes since the backup the rollback
    restores (`hop_runner.rollback_candidates`): what the restore loses or must reconcile."""
    lines = []
    for node in profile.nodes:
        record = backups.get(node.name)
        if record is None:
            continue
        found = writes_since_backup(journal, profile.name, record)
        lines.append(
            found.text("since that backup: a restore loses them or they must be reconciled")
        )
    return lines


def assess(
    journal: Journal,
    session: UpgradeSession,
    profile: Profile,
    now: datetime | None = None,
    threshold_s: float = HALF_DONE_AFTER_S,
    versions: Mapping[str, str] | None = None,
    polled: Mapping[str, str] | None = None,
) -> RollbackCost:
    """The rollback cost of `session` from what the journal holds (reads only)."""
    from themis_desktop.core.upgrade.hop_runner import rollback_candidates

    session = session.reload(journal)
    modes = tuple(hop_mode(journal, profile, h) for h in session.hops)
    hop_at_risk = {}
    for hop in session.hops:
        if hop.state in UPGRADED:
            backups = rollback_candidates(journal, session, hop, profile)
            hop_at_risk[hop.id] = {
                n: writes_since_backup(journal, profile.name, r)
                for n, r in backups.items()
                if r is not None
            }
    last = session.last_finished or next(
        (h for h in reversed(session.hops) if h.state in UPGRADED), None
    )
    return RollbackCost(
        modes,
        writes_at_risk(journal, profile),
        hop_at_risk,
        half_done(session, now, threshold_s, versions),
        last.id if last is not None else None,
        dict(polled or {}),
    )


@dataclass(frozen=True)
class Polled:
    """One poll of every node: the versions they answered with, and why others did not."""

    versions: dict[str, str]
    failed: dict[str, str]


def poll(
    journal: Journal,
    profile: Profile,
    token: str | None,
    cancelled: threading.Event | None = None,
) -> Polled:
    """Read each node's write counter (and version) and store the readings; a node that
    does not answer is named with the reason (its writes stay as last read). `cancelled`
    stops before the next node."""
    versions, failed = {}, {}
    for node in profile.nodes:
        if cancelled is not None and cancelled.is_set():
            break
        try:
            with profile.client(node, token, timeout=POLL_TIMEOUT_S) as client:
                counter = read_counter(client.stats())
                try:
                    versions[node.name] = client.version().version
                except Exception as exc:  # a version is only for the half-done check
                    logger.debug("version of %s: %s", node.name, exc)
        except Exception as exc:
            failed[node.name] = str(exc) or type(exc).__name__
            continue
        write_readings.record(journal, profile.name, node.name, counter, at=utc_now())
    return Polled(versions, failed)


def poll_and_assess(
    journal: Journal,
    session: UpgradeSession,
    profile: Profile,
    token: str | None,
    now: datetime | None = None,
    threshold_s: float = HALF_DONE_AFTER_S,
    cancelled: threading.Event | None = None,
) -> RollbackCost:
    """`poll`, then `assess` (the GUI's meter in a worker, and `session status`)."""
    found = poll(journal, profile, token, cancelled)
    return assess(journal, session, profile, now, threshold_s, found.versions, found.failed)
