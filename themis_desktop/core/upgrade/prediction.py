"""How long a hop will take and how long each node will be down, predicted per node and
per step (backup, stop, install, start, ready, validation; and restore, if rolled back) as
a range: from the node's data size and key count (its data dir, `GET /stats`) and what this
installation measured before (`step_timing.samples`: past sessions' steps, backups of the
catalogue, rehearsals). With nothing measured yet a step takes a stated default assumption
and says so; every measurement journaled narrows the next prediction.

A hop's prediction is journaled once before its work starts (`remember`, a `hop.prediction`
event), so the report can put it beside what happened (`comparison`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import step_timing
from themis_desktop.core.upgrade.step_timing import Timing

if TYPE_CHECKING:
    from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
    from themis_desktop.core.upgrade.session import Hop, UpgradeSession

EVENT = "hop.prediction"
HOP_STEPS = ("backup", "stop", "install", "start", "ready", "validation")
ROLLBACK_STEPS = ("stop", "restore", "install", "start", "ready")
DOWN_STEPS = ("stop", "install", "start", "ready")  # the node serves nothing meanwhile
RECENT = 20  # the newest measurements of a step that count
MAX_AGE = timedelta(days=365)
MB = 1_000_000


@dataclass(frozen=True)
class Assumption:
    """A step's default range with nothing measured: fixed seconds plus bytes at a rate
    (and, for `ready`, keys at a rate)."""

    low_s: float
    high_s: float
    fast_bps: float | None = None  # bytes per second at best / at worst
    slow_bps: float | None = None
    text: str = ""


ASSUMPTIONS = {
    "backup": Assumption(1, 5, 200 * MB, 20 * MB, "20–200 MB/s to read, compress and verify"),
    "restore": Assumption(1, 5, 200 * MB, 20 * MB, "20–200 MB/s to verify, unpack and check"),
    "stop": Assumption(1, 30, text="1–30 s for a clean shutdown"),
    "install": Assumption(2, 120, text="2 s–2 min to install a package"),
    "start": Assumption(1, 15, text="1–15 s for the service to start"),
    "ready": Assumption(1, 30, 1000 * MB, 100 * MB, "1–30 s plus 0.1–1 GB/s of data to open"),
    "validation": Assumption(0.5, 10, text="0.5–10 s of checks per node"),
}
KEYS_PER_S = (10_000_000, 1_000_000)  # opening a store, keys per second (best, worst)
# a measured duration scales to another size as (bytes + offset) / (its bytes + offset):
# the offset is the fixed part of the step, in bytes (None: the step does not scale)
SCALE_OFFSET = {"backup": 32 * 2**20, "restore": 32 * 2**20, "ready": 256 * 2**20}


@dataclass(frozen=True)
class NodeSize:
    node: str
    data_bytes: int | None = None  # its data dir
    live_bytes: int | None = None  # GET /stats estimate_live_data_size_bytes
    keys: int | None = None  # GET /stats estimate_num_keys
    note: str = ""  # why a figure is missing

    @property
    def bytes(self) -> int | None:
        return self.data_bytes if self.data_bytes is not None else self.live_bytes


@dataclass(frozen=True)
class StepPrediction:
    step: str
    low: float
    high: float
    measured: int = 0  # measurements it rests on (0: the default assumption)
    basis: str = ""

    @property
    def assumed(self) -> bool:
        return self.measured == 0


@dataclass(frozen=True)
class NodePrediction:
    node: str
    size: NodeSize
    steps: tuple[StepPrediction, ...]
    rollback: tuple[StepPrediction, ...] = ()

    def step(self, name: str, rollback: bool = False) -> StepPrediction | None:
        return next(
            (s for s in (self.rollback if rollback else self.steps) if s.step == name), None
        )

    @property
    def downtime(self) -> tuple[float, float]:
        """How long the node serves nothing during the upgrade step."""
        return _sum(s for s in self.steps if s.step in DOWN_STEPS)

    @property
    def total(self) -> tuple[float, float]:
        return _sum(self.steps)

    @property
    def rollback_total(self) -> tuple[float, float]:
        return _sum(self.rollback)


@dataclass(frozen=True)
class HopPrediction:
    from_version: str
    to_version: str
    nodes: tuple[NodePrediction, ...]
    made_at: str = ""
    measurements: int = 0  # all the measurements it could learn from
    hop: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return f"{self.from_version} → {self.to_version}"

    @property
    def total(self) -> tuple[float, float]:
        """The hop from the backup to validation: the nodes one after the other."""
        return _sum_pairs(n.total for n in self.nodes)

    @property
    def rollback_total(self) -> tuple[float, float]:
        return _sum_pairs(n.rollback_total for n in self.nodes)

    @property
    def downtime(self) -> tuple[float, float]:
        """The longest one node is down (a node at a time: the cluster's, with one node)."""
        spans = [n.downtime for n in self.nodes] or [(0.0, 0.0)]
        return max(lo for lo, _ in spans), max(hi for _, hi in spans)

    @property
    def assumed(self) -> bool:
        """Nothing of it was measured here yet."""
        return all(s.assumed for n in self.nodes for s in (*n.steps, *n.rollback))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["total"], data["downtime"] = list(self.total), list(self.downtime)
        data["rollback_total"] = list(self.rollback_total)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HopPrediction:
        nodes = tuple(
            NodePrediction(
                n["node"],
                NodeSize(**n["size"]),
                tuple(StepPrediction(**s) for s in n["steps"]),
                tuple(StepPrediction(**s) for s in n.get("rollback", ())),
            )
            for n in data.get("nodes", ())
        )
        return cls(
            data["from_version"],
            data["to_version"],
            nodes,
            data.get("made_at", ""),
            int(data.get("measurements", 0)),
            data.get("hop"),
            tuple(data.get("notes", ())),
        )


def _sum(steps: Iterable[StepPrediction]) -> tuple[float, float]:
    items = list(steps)
    return sum(s.low for s in items), sum(s.high for s in items)


def _sum_pairs(pairs: Iterable[tuple[float, float]]) -> tuple[float, float]:
    items = list(pairs)
    return sum(lo for lo, _ in items), sum(hi for _, hi in items)


# -- the model ----------------------------------------------------------------------------


def assumed(step: str, size: NodeSize) -> StepPrediction:
    """The default range of `step` for a node of `size`, with nothing measured here."""
    a = ASSUMPTIONS[step]
    low, high = a.low_s, a.high_s
    b = size.bytes
    if a.fast_bps and a.slow_bps and b:
        low, high = low + b / a.fast_bps, high + b / a.slow_bps
    if step == "ready" and size.keys:
        low, high = low + size.keys / KEYS_PER_S[0], high + size.keys / KEYS_PER_S[1]
    return StepPrediction(step, low, high, 0, f"no measurement yet: assumes {a.text}")


def scaled(sample: Timing, step: str, to_bytes: int | None) -> float:
    """`sample`'s duration at `to_bytes` of data (as it was where either size is unknown)."""
    offset = SCALE_OFFSET.get(step)
    if offset is None or to_bytes is None or sample.data_bytes is None:
        return sample.seconds
    return sample.seconds * (to_bytes + offset) / (sample.data_bytes + offset)


def predict_step(
    step: str, size: NodeSize, history: Sequence[Timing], profile: str | None = None
) -> StepPrediction:
    """`step`'s range for a node of `size`: the newest measurements of the step (this
    profile's when it has any, else every profile's), scaled to the node's size; their
    spread widened by 50 %/√n. The default assumption without any."""
    mine = [t for t in history if t.step == step]
    own = [t for t in mine if profile is not None and t.profile == profile]
    if own:
        mine, where = own, "on this installation"
    else:
        where = "on other installations"
    mine = mine[-RECENT:]
    if not mine:
        return assumed(step, size)
    values = [scaled(t, step, size.bytes) for t in mine]
    pad = 0.5 / math.sqrt(len(values))
    low = max(0.0, min(values) * (1 - pad) - 0.05)
    high = max(values) * (1 + pad) + 0.05
    sources = sorted({t.source for t in mine})
    return StepPrediction(
        step,
        low,
        high,
        len(values),
        f"{len(values)} measurement(s) {where} ({', '.join(sources)})",
    )


def predict(
    sizes: Sequence[NodeSize],
    history: Sequence[Timing],
    *,
    from_version: str,
    to_version: str,
    profile: str | None = None,
    now: datetime | None = None,
    hop: int | None = None,
) -> HopPrediction:
    """Every node's steps and rollback steps for one hop, from `history` up to `now`
    (measurements older than a year, or after `now`, do not count)."""
    now = now or datetime.now(UTC)
    usable = [t for t in history if t.when is None or now - MAX_AGE <= t.when <= now]
    nodes = tuple(
        NodePrediction(
            size.node,
            size,
            tuple(predict_step(s, size, usable, profile) for s in HOP_STEPS),
            tuple(predict_step(s, size, usable, profile) for s in ROLLBACK_STEPS),
        )
        for size in sizes
    )
    notes = tuple(f"{s.node}: {s.note}" for s in sizes if s.note)
    made = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return HopPrediction(from_version, to_version, nodes, made, len(usable), hop, notes)


# -- with the journal and the nodes -----------------------------------------------------------


def node_size(
    profile: Profile, node: NodeEndpoint, token: str | None, timeout: float, ask: bool = True
) -> NodeSize:
    """The node's data dir size and what its `GET /stats` estimates (either may be
    missing: a node that does not answer, no data dir in the profile). Without `ask` (a
    read-only review of another machine's journal) neither is looked at."""
    from themis_desktop.core.server.errors import ThemisError

    if not ask:
        return NodeSize(node.name, note="size not asked (a read-only review)")

    data_bytes = step_timing.data_size(node)
    notes = [] if node.data_dir else ["no data dir in the profile"]
    live = keys = None
    try:
        with profile.client(node, token, timeout=timeout) as client:
            rocks = client.stats().rocksdb
        live = int(rocks.estimate_live_data_size_bytes or 0) or None
        keys = int(rocks.estimate_num_keys or 0) or None
    except ThemisError as exc:
        notes.append(f"no /stats ({exc})")
    return NodeSize(node.name, data_bytes, live, keys, "; ".join(notes))


def for_hop(
    journal: Journal,
    profile: Profile,
    token: str | None,
    from_version: str,
    to_version: str,
    *,
    hop: int | None = None,
    timeout: float = 3.0,
    now: datetime | None = None,
    ask: bool = True,
) -> HopPrediction:
    """A fresh prediction of one hop of `profile` (its nodes asked for their sizes, unless
    not to `ask`)."""
    sizes = [node_size(profile, n, token, timeout, ask) for n in profile.nodes]
    return predict(
        sizes,
        step_timing.samples(journal),
        from_version=from_version,
        to_version=to_version,
        profile=profile.name,
        now=now,
        hop=hop,
    )


def for_plan(
    journal: Journal,
    profile: Profile,
    token: str | None,
    hops: Sequence[tuple[str, str]],
    *,
    timeout: float = 3.0,
    ask: bool = True,
) -> list[HopPrediction]:
    """Every hop of a planned path (from, to), the nodes asked once (unless not to `ask`)."""
    sizes = [node_size(profile, n, token, timeout, ask) for n in profile.nodes]
    history = step_timing.samples(journal)
    return [
        predict(sizes, history, from_version=a, to_version=b, profile=profile.name) for a, b in hops
    ]


def recorded(journal: Journal, session_id: int, hop_id: int) -> HopPrediction | None:
    """The prediction journaled before the hop's work started (None: none was)."""
    for event in reversed(journal.events(session_id=session_id, types=[EVENT])):
        data = event.data or {}
        if data.get("hop") == hop_id and isinstance(data.get("prediction"), dict):
            try:
                return HopPrediction.from_json(data["prediction"])
            except (KeyError, TypeError, ValueError):
                return None
    return None


def remember(
    journal: Journal,
    session: UpgradeSession,
    hop: Hop,
    profile: Profile,
    token: str | None,
) -> HopPrediction:
    """The hop's prediction, journaled the first time its work starts (later calls return
    the journaled one): what the report compares the actual steps with."""
    found = recorded(journal, session.id, hop.id)
    if found is not None:
        return found
    made = for_hop(journal, profile, token, hop.from_version, hop.to_version, hop=hop.id)
    (low, high), (down_low, down_high) = made.total, made.downtime
    journal.add_event(
        EVENT,
        f"Hop {hop.label} predicted: {low:.1f}–{high:.1f} s, each node down "
        f"{down_low:.1f}–{down_high:.1f} s",
        session_id=session.id,
        data={"hop": hop.id, "prediction": made.to_json()},
    )
    return made


def current(
    journal: Journal,
    session: UpgradeSession,
    hop: Hop,
    profile: Profile,
    token: str | None,
    ask: bool = True,
) -> HopPrediction:
    """What the session page and `session status` show for `hop`: its journaled
    prediction once its work started, a fresh one before (its nodes asked for their sizes
    unless not to `ask`)."""
    found = recorded(journal, session.id, hop.id)
    if found is not None:
        return found
    return for_hop(journal, profile, token, hop.from_version, hop.to_version, hop=hop.id, ask=ask)


# -- predicted against actual -----------------------------------------------------------------


@dataclass(frozen=True)
class Compared:
    node: str
    phase: str  # backup, upgrade, validate, rollback
    step: str
    low: float | None  # None: not predicted
    high: float | None
    actual: float | None  # None: not run (yet)

    @property
    def verdict(self) -> str:
        if self.actual is None:
            return "not run"
        if self.low is None or self.high is None:
            return "not predicted"
        if self.actual < self.low:
            return "faster"
        return "slower" if self.actual > self.high else "within"


PHASE_OF = {"backup": "backup", "validation": "validate", "restore": "rollback"}


def comparison(prediction: HopPrediction | None, timings: Sequence[Timing]) -> list[Compared]:
    """Every predicted step of every node beside what it took (rollback steps only when the
    hop was rolled back), and any measured step that was not predicted."""
    actual: dict[tuple[str, str, str], float] = {}
    for t in timings:
        key = (t.node or "?", t.phase or PHASE_OF.get(t.step, "upgrade"), t.step)
        actual[key] = actual.get(key, 0.0) + t.seconds
    rolled = any(phase == "rollback" for _, phase, _ in actual)
    rows: list[Compared] = []
    for node in prediction.nodes if prediction else ():
        for s in node.steps:
            phase = PHASE_OF.get(s.step, "upgrade")
            rows.append(
                Compared(
                    node.node,
                    phase,
                    s.step,
                    s.low,
                    s.high,
                    actual.pop((node.node, phase, s.step), None),
                )
            )
        for s in node.rollback if rolled else ():
            got = actual.pop((node.node, "rollback", s.step), None)
            rows.append(Compared(node.node, "rollback", s.step, s.low, s.high, got))
    rows += [Compared(n, p, s, None, None, v) for (n, p, s), v in actual.items()]
    return rows


def before_hop(
    journal: Journal,
    session: UpgradeSession,
    hop: Hop,
    profile: Profile,
    token: str | None,
    log: Callable[[str], None],
) -> None:
    """`remember` the hop's prediction as its work starts, never failing the step for it:
    a prediction that cannot be made is logged and the step goes on."""
    import sqlite3

    from themis_desktop.core.errors import ThemisDesktopError

    try:
        if recorded(journal, session.id, hop.id) is not None:
            return  # journaled when the hop's work started
        made = remember(journal, session, hop, profile, token)
    except (ThemisDesktopError, OSError, sqlite3.Error, ValueError) as exc:
        log(f"⚠ the hop's durations could not be predicted: {exc}")
        return
    (low, high), (down_low, down_high) = made.total, made.downtime
    basis = "default assumptions" if made.assumed else "measured on this installation"
    log(
        f"Predicted for hop {hop.label}: {low:.1f}–{high:.1f} s in all, each node down "
        f"{down_low:.1f}–{down_high:.1f} s ({basis})"
    )
