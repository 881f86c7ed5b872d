"""The demo instance's service manager: stop, start and install its nodes over loopback HTTP.

What systemd and a package manager do for a real ThemisDB node, this small JSON API does for
the demo nodes (nodes are named by their port, as a profile's node names may differ):

    GET  /nodes                 [{name, port, url, version, installed, running, side_port}, ...]
                                (`installed`: the version the next start runs; `side_port`:
                                the node's health/error side service on 127.0.0.1, or null)
    POST /nodes/<port>/stop     stop the node (idempotent): SIGTERM, killed after the stop
                                timeout; the answer says "stopped": "exited" or "killed"
    POST /nodes/<port>/start    start it on the same port and data dir (idempotent)
    POST /nodes/<port>/install  {"version": "1.8.0"}: the version its next start runs
    POST /nodes/<port>/reload   SIGHUP: 1.8+ re-reads its TLS certificates, older ends
    GET  /router                {weights, urls, stats} of the load balancer, keyed by port
    PUT  /router/weights        {"weights": {"<port>": 0.05, ...}}: shares, normalised;
                                a port left out gets 0 (400: unknown port, < 0, all zero)
    GET  /rehearsals            [{port, url, version, data_dir, like, running}, ...]
    POST /rehearsals            {"data_dir": "/abs/folder", "version": "1.9.0", "like": <port>}:
                                start one extra node (a dress rehearsal's copy) with the
                                options of node <port> (its error rates, latency, tokens,
                                workload) but on a free port, in `data_dir` (its data in
                                `data_dir/data`, its log `data_dir/themis_server.log`) and as
                                `version`; answers {port, url, version, data_dir, like}.
                                400: a data_dir inside a cluster node's folder (production
                                is never touched), a bad version; 404: no node <port>
    POST /rehearsals/<port>/stop   stop that extra node and forget it (DELETE
    DELETE /rehearsals/<port>      /rehearsals/<port> does the same); its folder is kept
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from themis_desktop.demo.cluster import DemoCluster
from themis_desktop.demo.local_server import LocalHTTPServer
from themis_desktop.demo.node import DemoNode
from themis_desktop.demo.router import DemoRouter
from themis_desktop.demo.storage import StorageError

MAX_BODY_BYTES = 64 * 1024


class ControlError(Exception):
    """A request the control API refuses: an HTTP status and a message."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class DemoControl:
    """A loopback HTTP server in a thread that stops/starts/installs `cluster`'s nodes.

    With `router=True` it also runs the demo load balancer (`DemoRouter`, `router_rate`
    requests/s, equal weights at first) from `start()` to `stop()`.
    """

    def __init__(
        self,
        cluster: DemoCluster,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        router: bool = False,
        router_rate: float = 40.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self.cluster = cluster
        self.stop_timeout = stop_timeout  # seconds from SIGTERM to the kill
        self._router_rate = router_rate if router else None
        self.router: DemoRouter | None = None  # made at start(), when the nodes have ports
        self.host = host
        self.port = port
        self._lock = threading.Lock()  # one node operation at a time
        self._server: LocalHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._rehearsals: dict[int, tuple[DemoNode, int]] = {}  # port -> (copy, like port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        """Bind and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("the demo control server is already running")
        server = _ControlServer((self.host, self.port), self)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="demo-control-http",
            daemon=True,
        )
        self._thread.start()
        if self._router_rate is not None:
            # TLS nodes are our own, on loopback, in this process: no CA to check them by
            tls = any(node.url.startswith("https:") for node in self.cluster.nodes)
            self.router = DemoRouter(self.cluster.urls, self._router_rate, verify=not tls)
            self.router.start()

    def stop(self) -> None:
        """Stop serving and join the server's threads (idempotent)."""
        if self.router is not None:
            self.router.stop()
            self.router = None
        with self._lock:
            for copy, _like in self._rehearsals.values():
                copy.stop()
            self._rehearsals.clear()
        if self._server is None:
            return
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._server.server_close()  # joins the request threads
        self._server = self._thread = None

    def __enter__(self) -> DemoControl:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the API ------------------------------------------------------------------

    def nodes(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._describe(i) for i in range(len(self.cluster.nodes))]

    def handle(self, method: str, path: str, body: bytes) -> tuple[HTTPStatus, Any]:
        """Route one request; returns (status, JSON value) or raises ControlError."""
        parts = [p for p in path.split("?", 1)[0].split("/") if p]
        if parts and parts[0] == "router":
            return self._route(method, parts, body)
        if parts and parts[0] == "rehearsals":
            return self._rehearsal(method, parts, body)
        if parts == ["nodes"]:
            if method != "GET":
                raise ControlError(HTTPStatus.METHOD_NOT_ALLOWED, "use GET /nodes")
            return HTTPStatus.OK, self.nodes()
        if len(parts) != 3 or parts[0] != "nodes":
            raise ControlError(HTTPStatus.NOT_FOUND, f"no such route: {path}")
        action = parts[2]
        if action not in ("stop", "start", "install", "reload"):
            raise ControlError(HTTPStatus.NOT_FOUND, f"no such action: {action}")
        if method != "POST":
            raise ControlError(HTTPStatus.METHOD_NOT_ALLOWED, f"use POST for {action}")
        with self._lock:
            index = self._index(parts[1])
            if action == "stop":
                return HTTPStatus.OK, self._stop(index)
            elif action == "reload":
                if not self.cluster.nodes[index].running:
                    raise ControlError(HTTPStatus.CONFLICT, "the node is not running")
                outcome = self.cluster.nodes[index].hangup()
                return HTTPStatus.OK, {**self._describe(index), "sighup": outcome}
            elif action == "start":
                try:
                    self.cluster.start_node(index)
                except (OSError, StorageError) as exc:  # a taken port, data it cannot open
                    raise ControlError(
                        HTTPStatus.SERVICE_UNAVAILABLE, f"the node could not start: {exc}"
                    ) from None
            else:
                try:
                    self.cluster.install(index, _version_of(body))
                except ValueError as exc:
                    raise ControlError(HTTPStatus.BAD_REQUEST, str(exc)) from None
            return HTTPStatus.OK, self._describe(index)

    def _stop(self, index: int) -> dict[str, Any]:
        """Stop a node, killing it after the stop timeout; say which it took."""
        exited = self.cluster.terminate_node(index, self.stop_timeout)
        described = {**self._describe(index), "stopped": "exited" if exited else "killed"}
        if not exited:
            described["message"] = (
                f"killed after {self.stop_timeout:g} s: it logged a clean shutdown but did "
                "not exit on SIGTERM"
            )
        return described

    def _rehearsal(self, method: str, parts: list[str], body: bytes) -> tuple[HTTPStatus, Any]:
        """`GET /rehearsals`, `POST /rehearsals` (start a copy), stop one (module docstring)."""
        if parts == ["rehearsals"]:
            if method == "GET":
                with self._lock:
                    return HTTPStatus.OK, [
                        self._describe_copy(p, c, like) for p, (c, like) in self._rehearsals.items()
                    ]
            if method != "POST":
                raise ControlError(HTTPStatus.METHOD_NOT_ALLOWED, "use GET or POST /rehearsals")
            return HTTPStatus.CREATED, self._start_copy(body)
        stop = (len(parts) == 3 and parts[2] == "stop" and method == "POST") or (
            len(parts) == 2 and method == "DELETE"
        )
        if not stop:
            raise ControlError(
                HTTPStatus.NOT_FOUND,
                "use POST /rehearsals/<port>/stop or DELETE /rehearsals/<port>",
            )
        try:
            port = int(parts[1])
        except ValueError:
            raise ControlError(HTTPStatus.NOT_FOUND, f"not a port: {parts[1]!r}") from None
        with self._lock:
            entry = self._rehearsals.pop(port, None)
        if entry is None:
            raise ControlError(HTTPStatus.NOT_FOUND, f"no rehearsal node on port {port}")
        entry[0].stop()
        return HTTPStatus.OK, {**self._describe_copy(port, *entry), "running": False}

    def _start_copy(self, body: bytes) -> dict[str, Any]:
        usage = 'send JSON like {"data_dir": "/abs/folder", "version": "1.9.0", "like": 7001}'
        try:
            data = json.loads(body or b"null")
        except ValueError:
            raise ControlError(HTTPStatus.BAD_REQUEST, f"the body is not JSON: {usage}") from None
        if not isinstance(data, dict):
            raise ControlError(HTTPStatus.BAD_REQUEST, usage)
        folder, version, like = data.get("data_dir"), data.get("version"), data.get("like")
        if not isinstance(folder, str) or not Path(folder).is_absolute():
            raise ControlError(
                HTTPStatus.BAD_REQUEST, f"data_dir must be an absolute path: {usage}"
            )
        if not isinstance(version, str) or not isinstance(like, int | str):
            raise ControlError(HTTPStatus.BAD_REQUEST, usage)
        target = Path(folder).resolve()
        with self._lock:
            index = self._index(str(like))
            for node in self.cluster.nodes:
                own = node.data_dir.resolve()
                if target == own or own in target.parents or target in own.parents:
                    raise ControlError(
                        HTTPStatus.BAD_REQUEST,
                        f"{target} overlaps the folder of node {node.options.name} ({own}): "
                        "a rehearsal runs on a copy, never on a node's own data",
                    )
            original = self.cluster.nodes[index]
            try:
                options = dataclasses.replace(
                    original.options,
                    version=version,
                    port=0,
                    data_dir=target,
                    name=f"rehearsal-of-{original.options.name}",
                )
                copy = DemoNode(options)
            except ValueError as exc:
                raise ControlError(HTTPStatus.BAD_REQUEST, str(exc)) from None
            try:
                copy.start()
            except (OSError, StorageError) as exc:
                copy.stop()
                raise ControlError(
                    HTTPStatus.SERVICE_UNAVAILABLE, f"the rehearsal node could not start: {exc}"
                ) from None
            self._rehearsals[copy.port] = (copy, original.port)
            return self._describe_copy(copy.port, copy, original.port)

    @staticmethod
    def _describe_copy(port: int, copy: DemoNode, like: int) -> dict[str, Any]:
        return {
            "port": port,
            "url": copy.url,
            "version": copy.version,
            "data_dir": str(copy.data_dir),
            "like": like,
            "running": copy.running,
        }

    def _route(self, method: str, parts: list[str], body: bytes) -> tuple[HTTPStatus, Any]:
        """`GET /router` (weights, URLs and served counts by port), `PUT /router/weights`."""
        if self.router is None:
            raise ControlError(HTTPStatus.NOT_FOUND, "this demo-server runs without a router")
        if parts == ["router", "weights"]:
            if method != "PUT":
                raise ControlError(HTTPStatus.METHOD_NOT_ALLOWED, "use PUT /router/weights")
            try:
                self.router.set_weights(self._weights_of(body))
            except ValueError as exc:  # e.g. all zero
                raise ControlError(HTTPStatus.BAD_REQUEST, str(exc)) from None
        elif parts != ["router"]:
            raise ControlError(HTTPStatus.NOT_FOUND, "use GET /router or PUT /router/weights")
        elif method != "GET":
            raise ControlError(HTTPStatus.METHOD_NOT_ALLOWED, "use GET /router")
        return HTTPStatus.OK, self.router_state()

    def router_state(self) -> dict[str, Any]:
        """The router's weights, node URLs and counters, keyed by node port (as text)."""
        if self.router is None:
            return {}
        ports = {node.url: str(node.port) for node in self.cluster.nodes}
        stats = self.router.stats()
        return {
            "weights": {ports[u]: w for u, w in self.router.weights().items()},
            "urls": {port: url for url, port in ports.items()},
            "stats": {
                "nodes": {ports[u]: c for u, c in stats["nodes"].items()},
                "served_per_second": stats["served_per_second"],
                "ok_per_second": stats["ok_per_second"],
            },
        }

    def _weights_of(self, body: bytes) -> dict[str, float]:
        """`{"weights": {"<port>": 0.5, ...}}` as weights by node URL; 400 otherwise."""
        usage = 'send JSON like {"weights": {"<port>": 0.5, ...}}'
        try:
            data = json.loads(body or b"null")
        except ValueError:
            raise ControlError(HTTPStatus.BAD_REQUEST, f"the body is not JSON: {usage}") from None
        weights = data.get("weights") if isinstance(data, dict) else None
        if not isinstance(weights, dict) or not weights:
            raise ControlError(HTTPStatus.BAD_REQUEST, usage)
        by_port = {str(node.port): node.url for node in self.cluster.nodes}
        unknown = sorted(set(weights) - set(by_port))
        if unknown:
            raise ControlError(
                HTTPStatus.BAD_REQUEST,
                f"no demo node on port {', '.join(unknown)} (nodes: {', '.join(by_port)})",
            )
        for port, weight in weights.items():
            number = isinstance(weight, int | float) and not isinstance(weight, bool)
            if not number or not math.isfinite(weight) or weight < 0:
                raise ControlError(
                    HTTPStatus.BAD_REQUEST,
                    f"the weight of port {port} must be a number ≥ 0, not {weight!r}",
                )
        return {by_port[port]: weight for port, weight in weights.items()}

    def _index(self, port_text: str) -> int:
        try:
            port = int(port_text)
        except ValueError:
            raise ControlError(HTTPStatus.NOT_FOUND, f"not a node port: {port_text!r}") from None
        for index, node in enumerate(self.cluster.nodes):
            if node.port == port:
                return index
        raise ControlError(HTTPStatus.NOT_FOUND, f"no demo node on port {port}")

    def _describe(self, index: int) -> dict[str, Any]:
        node = self.cluster.nodes[index]
        return {
            "name": node.options.name,
            "port": node.port,
            "url": node.url,
            "version": node.version,
            "installed": self.cluster.installed_version(index),
            "running": node.running,
            "side_port": node.side_port,  # era B's health/error service (127.0.0.1), or null
        }


def _version_of(body: bytes) -> str:
    """The `version` of an install request body; ValueError with a message otherwise."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise ValueError('the body must be JSON like {"version": "1.8.0"}') from None
    if not isinstance(data, dict) or not isinstance(data.get("version"), str):
        raise ValueError('the body must be JSON like {"version": "1.8.0"}')
    return data["version"]


class _ControlServer(LocalHTTPServer):
    def __init__(self, address: tuple[str, int], control: DemoControl) -> None:
        self.control = control
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _ControlServer
    protocol_version = "HTTP/1.0"  # one request per connection: no idle threads to wait for
    timeout = 30.0

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                raise ControlError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large")
            body = self.rfile.read(length) if length > 0 else b""
            status, value = self.server.control.handle(method, self.path, body)
        except ControlError as exc:
            status, value = exc.status, {"error": str(exc), "status": int(exc.status)}
        except Exception as exc:  # a bug must answer, not hang the client
            status = HTTPStatus.INTERNAL_SERVER_ERROR
            value = {"error": f"{type(exc).__name__}: {exc}", "status": 500}
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the demo-server's stdout carries only its node and ready lines."""
