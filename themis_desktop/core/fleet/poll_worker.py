"""The Fleet page's poller as a child process: `python -m themis_desktop.core.fleet.poll_worker`.

Polling 200 nodes every second is ~400 HTTP requests a second of Python work; in the GUI
process its threads fight the GUI thread for the GIL. This process does it instead, with
the same `FleetPoller` as `themis-desktop fleet status` (one implementation).

The protocol, one JSON object a line (UTF-8):

- stdin, from the parent: a request (`request_json`): `{"profiles": [{"name", "verify_tls",
  "ca_file", "nodes": [{"url", "name", "version_override"}]}], "tokens": {profile: token},
  "interval": seconds, "max_workers": n, "timeout": seconds}`. Tokens come this way (or
  from the environment variable `THEMIS_FLEET_TOKENS`, the same mapping as JSON), never on
  the command line. A later line replaces the request (the profiles changed).
- stdout, to the parent: after each poll `{"seq": n, "polled_at": epoch seconds,
  "seconds": the poll's duration, "nodes": {profile: [NodeState.as_json(), ...]}}`
  (`parse_line` reads it back); a request it cannot use is answered `{"error": text}`.

It runs at a lower priority (nice 5) than the app. It exits when stdin closes (the parent
ended, even when killed), when its parent process changes (it was re-parented), or when
stdout is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.fleet.status import (
    DEFAULT_TIMEOUT_S,
    DEFAULT_WORKERS,
    NODE_STATES,
    FleetPoller,
    NodeState,
)

MODULE = "themis_desktop.core.fleet.poll_worker"
TOKENS_ENV = "THEMIS_FLEET_TOKENS"
MAX_LINE_BYTES = 8 * 1024 * 1024  # a request or an answer longer than this is garbage
PARENT_CHECK_S = 0.5


@dataclass(frozen=True)
class PollRequest:
    """What the parent asks for: these profiles, every `interval` seconds."""

    profiles: tuple[Profile, ...]
    tokens: Mapping[str, str | None] = field(default_factory=dict)
    interval: float = 1.0
    max_workers: int = DEFAULT_WORKERS
    timeout: float = DEFAULT_TIMEOUT_S


def worker_command() -> list[str]:
    """The command line of the child (no secret on it); in the packaged app the
    executable is the app, which runs it as `fleet poll-worker`."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "fleet", "poll-worker"]
    return [sys.executable, "-m", MODULE]


def profile_json(profile: Profile) -> dict[str, Any]:
    """What the poller needs of a profile, as plain data."""
    return {
        "name": profile.name,
        "verify_tls": profile.verify_tls,
        "ca_file": profile.ca_file,
        "nodes": [
            {"url": n.url, "name": n.name, "version_override": n.version_override}
            for n in profile.nodes
        ],
    }


def request_json(
    profiles: list[Profile] | tuple[Profile, ...],
    tokens: Mapping[str, str | None] | None = None,
    *,
    interval: float = 1.0,
    max_workers: int = DEFAULT_WORKERS,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> str:
    """One request line (ending in a newline) for the child's stdin."""
    body = {
        "profiles": [profile_json(p) for p in profiles],
        "tokens": dict(tokens or {}),
        "interval": interval,
        "max_workers": max_workers,
        "timeout": timeout,
    }
    return json.dumps(body, separators=(",", ":")) + "\n"


def _number(obj: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{key} must be a number from {low:g} to {high:g}, not {value!r}")
    return float(value)


def parse_request(text: str | bytes, env_tokens: str | None = None) -> PollRequest:
    """A request line read back; ValueError when it is not one."""
    obj = json.loads(text)
    if not isinstance(obj, dict) or not isinstance(obj.get("profiles"), list):
        raise ValueError("a request is an object with a list of profiles")
    profiles = []
    for p in obj["profiles"]:
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            raise ValueError("each profile needs a name")
        nodes = p.get("nodes") or []
        if not isinstance(nodes, list) or not all(
            isinstance(n, dict) and isinstance(n.get("url"), str) for n in nodes
        ):
            raise ValueError(f"profile {p['name']!r}: each node needs a url")
        ca_file = p.get("ca_file")
        profiles.append(
            Profile(
                p["name"],
                tuple(
                    NodeEndpoint(
                        n["url"],
                        str(n.get("name") or ""),
                        version_override=n.get("version_override"),
                    )
                    for n in nodes
                ),
                verify_tls=bool(p.get("verify_tls", True)),
                ca_file=ca_file if isinstance(ca_file, str) else None,
            )
        )
    tokens: dict[str, str | None] = {}
    for source in (json.loads(env_tokens) if env_tokens else {}, obj.get("tokens") or {}):
        if not isinstance(source, dict):
            raise ValueError("tokens are a mapping of profile name to token")
        tokens.update({str(k): v if isinstance(v, str) else None for k, v in source.items()})
    return PollRequest(
        tuple(profiles),
        tokens,
        interval=_number(obj, "interval", 1.0, 0.05, 3600.0),
        max_workers=int(_number(obj, "max_workers", DEFAULT_WORKERS, 1, 256)),
        timeout=_number(obj, "timeout", DEFAULT_TIMEOUT_S, 0.1, 300.0),
    )


def answer_json(seq: int, polled_at: float, seconds: float, nodes: Mapping[str, Any]) -> str:
    """One answer line (ending in a newline) for the parent."""
    body = {
        "seq": seq,
        "polled_at": polled_at,
        "seconds": round(seconds, 4),
        "nodes": {name: [n.as_json() for n in states] for name, states in nodes.items()},
    }
    return json.dumps(body, separators=(",", ":"), allow_nan=False) + "\n"


@dataclass(frozen=True)
class PollAnswer:
    """One poll as the parent reads it."""

    seq: int
    polled_at: float
    seconds: float
    nodes: dict[str, tuple[NodeState, ...]]


def _opt_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"a node's {key} must be text")
    return value


def parse_line(line: str | bytes) -> PollAnswer:
    """An answer line read back. ValueError for anything else: not JSON, an error the child
    reported (its text), a shape that is not an answer."""
    if len(line) > MAX_LINE_BYTES:
        raise ValueError(f"a line of {len(line)} bytes is too long")
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if isinstance(obj, dict) and isinstance(obj.get("error"), str):
        raise ValueError(obj["error"])
    if not isinstance(obj, dict) or not isinstance(obj.get("nodes"), dict):
        raise ValueError("not a poll: no nodes")
    seq, polled_at, seconds = obj.get("seq"), obj.get("polled_at"), obj.get("seconds")
    if not isinstance(seq, int) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in (polled_at, seconds)
    ):
        raise ValueError("not a poll: seq, polled_at and seconds are numbers")
    nodes: dict[str, tuple[NodeState, ...]] = {}
    for name, states in obj["nodes"].items():
        if not isinstance(states, list):
            raise ValueError(f"not a poll: {name!r} has no list of nodes")
        found = []
        for s in states:
            if not isinstance(s, dict) or s.get("state") not in NODE_STATES:
                raise ValueError(f"not a poll: a node of {name!r} has no known state")
            latency = s.get("latency_ms")
            if latency is not None and (
                isinstance(latency, bool) or not isinstance(latency, int | float)
            ):
                raise ValueError("a node's latency_ms must be a number")
            found.append(
                NodeState(
                    str(_opt_str(s, "name") or ""),
                    str(_opt_str(s, "url") or ""),
                    s["state"],
                    _opt_str(s, "version"),
                    _opt_str(s, "error"),
                    latency,
                )
            )
        nodes[name] = tuple(found)
    return PollAnswer(seq, float(polled_at), float(seconds), nodes)  # type: ignore[arg-type]


