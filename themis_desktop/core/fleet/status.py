"""The fleet at a glance: every saved profile (cluster) with its nodes' versions and
health, the upgrade session in progress with its health state and rollback band, and
whether the cluster is behind the newest release of the catalogue.

The nodes are asked the way `themis-desktop status` asks them (`server.node_status.
poll_node`, without `/stats`: health, readiness and the version its client keeps a while),
by a bounded pool of threads, each request within its deadline and each node's poll within
an overall one; a node that does not answer is a state (`down`), never an
exception. `FleetPoller` keeps the clients (and so their connections and what they learnt,
such as a node's version) from one poll to the next: the Fleet page polls every second.
`poll_fleet` is one poll with a poller of its own (the command line).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.server.node_status import NodeStatus, poll_node
from themis_desktop.core.upgrade import health_state
from themis_desktop.core.upgrade.rollback_window import window
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.core.versions.releases import Catalogue, VersionError, parse_version

if TYPE_CHECKING:
    from themis_desktop.core.server.client import ThemisClient

DEFAULT_TIMEOUT_S = 2.0  # each request's deadline (the page polls every second)
DEFAULT_WORKERS = 16
TOKEN_TTL_S = 30.0  # a token looked up (keyring) is used this long before it is asked again
NOT_POLLED = "not polled"
NODE_STATES = ("up", "not ready", "unhealthy", "down", NOT_POLLED)
CLUSTER_STATES = ("up", "degraded", "down", NOT_POLLED, "no nodes")


class Tokens(Protocol):
    """Where a profile's bearer token comes from: a `TokenStore`, or a plain mapping."""

    def get(self, profile: str, /) -> str | None: ...


@dataclass(frozen=True)
class NodeState:
    """One node of a cluster after a poll."""

    name: str
    url: str
    state: str  # one of NODE_STATES
    version: str | None = None
    error: str | None = None
    latency_ms: float | None = None

    @property
    def up(self) -> bool:
        return self.state not in ("down", NOT_POLLED)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "state": self.state,
            "version": self.version,
            "error": self.error,
            "latency_ms": self.latency_ms,
        }


@dataclass(frozen=True)
class SessionSummary:
    """A cluster's upgrade session: the one open, else the newest still in its rollback
    window (a finished path is watched until rollback is not recommended)."""

    id: int
    from_version: str
    to_version: str
    state: str
    in_progress: bool
    health: str  # health_state.LEVELS
    health_reason: str = ""
    hop: str | None = None  # the hop being worked on (or a rollback would undo)
    hop_state: str | None = None
    band: str | None = None  # rollback_window band key of the newest finished hop
    band_title: str | None = None
    band_hop: str | None = None
    band_elapsed_s: float | None = None

    @property
    def text(self) -> str:
        """`#3 1.7.0 → 1.8.2, in-progress (hop 1.7.0 → 1.8.2 validating)`."""
        text = f"#{self.id} {self.from_version} → {self.to_version}, {self.state}"
        return f"{text} (hop {self.hop} {self.hop_state})" if self.hop else text

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": self.from_version,
            "to": self.to_version,
            "state": self.state,
            "in_progress": self.in_progress,
            "health": self.health,
            "health_reason": self.health_reason,
            "hop": {"label": self.hop, "state": self.hop_state} if self.hop else None,
            "rollback_window": (
                {
                    "band": self.band,
                    "title": self.band_title,
                    "hop": self.band_hop,
                    "elapsed_seconds": self.band_elapsed_s,
                }
                if self.band
                else None
            ),
        }


@dataclass(frozen=True)
class ClusterStatus:
    """One profile: its nodes, its session, and where it stands against the catalogue."""

    profile: str
    nodes: tuple[NodeState, ...]
    latest: str  # the newest release of the catalogue
    session: SessionSummary | None = None

    @property
    def versions(self) -> tuple[str, ...]:
        """The versions the nodes run, oldest first (each once)."""
        found = {n.version for n in self.nodes if n.version}
        return tuple(sorted(found, key=_version_key))

    @property
    def up_count(self) -> int:
        return sum(1 for n in self.nodes if n.up)

    @property
    def health(self) -> str:
        """`up` (every node up and ready), `degraded`, `down` (none answers), `not polled`,
        `no nodes`."""
        if not self.nodes:
            return "no nodes"
        if all(n.state == NOT_POLLED for n in self.nodes):
            return NOT_POLLED
        if all(n.state == "up" for n in self.nodes):
            return "up"
        return "down" if self.up_count == 0 else "degraded"

    @property
    def behind(self) -> bool | None:
        """True when a node runs a version older than the newest release; None when no
        node's version is known."""
        latest = _version_key(self.latest)
        keys = [_version_key(v) for v in self.versions]
        known = [k for k in keys if k is not None]
        if not known or latest is None:
            return None
        return min(known) < latest

    @property
    def all_up(self) -> bool:
        return all(n.up for n in self.nodes)

    def as_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "health": self.health,
            "nodes_up": self.up_count,
            "nodes_total": len(self.nodes),
            "versions": list(self.versions),
            "latest": self.latest,
            "behind_latest": self.behind,
            "session": self.session.as_json() if self.session else None,
            "nodes": [n.as_json() for n in self.nodes],
        }


