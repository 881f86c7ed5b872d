"""HTTP client for one ThemisDB node: typed results, clear errors, both API eras.

Every request ends within the client's `timeout` (a total deadline over connect, headers
and body, redirects included) and reads at most its route's `BODY_LIMITS` (docs/limits.md).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families

from themis_desktop import __version__
from themis_desktop.core.server import errors
from themis_desktop.core.server.bounded_http import (
    CONNECT_TIMEOUT_S,
    Answer,
    KiB,
    MiB,
    bounded_client,
    fetch,
)
from themis_desktop.core.server.models import (
    BackupResult,
    Health,
    Readiness,
    RestoreResult,
    ShapeError,
    Stats,
    VersionInfo,
)
from themis_desktop.core.server.strict_json import JsonTooDeep
from themis_desktop.core.server.urls import normalize_url

_REDIRECTS = {301, 302, 307, 308}
_CLOCK_SLACK_S = 0.05  # two monotonic clocks may run at slightly different rates
VERSION_TTL_S = 30.0  # re-detect the version at least this often (restarts may go unseen)
_MAX_REDIRECTS = 3
_ANY_STATUS = tuple(code for code in range(200, 600) if code not in _REDIRECTS)
DEFAULT_TIMEOUT_S = 5.0  # the total deadline of one request (connect + headers + body)
# a checkpoint flushes the memtable and a restore copies the whole database: these routes
# get at least this long, whatever the client's polling deadline
# (POST /api/updates/check asks GitHub while the request waits: upstream's
# src/server/update_api_handler.cpp, handleCheckNow)
SLOW_ROUTES = {"/admin/backup": 600.0, "/admin/restore": 3600.0, "/api/updates/check": 60.0}
# The most a successful answer of each route may hold; ThemisDB's are far smaller.
BODY_LIMITS: dict[str, int] = {
    "/health": 64 * KiB,
    "/health/live": 64 * KiB,
    "/health/ready": 64 * KiB,
    "/version": 256 * KiB,
    "/api/capabilities": 1 * MiB,
    "/stats": 4 * MiB,
    "/metrics": 16 * MiB,
    "/config": 1 * MiB,
    "/admin/backup": 64 * KiB,
    "/admin/restore": 64 * KiB,
    "/api/updates": 64 * KiB,
    "/api/updates/check": 64 * KiB,
}
DEFAULT_BODY_LIMIT = 1 * MiB  # any other route (the latency probe's read)
# Routes only era B (1.3+) has: a 404 from one of them means an era-A node, which is not
# asked that route again until it restarts (each 404 counts as an error on era A).
ERA_B_ROUTES = frozenset({"/version", "/health/live", "/health/ready"})
# What era A serves without a token (it checks scopes only on /metrics, /config and data
# routes). Era A rate-limits each token's role to 100 requests a minute, loopback included,
# so these go without the token once the node is known to be era A.
ERA_A_PUBLIC = frozenset(
    {"/", "/health", "/stats", "/api/capabilities", "/admin/backup", "/admin/restore"}
)
ERA_A_ROLE_LIMIT = 100  # requests per minute and role (a token bucket of 100)
_ERA_A_UNCOUNTED = frozenset({401, 403, 413, 429})  # 4xx era A does not count as errors


def states_product_version(data: Any) -> bool:
    """Whether a `/version` body names the product's version: "unknown" (a build without
    a version string) or no `version` at all does not, whatever its `api_version` says."""
    if not isinstance(data, dict):
        return True  # let the parser say what is wrong with it
    version = data.get("version")
    return not (version is None or (isinstance(version, str) and version.strip() == "unknown"))


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo += [item.__cause__, item.__context__]


class ThemisClient:
    """Talks to one node, on the paths every version serves unversioned.

    1.8's versioned routing never redirects the routes this client uses (`/health*`,
    `/version`, `/stats`, `/metrics`, `/config`, `/admin/…`, `/entities…`; upstream's
    include/server/route_version_router.h), and the server does not serve them under `/v1`
    (src/server/http_server.cpp routes the target as it came). A redirect that does come
    (another path, or a proxy) is followed for that one request, within the node, and
    never turned into a prefix for the others."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        verify_tls: bool = True,
        ca_file: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        body_limits: Mapping[str, int] | None = None,
    ) -> None:
        """`timeout` is each request's total deadline in seconds; `body_limits` overrides
        entries of `BODY_LIMITS` (route -> bytes)."""
        self.url = normalize_url(url)
        self._token = token or None
        self._timeout = timeout
        verify: bool | ssl.SSLContext = verify_tls
        self._setup_error: errors.ThemisError | None = None
        if verify_tls and ca_file:
            try:
                verify = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as exc:
                self._setup_error = errors.TlsFailure(
                    self.url,
                    f"The CA file {ca_file} cannot be used ({exc})",
                    "Choose the PEM file of the CA that signed the node's certificate.",
                )
        self._limits = {**BODY_LIMITS, **(body_limits or {})}
        self._http, self._backend = bounded_client(
            self.url, verify=verify, headers={"User-Agent": f"themis-desktop/{__version__}"}
        )
        self._version: VersionInfo | None = None
        self._uptime = -1.0
        self._start: tuple[float, float] | None = None  # the process's start, as an interval
        self._version_at = 0.0
        self._missing: set[str] = set()  # era-B routes this node answered 404
        self._lock = threading.Lock()
        self._own_errors = 0  # answers to us that the node counted as its own errors
        self.answers = 0  # requests of ours the node answered (a sampler's own load)
        self._tokened: deque[float] = deque()  # when the token was sent (last minute)

    def __repr__(self) -> str:  # never shows the token
        return f"ThemisClient({self.url!r}, token={'set' if self._token else 'none'})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ThemisClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- routes -----------------------------------------------------------------

    def version(self, refresh: bool = False) -> VersionInfo:
        """The node's version: `/version`, then `themis_build_info`, then `/api/capabilities`."""
        fresh = time.monotonic() - self._version_at < VERSION_TTL_S
        if self._version and fresh and not refresh:
            return self._version
        known_era_a = self.era == "A" and self._version is not None and not refresh
        if refresh:
            self._missing.clear()  # asked to look again: it may run another version now
        try:
            data = self._json("GET", "/version")
            if not states_product_version(data):
                # a build without THEMIS_VERSION_STRING says "unknown" (upstream's
                # monitoring_api_handler.cpp); its api_version is the HTTP API's, never this
                info = self._version_from_metrics() or self._version_from_capabilities()
            else:
                info = self._parse(VersionInfo.from_version_route, data, "/version")
        except errors.NotFound:
            # era A has no build info: once known, its capabilities are the only source
            from_metrics = None if known_era_a else self._version_from_metrics()
            info = from_metrics or self._version_from_capabilities()
        self._version, self._version_at = info, time.monotonic()
        return info

    def health(self) -> Health:
        """Health; a restart seen in its uptime (maybe as another version) drops what was
        learnt about the node."""
        sent = time.monotonic()
        health = self._parse(Health.from_json, self._json("GET", "/health"), "/health")
        if self._restarted(sent, time.monotonic(), health.uptime_seconds):
            self.forget()
        return health

    def _restarted(self, sent: float, received: float, uptime: float) -> bool:
        """Whether the node started again since the last look. The server counts whole
        seconds, so each answer puts its start in (sent - uptime - 1, received - uptime];
        one process's intervals overlap, and a new process's lies wholly after them. An
        uptime that went down is a restart too, however short the first run was."""
        low, high = sent - uptime - 1.0 - _CLOCK_SLACK_S, received - uptime + _CLOCK_SLACK_S
        restarted = uptime < self._uptime or (self._start is not None and low > self._start[1])
        if restarted or self._start is None:
            self._start = (low, high)
        else:  # the same process: its start lies in both intervals
            self._start = (max(low, self._start[0]), min(high, self._start[1]))
        self._uptime = uptime
        return restarted

    def forget(self) -> None:
        """Drop what was learnt about the node (version, missing routes): it restarted."""
        self._version = None
        self._missing.clear()

    @property
    def era(self) -> str | None:
        """ "A" once the node answered 404 to a route every 1.3+ server has (it runs a
        release before 1.3), "B" once it answered `/version`, else None (not known yet)."""
        if self._missing:
            return "A"
        if self._version is not None and self._version.source == "version-route":
            return "B"
        return None

    @property
    def own_errors(self) -> int:
        """How many of this client's requests the node counted in its error counter because
        of what was asked (era A counts a 404 or 400 as an error; era B only its own
        failures, which are never ours to subtract)."""
        return self._own_errors

    def token_uses(self, seconds: float = 60.0) -> int:
        """Requests that carried the token within the last `seconds` (era A's rate limit)."""
        horizon = time.monotonic() - seconds
        with self._lock:
            while self._tokened and self._tokened[0] < horizon:
                self._tokened.popleft()
            return len(self._tokened)

    @property
    def token_budget_left(self) -> int | None:
        """Requests with the token still possible this minute under era A's per-role limit
        (keeping a fifth for others using the same role), or None when there is no limit
        known: no token, or not an era-A node."""
        if not self._token or self.era != "A":
            return None
        return ERA_A_ROLE_LIMIT * 4 // 5 - self.token_uses()

    def ready(self) -> Readiness:
        """Readiness with its checks (era B). Era A nodes raise `NotFound`."""
        data = self._json("GET", "/health/ready", ok=(200, 503))
        return self._parse(Readiness.from_json, data, "/health/ready")

    def stats(self) -> Stats:
        return self._parse(Stats.from_json, self._json("GET", "/stats"), "/stats")

    def metrics_text(self) -> str:
        return self._request("GET", "/metrics").text

    def probe(self, path: str) -> tuple[int, float]:
        """Time one GET of `path` (the sampler's latency probe): (status, seconds).
        Any HTTP answer counts, even 404 or 500; only transport failures raise."""
        started = time.perf_counter()
        response = self._request("GET", path, ok=_ANY_STATUS)
        return response.status_code, time.perf_counter() - started

    def config(self) -> dict[str, Any]:
        data = self._json("GET", "/config")
        if not isinstance(data, dict):
            raise self._malformed("/config", "the config is not a JSON object")
        return data

    def post_config(self, update: dict[str, Any]) -> dict[str, Any]:
        """Merge `update` into the node's config (`POST /config`, scope config:write)."""
        data = self._json("POST", "/config", body=update)
        return data if isinstance(data, dict) else {}

    def admin_backup(self, directory: str) -> BackupResult:
        """Ask the node for a RocksDB checkpoint into `directory` on its own host."""
        data = self._json("POST", "/admin/backup", body={"directory": directory})
        return self._parse(BackupResult.from_json, data, "/admin/backup")

    def admin_restore(self, directory: str) -> RestoreResult:
        """Replace the node's live database with a checkpoint (destructive on the server)."""
        data = self._json("POST", "/admin/restore", body={"directory": directory})
        return self._parse(RestoreResult.from_json, data, "/admin/restore")

    def put_entity(self, key: str, blob: str) -> None:
        """Write `blob` under `key` (`PUT /entities/<key>` `{"blob": …}`, 201 on both eras)."""
        self._json("PUT", f"/entities/{quote(key, safe=':')}", body={"blob": blob}, ok=(200, 201))

    def get_entity(self, key: str) -> str | None:
        """The blob stored under `key`, None when the node says it is not there (404)."""
        try:
            data = self._json("GET", f"/entities/{quote(key, safe=':')}")
        except errors.NotFound:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("blob"), str):
            raise self._malformed("/entities/…", "no blob in the answer")
        return data["blob"]

    def snapshot_tag(self, tag: str, description: str) -> Any:
        """Tag the server's current sequence (1.5+, `POST /api/v1/snapshots/tags`, 201;
        upstream src/server/snapshot_api_handler.cpp): the snapshot JSON."""
        body = {"tag_name": tag, "description": description, "created_by": "themis-desktop"}
        return self._json("POST", "/api/v1/snapshots/tags", body=body, ok=(201,))

    def restore_preview(self, tag: str) -> Any:
        """What a point-in-time restore to `tag` would replay (`POST /api/v1/restore/
        preview`; upstream src/server/pitr_api_handler.cpp): the preview JSON."""
        body = {"restore_type": "tag", "target": tag}
        return self._json("POST", "/api/v1/restore/preview", body=body)

    def updates(self, check: bool = False) -> tuple[int, Any]:
        """The node's own update checker (era B; upstream src/server/update_api_handler.cpp):
        `GET /api/updates`, or `POST /api/updates/check` to check now. (HTTP status, JSON
        body): 200 with the status, 503 where the checker is off (era A always). A missing
        route raises `NotFound` (1.8 redirects the path to `/v1/…`, which has no route)."""
        method, path = ("POST", "/api/updates/check") if check else ("GET", "/api/updates")
        response = self._request(method, path, ok=(200, 503))
        try:
            return response.status_code, response.json()
        except ValueError:
            if response.status_code == 503:
                return 503, None  # a proxy's page: the checker is not there either way
            raise self._malformed(path, "the answer is not JSON") from None

    # -- version fallbacks ------------------------------------------------------

    def _version_from_metrics(self) -> VersionInfo | None:
        try:
            text = self.metrics_text()
        except (errors.NotFound, errors.Unauthorized, errors.Forbidden):
            return None
        version = build_info_version(text)
        return VersionInfo(version=version, source="build-info") if version else None

    def _version_from_capabilities(self) -> VersionInfo:
        try:
            data = self._json("GET", "/api/capabilities")
        except errors.NotFound:
            raise errors.VersionUnknown(
                self.url,
                "The node does not tell its version (/version, themis_build_info and "
                "/api/capabilities are all missing)",
                "Enter the version it runs in the connection profile.",
            ) from None
        return self._parse(VersionInfo.from_capabilities, data, "/api/capabilities")

    # -- plumbing ---------------------------------------------------------------

    def _json(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> Any:
        response = self._request(method, path, body, ok)
        try:
            return response.json()
        except JsonTooDeep as exc:
            raise self._malformed(path, str(exc)) from None
        except ValueError:
            snippet = response.text[:80].replace("\n", " ")
            raise self._malformed(path, f"the answer is not JSON: {snippet!r}") from None

    def _parse(self, parser: Any, data: Any, path: str) -> Any:
        try:
            return parser(data)
        except (ShapeError, ValueError, TypeError, OverflowError) as exc:
            raise self._malformed(path, str(exc)) from None

    def _malformed(self, path: str, detail: str) -> errors.MalformedResponse:
        return errors.MalformedResponse(
            self.url + path,
            f"The node's answer to {path} does not look like ThemisDB's: {detail}",
            "Check that the address points at a ThemisDB server and not at a proxy or "
            "another service.",
        )

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> Answer:
        """One request, redirects within the node included, all within the deadline; the
        body within the route's limit."""
        if self._setup_error:
            raise self._setup_error
        route = path.split("?", 1)[0]
        if route in self._missing:  # era A: asking again would only add an error
            raise self._not_found(path)
        target = path
        headers = {}
        if self._token and not (self.era == "A" and route in ERA_A_PUBLIC):
            headers = {"Authorization": f"Bearer {self._token}"}
            with self._lock:
                self._tokened.append(time.monotonic())
        seconds = max(self._timeout, SLOW_ROUTES.get(route, 0.0))
        deadline = time.monotonic() + seconds
        limit = self._limits.get(route, DEFAULT_BODY_LIMIT)
        for _ in range(_MAX_REDIRECTS + 1):
            try:
                response = fetch(
                    self._http,
                    self._backend,
                    method,
                    target,
                    url=self.url + path,
                    who="a ThemisDB node",
                    deadline=deadline,
                    seconds=seconds,
                    limit=limit,
                    ok=ok,
                    json=body,
                    headers=headers,
                )
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, path) from None
            if response.status_code in _REDIRECTS:
                target = self._follow(response, path)
                continue
            self._note_answer(response.status_code, route, target)
            if response.status_code in ok:
                return response
            raise self._status_error(response, path)
        raise self._malformed(path, "too many redirects")

    def _note_answer(self, status: int, route: str, target: str) -> None:
        """Learn from a status: a missing era-B route, an error the node counted."""
        self.answers += 1
        if status == 404 and route in ERA_B_ROUTES and target == route:
            self._missing.add(route)  # asked directly, not after a redirect: no such route
        if self.era == "A" and 400 <= status < 500 and status not in _ERA_A_UNCOUNTED:
            with self._lock:
                self._own_errors += 1

    def _not_found(self, path: str) -> errors.NotFound:
        return errors.NotFound(
            self.url + path,
            f"The node has no route {path}",
            "The server's version may not offer it, or the address is not a ThemisDB node.",
            404,
        )

    def _follow(self, response: Answer, path: str) -> str:
        """Next target of a redirect, for this request only. Never leaves the node."""
        location = response.headers.get("location", "")
        parts = urlsplit(location)
        if parts.netloc and parts.netloc != urlsplit(self.url).netloc:
            raise self._malformed(path, f"it redirects to another host ({location})")
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def _transport_error(self, exc: httpx.HTTPError, path: str) -> errors.ThemisError:
        url = self.url + path
        if isinstance(exc, httpx.TimeoutException):  # the deadline's own is DeadlineExceeded
            connect = isinstance(exc, httpx.ConnectTimeout)
            seconds = min(self._timeout, CONNECT_TIMEOUT_S) if connect else self._timeout
            return errors.ConnectTimeout(
                url,
                f"No {'connection' if connect else 'answer'} within {seconds:g} s",
                "The node may be overloaded, stopped halfway, or behind a firewall that drops "
                "packets. Check the host and port, then retry.",
            )
        for cause in _causes(exc):
            if isinstance(cause, ssl.SSLError):
                return self._tls_error(url, cause)
            if isinstance(cause, socket.gaierror):
                return errors.HostNotFound(
                    url,
                    f"The host name {urlsplit(self.url).hostname!r} could not be resolved",
                    "Check the spelling of the address, or use the node's IP address.",
                )
            if isinstance(cause, ConnectionRefusedError):
                return errors.ConnectionRefused(
                    url,
                    "The connection was refused",
                    "Nothing listens on that port: the server is stopped or uses another port "
                    "(default 8765; see server.port in its config.yaml). Start it or fix the "
                    "address.",
                )
        text = str(exc)
        if "SSL" in text or "certificate" in text.lower():
            return self._tls_error(url, exc)
        if isinstance(exc, httpx.RemoteProtocolError) and self.url.startswith("http://"):
            hint = "If the node uses TLS, connect with https:// instead of http://."
        else:
            hint = "Retry; if it persists, check the node's log (themis_server.log)."
        return errors.ServerFailure(
            url, f"The connection failed: {text or type(exc).__name__}", hint
        )

    def _tls_error(self, url: str, cause: BaseException) -> errors.TlsFailure:
        text = str(cause)
        if "CERTIFICATE_VERIFY_FAILED" in text:
            hint = (
                "The node's certificate is not trusted. Set the CA file that signed it in the "
                "connection profile (verification stays on)."
            )
        elif "WRONG_VERSION_NUMBER" in text or "record layer" in text:
            hint = "The node does not speak TLS on that port: connect with http:// instead."
        else:
            hint = "Check the node's TLS set-up and the CA file in the connection profile."
        return errors.TlsFailure(url, f"The TLS handshake failed: {text}", hint)

    def _status_error(self, response: Answer, path: str) -> errors.ThemisError:
        url = self.url + path
        status = response.status_code
        message = _server_message(response)
        if status == 401:
            hint = (
                "The node requires a token: add one in the connection profile."
                if not self._token
                else "The token is malformed or was refused: re-enter it in the connection profile."
            )
            return errors.Unauthorized(url, f"Authentication required ({message})", hint, status)
        if status == 403:
            return errors.Forbidden(
                url,
                f"The token may not use {path} ({message})",
                "Use a token of a role with that scope (admin for backups and restores).",
                status,
            )
        if status == 404:
            return self._not_found(path)
        if status == 429:
            wait = response.headers.get("retry-after", "a minute")
            return errors.RateLimited(
                url, "Too many requests", f"Wait {wait} s before retrying.", status
            )
        if 400 <= status < 500:
            return errors.RequestRejected(
                url, f"The node rejected the request: {message}", "Check the values sent.", status
            )
        return errors.ServerFailure(
            url,
            f"The server failed with HTTP {status}: {message}",
            "Look at the node's log (themis_server.log) for the cause, then retry.",
            status,
        )


def _server_message(response: Answer) -> str:
    """The `message` (or `error`) of a ThemisDB error body, else a short text."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:120].strip() or response.reason_phrase
    if isinstance(data, dict):
        for key in ("message", "error"):
            if isinstance(data.get(key), str):
                return data[key]
    return response.reason_phrase


def build_info_version(metrics_text: str) -> str | None:
    """The version label of the real `themis_build_info` line, if any.

    Newer servers print a second, hard-coded `themis_build_info{version="0.1.0"}` from
    another collector, and some of their lines are not valid exposition: each candidate
    line is parsed on its own, and the one with a `build_type` label wins.
    """
    candidates: list[dict[str, str]] = []
    for line in metrics_text.splitlines():
        if not line.startswith("themis_build_info"):
            continue
        try:
            for family in text_string_to_metric_families(line + "\n"):
                candidates += [s.labels for s in family.samples if s.labels.get("version")]
        except ValueError:
            continue
    candidates.sort(key=lambda labels: "build_type" not in labels)
    return candidates[0]["version"] if candidates else None
