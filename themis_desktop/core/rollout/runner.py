"""Rollouts of one hop on a cluster: rolling, canary and blue-green, gated by the metrics.

A rollout is a list of steps planned up front (so it can be shown as a timeline) and run
one by one in a worker thread. After every step its progress is saved in the journal, so a
paused or interrupted rollout resumes where it stopped, also after an app restart.

Gates compare the upgraded node(s) with the stable ones sampled at the same time (canary,
blue-green) or with the cluster before the rollout (rolling): pass → go on, marginal →
pause for a human, fail → abort (traffic back to the stable version, the canary restored).
Inconclusive (fewer than `MIN_SAMPLES` on a side) is never a pass: the gate keeps sampling
for up to `EVIDENCE_TIMEOUT_S` (saying how much it has, "waiting" events), then pauses for a
human (status "paused", the reason says why), neither going on nor aborting; resuming goes
on past that gate as the admin's decision, journaled (`rollout.gate-accepted`).

Served requests are judged against the offered load (`offered_load`): the gate's own probes
plus each side's share of the routed traffic, so a canary serving less than it is offered
fails while one serving less because its share is small does not.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from themis_desktop.core.backup import catalog as backup_catalog
from themis_desktop.core.backup.catalog import BackupRecord
from themis_desktop.core.backup.operations import NodeJob, back_up_and_record_all, restore_node
from themis_desktop.core.backup.restore import verify
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal, current_user, utc_now
from themis_desktop.core.metrics.comparison import MIN_SAMPLES, Load
from themis_desktop.core.metrics.sampling import NodeSampler
from themis_desktop.core.metrics.verdict import Evaluation, evaluate, pooled
from themis_desktop.core.rollout import store as rollout_store
from themis_desktop.core.rollout.traffic import NO_ROUTER
from themis_desktop.core.upgrade import hop_runner
from themis_desktop.core.upgrade.hop_runner import HopContext, SessionError
from themis_desktop.core.util.changes import Topic
from themis_desktop.core.util.formatting import human_duration

Strategy = Literal["rolling", "canary", "blue-green"]
STRATEGIES: tuple[Strategy, ...] = ("rolling", "canary", "blue-green")
DEFAULT_CANARY_STEPS = (5, 20, 50, 100)
DEFAULT_SOAK_S = 60.0
GATE_METRICS = ("probe_ms", "error_rate", "server_p95_ms", "server_p99_ms", "request_rate")
EVIDENCE_TIMEOUT_S = 600.0  # a gate waits this long for enough samples, then asks a human
# Served requests per offered one: a gate fails a node serving less than half of what it is
# offered. Request counts per sample at a gate's pace are noisy (a few requests each), so
# the usual ±20 % band would pause healthy canaries as marginal.
SERVED_BAND = 0.5


class WeightsRouter(Protocol):
    """What a rollout asks of a profile's traffic router (a `traffic.TrafficRouter`)."""

    @property
    def kind(self) -> str: ...
    def set_weights(self, weights: dict[str, float]) -> str: ...


class RolloutError(SessionError):
    """The rollout cannot go on; the message says what happened and what to do."""


@dataclass(frozen=True)
class Step:
    """One step of the plan. `nodes` are node names; `weights` percent per node name."""

    kind: str  # baseline, backup, drain, upgrade, weights, soak, switch, done
    title: str
    nodes: tuple[str, ...] = ()
    weights: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    stable: tuple[str, ...] = ()  # soak: the nodes the upgraded ones are compared with


