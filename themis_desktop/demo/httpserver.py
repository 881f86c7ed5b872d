"""The HTTP/1.1 transport: stdlib ThreadingHTTPServer, optional TLS, clean shutdown."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from themis_desktop.demo.app import App
from themis_desktop.demo.messages import Request, Response, error_response

MAX_BODY_BYTES = 10 * 1024 * 1024
SERVER_HEADER = "THEMIS/0.1.0"
IDLE_TIMEOUT_SECONDS = 30.0


class DemoHTTPServer(ThreadingHTTPServer):
    """Serves one node; tracks connections and handler threads so `close()` can join them."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        app: App | None,
        ssl_context: ssl.SSLContext | None = None,
    ):
        self.app = app  # may be set after binding, before serve_forever()
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        self._closing = False
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, Handler)
        if ssl_context is not None:  # handshakes happen in the handler threads, not in accept
            self.socket = ssl_context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse-DNS lookup of the host (slow in some sandboxes)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def process_request(self, request, client_address) -> None:
        t = threading.Thread(
            target=self._process, args=(request, client_address), name="demo-http", daemon=True
        )
        with self._lock:
            self._handler_threads.add(t)
        t.start()

    def _process(self, request, client_address) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._handler_threads.discard(threading.current_thread())

    def track(self, conn: socket.socket, add: bool) -> None:
        """Register/unregister an open client connection (closed at once while closing)."""
        with self._lock:
            if add:
                self._conns.add(conn)
                if self._closing:
                    _hang_up(conn)
            else:
                self._conns.discard(conn)

    def handle_error(self, request, client_address) -> None:
        """Client hang-ups and TLS failures are normal; never print tracebacks to stderr."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError, OSError)):
            self.app.ctx.log.error(f"HTTP connection from {client_address[0]} failed: {exc!r}")

    def close(self, timeout: float = 5.0) -> None:
        """After `shutdown()`: close the listener, hang up clients, join handler threads."""
        self.server_close()
        with self._lock:
            self._closing = True
            conns, threads = list(self._conns), list(self._handler_threads)
        for conn in conns:
            _hang_up(conn)
        for t in threads:
            t.join(timeout)


def _hang_up(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    """Turns HTTP requests into `Request`s for the node's `App`."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_SECONDS
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server: DemoHTTPServer

    def version_string(self) -> str:
        return SERVER_HEADER

    def log_message(self, format: str, *args) -> None:
        """Quiet: a launcher reading our stdout/stderr must never block on request logs."""

    def setup(self) -> None:
        self.server.track(self.request, True)
        try:
            if isinstance(self.request, ssl.SSLSocket):
                self.request.settimeout(10.0)
                self.request.do_handshake()
            super().setup()
        except BaseException:
            self.server.track(self.request, False)
            raise
        self.server.app.count_connection(+1)

    def finish(self) -> None:
        self.server.app.count_connection(-1)
        try:
            super().finish()
        finally:
            self.server.track(self.request, False)

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def _serve(self) -> None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            self._send(error_response(411, "Length Required: chunked bodies are not supported"))
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._send(error_response(400, "Invalid Content-Length"))
            return
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the body is never read
            self._send(error_response(413, "Payload Too Large"))
            return
        body = self.rfile.read(length) if length else b""
        request = Request(
            method="GET" if self.command == "HEAD" else self.command,
            target=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            client_ip=self.client_address[0],
        )
        self._send(self.server.app.handle(request))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests get the generic JSON error body too."""
        self.close_connection = True
        self._send(error_response(code, message or self.responses.get(code, ("Error",))[0]))

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