@dataclass(frozen=True)
class FleetStatus:
    """Every cluster after one poll."""

    clusters: tuple[ClusterStatus, ...]
    latest: str
    polled_at: float = field(default_factory=time.time)
    seconds: float = 0.0  # how long the poll took

    @property
    def all_up(self) -> bool:
        return all(c.all_up for c in self.clusters)

    def as_json(self) -> dict[str, Any]:
        return {
            "polled_at": datetime.fromtimestamp(self.polled_at, UTC).isoformat(),
            "seconds": round(self.seconds, 3),
            "latest": self.latest,
            "all_up": self.all_up,
            "clusters": [c.as_json() for c in self.clusters],
        }


def _version_key(text: str | None) -> Any:
    if not text:
        return None
    try:
        return parse_version(text)
    except VersionError:
        return None


def node_state(status: NodeStatus) -> NodeState:
    """A `NodeStatus` (one poll, errors as data) as the fleet shows it."""
    return NodeState(
        status.name,
        status.url,
        status.state,
        status.version.version if status.version else None,
        status.error,
        status.latency_ms,
    )


# -- the journal's side: sessions ------------------------------------------------------


def session_summary(
    journal: Journal, profile: str, now: datetime | None = None
) -> SessionSummary | None:
    """The profile's session in progress (or the newest one still in its rollback window)
    with its health state and rollback band, or None."""
    now = now or datetime.now(UTC)
    session = UpgradeSession.open_for(journal, profile) or UpgradeSession.latest_for(
        journal, profile
    )
    if session is None:
        return None
    last = session.last_finished
    state = window(last.finished, now) if last and last.finished else None
    if session.ended and (state is None or state.band.ends is None):
        return None  # ended, and past the window where a rollback is still recommended
    health = health_state.assess(session, health_state.gather(journal, session), now=now)
    hop = session.judged_hop
    return SessionSummary(
        id=session.id,
        from_version=session.session.from_version,
        to_version=session.session.to_version,
        state=session.state,
        in_progress=not session.ended,
        health=health.level,
        health_reason=health.headline,
        hop=hop.label if hop else None,
        hop_state=hop.state if hop else None,
        band=state.band.key if state else None,
        band_title=state.band.title if state else None,
        band_hop=last.label if state and last else None,
        band_elapsed_s=state.elapsed if state else None,
    )


def session_summaries(
    journal: Journal, profiles: Iterable[Profile], now: datetime | None = None
) -> dict[str, SessionSummary | None]:
    """`session_summary` of each profile, by name."""
    return {p.name: session_summary(journal, p.name, now) for p in profiles}


# -- the nodes' side --------------------------------------------------------------------


