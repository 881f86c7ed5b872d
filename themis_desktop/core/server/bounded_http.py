"""HTTP requests that cannot hang or flood: a total deadline and a body limit per request.

httpx's timeouts bound each socket operation, so a server sending one byte a second keeps
a request alive for ever, and a body is read whole into memory whatever its size. Here:

- `DeadlineBackend` sits under httpx's connection pool and gives every socket operation
  (connect, TLS handshake, send, receive) only the time left until the request's deadline,
  so connect + headers + body together end by the deadline (a trickle does not reset it);
- `fetch` streams the body and stops reading once it passes the route's limit (a
  Content-Length above the limit is refused before any byte is read).

Both raise `errors.DeadlineExceeded` / `errors.ResponseTooLarge` with what happened and
what to do; other transport failures stay httpx exceptions for the caller to explain.
"""

from __future__ import annotations

import ssl
import threading
import time
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from themis_desktop.core.server import errors, strict_json

KiB = 1024
MiB = 1024 * KiB
ERROR_BODY_LIMIT = 64 * KiB  # of an error answer only the message is needed: read no more
CONNECT_TIMEOUT_S = 3.0  # connecting alone never takes longer, whatever the deadline
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def size_text(size: int) -> str:
    """`16 MiB`, `64 KiB`, `512 bytes`."""
    for unit, name in ((MiB, "MiB"), (KiB, "KiB")):
        if size >= unit:
            return f"{size / unit:.3g} {name}"
    return f"{size} bytes"


class _TimeLeft(threading.local):
    deadline: float | None = None


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with each operation's timeout cut to the time left
    before the deadline set (per thread) by `deadline()`."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()
        self._local = _TimeLeft()

    @contextmanager
    def deadline(self, at: float) -> Iterator[None]:
        """Requests made by this thread inside the block end by `at` (time.monotonic)."""
        previous, self._local.deadline = self._local.deadline, at
        try:
            yield
        finally:
            self._local.deadline = previous

    def left(self, timeout: float | None, error: type[Exception]) -> float | None:
        """`timeout` cut to the time left; `error` when none is left."""
        deadline = self._local.deadline
        if deadline is None:
            return timeout
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise error("the request's deadline passed")
        return remaining if timeout is None else min(timeout, remaining)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, self.left(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, self.left(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _DeadlineStream(stream, self)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, backend: DeadlineBackend) -> None:
        self._inner = inner
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._backend.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._backend.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = self._backend.left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, timeout), self._backend
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def bounded_client(
    base_url: str, *, verify: bool | ssl.SSLContext, headers: dict[str, str]
) -> tuple[httpx.Client, DeadlineBackend]:
    """An httpx client (no redirects followed, no compression asked for) whose connections
    go through a `DeadlineBackend`. Environment proxy settings are not used."""
    transport = httpx.HTTPTransport(verify=verify)
    pool = getattr(transport, "_pool", None)
    inner = getattr(pool, "_network_backend", None)
    if not isinstance(pool, httpcore.ConnectionPool) or not isinstance(
        inner, httpcore.NetworkBackend
    ):  # a test pins the httpx/httpcore versions this works with
        raise RuntimeError("this httpx version has no pluggable network backend")
    backend = DeadlineBackend(inner)
    pool._network_backend = backend
    client = httpx.Client(
        base_url=base_url,
        transport=transport,
        follow_redirects=False,
        headers={**headers, "Accept-Encoding": "identity"},
    )
    return client, backend


@dataclass(frozen=True)
class Answer:
    """A complete answer, its body read within the limits."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    reason_phrase: str
    encoding: str | None = None

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding or "utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON, nested at most `strict_json.MAX_DEPTH` deep (else ValueError)."""
        return strict_json.loads(self.content)


def fetch(
    http: httpx.Client,
    backend: DeadlineBackend,
    method: str,
    target: str,
    *,
    url: str,
    who: str,
    deadline: float,
    seconds: float,
    limit: int,
    ok: typing.Container[int],
    json: Any = None,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
) -> Answer:
    """One request that ends by `deadline` (time.monotonic; `seconds` is its length, for
    messages) and reads at most `limit` bytes of a body whose status is in `ok`. Error
    answers are read up to ERROR_BODY_LIMIT, redirects not at all. `url` and `who` ("a
    ThemisDB node", "a Prometheus server") name the peer in error messages."""
    with backend.deadline(deadline):
        left = max(deadline - time.monotonic(), 0.001)
        request = http.build_request(
            method,
            target,
            json=json,
            headers=headers,
            params=params,
            timeout=httpx.Timeout(left, connect=min(left, CONNECT_TIMEOUT_S)),
        )
        try:
            response = http.send(request, stream=True)
        except httpx.TimeoutException:
            if not _expired(deadline):
                raise  # e.g. the connect timeout: the caller explains it
            raise _late(url, seconds, None) from None
        try:
            return _read(response, url, who, deadline, seconds, limit, ok)
        finally:
            response.close()


def _read(
    response: httpx.Response,
    url: str,
    who: str,
    deadline: float,
    seconds: float,
    limit: int,
    ok: typing.Container[int],
) -> Answer:
    status = response.status_code
    body = bytearray()
    if status not in _REDIRECTS:
        strict = status in ok
        cap = limit if strict else min(limit, ERROR_BODY_LIMIT)
        announced = response.headers.get("content-length", "")
        if strict and announced.isdigit() and int(announced) > cap:
            raise _too_large(url, who, cap, int(announced))
        coding = response.headers.get("content-encoding", "identity").strip().lower()
        if coding not in ("", "identity"):
            raise errors.MalformedResponse(
                url,
                f"The answer is compressed ({coding}) although an uncompressed one was asked for",
                f"Check that the address points at {who} and not at a proxy that compresses "
                "everything.",
            )
        try:
            for chunk in response.iter_raw():
                body += chunk
                if len(body) > cap:
                    if strict:
                        raise _too_large(url, who, cap, None)
                    del body[cap:]
                    break
        except httpx.TimeoutException:
            if not _expired(deadline):
                raise
            raise _late(url, seconds, len(body)) from None
    return Answer(
        status,
        response.headers,
        bytes(body),
        response.reason_phrase,
        response.charset_encoding,
    )


def _expired(deadline: float) -> bool:
    """Whether a timeout was the deadline's (socket timeouts may fire a hair early)."""
    return time.monotonic() >= deadline - 0.02


def _late(url: str, seconds: float, received: int | None) -> errors.DeadlineExceeded:
    if received is None:
        what = f"No answer within {seconds:g} s"
    else:
        what = (
            f"The answer was still coming in when the deadline of {seconds:g} s passed "
            f"({size_text(received)} received)"
        )
    return errors.DeadlineExceeded(
        url,
        what,
        "The server may be overloaded, stopped halfway, or behind a network that drops or "
        "slows packets. Check the address, then retry; if it is only slow, allow more time "
        "(the timeout setting, --timeout on the command line).",
    )


def _too_large(url: str, who: str, limit: int, announced: int | None) -> errors.ResponseTooLarge:
    size = f" ({size_text(announced)} announced)" if announced is not None else ""
    return errors.ResponseTooLarge(
        url,
        f"The answer is larger than {size_text(limit)}, the limit for this request{size}; "
        "reading stopped there",
        f"That is far more than {who} sends: check that the address points at {who} and "
        "not at another service or a proxy page. The limits per route are listed in "
        "docs/limits.md.",
    )
