"""The health/error side service an era-B node runs beside its API (one per demo node).

Follows upstream src/server/health_error_service.cpp (makr-code/ThemisDB): a small HTTP
server, `Server: ThemisDB-Health`, JSON, bound to loopback (upstream's default is
127.0.0.1:9090; several demo nodes share a host, so each gets a free port). Its `/errors`
routes serve the ErrorRegistry (src/server/error_api_handler.cpp): a catalogue of the
server's error codes (src/utils/error_registry.cpp, include/utils/error_registry.h), not
errors that happened.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from themis_desktop.demo.local_server import LocalHTTPServer

SERVER_HEADER = "ThemisDB-Health"
ENDPOINTS = (
    "/health",
    "/health/components",
    "/errors",
    "/errors/:code",
    "/errors/categories",
    "/errors/search",
)


def _entry(
    code: int, category: str, severity: str, template: str, cause: str, keywords: list[str]
) -> dict[str, Any]:
    """One ErrorMetadata::toJSON() (a short solution and docs, as upstream has them)."""
    return {
        "code": code,
        "category": category,
        "severity": severity,
        "message_template": template,
        "cause": cause,
        "solution": "See the related docs; check the server log for the details.",
        "related_docs": [f"/docs/{category.lower()}.md"],
        "keywords": keywords,
    }


# a few entries of upstream's registry, with their codes (include/utils/error_registry.h)
REGISTRY: tuple[dict[str, Any], ...] = (
    _entry(
        1000,
        "Storage",
        "Error",
        "File not found: {}",
        "The specified file path does not exist or is not accessible.",
        ["file", "not found", "storage", "path"],
    ),
    _entry(
        1002,
        "Storage",
        "Critical",
        "Disk full: {} bytes required, {} bytes available",
        "Insufficient disk space to complete the operation.",
        ["disk", "full", "space", "storage"],
    ),
    _entry(
        1003,
        "Storage",
        "Critical",
        "Data corruption detected: {}",
        "The storage layer has detected corrupted data that cannot be read.",
        ["corruption", "data", "integrity", "storage"],
    ),
    _entry(
        1004,
        "Storage",
        "Error",
        "Transaction failed: {}",
        "A database transaction could not be completed successfully.",
        ["transaction", "commit", "rollback", "storage", "database"],
    ),
    _entry(
        1100,
        "Backup",
        "Error",
        "Backup creation failed: {}",
        "Failed to create database backup.",
        ["backup", "creation", "failed"],
    ),
    _entry(
        1101,
        "Backup",
        "Error",
        "Backup restoration failed: {}",
        "Failed to restore database from backup.",
        ["backup", "restore", "recovery", "failed"],
    ),
    _entry(
        2000,
        "LLM",
        "Error",
        "Model file not found: {}",
        "The specified LLM model file does not exist at the given path.",
        ["llm", "model", "not found", "path"],
    ),
    _entry(
        2004,
        "LLM",
        "Critical",
        "GPU out of memory: {} MB required, {} MB available",
        "Insufficient GPU VRAM to load the model or process the request.",
        ["gpu", "oom", "out of memory", "vram", "llm"],
    ),
)


class SideService:
    """The health/error service of one demo node, served by a thread from `start()` to `stop()`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._started = time.monotonic()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Bind (a free port if `port` is 0) and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("the side service is already running")
        server = _Server((self.host, self.port), self)
        self.port = server.server_address[1]
        self._server, self._started = server, time.monotonic()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"demo-side-service-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and join the threads (idempotent)."""
        if self._server is None:
            return
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._server.server_close()
        self._server = self._thread = None

    # -- the routes (health_error_service.cpp handleRequest) ---------------------------

    def uptime(self) -> int:
        return int(time.monotonic() - self._started)

    def handle(self, target: str) -> tuple[HTTPStatus, dict[str, Any]]:
        parts = urlsplit(target)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        if path == "/health":
            return HTTPStatus.OK, self._health()
        if path == "/health/components":
            return HTTPStatus.OK, self._components()
        if path == "/errors":
            return HTTPStatus.OK, _errors(query.get("category", ""))
        if path == "/errors/categories":
            names = _categories()
            return HTTPStatus.OK, {"status": "success", "categories": names, "count": len(names)}
        if path == "/errors/search":
            return _search(query.get("q", ""))
        if path.startswith("/errors/"):
            return _one(path[len("/errors/") :])
        return HTTPStatus.NOT_FOUND, {
            "status": "error",
            "message": "Endpoint not found",
            "available_endpoints": list(ENDPOINTS),
        }

    def _health(self) -> dict[str, Any]:
        return {
            "status": "healthy",
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "uptime_seconds": self.uptime(),
            "service": "health_error_service",
            "version": "1.0.0",
        }

    def _components(self) -> dict[str, Any]:
        return {
            "health_error_service": {
                "status": "healthy",
                "uptime_seconds": self.uptime(),
                "port": self.port,
                "bind_address": self.host,
            },
            "error_registry": {"status": "healthy", "type": "in-memory", "dependencies": "none"},
        }


def _categories() -> list[str]:
    return sorted({e["category"] for e in REGISTRY})


def _errors(category: str) -> dict[str, Any]:
    """ErrorRegistry::toJSON() with a status, or the entries of one category."""
    if category:
        found = [e for e in REGISTRY if e["category"] == category]
        return {"status": "success", "category": category, "errors": found, "count": len(found)}
    return {
        "total_errors": len(REGISTRY),
        "categories": _categories(),
        "errors": list(REGISTRY),
        "status": "success",
    }


def _search(query: str) -> tuple[HTTPStatus, dict[str, Any]]:
    if not query:
        message = "Search query parameter 'q' is required"
        return HTTPStatus.BAD_REQUEST, {"status": "error", "message": message}
    needle = query.lower()
    found = [
        e
        for e in REGISTRY
        if needle in e["message_template"].lower() or any(needle in k for k in e["keywords"])
    ]
    return HTTPStatus.OK, {
        "status": "success",
        "query": query,
        "errors": found,
        "count": len(found),
    }


def _one(code_text: str) -> tuple[HTTPStatus, dict[str, Any]]:
    try:
        code = int(code_text)
    except ValueError:
        return HTTPStatus.BAD_REQUEST, {
            "status": "error",
            "message": "Invalid error code format",
            "details": "stoi",
        }
    for entry in REGISTRY:
        if entry["code"] == code:
            return HTTPStatus.OK, {"status": "success", "error": entry}
    return HTTPStatus.NOT_FOUND, {
        "status": "not_found",
        "message": "Error code not registered",
        "code": code,
    }


class _Server(LocalHTTPServer):
    def __init__(self, address: tuple[str, int], service: SideService) -> None:
        self.service = service
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection, as upstream's service
    timeout = 10.0

    def version_string(self) -> str:
        return SERVER_HEADER

    def do_GET(self) -> None:
        try:
            status, value = self.server.service.handle(self.path)
        except Exception as exc:  # upstream answers 500 {"status":"error","message":...}
            status, value = (
                HTTPStatus.INTERNAL_SERVER_ERROR,
                {"status": "error", "message": str(exc)},
            )
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_GET  # upstream routes by path only, whatever the method

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet, like the node's own HTTP server."""