class _Requests:
    """The newest request from stdin (read in a thread); `closed` once stdin ends."""

    def __init__(self, stream: IO[bytes], out: _Out) -> None:
        self.stream, self.out = stream, out
        self.request: PollRequest | None = None
        self.changed = threading.Event()
        self.closed = threading.Event()
        self._env_tokens = os.environ.get(TOKENS_ENV)

    def read(self) -> None:
        try:
            while True:
                line = self.stream.readline(MAX_LINE_BYTES + 1)
                if not line:
                    break
                if len(line) > MAX_LINE_BYTES:
                    self.out.write('{"error":"a request line is too long"}\n')
                    while line and not line.endswith(b"\n"):  # skip the rest of it
                        line = self.stream.readline(MAX_LINE_BYTES + 1)
                    continue
                if not line.strip():
                    continue
                try:
                    self.request = parse_request(line, self._env_tokens)
                except (ValueError, TypeError) as exc:
                    self.out.write(json.dumps({"error": f"not a request: {exc}"}) + "\n")
                    continue
                self.changed.set()
        except (OSError, ValueError):
            pass
        finally:
            self.closed.set()
            self.changed.set()


class _Out:
    """stdout, one whole line at a time; `broken` once the parent stopped reading."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.broken = False
        self._lock = threading.Lock()

    def write(self, line: str) -> None:
        with self._lock:
            if self.broken:
                return
            try:
                self.stream.write(line)
                self.stream.flush()
            except (OSError, ValueError):
                self.broken = True


def run(stdin: IO[bytes], stdout: IO[str], *, parent_pid: int | None = None) -> int:
    """Serve requests from `stdin` until it closes, the parent changes or `stdout` breaks."""
    out = _Out(stdout)
    requests = _Requests(stdin, out)
    threading.Thread(target=requests.read, name="poll-worker-stdin", daemon=True).start()
    parent = parent_pid if parent_pid is not None else os.getppid()

    def gone() -> bool:
        return requests.closed.is_set() or out.broken or os.getppid() != parent

    poller: FleetPoller | None = None
    key: tuple[Any, ...] | None = None
    seq = 0
    try:
        while not gone():
            request = requests.request
            if request is None:
                requests.changed.wait(PARENT_CHECK_S)
                requests.changed.clear()
                continue
            wanted = (id(request.tokens), request.max_workers, request.timeout)
            if poller is None or key != wanted:
                if poller is not None:
                    poller.close()
                poller = FleetPoller(
                    request.tokens, max_workers=request.max_workers, timeout=request.timeout
                )
                key = wanted
            started, polled_at = time.monotonic(), time.time()
            nodes = poller.poll(request.profiles)
            seq += 1
            out.write(answer_json(seq, polled_at, time.monotonic() - started, nodes))
            next_at = started + request.interval
            requests.changed.clear()
            while not gone() and time.monotonic() < next_at:
                # a new request polls at once; else wake now and then to see the parent
                if requests.changed.wait(min(PARENT_CHECK_S, max(0.0, next_at - time.monotonic()))):
                    break
    finally:
        if poller is not None:
            poller.close()
    return 0


NICENESS = 5  # background work: the GUI process wins a contended CPU


def main() -> int:
    with contextlib.suppress(AttributeError, OSError):  # not on Windows: best effort
        os.nice(NICENESS)
    try:
        return run(sys.stdin.buffer, sys.stdout)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
