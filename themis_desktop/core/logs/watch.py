"""Log watch: follow every node's log, classify the lines, count them per hop phase, keep
what matters to a hop in the journal, and spot a burst of errors after an upgrade.

A node's log source is set in its profile: the server's log file (ThemisDB writes
`themis_server.log` in its working directory), `journalctl -u UNIT -f -o json` on this
host, or a command whose output is the log (e.g. `ssh db1 tail -F /var/lib/themisdb/…`).
One background thread polls all sources of a profile; the listener gets classified
batches. The journal keeps, per hop, exact counts per phase, node and level, and the
warning-and-worse lines themselves (capped per message kind, so a flood stays bounded).
"""

from __future__ import annotations

import shlex
import sqlite3
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from themis_desktop.core.errors import ThemisDesktopError
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.logs import line_format as log_format
from themis_desktop.core.logs import store as log_store
from themis_desktop.core.logs.follow import CommandFollower, FileFollower, LogSourceError
from themis_desktop.core.logs.line_format import RANK, LogLine

SourceKind = Literal["none", "file", "journald", "command"]
POLL_INTERVAL_S = 0.25
BACKLOG_BYTES = 64 << 10  # the end of a log file shown at start (for the view only)
PHASE_EVERY_S = 1.0
RETRY_AFTER_S = 5.0
STORED_PER_SIGNATURE = 50  # per hop, node and message kind; counts stay exact beyond
STORED_PER_HOP = 20_000
WATCH_AFTER_S = 7 * 86400  # a finished hop's lines are counted for its rollback window
UPGRADED_PHASES = ("validating", "done")  # the new version runs: errors count against it
BEFORE_PHASES = ("planned", "pre-checks", "backed-up")  # the old version's error rate


@dataclass(frozen=True)
class LogSource:
    """Where a node's log comes from; `spec` is how profiles and the CLI write it:
    `file:PATH` (or a bare path), `journald[:UNIT]`, `command:CMD`, or empty for none."""

    kind: SourceKind = "none"
    target: str = ""

    @classmethod
    def parse(cls, spec: str | None) -> LogSource:
        spec = (spec or "").strip()
        if not spec or spec == "none":
            return cls()
        kind, sep, rest = spec.partition(":")
        if sep and kind == "journald":
            return cls("journald", rest.strip() or "themisdb")
        if spec == "journald":
            return cls("journald", "themisdb")
        if sep and kind == "command":
            if not rest.strip():
                raise ValueError("a command log source needs a command, e.g. command:ssh db1 …")
            return cls("command", rest.strip())
        if sep and kind == "file":
            spec = rest.strip()
        if not spec:
            raise ValueError("a file log source needs a path, e.g. file:/var/log/themis.log")
        return cls("file", spec)

    @property
    def spec(self) -> str:
        return "" if self.kind == "none" else f"{self.kind}:{self.target}"

    @property
    def label(self) -> str:
        return {
            "none": "no log source",
            "file": f"file {self.target}",
            "journald": f"journald unit {self.target}",
            "command": f"command “{self.target}”",
        }[self.kind]

    def argv(self) -> list[str]:
        if self.kind == "journald":
            return ["journalctl", "-u", self.target, "-f", "-o", "json", "-n", "100"]
        return shlex.split(self.target)

    def follower(self, backlog: int = 0) -> FileFollower | CommandFollower:
        """Follows the source; a file's last `backlog` bytes are read first."""
        if self.kind == "file":
            return FileFollower(self.target, backlog=backlog)
        if self.kind in ("journald", "command"):
            return CommandFollower(self.argv(), shown=" ".join(self.argv()))
        raise LogSourceError("This node has no log source; set one in its profile.")

    def parser(self) -> Callable[[str, str, float], LogLine]:
        return log_format.parse_journald if self.kind == "journald" else log_format.parse_plain


# -- where in the upgrade we are --------------------------------------------------------


@dataclass(frozen=True)
class HopPhase:
    """The hop lines belong to now, its state (after it finished and until the next hop
    starts, "done"), and when it entered each state: a line's phase is the state the hop
    was in at the line's time."""

    session_id: int
    hop_id: int
    hop_label: str
    phase: str
    upgraded_at: float | None = None  # when the new version first answered
    transitions: tuple[tuple[float, str], ...] = ()  # (unix time, state entered), in order

    def at(self, ts: float) -> str:
        """The hop's state at `ts`."""
        state = "planned"
        for when, entered in self.transitions:
            if when > ts:
                break
            state = entered
        return state if self.transitions else self.phase


