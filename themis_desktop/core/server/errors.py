"""Errors of the ThemisDB client: one class per failure, each saying what to do next."""

from __future__ import annotations

from themis_desktop.core.errors import ThemisDesktopError


class ThemisError(ThemisDesktopError):
    """A request to a ThemisDB node failed.

    `str(error)` is the full message for users: what happened, what it means, what to do.
    """

    kind = "error"

    def __init__(self, url: str, what: str, hint: str, status: int | None = None) -> None:
        self.url = url
        self.what = what
        self.hint = hint
        self.status = status
        super().__init__(f"{what} ({url}). {hint}")


class ConnectionRefused(ThemisError):
    kind = "refused"


class ConnectTimeout(ThemisError):
    kind = "timeout"


class HostNotFound(ThemisError):
    kind = "dns"


class TlsFailure(ThemisError):
    kind = "tls"


class Unauthorized(ThemisError):
    kind = "unauthorized"


class Forbidden(ThemisError):
    kind = "forbidden"


class NotFound(ThemisError):
    kind = "not-found"


class RateLimited(ThemisError):
    kind = "rate-limited"


class RequestRejected(ThemisError):
    """The server answered 4xx to what we sent (bad body, existing directory, …)."""

    kind = "rejected"


class ServerFailure(ThemisError):
    kind = "server-error"


class MalformedResponse(ThemisError):
    kind = "malformed"


class VersionUnknown(ThemisError):
    """No route told us the version: the user must say which one it runs."""

    kind = "version-unknown"


class DeadlineExceeded(ConnectTimeout):
    """The request's total deadline passed: no answer, or an answer that came too slowly
    (a trickle does not reset the deadline, unlike a read timeout)."""

    kind = "deadline"


class ResponseTooLarge(ThemisError):
    """The answer was larger than the limit of its route; reading stopped there."""

    kind = "too-large"


def node_unreachable(exc: ThemisError) -> bool:
    """Whether the failure means the node cannot be reached right now (no connection, or
    no answer within the deadline): asking it more in the same poll would only wait."""
    if isinstance(exc, ConnectionRefused | ConnectTimeout | HostNotFound | TlsFailure):
        return True
    return isinstance(exc, ServerFailure) and exc.status is None
