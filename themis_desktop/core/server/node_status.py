"""One poll of a node: version, health, readiness and stats, with errors kept as data."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from themis_desktop.core.server import errors
from themis_desktop.core.server.models import Health, Readiness, Stats, VersionInfo

if TYPE_CHECKING:
    from themis_desktop.core.server.client import ThemisClient


@dataclass(frozen=True)
class NodeStatus:
    """What the app knows about a node after one poll. `error` is set when it is down."""

    name: str
    url: str
    polled_at: float
    version: VersionInfo | None = None
    health: Health | None = None
    readiness: Readiness | None = None
    stats: Stats | None = None
    error: str | None = None
    error_kind: str | None = None
    notes: tuple[str, ...] = ()
    latency_ms: float | None = None

    @property
    def up(self) -> bool:
        return self.error is None and self.health is not None

    @property
    def state(self) -> str:
        """`down`, `not ready`, `unhealthy` or `up`."""
        if not self.up:
            return "down"
        if self.readiness is not None and not self.readiness.ready:
            return "not ready"
        if self.health is not None and not self.health.healthy:
            return "unhealthy"
        return "up"


def poll_node(
    client: ThemisClient,
    name: str,
    version_override: str | None = None,
    *,
    with_stats: bool = True,
) -> NodeStatus:
    """Ask a node everything the overview shows (without `/stats` when not `with_stats`:
    the fleet's poll of hundreds of nodes a second). Never raises a `ThemisError`. Once a
    route fails because the node is out of reach (no connection, deadline passed), the
    rest are not asked: each would only wait for its own deadline."""
    started = time.monotonic()
    url, polled_at = client.url, time.time()
    try:
        health = client.health()
    except errors.ThemisError as exc:
        return NodeStatus(name, url, polled_at, error=str(exc), error_kind=exc.kind)
    latency_ms = (time.monotonic() - started) * 1000
    notes: list[str] = []
    gone: list[errors.ThemisError] = []  # the failure that put the node out of reach

    def note(route: str, exc: errors.ThemisError) -> None:
        notes.append(f"{route}: {exc}")
        if errors.node_unreachable(exc):
            gone.append(exc)

    version = None
    try:
        version = client.version()
    except errors.VersionUnknown as exc:
        if not version_override:
            notes.append(str(exc))
    except errors.ThemisError as exc:
        note("version", exc)
    if version_override and (version is None or not version.exact):
        version = VersionInfo(version=version_override, source="user")
    elif version is not None and not version.exact:
        notes.append(
            f"This node runs a release before 1.3; it reports {version.version}, which may not be "
            "its exact version. Enter the exact version in the connection profile."
        )
    readiness = None
    stats = None
    skipped = ["readiness", "stats"] if with_stats else ["readiness"]
    try:
        if not gone:
            skipped.remove("readiness")
            readiness = client.ready()
    except errors.NotFound:
        pass  # era A servers have no readiness route
    except errors.ThemisError as exc:
        note("readiness", exc)
    try:
        if not gone and with_stats:
            skipped.remove("stats")
            stats = client.stats()
    except errors.ThemisError as exc:
        note("stats", exc)
    if gone and skipped:
        notes.append(
            f"The node stopped answering during the poll: {' and '.join(skipped)} not asked."
        )
    return NodeStatus(
        name,
        url,
        polled_at,
        version=version,
        health=health,
        readiness=readiness,
        stats=stats,
        notes=tuple(notes),
        latency_ms=latency_ms,
    )