# -- the journal's side ------------------------------------------------------------------


def store(journal: Journal, phase: HopPhase, lines: list[LogLine], keep: list[LogLine]) -> None:
    """Count `lines` for the hop, each in its phase, and insert the `keep` ones, in one
    transaction (the tables are `logs.store`'s)."""
    counts = Counter((phase.at(line.ts), line.node, line.level) for line in lines)
    kept = [(phase.at(line.ts), line) for line in keep]
    log_store.add(journal, phase.session_id, phase.hop_id, counts, kept)


def errors_and_warnings(levels: dict[str, int]) -> tuple[int, int]:
    """A phase's counts as they are shown: errors (error and critical) and warnings."""
    return levels.get("error", 0) + levels.get("critical", 0), levels.get("warning", 0)


# -- grouping repeats ---------------------------------------------------------------------


@dataclass
class Group:
    """Repeats of one message kind on one node."""

    node: str
    level: str
    signature: str
    example: str
    count: int = 0
    first: float = 0.0
    last: float = 0.0


class Groups:
    """Lines grouped by (node, level, signature), the most recent kinds kept (bounded).
    A line is anything with `node`, `level`, `message` and `ts`."""

    def __init__(self, limit: int = 2000) -> None:
        self.limit = limit
        self._groups: OrderedDict[tuple[str, str, str], Group] = OrderedDict()

    def add(self, lines: Iterable[Any]) -> None:
        for line in lines:
            key = (line.node, line.level, log_format.signature(line.message))
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = Group(*key, example=line.message, first=line.ts)
                if len(self._groups) > self.limit:
                    self._groups.popitem(last=False)
            else:
                self._groups.move_to_end(key)
            group.count += 1
            group.last = line.ts
            group.example = line.message

    def groups(self) -> list[Group]:
        """Most severe first, then the most frequent."""
        return sorted(self._groups.values(), key=lambda g: (RANK[g.level], -g.count, -g.last))

    def clear(self) -> None:
        self._groups.clear()


# -- a burst of errors after the upgrade -----------------------------------------------------


@dataclass(frozen=True)
class BurstRule:
    """Errors in `window_s` on one node that count as a burst: at least `min_errors` and
    `factor` times the node's rate before the upgrade."""

    window_s: float = 60.0
    min_errors: int = 10
    factor: float = 5.0
    baseline_s: float = 900.0


@dataclass(frozen=True)
class Burst:
    phase: HopPhase
    node: str
    errors: int
    window_s: float
    before_per_min: float
    lines: tuple[LogLine, ...]

    @property
    def note(self) -> str:
        before = f"{self.before_per_min:.1f}/min before the upgrade"
        return (
            f"Log watch: {self.errors} errors in {self.window_s:g} s on {self.node} after hop "
            f"{self.phase.hop_label} ({before}). First: {self.lines[0].message[:160]}"
        )

    def evidence(self) -> dict[str, Any]:
        return {
            "source": "logs",
            "hop": self.phase.hop_id,
            "node": self.node,
            "errors": self.errors,
            "window_s": self.window_s,
            "before_per_min": round(self.before_per_min, 2),
            "lines": [
                {"ts": log_format.iso(x.ts), "level": x.level, "message": x.message}
                for x in self.lines
            ],
        }


