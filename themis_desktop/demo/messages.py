"""Plain request/response values passed between the HTTP layer and the route handlers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JSON = "application/json"
PROMETHEUS = "text/plain; version=0.0.4"


@dataclass
class Request:
    method: str
    target: str  # exactly as sent: path plus query
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    client_ip: str = "127.0.0.1"
    path: str = ""  # the routed path (query stripped in era B, /v1 removed from 1.8)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


def json_response(
    status: int, obj: Any, headers: dict[str, str] | None = None, pretty: bool = False
) -> Response:
    """JSON like nlohmann's dump(): compact, or indented by 2 (`pretty`, as /stats uses)."""
    text = json.dumps(obj, indent=2) if pretty else json.dumps(obj, separators=(",", ":"))
    return Response(status, text.encode(), JSON, dict(headers or {}))


def error_response(status: int, message: str) -> Response:
    """The server's generic error body."""
    return json_response(status, {"error": True, "message": message, "status_code": status})


def update_error(status: int, message: str) -> Response:
    """The update/snapshot/PITR handlers' own error shape."""
    return json_response(status, {"error": message, "status": status})


class BadRequest(Exception):
    """A 400 with the given message."""


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; BadRequest("Invalid JSON") for empty/invalid/non-object."""
    try:
        obj = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("Invalid JSON") from None
    if not isinstance(obj, dict):
        raise BadRequest("Invalid JSON")
    return obj
