"""Request dispatch: versioned routing, rate limit, route table per era, auth, counting."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from themis_desktop.demo import handlers, snapshots, updates, versions
from themis_desktop.demo.auth import scope_for
from themis_desktop.demo.handlers import NodeContext
from themis_desktop.demo.messages import (
    BadRequest,
    Request,
    Response,
    error_response,
    json_response,
)
from themis_desktop.demo.ratelimit import RateLimiter, UserBuckets

ANY = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
GET = frozenset({"GET", "HEAD"})
DELETE = frozenset({"DELETE"})
POST = frozenset({"POST"})
PUT = frozenset({"PUT"})


@dataclass(frozen=True)
class Route:
    methods: frozenset[str]
    path: str
    handler: Callable[[NodeContext, Request], Response]
    eras: str = "AB"
    prefix: bool = False  # match every path under `path`
    since: tuple[int, int] | None = None  # first (major, minor) serving it

    def matches(self, method: str, path: str) -> bool:
        hit = path.startswith(self.path) if self.prefix else path == self.path
        return hit and method in self.methods


_PITR = (1, 5)

ROUTES = (
    Route(ANY, "/", handlers.health),
    Route(ANY, "/health", handlers.health),
    Route(GET, "/health/live", handlers.live, "B"),
    Route(GET, "/health/ready", handlers.ready, "B"),
    Route(GET, "/version", handlers.version, "B"),
    # era B still routes it (upstream src/server/http_server.cpp, classifyRoute)
    Route(GET, "/api/capabilities", handlers.capabilities),
    Route(GET, "/stats", handlers.stats),
    Route(GET, "/metrics", handlers.metrics_text),
    Route(GET, "/config", handlers.get_config),
    Route(POST, "/config", handlers.post_config),
    Route(POST, "/admin/backup", handlers.backup),
    Route(POST, "/admin/restore", handlers.restore),
    Route(GET, "/api/updates", updates.updates),
    Route(POST, "/api/updates/check", updates.updates),
    Route(GET | PUT, "/api/updates/config", updates.updates),
    Route(GET, "/entities/", handlers.entity, prefix=True),
    Route(PUT, "/entities/", handlers.put_entity, prefix=True),
    # snapshot tags and PITR from 1.5.0 (upstream include/server/pitr_grpc_service.h: "Part of
    # ThemisDB v1.5.0 - Feature: PITR for MVCC"); see demo/snapshots.py
    Route(POST, "/api/v1/snapshots/tags", snapshots.create_tag, "B", since=_PITR),
    Route(GET, "/api/v1/snapshots/tags", snapshots.list_tags, "B", since=_PITR),
    Route(GET | DELETE, snapshots.TAG_PREFIX, snapshots.tag, "B", True, _PITR),
    Route(GET, "/api/v1/snapshots/stats", snapshots.stats, "B", since=_PITR),
    Route(POST, "/api/v1/restore/preview", snapshots.preview, "B", since=_PITR),
    Route(POST, "/api/v1/restore/pitr", snapshots.restore, "B", since=_PITR),
    Route(GET, "/api/v1/restore/progress", snapshots.progress, "B", since=_PITR),
)


class App:
    """One node's request handling, independent of the HTTP transport."""

    def __init__(self, ctx: NodeContext, limiter: RateLimiter | None = None):
        self.ctx = ctx
        self.era = ctx.info.era
        self.limiter = limiter or RateLimiter()
        self.user_limits = UserBuckets()
        release = (ctx.info.major, ctx.info.minor)
        self.routes = [
            r for r in ROUTES if self.era in r.eras and (r.since is None or release >= r.since)
        ]

    def count_connection(self, delta: int) -> None:
        """An HTTP connection opened (+1) or closed (-1): /health/ready reports the count."""
        with self.ctx.state.lock:
            self.ctx.state.active_connections += delta

    def handle(self, req: Request) -> Response:
        """Answer one request and count it (requests, errors >= 500, era-A latency)."""
        started = time.perf_counter()
        state = self.ctx.state
        with state.lock:
            state.active_requests += 1
        try:
            response = self._dispatch(req)
        except BadRequest as exc:
            response = error_response(400, str(exc))
        except Exception as exc:  # a handler bug must not kill the connection
            self.ctx.log.error(f"Unhandled error in {req.method} {req.target}: {exc!r}")
            response = error_response(500, f"Internal server error: {exc}")
        finally:
            with state.lock:
                state.active_requests -= 1
        elapsed_us = np.array([(time.perf_counter() - started) * 1e6])
        state.record_requests(elapsed_us, 1 if self._counts_as_error(response) else 0)
        return response

    def _counts_as_error(self, response: Response) -> bool:
        """Era A counts every answer of its generic error path (404 and 400 included, not
        auth refusals or 429); era B only server failures."""
        return response.counted if self.era == "A" else response.status >= 500

    def _dispatch(self, req: Request) -> Response:
        path, _, query = req.target.partition("?")
        if self.ctx.info.versioned_routing:
            # upstream's http_server.cpp (routeRequest) answers the redirect before its rate
            # limit and auth, for every method, and then routes the target as it came: no
            # `/v1` is stripped, so `/v1/version` or `/v1/admin/backup` are 404 there
            location = versions.redirect_target(req.target)
            if location is not None:
                body = {
                    "status": 301,
                    "message": "Moved Permanently - use versioned API path",
                    "location": location,
                }
                return json_response(301, body, {"Location": location})
        # era A routes on the whole target: a query string makes it a different (unknown) route
        req.path = path if self.era == "B" else path + (f"?{query}" if query else "")

        retry_after = self.limiter.check(req.client_ip)
        role = self.ctx.auth.role(req.header("authorization")) if self.era == "A" else None
        if retry_after is None and role is not None:
            retry_after = self.user_limits.check(role)
        if retry_after is not None:
            self.ctx.state.add(rate_limit_rejected=1)
            return _too_many(retry_after)

        route = next((r for r in self.routes if r.matches(req.method, req.path)), None)
        if route is None:
            return error_response(404, "Endpoint not found")
        scope = scope_for(self.era, req.method, req.path)
        if scope is not None and self.ctx.auth.enabled:
            denial = self.ctx.auth.check(req.header("authorization"), scope)
            if denial is not None:
                self.ctx.state.add(**{denial.counter: 1})
                return json_response(denial.status, denial.body, denial.headers)
            self.ctx.state.add(authz_success=1)
        return route.handler(self.ctx, req)


def _too_many(retry_after: int) -> Response:
    """The real server's 429: its own body (not the generic one) and rate-limit headers."""
    body = {
        "error": "Too Many Requests",
        "message": f"Rate limit exceeded. Please retry after {retry_after} seconds.",
        "retry_after_seconds": retry_after,
        "status_code": 429,
    }
    headers = {
        "Retry-After": str(retry_after),
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Remaining": "0",
    }
    return json_response(429, body, headers)