@dataclass
class BurstDetector:
    """Feeds on classified lines and the phase they arrived in; reports one burst per hop."""

    rule: BurstRule = field(default_factory=BurstRule)
    _before: dict[str, deque[float]] = field(default_factory=dict)
    _after: dict[str, deque[LogLine]] = field(default_factory=dict)
    _watched_since: float = field(default_factory=time.time)
    _reported: set[int] = field(default_factory=set)

    def already_reported(self, hop_id: int) -> None:
        self._reported.add(hop_id)

    def reported(self, hop_id: int) -> bool:
        return hop_id in self._reported

    def feed(self, phase: HopPhase | None, lines: list[LogLine], now: float) -> Burst | None:
        if phase is None:
            return None
        errors = [x for x in lines if RANK[x.level] <= RANK["error"]]
        upgraded_at = phase.upgraded_at if phase.phase in UPGRADED_PHASES else None
        for line in errors:
            state = phase.at(line.ts)
            if upgraded_at is not None and line.ts >= upgraded_at and state in UPGRADED_PHASES:
                self._after.setdefault(line.node, deque()).append(line)
            elif state in BEFORE_PHASES:
                self._before.setdefault(line.node, deque()).append(line.ts)
        if upgraded_at is None:  # after the upgrade the rate before it stays as it was
            for stamps in self._before.values():
                while stamps and stamps[0] < now - self.rule.baseline_s:
                    stamps.popleft()
        if upgraded_at is None or phase.hop_id in self._reported:
            return None
        for node, recent in self._after.items():
            while recent and recent[0].ts < now - self.rule.window_s:
                recent.popleft()
            before = self._before_rate(node, upgraded_at)
            rule = self.rule
            if len(recent) >= max(rule.min_errors, rule.factor * before * rule.window_s / 60):
                self._reported.add(phase.hop_id)
                return Burst(phase, node, len(recent), rule.window_s, before, tuple(recent)[:20])
        return None

    def _before_rate(self, node: str, upgraded_at: float) -> float:
        """Errors per minute on `node` over the watched time before the upgrade."""
        start = upgraded_at - self.rule.baseline_s
        stamps = [t for t in self._before.get(node, ()) if start <= t <= upgraded_at]
        span = min(self.rule.baseline_s, max(upgraded_at - self._watched_since, 0.0))
        return len(stamps) / (span / 60) if span >= 60 else 0.0


def burst_reported(journal: Journal, phase: HopPhase) -> bool:
    """Whether a log burst trigger was raised for this hop already (e.g. before a restart)."""
    for event in journal.events(session_id=phase.session_id, types=["trigger.raised"]):
        evidence = (event.data or {}).get("evidence") or {}
        if evidence.get("source") == "logs" and evidence.get("hop") == phase.hop_id:
            return True
    return False


# -- the watch -----------------------------------------------------------------------------

LinesListener = Callable[[list[LogLine]], None]
ProblemListener = Callable[[str, str], None]  # node, message ("" when the source is fine again)
BurstListener = Callable[[Burst], None]
# the phase of a profile's newest session now (`upgrade.log_phase.current_phase`)
PhaseLookup = Callable[[Journal, str], HopPhase | None]
# raises the rollback trigger of a burst (`upgrade.log_phase.raise_burst_trigger`)
TriggerRaiser = Callable[[Journal, Burst], None]


@dataclass
class _Node:
    name: str
    source: LogSource
    follower: FileFollower | CommandFollower | None = None
    retry_at: float = 0.0
    problem: str = ""
    backlog_until: float = 0.0  # lines read until then were logged before the watch began
    opened: bool = False


