"""A tiny raw-socket HTTP server on loopback that misbehaves on purpose.

Each route maps to a behaviour: a function that gets the connection and writes whatever
bytes it likes (slowly, endlessly, garbage). Behaviours wait on the server's stop event,
never on `time.sleep`, so stopping the server ends every connection thread at once.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Conn:
    """One accepted request: its path, the socket, and the server's stop event."""

    path: str
    sock: socket.socket
    stop: threading.Event
    sent: int = 0

    def send(self, data: bytes) -> bool:
        """Write `data`; False once the client has gone (or the server stops)."""
        if self.stop.is_set():
            return False
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        self.sent += len(data)
        return True

    def wait(self, seconds: float) -> bool:
        """Pause; False when the server is stopping."""
        return not self.stop.wait(seconds)


Behaviour = Callable[[Conn], None]


@dataclass
class HostileServer:
    """`routes` maps a path (without query) to a behaviour; `default` serves the rest."""

    routes: dict[str, Behaviour]
    default: Behaviour | None = None
    url: str = ""
    sent: dict[str, int] = field(default_factory=dict)  # bytes written per path, summed
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept, name="hostile-http")

    def start(self) -> HostileServer:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._acceptor.join()
        for thread in list(self._threads):
            thread.join()
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), name="hostile-conn")
            with self._lock:
                self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(0.05)
        try:
            while not self._stop.is_set():  # keep-alive: one request after another
                head = self._read_head(sock)
                if head is None:
                    return
                path = head.split(b" ", 2)[1].decode("latin-1").split("?", 1)[0]
                with self._lock:
                    self.requests.append(path)
                behaviour = self.routes.get(path, self.default) or not_found
                conn = Conn(path, sock, self._stop)
                behaviour(conn)
                with self._lock:
                    self.sent[path] = self.sent.get(path, 0) + conn.sent
        finally:
            sock.close()

    def _read_head(self, sock: socket.socket) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            if self._stop.is_set() or len(data) > 65536:
                return None
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip() or 0)
        while len(rest) < length:  # the body of a POST: read and ignore it
            try:
                rest += sock.recv(length - len(rest))
            except TimeoutError:
                continue
            except OSError:
                return None
        return head


@contextmanager
def hostile_server(
    routes: dict[str, Behaviour], default: Behaviour | None = None
) -> Iterator[HostileServer]:
    """Run a `HostileServer` for the duration of a `with` block."""
    server = HostileServer(routes, default).start()
    try:
        yield server
    finally:
        server.stop()


# -- behaviours ---------------------------------------------------------------------


def head(status: int = 200, content_type: str = "application/json", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(
    body: bytes | str | object, status: int = 200, content_type: str = "application/json"
) -> Behaviour:
    """A normal, complete answer (JSON-encoded when `body` is not bytes or str)."""
    if isinstance(body, str):
        data = body.encode()
    elif isinstance(body, bytes):
        data = body
    else:
        data = json.dumps(body).encode()

    def behaviour(conn: Conn) -> None:
        conn.send(head(status, content_type, Content_Length=str(len(data))) + data)

    return behaviour


def not_found(conn: Conn) -> None:
    answer({"error": True, "message": "Endpoint not found", "status_code": 404}, 404)(conn)


def trickle(every: float, headers_first: bool = True, for_at_most: float = 6.0) -> Behaviour:
    """One byte every `every` seconds: after complete headers (of a small body that never
    completes), or of the headers themselves. It gives up after `for_at_most` seconds, so
    a client without a total deadline fails late instead of hanging a test run."""

    def behaviour(conn: Conn) -> None:
        if headers_first:
            if not conn.send(head(200, Content_Length="1000")):
                return
            byte = b" "
        else:
            byte = b"H"
        ends = time.monotonic() + for_at_most
        while time.monotonic() < ends and conn.wait(every) and conn.send(byte):
            pass

    return behaviour


def never_answer(conn: Conn) -> None:
    """Read the request, then say nothing until the server stops."""
    conn.wait(3600)


def endless(size: int, chunked: bool = False, content_type: str = "text/plain") -> Behaviour:
    """`size` bytes of a valid-looking body as fast as the client reads (Content-Length,
    or chunked transfer encoding without any length)."""
    block = b"# filler\n" * 7281  # ~64 KiB

    def behaviour(conn: Conn) -> None:
        if chunked:
            conn.send(head(200, content_type, Transfer_Encoding="chunked"))
        else:
            conn.send(head(200, content_type, Content_Length=str(size)))
        left = size
        while left > 0:
            piece = block[:left]
            data = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
            if not conn.send(data):
                return
            left -= len(piece)
        if chunked:
            conn.send(b"0\r\n\r\n")

    return behaviour


def lying_length(conn: Conn) -> None:
    """A Content-Length of 200 MB announced up front (the client need not read any)."""
    conn.send(head(200, "text/plain", Content_Length=str(200 * 1024 * 1024)))
    conn.wait(3600)


def deep_json(depth: int) -> Behaviour:
    """A JSON document nested `depth` arrays deep (tiny, but it blows a recursive parser)."""
    return answer(b"[" * depth + b"]" * depth)


def garbage(conn: Conn) -> None:
    answer(b"\x00\xffNOT HTTP CONTENT\x13" * 50, 200, "application/octet-stream")(conn)


def server_error(conn: Conn) -> None:
    answer({"error": True, "message": "Internal error", "status_code": 500}, 500)(conn)
