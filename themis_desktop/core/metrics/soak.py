"""Sample a set of named nodes side by side for a while: a soak.

One loop for every "watch these nodes for N seconds, then judge" in the app (a rehearsal's
copy against production, the check after a rollback); modelled on the rollout runner's
gate sampling. Probes are reads: the nodes are not otherwise touched.

API (stable; other features import it):

    soak(nodes, seconds, *, interval=1.0, cancel=None, progress=None,
         enough=None, limit_s=None, version_overrides=None) -> SoakResult

- `nodes`: node name -> `ThemisClient` (the caller opens and closes the clients, e.g.
  `profile.client(endpoint, token, timeout=2.0)`; `open_clients`/`close_clients` help).
- `seconds`: how long to sample at least; one round of samples is always taken.
- `interval`: seconds between rounds (every node is sampled once per round).
- `cancel`: a `threading.Event`; set, the soak stops after the current round
  (`SoakResult.cancelled` is True).
- `progress(seconds_left)`: called after every round with the seconds left (0 at the end).
- `enough(result_so_far) -> bool`: once `seconds` are up, sampling goes on while it says
  no, up to `limit_s` seconds in all (default: `seconds`, i.e. no extension).
  `enough_samples(min_samples, metrics)` builds the usual one.
- `version_overrides`: node name -> the version to assume (a profile's override).

`SoakResult`: `values` node -> metric -> values (None values left out), `seconds` the
seconds sampled, `own_requests` node -> requests of ours the node answered (the soak's own
offered load, for `retrospective.offered_load`/`Offered`), `rounds`, `up` node -> number
of samples it answered, `versions` node -> the last version it answered with (or None),
`errors` node -> distinct sample errors (a down node's reasons), `cancelled`.
`SoakResult.pooled(names)` gives the values of some nodes as one group (for
`verdict.evaluate`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from themis_desktop.core.metrics.sampling import NodeSampler
from themis_desktop.core.metrics.verdict import pooled

if TYPE_CHECKING:
    from themis_desktop.core.server.client import ThemisClient

DEFAULT_INTERVAL_S = 1.0


@dataclass
class SoakResult:
    """What a soak saw; see the module docstring."""

    values: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    seconds: float = 0.0
    own_requests: dict[str, int] = field(default_factory=dict)
    rounds: int = 0
    up: dict[str, int] = field(default_factory=dict)
    versions: dict[str, str | None] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    cancelled: bool = False

    def pooled(self, names: Iterable[str] | None = None) -> dict[str, list[float]]:
        """The values of `names` (all nodes when None) as one group: metric -> values."""
        wanted = set(self.values) if names is None else set(names)
        return pooled({n: v for n, v in self.values.items() if n in wanted})

    def probes_per_s(self, names: Iterable[str]) -> float:
        """The soak's own requests a second per node of `names` (its offered probe load)."""
        names = list(names)
        if not names or self.seconds <= 0:
            return 0.0
        return sum(self.own_requests.get(n, 0) for n in names) / len(names) / self.seconds


def enough_samples(
    min_samples: int, metrics: Iterable[str] | None = None, names: Iterable[str] | None = None
) -> Callable[[SoakResult], bool]:
    """An `enough` predicate: every node of `names` (all when None) has `min_samples`
    values of each of `metrics` (default: the probe) it reported at all."""
    wanted = tuple(metrics) if metrics is not None else ("probe_ms",)
    chosen = None if names is None else set(names)

    def enough(result: SoakResult) -> bool:
        for name, values in result.values.items():
            if chosen is not None and name not in chosen:
                continue
            for metric in wanted:
                if len(values.get(metric, [])) < min_samples:
                    return False
        return True

    return enough


def soak(
    nodes: Mapping[str, ThemisClient],
    seconds: float,
    *,
    interval: float = DEFAULT_INTERVAL_S,
    cancel: threading.Event | None = None,
    progress: Callable[[float], None] | None = None,
    enough: Callable[[SoakResult], bool] | None = None,
    limit_s: float | None = None,
    version_overrides: Mapping[str, str | None] | None = None,
) -> SoakResult:
    """Sample every node of `nodes` each `interval` for `seconds` (longer while `enough`
    says no, up to `limit_s`); see the module docstring."""
    overrides = version_overrides or {}
    samplers = {
        name: NodeSampler(client, name, version_override=overrides.get(name))
        for name, client in nodes.items()
    }
    result = SoakResult(
        values={n: {} for n in samplers},
        own_requests=dict.fromkeys(samplers, 0),
        up=dict.fromkeys(samplers, 0),
        versions=dict.fromkeys(samplers),
        errors={n: [] for n in samplers},
    )
    answered_before = {n: s.client.answers for n, s in samplers.items()}
    started = time.monotonic()
    deadline = started + max(0.0, seconds)
    longest = started + max(seconds, limit_s if limit_s is not None else seconds)
    wake = cancel if cancel is not None else threading.Event()
    while True:
        for name, sampler in samplers.items():
            sample = sampler.sample()
            result.own_requests[name] = sampler.client.answers - answered_before[name]
            if sample.up:
                result.up[name] += 1
            if sample.version is not None:
                result.versions[name] = sample.version
            if sample.error and sample.error not in result.errors[name]:
                result.errors[name].append(sample.error)
            for key, value in sample.values.items():
                if value is not None:
                    result.values[name].setdefault(key, []).append(value)
        result.rounds += 1
        now = time.monotonic()
        result.seconds = now - started
        if enough is not None and deadline <= now < longest and not enough(result):
            deadline = min(longest, now + interval)  # too little evidence: on
        left = max(0.0, deadline - time.monotonic())
        if wake.is_set():
            result.cancelled = True
            left = 0.0
        if progress is not None:
            progress(left)
        if left <= 0:
            break
        if wake.wait(min(interval, left)):
            result.cancelled = True
            if progress is not None:
                progress(0.0)
            break
    result.seconds = time.monotonic() - started
    return result


def open_clients(
    endpoints: Mapping[str, object],
    client_for: Callable[[object], ThemisClient],
) -> dict[str, ThemisClient]:
    """Clients for `endpoints` (name -> whatever `client_for` takes), closed again on a
    failure half-way; close them with `close_clients`."""
    clients: dict[str, ThemisClient] = {}
    try:
        for name, endpoint in endpoints.items():
            clients[name] = client_for(endpoint)
    except BaseException:
        close_clients(clients)
        raise
    return clients


def close_clients(clients: Mapping[str, ThemisClient]) -> None:
    """Close every client of `clients`."""
    for client in clients.values():
        client.close()
