"""The same requests to the real server and to the demo instance, and what differs.

A `Case` is one request. `observe()` sends it and reduces the answer to what the app
depends on (`Observation`): status, content type, `WWW-Authenticate`, whether the server
counted it as an error, and then by kind of answer: JSON key paths, the whole error body,
or the Prometheus names and types. Values that differ by nature (paths of the server's own
folder, timestamps, counters) are normalised first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

TIMEOUT = httpx.Timeout(30.0, connect=5.0)
_NO_BODY = object()


@dataclass(frozen=True)
class Case:
    """One request. `path` and string values of `json` may name `{wd}`, the server's working
    folder; `header` is the Authorization header (`{admin}` etc. name the role's token)."""

    name: str
    method: str
    path: str
    json: Any = _NO_BODY
    body: bytes | None = None
    header: str | None = None
    prepare: str | None = None  # "mkdir:{wd}/x": make that folder first


@dataclass
class Observation:
    status: int
    content_type: str
    www_authenticate: str | None
    counted_error: bool | None
    aspects: dict[str, str] = field(default_factory=dict)

    def all(self) -> dict[str, str]:
        return {
            "status": str(self.status),
            "content type": self.content_type,
            "WWW-Authenticate": str(self.www_authenticate),
            "counted as error": str(self.counted_error),
            **self.aspects,
        }


@dataclass
class Server:
    """One server under test: its URL, working folder and tokens."""

    label: str
    url: str
    workdir: str
    tokens: dict[str, str]


def _fill(value: Any, server: Server) -> Any:
    if isinstance(value, str):
        text = value.replace("{wd}", server.workdir)
        for role, token in server.tokens.items():
            text = text.replace("{" + role + "}", token)
        return text
    if isinstance(value, dict):
        return {k: _fill(v, server) for k, v in value.items()}
    return value


def errors_so_far(client: httpx.Client) -> int:
    """The server's own error counter (`/stats` is public in era A)."""
    return int(client.get("/stats").json()["server"]["total_errors"])


def observe(client: httpx.Client, server: Server, case: Case) -> Observation:
    """Send `case` to `server` and reduce the answer to the compared aspects."""
    if case.prepare:
        kind, _, target = case.prepare.partition(":")
        assert kind == "mkdir"
        import os

        os.makedirs(_fill(target, server), exist_ok=True)
    headers = {}
    if case.header is not None:
        headers["Authorization"] = _fill(case.header, server)
    content = case.body
    if case.json is not _NO_BODY:
        content = json.dumps(_fill(case.json, server)).encode()
        headers["Content-Type"] = "application/json"
    before = errors_so_far(client)
    response = client.request(
        case.method, _fill(case.path, server), content=content, headers=headers
    )
    after = errors_so_far(client)
    observation = Observation(
        response.status_code,
        response.headers.get("content-type", ""),
        response.headers.get("www-authenticate"),
        after - before > 0,
    )
    observation.aspects.update(_body_aspects(response, server))
    return observation


def _body_aspects(response: httpx.Response, server: Server) -> dict[str, str]:
    text = normalise(response.text, server)
    if response.headers.get("content-type", "").startswith("text/plain"):
        names, types = metric_names_and_types(response.text)
        return {"metric names": " ".join(sorted(names)), "metric types": " ".join(types)}
    try:
        data = json.loads(text)
    except ValueError:
        return {"body": text[:200]}
    if response.status_code >= 400 or set(data) <= {"status", "directory", "restored_from"}:
        return {"body": json.dumps(data, sort_keys=True)}
    return {"JSON keys": " ".join(key_paths(data))}


_BACKUP_STAMP = re.compile(r"backup_\d+")
_NLOHMANN_SYNTAX = re.compile(
    r"parse error at line \d+, column \d+: (syntax error while parsing value) - [^\"]*"
)
_RETRY = re.compile(r"retry after \d+ seconds|\"retry_after_seconds\": ?\d+")


def normalise(text: str, server: Server) -> str:
    """Put placeholders where the servers differ by nature: their folder, the time."""
    text = text.replace(server.workdir, "{wd}")
    text = _BACKUP_STAMP.sub("backup_<unix seconds>", text)
    text = _NLOHMANN_SYNTAX.sub(r"parse error at line L, column C: \1 - …", text)
    return _RETRY.sub(lambda m: re.sub(r"\d+", "N", m.group(0)), text)


def key_paths(data: Any, prefix: str = "") -> list[str]:
    """`a`, `a.b:number`, … of every object key, leaves with their JSON type (lists are
    leaves): the JSON's shape."""
    paths: list[str] = []
    if isinstance(data, dict):
        for key, value in sorted(data.items()):
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                paths.append(path)
                paths += key_paths(value, path)
            else:
                paths.append(f"{path}:{_json_type(value)}")
    return paths


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else "array"


def metric_names_and_types(text: str) -> tuple[set[str], list[str]]:
    """Sample names (labels dropped) and `# TYPE` declarations of an exposition."""
    names: set[str] = set()
    types: list[str] = []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            types.append(f"{name}:{kind}")
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names, sorted(types)


def differences(real: Observation, demo: Observation) -> dict[str, tuple[str, str]]:
    """Aspect -> (real, demo) for each aspect that differs."""
    a, b = real.all(), demo.all()
    return {
        k: (a.get(k, "—"), b.get(k, "—")) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)
    }


def first_rejection(client: httpx.Client, header: str, limit: int) -> tuple[int | None, Any]:
    """Send GET /health with `header` until a 429; (its 1-based number, the response)."""
    for number in range(1, limit + 1):
        response = client.get("/health", headers={"Authorization": header})
        if response.status_code == 429:
            return number, response
    return None, None