@dataclass
class Rollout:
    """A rollout's plan and progress, as saved in the journal."""

    profile: str
    strategy: Strategy
    from_version: str
    to_version: str
    steps: list[Step]
    status: str = "planned"  # planned, running, paused, done, aborted, failed
    position: int = 0  # the next step to run
    weights: dict[str, float] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)  # node -> stable/canary/blue/green/…
    reference: dict[str, list[float]] = field(default_factory=dict)  # rolling's baseline
    reference_offered: dict[str, float] = field(default_factory=dict)  # its Offered, as dict
    gates: list[dict[str, Any]] = field(default_factory=list)
    backups: dict[str, int] = field(default_factory=dict)  # node -> backup id
    id: int | None = None
    reason: str = ""

    @property
    def current(self) -> Step | None:
        return self.steps[self.position] if self.position < len(self.steps) else None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "aborted", "failed")

    @property
    def resumable(self) -> bool:
        """Paused, interrupted, or failed at a step that may be retried."""
        return self.status in ("paused", "running", "failed") and self.current is not None

    @property
    def restored(self) -> list[str]:
        """The nodes restored from their backups (back on the old version)."""
        return [n for n, role in self.roles.items() if role.endswith("(restored)")]

    @property
    def continuable(self) -> bool:
        """Aborted or failed with steps left and no node restored: it may go on as planned."""
        return (
            self.status in ("aborted", "failed") and self.current is not None and not self.restored
        )

    @property
    def waiting_gate(self) -> dict[str, Any] | None:
        """The gate this rollout paused at without a verdict (too little evidence), or None.
        Resuming goes on past it."""
        gate = self.gates[-1] if self.gates else None
        if (
            self.status == "paused"
            and gate is not None
            and gate["step"] == self.position - 1
            and gate["verdict"] in ("inconclusive", "no data")
        ):
            return gate
        return None

    def upgraded(self) -> list[str]:
        """The nodes whose upgrade step has started (they may run the new version)."""
        steps = self.steps[: self.position + 1]
        return [n for n in self.roles if any(s.kind == "upgrade" and n in s.nodes for s in steps)]

    def planned_weights(self) -> dict[str, float]:
        """The traffic shares (percent per node) the plan has before its current step."""
        weights = _share(list(self.roles), 100, list(self.roles))
        for step in self.steps[: self.position]:
            if step.kind in ("weights", "switch"):
                weights.update(step.weights)
        return weights


def strategy_problem(profile: Profile, strategy: str) -> str | None:
    """Why `strategy` cannot run on the profile (in words, with what to do), or None."""
    if strategy not in STRATEGIES:
        return f"Unknown strategy {strategy!r}: one of {', '.join(STRATEGIES)}."
    if strategy == "rolling":
        return None
    count = len(profile.nodes)
    if count < 2:
        return (
            f"A {strategy} rollout needs at least two nodes (one upgraded first while the "
            f"other keeps serving); “{profile.name}” has {count}. Use a rolling rollout."
        )
    if profile.router.kind == "none":
        return NO_ROUTER
    return None