class FleetPoller:
    """Polls every node of the profiles it is given, at most `max_workers` at a time; each
    request within `timeout` seconds and each node's poll within `node_deadline` (a node
    past it is `down`; it is not asked again until that poll has ended). Keeps a client per
    node between polls. `close()` ends the pool and the clients. Thread-safe for one poll
    at a time."""

    def __init__(
        self,
        tokens: Tokens | Mapping[str, str | None] | None = None,
        *,
        max_workers: int = DEFAULT_WORKERS,
        timeout: float = DEFAULT_TIMEOUT_S,
        node_deadline: float | None = None,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._tokens = tokens
        self.timeout = timeout
        self.node_deadline = node_deadline if node_deadline is not None else 2 * timeout + 1.0
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="fleet-poll")
        self._clients: dict[tuple[Any, ...], ThemisClient] = {}
        self._pending: dict[tuple[Any, ...], Future[NodeStatus]] = {}
        self._token_cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _token(self, profile: str) -> str | None:
        if self._tokens is None:
            return None
        now = time.monotonic()
        cached = self._token_cache.get(profile)
        if cached is not None and now - cached[0] < TOKEN_TTL_S:
            return cached[1]
        try:
            token = self._tokens.get(profile)
        except Exception:  # a keyring that fails: ask without a token (health needs none)
            token = None
        self._token_cache[profile] = (now, token)
        return token

    def _client(self, profile: Profile, node: NodeEndpoint, token: str | None) -> ThemisClient:
        key = (node.url, token, profile.verify_tls, profile.ca_file)
        client = self._clients.get(key)
        if client is None:
            client = profile.client(node, token, timeout=self.timeout)
            self._clients[key] = client
        return client

    def poll(self, profiles: Sequence[Profile]) -> dict[str, tuple[NodeState, ...]]:
        """Each profile's nodes now, by profile name (in the profiles' node order)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("this FleetPoller is closed")
            asked: list[tuple[str, NodeEndpoint, tuple[Any, ...], Future[NodeStatus] | None]] = []
            used: set[tuple[Any, ...]] = set()
            for profile in profiles:
                token = self._token(profile.name)
                for node in profile.nodes:
                    key = (node.url, token, profile.verify_tls, profile.ca_file)
                    used.add(key)
                    running = self._pending.get(key)
                    if running is not None and not running.done():
                        asked.append((profile.name, node, key, None))  # still waiting
                        continue
                    client = self._client(profile, node, token)
                    future = self._pool.submit(
                        poll_node, client, node.name, node.version_override, with_stats=False
                    )
                    self._pending[key] = future
                    asked.append((profile.name, node, key, future))
            futures = [f for *_, f in asked if f is not None]
            if futures:
                wait_futures(futures, timeout=self.node_deadline)
            result: dict[str, list[NodeState]] = {p.name: [] for p in profiles}
            for name, node, _key, asked_future in asked:
                result[name].append(self._state_of(node, asked_future))
            self._forget_unused(used)
            return {name: tuple(states) for name, states in result.items()}

    def _state_of(self, node: NodeEndpoint, future: Future[NodeStatus] | None) -> NodeState:
        if future is None:
            return NodeState(
                node.name, node.url, "down", error="the previous poll is still waiting"
            )
        if not future.done():
            return NodeState(
                node.name,
                node.url,
                "down",
                error=f"no answer within {self.node_deadline:g} s",
            )
        exc = future.exception()
        if exc is not None:  # poll_node keeps a node's errors as data: this is ours
            return NodeState(node.name, node.url, "down", error=f"the poll failed: {exc!r}")
        return node_state(future.result())

    def _forget_unused(self, used: set[tuple[Any, ...]]) -> None:
        """Close the clients of nodes no longer in any profile (not while their poll runs)."""
        for key in [k for k in self._clients if k not in used]:
            pending = self._pending.get(key)
            if pending is not None and not pending.done():
                continue
            self._pending.pop(key, None)
            self._clients.pop(key).close()

    def close(self) -> None:
        """Stop: wait for the polls running (each within its deadline), close the clients."""
        with self._lock:
            self._closed = True
            self._pool.shutdown(wait=True, cancel_futures=True)
            for client in self._clients.values():
                client.close()
            self._clients.clear()
            self._pending.clear()

    def __enter__(self) -> FleetPoller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def not_polled(profiles: Sequence[Profile]) -> dict[str, tuple[NodeState, ...]]:
    """Every node as `not polled` (a read-only review asks no server)."""
    return {p.name: tuple(NodeState(n.name, n.url, NOT_POLLED) for n in p.nodes) for p in profiles}


def fleet_status(
    profiles: Sequence[Profile],
    nodes: Mapping[str, tuple[NodeState, ...]],
    sessions: Mapping[str, SessionSummary | None],
    catalogue: Catalogue,
    *,
    polled_at: float | None = None,
    seconds: float = 0.0,
) -> FleetStatus:
    """The fleet from its parts (the nodes polled, the sessions read)."""
    latest = catalogue.newest.text
    clusters = tuple(
        ClusterStatus(p.name, nodes.get(p.name, ()), latest, sessions.get(p.name)) for p in profiles
    )
    return FleetStatus(clusters, latest, polled_at or time.time(), seconds)


def poll_fleet(
    profiles: Sequence[Profile],
    tokens: Tokens | Mapping[str, str | None] | None,
    journal: Journal,
    *,
    max_workers: int = DEFAULT_WORKERS,
    timeout: float = DEFAULT_TIMEOUT_S,
    poller: FleetPoller | None = None,
    catalogue: Catalogue | None = None,
    poll_nodes: bool = True,
) -> FleetStatus:
    """Every node of every profile polled (by `poller`, kept between polls, or one made for
    this poll), their sessions read from `journal`. `poll_nodes=False` asks no server (a
    review): every node is `not polled`."""
    started, polled_at = time.monotonic(), time.time()
    if catalogue is None:
        from themis_desktop.core.versions.catalogue_file import load_catalogue

        catalogue = load_catalogue()
    if not poll_nodes:
        nodes = not_polled(profiles)
    elif poller is not None:
        nodes = poller.poll(profiles)
    else:
        with FleetPoller(tokens, max_workers=max_workers, timeout=timeout) as own:
            nodes = own.poll(profiles)
    sessions = session_summaries(journal, profiles)
    return fleet_status(
        profiles,
        nodes,
        sessions,
        catalogue,
        polled_at=polled_at,
        seconds=time.monotonic() - started,
    )