class LogWatch:
    """Follows the log of every node of a profile in one thread until `stop()`. `phase_of`
    says which hop phase the lines count for; `raise_trigger` (None: bursts are only
    reported to `on_burst`) records a burst as the session's rollback trigger."""

    def __init__(
        self,
        profile: str,
        sources: list[tuple[str, LogSource]],
        *,
        phase_of: PhaseLookup,
        journal_path: Path | None = None,
        on_lines: LinesListener | None = None,
        on_problem: ProblemListener | None = None,
        on_burst: BurstListener | None = None,
        raise_trigger: TriggerRaiser | None = None,
        rule: BurstRule | None = None,
        interval: float = POLL_INTERVAL_S,
    ) -> None:
        self.profile = profile
        self.nodes = [_Node(name, source) for name, source in sources if source.kind != "none"]
        self.journal_path = journal_path
        self.on_lines = on_lines
        self.on_problem = on_problem
        self.on_burst = on_burst
        self.phase_of = phase_of
        self.raise_trigger = raise_trigger
        self.detector = BurstDetector(rule or BurstRule())
        self.interval = interval
        self.phase: HopPhase | None = None
        self._next_phase = 0.0
        self._stored: Counter[tuple[int, str, str]] = Counter()
        self._stored_per_hop: Counter[int] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="log-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _open_journal(self) -> Journal | None:
        """The journal for this thread, waiting while it cannot be opened (said once)."""
        while self.journal_path and not self._stop.is_set():
            try:
                return Journal(self.journal_path, durable=False)
            except (ThemisDesktopError, sqlite3.Error, OSError) as exc:
                if self.on_problem:
                    self.on_problem("log watch", f"cannot open the journal yet ({exc}).")
                self._stop.wait(RETRY_AFTER_S)
        return None

    def _run(self) -> None:
        journal = self._open_journal()
        try:
            while not self._stop.is_set():
                try:
                    self.step(journal, time.time())
                except Exception as exc:  # e.g. the journal's disk is full: keep following
                    if self.on_problem:
                        self.on_problem("log watch", f"could not record lines ({exc}).")
                    self._stop.wait(RETRY_AFTER_S)
                self._stop.wait(self.interval)
        finally:
            for node in self.nodes:
                if node.follower is not None:
                    node.follower.close()
            if journal is not None:
                journal.close()

    def _update_phase(self, journal: Journal) -> None:
        phase = self.phase_of(journal, self.profile)
        if phase and not self.detector.reported(phase.hop_id) and burst_reported(journal, phase):
            self.detector.already_reported(phase.hop_id)
        self.phase = phase

    def step(self, journal: Journal | None, now: float) -> list[LogLine]:
        """One round: read every source, hand the lines on, store and judge them."""
        batch: list[LogLine] = []
        backlog: list[LogLine] = []  # logged before the watch began: for the view only
        for node in self.nodes:
            lines = self._read(node, now)
            if now <= node.backlog_until:
                backlog += lines
            else:
                batch += lines
        backlog.sort(key=lambda x: x.ts)
        batch.sort(key=lambda x: x.ts)  # the nodes' lines interleaved in time
        if backlog and self.on_lines:
            self.on_lines(backlog)
        if journal is not None and (batch or now >= self._next_phase):
            self._update_phase(journal)  # lines are judged by the hop's state at their time
            self._next_phase = now + PHASE_EVERY_S
        if not batch:
            self.detector.feed(self.phase, [], now)
            return batch
        if self.on_lines:
            self.on_lines(batch)
        phase = self.phase
        if journal is not None and phase is not None:
            store(journal, phase, batch, self._to_keep(phase, batch))
        burst = self.detector.feed(phase, batch, now)
        if burst is not None:
            self._report(journal, burst)
        return batch

    def _read(self, node: _Node, now: float) -> list[LogLine]:
        if node.follower is None and now < node.retry_at:
            return []
        try:
            if node.follower is None:
                first = not node.opened
                node.follower = node.source.follower(backlog=BACKLOG_BYTES if first else 0)
                node.opened = True
                # a file's end comes with the first poll; a command's first lines come at once
                # (journalctl -n, tail -F): counted again after a restart, they would count twice
                node.backlog_until = now + (0.0 if node.source.kind == "file" else 1.0)
            raw = node.follower.poll()
        except LogSourceError as exc:
            if node.follower is not None:
                node.follower.close()
            node.follower, node.retry_at = None, now + RETRY_AFTER_S
            self._problem(node, f"{exc} Trying again in {RETRY_AFTER_S:g} s.")
            return []
        if node.problem:
            self._problem(node, "")
        parse = node.source.parser()
        return [parse(node.name, text, now) for text in raw if text.strip()]

    def _problem(self, node: _Node, message: str) -> None:
        if message != node.problem:
            node.problem = message
            if self.on_problem:
                self.on_problem(node.name, message)

    def _to_keep(self, phase: HopPhase, batch: list[LogLine]) -> list[LogLine]:
        keep = []
        for line in batch:
            if not line.at_least_warning or self._stored_per_hop[phase.hop_id] >= STORED_PER_HOP:
                continue
            key = (phase.hop_id, line.node, line.signature)
            if self._stored[key] < STORED_PER_SIGNATURE:
                self._stored[key] += 1
                self._stored_per_hop[phase.hop_id] += 1
                keep.append(line)
        if len(self._stored) > 50_000:  # many kinds of message: forget the oldest hops' tallies
            self._stored = Counter({k: v for k, v in self._stored.items() if k[0] == phase.hop_id})
        return keep

    def _report(self, journal: Journal | None, burst: Burst) -> None:
        if journal is not None and self.raise_trigger is not None:
            self.raise_trigger(journal, burst)
        if self.on_burst:
            self.on_burst(burst)