def plan(
    profile: Profile,
    strategy: Strategy,
    from_version: str,
    to_version: str,
    *,
    canary_steps: tuple[float, ...] = DEFAULT_CANARY_STEPS,
    soak: float = DEFAULT_SOAK_S,
    order: tuple[str, ...] | None = None,
) -> Rollout:
    """The steps of `strategy` for the profile's nodes (in `order`, default the profile's)."""
    names = list(order or [n.name for n in profile.nodes])
    problem = strategy_problem(profile, strategy)
    if problem:
        raise RolloutError(problem)
    if set(names) != {n.name for n in profile.nodes}:
        raise RolloutError("The order must name every node of the profile once.")
    steps: list[Step] = []
    roles = dict.fromkeys(names, "stable")
    if strategy == "rolling":
        steps.append(
            Step("baseline", "Sample the cluster before the rollout", tuple(names), seconds=soak)
        )
        for name in names:
            others = [n for n in names if n != name]
            steps += [
                Step("backup", f"Verified backup of {name}", (name,)),
                Step("weights", f"Drain {name}", weights=_share(others, 100, names)),
                Step("upgrade", f"Upgrade {name} to {to_version}", (name,)),
                Step("weights", f"{name} serves again", weights=_share(names, 100, names)),
                Step(
                    "soak", f"Soak {name}: compare with the cluster before", (name,), seconds=soak
                ),
            ]
    elif strategy == "canary":
        canary, stable = names[0], names[1:]
        roles[canary] = "canary"
        steps += [
            Step("backup", f"Verified backup of the canary {canary}", (canary,)),
            Step("weights", f"Drain {canary}", weights=_share(stable, 100, names)),
            Step("upgrade", f"Upgrade the canary {canary} to {to_version}", (canary,)),
        ]
        for percent in canary_steps:
            weights = {canary: float(percent), **_share(stable, 100 - percent, names, canary)}
            steps.append(Step("weights", f"Canary at {percent:g} %", weights=weights))
            steps.append(
                Step(
                    "soak",
                    f"Soak at {percent:g} %: canary vs stable",
                    (canary,),
                    seconds=soak,
                    stable=tuple(stable),
                )
            )
        for name in stable:
            steps += [
                Step("backup", f"Verified backup of {name}", (name,)),
                Step(
                    "weights",
                    f"Drain {name}",
                    weights=_share([n for n in names if n != name], 100, names),
                ),
                Step("upgrade", f"Upgrade {name} to {to_version}", (name,)),
            ]
        steps.append(Step("weights", "Every node serves", weights=_share(names, 100, names)))
    else:  # blue-green
        half = (len(names) + 1) // 2
        blue, green = names[:half], names[half:]
        roles.update({n: "blue" for n in blue} | {n: "green" for n in green})
        steps.append(Step("weights", "Blue serves everything", weights=_share(blue, 100, names)))
        for name in green:
            steps.append(Step("backup", f"Verified backup of {name} (green)", (name,)))
            steps.append(Step("upgrade", f"Upgrade {name} (green) to {to_version}", (name,)))
        steps.append(
            Step(
                "soak",
                "Validate green against blue",
                tuple(green),
                seconds=soak,
                stable=tuple(blue),
            )
        )
        steps.append(
            Step(
                "switch", "Switch traffic to green", tuple(green), weights=_share(green, 100, names)
            )
        )
        steps.append(
            Step(
                "soak",
                "Green serves: compare with blue",
                tuple(green),
                seconds=soak,
                stable=tuple(blue),
            )
        )
    steps.append(Step("done", "Rollout complete"))
    return Rollout(
        profile.name,
        strategy,
        from_version,
        to_version,
        steps,
        roles=roles,
        weights=_share(names, 100, names),
    )


def _share(serving: list[str], total: float, names: list[str], *skip: str) -> dict[str, float]:
    """`total` percent split evenly over `serving`; every other node of `names` gets 0."""
    each = total / len(serving) if serving else 0.0
    return {n: (each if n in serving else 0.0) for n in names if n not in skip}


# -- persistence -------------------------------------------------------------------------


def save(journal: Journal, rollout: Rollout) -> Rollout:
    row = {
        "profile": rollout.profile,
        "strategy": rollout.strategy,
        "from_version": rollout.from_version,
        "to_version": rollout.to_version,
        "status": rollout.status,
        "position": rollout.position,
        "state": json.dumps(
            {
                "steps": [asdict(s) for s in rollout.steps],
                "weights": rollout.weights,
                "roles": rollout.roles,
                "reference": rollout.reference,
                "reference_offered": rollout.reference_offered,
                "gates": rollout.gates,
                "backups": rollout.backups,
                "reason": rollout.reason,
            }
        ),
        "updated_at": utc_now(),
    }
    with journal.transaction():
        if rollout.id is None:
            row["created_at"] = row["updated_at"]
            row["created_by"] = current_user()
            rollout.id = rollout_store.insert(journal, row)
        else:
            rollout_store.update(journal, rollout.id, row)
    return rollout


def load(journal: Journal, rollout_id: int) -> Rollout:
    row = rollout_store.get(journal, rollout_id)
    state = json.loads(row["state"])
    return Rollout(
        profile=row["profile"],
        strategy=row["strategy"],
        from_version=row["from_version"],
        to_version=row["to_version"],
        steps=[
            Step(**{**s, "nodes": tuple(s["nodes"]), "stable": tuple(s["stable"])})
            for s in state["steps"]
        ],
        status=row["status"],
        position=row["position"],
        weights=state["weights"],
        roles=state["roles"],
        reference=state["reference"],
        reference_offered=state.get("reference_offered", {}),
        gates=state["gates"],
        backups=state["backups"],
        id=row["id"],
        reason=state.get("reason", ""),
    )


def latest(journal: Journal, profile: str) -> Rollout | None:
    newest = rollout_store.newest_id(journal, profile)
    return load(journal, newest) if newest is not None else None


# -- running ------------------------------------------------------------------------------

Event = dict[str, Any]


