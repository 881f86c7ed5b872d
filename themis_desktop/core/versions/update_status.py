"""What a node's own update checker says: the newest release it knows, critical or not.

ThemisDB 1.3–1.7 serve `GET /api/updates` and `POST /api/updates/check` (upstream's
src/server/update_api_handler.cpp; the body is `UpdateCheckResult::toJson` in
src/utils/update_checker.cpp). Era A (< 1.3) answers 503 "Update checker not enabled";
1.8's versioned routing redirects the path to `/v1/api/updates`, where no route is.
`ask_update_status` turns every one of these, and every failure, into an `UpdateStatus`:
it never raises a client error to its caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from themis_desktop.core.server import errors

if TYPE_CHECKING:
    from themis_desktop.core.server.client import ThemisClient

# what the server itself reports (UpdateCheckResult::toJson's `status` values)
SERVER_STATES = (
    "up_to_date",
    "update_available",
    "critical_update",
    "check_failed",
    "checking",
    "unknown",
)
# what we conclude when it reports nothing
NOT_ENABLED = "not_enabled"  # 503: the node has no update checker, or it is switched off
NOT_REACHABLE = "not_reachable"  # 404 on 1.8+: the route is behind the /v1 redirect
NO_ROUTE = "no_route"  # 404 elsewhere: not a server with an update checker
FAILED = "failed"  # the request itself failed (refused, timed out, unauthorized …)


@dataclass(frozen=True)
class LatestRelease:
    version: str
    tag_name: str = ""
    name: str = ""
    published_at: str = ""
    url: str = ""
    prerelease: bool = False

    @classmethod
    def from_json(cls, data: Any) -> LatestRelease | None:
        if not isinstance(data, dict) or not isinstance(data.get("version"), str):
            return None

        def text(key: str) -> str:
            value = data.get(key)
            return value[:300] if isinstance(value, str) else ""

        return cls(
            version=text("version"),
            tag_name=text("tag_name"),
            name=text("name"),
            published_at=text("published_at"),
            url=text("url"),
            prerelease=data.get("prerelease") is True,
        )


@dataclass(frozen=True)
class UpdateStatus:
    """One answer of a node's update checker, or why there is none."""

    state: str  # one of SERVER_STATES, or NOT_ENABLED, NOT_REACHABLE, NO_ROUTE, FAILED
    current_version: str = ""
    latest: LatestRelease | None = None
    latest_critical: LatestRelease | None = None
    last_check_time: str = ""
    message: str = ""  # the server's own message, or what went wrong
    hint: str = ""  # what to do next, for NOT_* and FAILED

    @property
    def reported(self) -> bool:
        """Whether the node's checker answered (any of its own states)."""
        return self.state in SERVER_STATES

    @property
    def newer(self) -> bool:
        return self.state in ("update_available", "critical_update")

    def summary(self) -> str:
        """One short line for a status bar or a table."""
        latest = f"v{self.latest.version}" if self.latest else "?"
        checked = f" (checked {self.last_check_time})" if self.last_check_time else ""
        if self.state == "critical_update":
            critical = self.latest_critical.version if self.latest_critical else latest[1:]
            return f"Critical update available: {latest} (security fix in v{critical}){checked}"
        if self.state == "update_available":
            return f"Update available: {latest}{checked}"
        if self.state == "up_to_date":
            return f"Up to date ({latest} is the newest it knows){checked}"
        if self.state == "check_failed":
            return f"The node's update check failed: {self.message or 'no reason given'}{checked}"
        if self.state == "checking":
            return "The node is checking for updates…"
        if self.state == "unknown":
            return "The node has not checked for updates yet"
        if self.state == NOT_ENABLED:
            return "Update checker not enabled on this node"
        if self.state == NOT_REACHABLE:
            return f"Update checker not reachable on v{self.current_version or '1.8+'}"
        if self.state == NO_ROUTE:
            return "The node has no update checker route"
        return f"Update status unavailable: {self.message}"

    def to_json(self) -> dict[str, Any]:
        def release(r: LatestRelease | None) -> dict[str, Any] | None:
            return None if r is None else dict(r.__dict__)

        return {
            "state": self.state,
            "current_version": self.current_version,
            "latest_release": release(self.latest),
            "latest_critical_release": release(self.latest_critical),
            "last_check_time": self.last_check_time,
            "message": self.message,
            "hint": self.hint,
            "summary": self.summary(),
        }


def parse_update_status(data: Any) -> UpdateStatus:
    """`UpdateCheckResult::toJson`'s body; an unknown or missing status is "unknown"."""
    if not isinstance(data, dict):
        return UpdateStatus("unknown", message="the answer is not a JSON object")
    state = data.get("status")
    message = data.get("error") or data.get("message")  # `error` only on check_failed

    def text(value: Any) -> str:
        return value[:300] if isinstance(value, str) else ""

    return UpdateStatus(
        state=state if state in SERVER_STATES else "unknown",
        current_version=text(data.get("current_version")),
        latest=LatestRelease.from_json(data.get("latest_release")),
        latest_critical=LatestRelease.from_json(data.get("latest_critical_release")),
        last_check_time=text(data.get("last_check_time")),
        message=text(message),
    )


def ask_update_status(client: ThemisClient, check: bool = False) -> UpdateStatus:
    """Ask the node's update checker (`check`: make it check now). Never raises a
    `ThemisError`: a refusal or a failure is an `UpdateStatus` with a hint."""
    try:
        status, data = client.updates(check)
    except errors.NotFound:
        return _not_found(client)
    except errors.ThemisError as exc:
        return UpdateStatus(FAILED, message=exc.what, hint=exc.hint)
    if status == 503:
        return UpdateStatus(
            NOT_ENABLED,
            message="Update checker not enabled",
            hint="Releases before 1.3 have no update checker; on 1.3+ it is switched on in "
            "the server's update checker settings. The release catalogue still lists the "
            "newer versions.",
        )
    return parse_update_status(data)


def _not_found(client: ThemisClient) -> UpdateStatus:
    """A 404: on 1.8+ the redirect to `/v1/api/updates` leads nowhere (upstream's
    include/server/route_version_router.h does not exempt `/api/updates`)."""
    try:
        version = client.version().version
    except errors.ThemisError:
        version = ""
    if _at_least_1_8(version):
        return UpdateStatus(
            NOT_REACHABLE,
            current_version=version,
            message=f"v{version} redirects /api/updates to /v1/api/updates, which has no route",
            hint="The node's update checker cannot be asked on this version; compare its "
            "version with the release catalogue instead.",
        )
    return UpdateStatus(
        NO_ROUTE,
        current_version=version,
        message="The node has no /api/updates route",
        hint="Compare the node's version with the release catalogue instead.",
    )


def _at_least_1_8(version: str) -> bool:
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (1, 8)
