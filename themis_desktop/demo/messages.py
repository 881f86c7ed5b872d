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
    path: str = ""  # the routed path (query stripped in era B)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    counted: bool = False  # made by the generic error path, which era A counts as an error


def json_response(
    status: int, obj: Any, headers: dict[str, str] | None = None, pretty: bool = False
) -> Response:
    """JSON like nlohmann's dump(): compact, or indented by 2 (`pretty`, as /stats uses)."""
    text = json.dumps(obj, indent=2) if pretty else json.dumps(obj, separators=(",", ":"))
    return Response(status, text.encode(), JSON, dict(headers or {}))


def error_response(status: int, message: str) -> Response:
    """The server's generic error body (`makeErrorResponse`, which counts an error)."""
    response = json_response(status, {"error": True, "message": message, "status_code": status})
    response.counted = True
    return response


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


_EMPTY_INPUT = (
    "[json.exception.parse_error.101] parse error at line 1, column 1: syntax error while "
    "parsing value - unexpected end of input; expected '[', '{', or a literal"
)


def parse_json(body: bytes) -> Any:
    """The body parsed as `nlohmann::json::parse` does, or BadRequest("Invalid JSON: <its
    exception text>") as the backup and restore handlers answer. The position and detail of
    a syntax error are Python's, not nlohmann's."""
    text = body.decode("utf-8", errors="replace")
    if not text.strip():
        raise BadRequest(f"Invalid JSON: {_EMPTY_INPUT}")
    try:
        return json.loads(text)
    except ValueError as exc:
        line, column = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
        raise BadRequest(
            f"Invalid JSON: [json.exception.parse_error.101] parse error at line {line}, "
            f"column {column}: syntax error while parsing value - invalid literal"
        ) from None


def json_type(value: Any) -> str:
    """nlohmann's name of a JSON value's type (`type_name()`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