class RolloutRunner:
    """Runs a rollout's remaining steps; `pause()`/`abort()` from any thread."""

    def __init__(
        self,
        rollout: Rollout,
        context: HopContext,
        router: WeightsRouter,
        *,
        interval: float = 1.0,
        on_event: Callable[[Event], None] | None = None,
        min_samples: int = MIN_SAMPLES,
        evidence_timeout_s: float = EVIDENCE_TIMEOUT_S,
        note: str = "",
    ) -> None:
        self.rollout = rollout
        self.min_samples = min_samples
        self.evidence_timeout_s = evidence_timeout_s
        self.note = note  # why the admin goes on past a gate without a verdict, if asked
        self.ctx = context
        self.router = router
        self.interval = interval
        self.on_event = on_event or (lambda event: None)
        self._pause = threading.Event()
        self._abort = threading.Event()
        self.soak_left = 0.0
        self._sampled_s = 0.0
        self._own_requests: dict[str, int] = {}  # node -> the gate's requests it answered
        self.nodes = {n.name: n for n in context.profile.nodes}
        self._gate_failed: set[str] = set()

    def pause(self) -> None:
        self._pause.set()

    def abort(self) -> None:
        self._abort.set()

    def run(self) -> Rollout:
        """Run until done, paused, aborted or failed; the journal has the progress. An
        aborted rollout goes on from where it stopped, with the traffic the plan had there."""
        r = self.rollout
        if r.status == "aborted" and not r.continuable:
            raise RolloutError(
                f"This rollout was aborted and {', '.join(r.restored) or 'a node'} restored "
                "from its backup, so it cannot go on as planned: start a new rollout."
            )
        aborted = r.status == "aborted"
        waiting = r.waiting_gate
        if waiting is not None:
            self._go_past(waiting)
        r.status, r.reason = "running", ""
        self._save("rollout.running", f"{r.strategy} rollout to {r.to_version} runs")
        try:
            if aborted:
                self._weights(r.planned_weights())
            while r.current is not None:
                if self._abort.is_set():
                    return self._aborted("aborted by the user")
                if self._pause.is_set():
                    r.status = "paused"
                    r.reason = f"paused by the user before “{r.current.title}”"
                    self._save("rollout.paused", f"Paused before: {r.current.title}")
                    return r
                step = r.current
                self._emit("step.started", step.title)
                verdict = self._run_step(step)
                if verdict == "interrupted":  # paused or aborted during a soak: redo it
                    continue
                if verdict == "fail":
                    return self._aborted(f"the gate of “{step.title}” failed")
                r.position += 1
                self._save("rollout.step", f"Done: {step.title}")
                if verdict == "marginal":
                    r.status = "paused"
                    r.reason = f"the gate of “{step.title}” is marginal: look, then resume"
                    self._save(
                        "rollout.paused",
                        f"The gate of “{step.title}” is marginal: look, then resume",
                    )
                    return r
                if verdict in ("inconclusive", "no data"):
                    r.status = "paused"
                    gate = r.gates[-1]
                    had = (
                        f" ({gate['min_samples'] - gate['needed']} of {gate['min_samples']} "
                        "samples)"
                        if gate.get("needed")
                        else ""
                    )
                    r.reason = (
                        f"the {gate_name(r, step)} (“{step.title}”) had too little evidence "
                        f"after {human_duration(self.evidence_timeout_s)}{had}, so it did not "
                        "pass: look at the nodes, then resume to go on past it, or abort"
                    )
                    self._save("rollout.paused", f"Waiting for a human: {r.reason}")
                    return r
            r.status = "done"
            self._save("rollout.done", f"Every node runs {r.to_version}")
            return r
        except Exception as exc:
            r.status, r.reason = "failed", str(exc)
            self._save("rollout.failed", f"{r.current.title if r.current else 'rollout'}: {exc}")
            raise

    def _go_past(self, gate: dict[str, Any]) -> None:
        """Resuming at a gate without a verdict: the admin's decision, journaled."""
        note = f" — note: {self.note}" if self.note else ""
        with self.ctx.journal() as journal:
            journal.add_event(
                "rollout.gate-accepted",
                f"{current_user()} went on past the gate of “{gate['title']}” without a "
                f"verdict ({gate['inconclusive'] or 'too little evidence'}){note}",
                data={
                    "rollout": self.rollout.id,
                    "profile": self.rollout.profile,
                    "step": gate["step"],
                    "note": self.note,
                },
            )
        self.ctx.changed.add(Topic.EVENTS)

    # -- steps -----------------------------------------------------------------------

    def _run_step(self, step: Step) -> str | None:
        r = self.rollout
        if step.kind == "baseline":
            # a baseline with too little evidence would leave every gate inconclusive
            values = self._sample(
                list(step.nodes),
                [],
                step.seconds,
                lambda new, _stable, _seconds: _enough(new, self.min_samples),
            )[0]
            r.reference = values
            r.reference_offered = asdict(self._offered(list(step.nodes), values))
        elif step.kind == "backup":
            for name in step.nodes:
                r.backups[name] = self._backup(self.nodes[name]).id
        elif step.kind in ("weights", "switch"):
            self._weights(step.weights)
            if step.kind == "switch":
                r.roles.update({n: "green (serving)" for n in step.nodes})
        elif step.kind == "upgrade":
            for name in step.nodes:
                self._upgrade(self.nodes[name])
                if r.roles.get(name) == "stable":
                    r.roles[name] = "upgraded"
        elif step.kind == "soak":
            return self._soak(step)
        return None

    def _weights(self, weights: dict[str, float]) -> None:
        by_url = {self.nodes[n].url: w / 100 for n, w in weights.items()}
        if getattr(self.router, "kind", "") == "none" and self.rollout.strategy == "rolling":
            # no router (a single node, or nobody to ask): a rolling rollout goes on, the
            # clients of a node being upgraded see it restart
            done = "no traffic router: the weights are not applied, clients see the restarts"
        else:
            done = self.router.set_weights(by_url)
        self.rollout.weights = {**self.rollout.weights, **weights}
        self._emit("weights", done, weights=weights)

    def _backup(self, node: NodeEndpoint) -> BackupRecord:
        if self.ctx.backup_dir is None:
            raise RolloutError("No backup folder is set.")
        (outcome,) = back_up_and_record_all(  # with the profile's open session, if any
            self.ctx.profile,
            self.ctx.token,
            [NodeJob(node, self.rollout.from_version)],
            self.ctx.backup_dir,
            journal_path=self.ctx.journal_path,
            cancelled=self.ctx.cancelled,
            changed=self.ctx.changed,
        )
        record = outcome.record
        if not outcome.verified or record is None:
            raise RolloutError(f"The backup of {node.name} did not verify: {outcome.error}")
        self._emit("backup", f"{node.name}: {Path(record.path).name}")
        return record

    def _upgrade(self, node: NodeEndpoint) -> None:
        def run(action: str, call: Callable[[], object]) -> None:
            self._emit("service", f"{node.name}: {action}")
            call()

        hop_runner.upgrade_node(self.ctx, node, self.rollout.to_version, run)
        self._emit("upgraded", f"{node.name} runs {self.rollout.to_version}")

    def _soak(self, step: Step) -> str:
        r = self.rollout
        said: list[int] = []

        def enough(
            new: dict[str, list[float]], stable: dict[str, list[float]], seconds: float
        ) -> bool:
            evaluation = self._gate(step, new, stable, seconds)
            if not evaluation.waits:
                return True
            if not said or said[-1] - evaluation.needed >= 10:
                said.append(evaluation.needed)
                self._emit("evidence", f"{step.title}: {evaluation.inconclusive}")
            self.on_event(  # every look, for the page (not the log): what the gate has
                {
                    "event": "waiting",
                    "message": waiting_text(r, step, evaluation),
                    "at": utc_now(),
                    "position": r.position,
                    "status": r.status,
                    "needed": evaluation.needed,
                    "min_samples": evaluation.min_samples,
                    "wait_s": evaluation.wait_s,
                }
            )
            return False

        started = time.monotonic()
        new, stable = self._sample(list(step.nodes), list(step.stable), step.seconds, enough)
        if self._pause.is_set() or self._abort.is_set():
            return "interrupted"
        evaluation = self._gate(step, new, stable, time.monotonic() - started)
        gate = {
            "step": r.position,
            "title": step.title,
            "verdict": evaluation.overall,
            "summary": evaluation.trigger.summary if evaluation.trigger else "",
            "inconclusive": evaluation.inconclusive,
            "needed": evaluation.needed,
            "min_samples": evaluation.min_samples,
            "metrics": {
                v.metric: {
                    "verdict": v.verdict,
                    "change": v.hop.change,
                    "p_value": v.hop.p_value,
                    "n": [v.hop.n_before, v.hop.n_after],
                    "interval": list(v.hop.interval) if v.hop.interval else None,
                    "band": v.hop.band,
                    "reason": v.hop.reason,
                }
                for v in evaluation.verdicts
                if v.metric in GATE_METRICS
            },
        }
        r.gates.append(gate)
        if evaluation.overall == "fail":
            self._gate_failed |= set(step.nodes)
        self._emit(
            "gate",
            f"{step.title}: {evaluation.overall}"
            + (f" — {gate['summary']}" if gate["summary"] else ""),
            gate=gate,
        )
        return evaluation.overall

    def _gate(
        self,
        step: Step,
        new: dict[str, list[float]],
        stable: dict[str, list[float]],
        seconds: float,
    ) -> Evaluation:
        """The gate's evaluation after `seconds` of sampling, served requests judged
        against the offered load of each side."""
        r = self.rollout
        offered: Offered | None
        if step.stable:
            reference = stable
            offered = self._offered(list(step.stable), stable, seconds)
        else:
            reference = r.reference
            offered = Offered(**r.reference_offered) if r.reference_offered else None
        load = None
        if offered is not None:
            load = offered_load(offered, self._offered(list(step.nodes), new, seconds))
        return evaluate(
            _only_gate(reference),
            _only_gate(new),
            thresholds={"request_rate": SERVED_BAND},
            min_samples=self.min_samples,
            load=load,
            window=(0.0, seconds) if seconds > 0 else None,
        )

    def _offered(
        self, names: list[str], values: dict[str, list[float]], seconds: float | None = None
    ) -> Offered:
        """What each of `names` was offered while sampled: the gate's own requests a second
        (its steady probe load), the share of the routed traffic, and what it served."""
        seconds = self._sampled_s if seconds is None else seconds
        own = sum(self._own_requests.get(n, 0) for n in names)
        probes = own / len(names) / seconds if seconds > 0 else 0.0
        share = sum(self.rollout.weights.get(n, 0.0) for n in names) / len(names) / 100
        served = values.get("request_rate", [])
        return Offered(probes, share, sum(served) / len(served) if served else 0.0)

    def _sample(
        self,
        new: list[str],
        stable: list[str],
        seconds: float,
        enough: Callable[[dict[str, list[float]], dict[str, list[float]], float], bool]
        | None = None,
    ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
        """Sample both groups together for `seconds`, then on while `enough` (given the
        values so far and the seconds sampled) says no, up to the evidence timeout; per
        group, metric -> values (`_sampled_s`: how long it sampled)."""
        samplers = {}
        clients = []
        for name in new + stable:
            client = self.ctx.profile.client(self.nodes[name], self.ctx.token, timeout=2.0)
            clients.append(client)
            samplers[name] = NodeSampler(
                client, name, version_override=self.nodes[name].version_override
            )
        values: dict[str, dict[str, list[float]]] = {n: {} for n in samplers}
        self._own_requests = dict.fromkeys(samplers, 0)
        started = time.monotonic()
        deadline = started + seconds
        longest = max(seconds, self.evidence_timeout_s)
        try:
            while True:
                for name, sampler in samplers.items():
                    sample = sampler.sample()
                    self._own_requests[name] = sampler.client.answers
                    for key, value in sample.values.items():
                        if value is not None:
                            values[name].setdefault(key, []).append(value)
                now = time.monotonic()
                if enough is not None and deadline <= now < started + longest:
                    groups = (
                        pooled({n: values[n] for n in new}),
                        pooled({n: values[n] for n in stable}),
                    )
                    if not enough(*groups, now - started):
                        deadline = time.monotonic() + self.interval  # too little evidence: on
                self.soak_left = max(0.0, deadline - time.monotonic())
                if self.soak_left <= 0 or self._abort.is_set() or self._pause.is_set():
                    break
                self._emit("soak", f"{self.soak_left:.0f} s left", seconds_left=self.soak_left)
                time.sleep(min(self.interval, self.soak_left))
        finally:
            self._sampled_s = time.monotonic() - started
            for client in clients:
                client.close()
        return (pooled({n: values[n] for n in new}), pooled({n: values[n] for n in stable}))

    # -- abort ------------------------------------------------------------------------

    def _aborted(self, reason: str) -> Rollout:
        """Traffic back to the nodes on the old version; the canary (or the node whose gate
        failed) restored from its backup and serving again (see `abort_plan`)."""
        r = self.rollout
        self._emit("abort", f"Aborting: {reason}")
        names = list(self.nodes)
        old, restore = abort_plan(r, self._gate_failed)
        if old:
            self._weights(_share(old, 100, names))
        for name in restore:
            self._restore(self.nodes[name], r.backups[name])
            r.roles[name] = "stable (restored)"
        serving = old + restore
        if restore and serving:
            self._weights(_share(serving, 100, names))
        r.status, r.reason = "aborted", reason
        self._save("rollout.aborted", f"Aborted: {reason}")
        return r

    # -- after an abort or a failure (rollout_next offers these) -------------------------

    def roll_back(self, names: list[str]) -> Rollout:
        """Restore `names` from this rollout's backups (their data, config and the old
        version), then traffic to every node on the old version. The rollout ends aborted."""
        r = self.rollout
        missing = [n for n in names if n not in r.backups]
        if missing:
            raise RolloutError(
                f"This rollout made no backup of {', '.join(missing)}: restore "
                f"{'it' if len(missing) == 1 else 'them'} from the Backups page instead."
            )
        upgraded = set(r.upgraded()) - set(r.restored)
        for name in names:
            self._restore(self.nodes[name], r.backups[name])
            r.roles[name] = "stable (restored)"
        serving = [
            n for n in self.nodes if n in names or (r.weights.get(n, 0) > 0 and n not in upgraded)
        ]
        self._weights(_share(serving, 100, list(self.nodes)))
        r.status = "aborted"
        r.reason = (r.reason + "; " if r.reason else "") + f"{', '.join(names)} rolled back"
        self._save("rollout.rolled-back", f"{', '.join(names)} back on {r.from_version}")
        return r

    def return_traffic(self, names: list[str]) -> Rollout:
        """Give `names` their share of the traffic again, beside the nodes serving now."""
        r = self.rollout
        serving = [n for n in self.nodes if n in names or r.weights.get(n, 0) > 0]
        self._weights(_share(serving, 100, list(self.nodes)))
        self._save("rollout.traffic-returned", f"{', '.join(names)} serve again")
        return r

    def _restore(self, node: NodeEndpoint, backup_id: int) -> None:
        with self.ctx.journal() as journal:
            record = backup_catalog.get(journal, backup_id)
        report = verify(Path(record.path), cancelled=self.ctx.cancelled, recorded=record)
        if not report.ok:
            raise RolloutError(
                f"The backup of {node.name} failed verification, so it was not restored: "
                f"{node.name} was left on {self.rollout.to_version} without traffic. Restore "
                "an older backup of it from the Backups page, or by hand."
            )
        self.ctx.controller.stop(node)
        restore_node(  # checked against its manifest before the node starts, journaled
            node,
            record,
            journal_path=self.ctx.journal_path,
            cancelled=self.ctx.cancelled,
            changed=self.ctx.changed,
        )
        self.ctx.controller.install(node, self.rollout.from_version)
        self.ctx.controller.start(node)
        hop_runner.wait_ready(self.ctx, node)
        self._emit(
            "restored", f"{node.name} is back on {self.rollout.from_version} with its data restored"
        )

    # -- plumbing ----------------------------------------------------------------------

    def _emit(self, kind: str, message: str, **data: Any) -> None:
        event = {
            "event": kind,
            "message": message,
            "at": utc_now(),
            "position": self.rollout.position,
            "status": self.rollout.status,
            **data,
        }
        self.ctx.log(message)
        self.on_event(event)

    def _save(self, kind: str, message: str) -> None:
        with self.ctx.journal() as journal:
            save(journal, self.rollout)
            journal.add_event(
                kind, message, data={"rollout": self.rollout.id, "profile": self.rollout.profile}
            )
        self.ctx.changed.add(Topic.ROLLOUTS, Topic.EVENTS)
        self._emit(kind.split(".", 1)[1], message)


def abort_plan(
    rollout: Rollout, gate_failed: set[str] | frozenset[str] = frozenset()
) -> tuple[list[str], list[str]]:
    """What an abort does now: (the nodes that get the traffic, the nodes restored from
    their backups). Restored: the canary and any node whose gate failed, once upgraded."""
    failing = {n for n, role in rollout.roles.items() if role == "canary"} | set(gate_failed)
    upgraded = rollout.upgraded()
    restore = [n for n in failing if n in rollout.backups and n in upgraded]
    old = [
        n for n, role in rollout.roles.items() if role in ("stable", "blue") and n not in restore
    ]
    return old, restore


def _enough(values: dict[str, list[float]], min_samples: int) -> bool:
    """Whether every gate metric sampled (the probe at least) has `min_samples` values."""
    gate = _only_gate(values)
    return "probe_ms" in gate and all(len(v) >= min_samples for v in gate.values())


def _only_gate(values: dict[str, list[float]]) -> dict[str, list[float]]:
    return {k: v for k, v in values.items() if k in GATE_METRICS}


@dataclass(frozen=True)
class Offered:
    """One side of a gate, per node: the gate's own requests a second (its probe load), its
    share of the routed traffic (0 … 1) and the requests it served a second."""

    probe_rate: float
    share: float
    served: float = 0.0


def offered_load(reference: Offered, new: Offered) -> Load | None:
    """The offered load per node of each side (req/s): the gate's own probes plus the
    side's share of the client traffic, which the reference side shows (what it served
    beyond the probes, per unit of share). None when the reference side had no share or
    served nothing beyond the probes: served requests are then not judged."""
    routed = reference.served - reference.probe_rate
    if reference.share <= 0 or routed <= 0 or reference.probe_rate <= 0:
        return None
    per_share = routed / reference.share
    after = new.probe_rate + new.share * per_share
    return Load(reference.served, after) if after > 0 else None


def gate_name(rollout: Rollout, step: Step) -> str:
    """ "canary gate", "green gate", or "gate of n2" (rolling)."""
    if rollout.strategy == "canary":
        return "canary gate"
    if rollout.strategy == "blue-green":
        return "green gate"
    return f"gate of {', '.join(step.nodes)}"


def waiting_text(rollout: Rollout, step: Step, evaluation: Evaluation) -> str:
    """ "canary gate: waiting for evidence — 23 of 50 samples, about 40 s more at the
    current rate" (or why else it waits)."""
    name = f"{gate_name(rollout, step)}: waiting for evidence"
    if not evaluation.needed:
        return f"{name} — {evaluation.inconclusive or 'no samples yet'}"
    have = max(0, evaluation.min_samples - evaluation.needed)
    text = f"{name} — {have} of {evaluation.min_samples} samples"
    wait_s = evaluation.wait_s
    if wait_s is not None:
        text += f", about {human_duration(max(1.0, math.ceil(wait_s)))} more at the current rate"
    return text


def switch_back(
    journal_path: Path | None, rollout: Rollout, router: WeightsRouter, profile: Profile
) -> Rollout:
    """Blue-green: traffic back to blue (still on the old version)."""
    blue = [n for n, role in rollout.roles.items() if role == "blue"]
    if rollout.strategy != "blue-green" or not blue:
        raise RolloutError("Switching back is for blue-green rollouts.")
    names = [n.name for n in profile.nodes]
    weights = _share(blue, 100, names)
    router.set_weights({n.url: weights[n.name] / 100 for n in profile.nodes})
    rollout.weights, rollout.status, rollout.reason = weights, "aborted", "switched back to blue"
    with Journal(journal_path) as journal:
        save(journal, rollout)
        journal.add_event(
            "rollout.switched-back",
            "Traffic is back on blue",
            data={"rollout": rollout.id, "profile": rollout.profile},
        )
    return rollout
