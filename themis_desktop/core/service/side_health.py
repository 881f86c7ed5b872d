"""The health/error side service of an era-B node: where it is, and a bounded probe of it.

Upstream src/server/health_error_service.cpp (makr-code/ThemisDB, 1.3+) runs a small HTTP
service beside the API, bound to 127.0.0.1:9090 by default (config `bind_address`, `port`,
`enabled`), answering `Server: ThemisDB-Health`: `/health`, `/health/components` and the
error-code catalogue `/errors` (src/server/error_api_handler.cpp). Bound to loopback on
the node's host, it is reachable from here only for nodes on this host; the demo instance
runs one per node on its own port and says which in its control API (`GET /nodes`).

The probe is informational: a missing or unreachable side service never fails anything.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass

import httpx

from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.server import errors
from themis_desktop.core.server.bounded_http import (
    Answer,
    DeadlineBackend,
    KiB,
    MiB,
    bounded_client,
    fetch,
)
from themis_desktop.core.service.demo_nodes import DemoNodeUnknown, describe_node

DEFAULT_PORT = 9090  # upstream's HealthErrorService::Config default
SERVER_HEADER = "ThemisDB-Health"
TIMEOUT_S = 2.0
LIMITS = {"/health/components": 64 * KiB, "/errors": 2 * MiB}
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


@dataclass(frozen=True)
class SideLocation:
    """Where a node's side service answers (`url`), or why it cannot be asked (`reason`)."""

    url: str | None
    reason: str = ""


@dataclass(frozen=True)
class SideHealth:
    """What the probe found: reachable with component statuses and the number of error
    codes in its registry, or not, with the reason in words."""

    reachable: bool
    url: str | None = None
    components: tuple[tuple[str, str], ...] = ()  # (component, status)
    error_codes: int | None = None
    reason: str = ""

    @property
    def healthy(self) -> bool:
        return self.reachable and all(status == "healthy" for _, status in self.components)

    @property
    def summary(self) -> str:
        """One line for a pre-check row."""
        if not self.reachable:
            return self.reason
        parts = ", ".join(f"{name} {status}" for name, status in self.components) or "no components"
        codes = (
            f"; {self.error_codes} error codes registered" if self.error_codes is not None else ""
        )
        return f"{self.url}: {parts}{codes}"


def is_loopback(host: str) -> bool:
    """Whether `host` (a URL's host, maybe in brackets) names this machine's loopback."""
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def locate(profile: Profile, node: NodeEndpoint) -> SideLocation:
    """The side service of `node`: the demo instance's control API says its port; a node
    on this host has it on 127.0.0.1:9090; elsewhere it binds loopback on its own host."""
    if profile.service.controlled().kind == "demo" and profile.service.control_url:
        return _demo_location(profile.service.control_url, node)
    host = httpx.URL(node.url).host
    if is_loopback(host):
        return SideLocation(f"http://127.0.0.1:{DEFAULT_PORT}")
    return SideLocation(
        None,
        f"binds 127.0.0.1:{DEFAULT_PORT} on the node's host ({host}): not reachable from this "
        "machine (ask it there, e.g. curl http://127.0.0.1:9090/health/components)",
    )


def probe(profile: Profile, node: NodeEndpoint, era: str | None) -> SideHealth:
    """The side service of `node` (era "A" has none), found with `locate` and asked."""
    if era == "A":
        return SideHealth(False, reason="era A (before 1.3) has no side service")
    where = locate(profile, node)
    if where.url is None:
        return SideHealth(False, reason=where.reason)
    return probe_url(where.url)


def probe_url(url: str, timeout: float = TIMEOUT_S) -> SideHealth:
    """Ask `/health/components` and `/errors` at `url`, each within `timeout` s and its size
    limit; anything else answering there (e.g. Prometheus, also on 9090) is told apart by
    the `Server` header."""
    http, backend = bounded_client(url, verify=False, headers={})
    try:
        with http:
            answer = _get(http, backend, url, "/health/components", timeout, any_status=True)
            server = answer.headers.get("server", "")
            if server != SERVER_HEADER:
                return SideHealth(
                    False,
                    url,
                    reason=f"{url} answers, but as {server or 'an unnamed server'}, not as "
                    f"ThemisDB's health service ({SERVER_HEADER})",
                )
            if answer.status_code != 200:
                raise ValueError(f"/health/components answered HTTP {answer.status_code}")
            components = _components(answer.json())
            registry = _get(http, backend, url, "/errors", timeout).json()
    except httpx.ConnectError:
        return SideHealth(
            False,
            url,
            reason=f"nothing answers at {url} (disabled in the node's config, or on another "
            "port: health_error_service enabled/port)",
        )
    except (httpx.HTTPError, errors.ThemisError, ValueError) as exc:
        return SideHealth(False, url, reason=f"{url} did not answer usefully: {exc}")
    count = registry.get("total_errors") if isinstance(registry, dict) else None
    codes = count if isinstance(count, int) and not isinstance(count, bool) else None
    return SideHealth(True, url, components, codes)


def _get(
    http: httpx.Client,
    backend: DeadlineBackend,
    url: str,
    path: str,
    timeout: float,
    any_status: bool = False,
) -> Answer:
    answer = fetch(
        http,
        backend,
        "GET",
        path,
        url=url + path,
        who="ThemisDB's health service",
        deadline=time.monotonic() + timeout,
        seconds=timeout,
        limit=LIMITS[path],
        ok=(200,),
    )
    if answer.status_code != 200 and not any_status:
        raise ValueError(f"{path} answered HTTP {answer.status_code}")
    return answer


def _components(data: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(data, dict):
        raise ValueError("/health/components is not a JSON object")
    return tuple(
        (str(name), str(value.get("status", "?")) if isinstance(value, dict) else "?")
        for name, value in list(data.items())[:20]
    )


def _demo_location(control_url: str, node: NodeEndpoint) -> SideLocation:
    """The side port of the demo node on `node`'s port, from the control API's `/nodes`."""
    try:
        entry = describe_node(control_url, node)
    except DemoNodeUnknown as exc:
        return SideLocation(None, str(exc))
    side = entry.get("side_port")
    if not isinstance(side, int) or isinstance(side, bool):
        return SideLocation(None, "the demo node runs no side service (era A, or stopped)")
    return SideLocation(f"http://127.0.0.1:{side}")
