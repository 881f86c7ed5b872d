"""The update checker's routes, as upstream's src/server/update_api_handler.cpp serves them.

The body of `GET /api/updates` and `POST /api/updates/check` is upstream's
`UpdateCheckResult::toJson` (src/utils/update_checker.cpp): `status`, `message`,
`current_version`, `latest_release`, `latest_critical_release` (when there is one) and
`last_check_time`. `GET /api/updates/config` is the checker's config plus `is_running`;
`PUT` answers `{"success", "message", "config"}` (handleGetConfig / handleUpdateConfig; the
`is_running` flag is on the config route only, not on `GET /api/updates`). Era A has no
update checker: the generic 503 "Update checker not enabled".

What "latest" is decides the switch `THEMIS_DEMO_LATEST` (read at each request, so a test or
the demo launcher sets it in the node's environment):

    unset or ""   the node is the newest release it knows (up_to_date), as before
    catalogue     the newest release of the app's bundled catalogue (resources/releases.yaml,
                  read as plain data); a newer release whose summary names a security fix
                  makes it critical, as upstream's ReleaseInfo::isCritical looks for
                  "security", "critical", "vulnerability" or "cve-" in the release notes
    X.Y.Z[!]      that version ("!": a critical one)
    offline       every check fails (no network): check_failed
"""

from __future__ import annotations

import functools
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from themis_desktop.demo import config, versions
from themis_desktop.demo.handlers import NodeContext
from themis_desktop.demo.messages import (
    BadRequest,
    Request,
    Response,
    error_response,
    json_response,
    parse_json,
    update_error,
)

SWITCH = "THEMIS_DEMO_LATEST"
_CONFIG_UPDATED = "Configuration updated successfully"  # update_api_handler.cpp
_CRITICAL_WORDS = ("security", "critical", "vulnerability", "cve-")
_PRERELEASE = ("alpha", "beta", "rc", "dev", "pre", "snapshot")
_MESSAGES = {  # UpdateCheckResult::toJson
    "up_to_date": "ThemisDB is up to date",
    "update_available": "A new version is available",
    "critical_update": "A critical security update is available",
    "check_failed": "Failed to check for updates",
}


def updates(ctx: NodeContext, req: Request) -> Response:
    """`/api/updates`, `/api/updates/check`, `/api/updates/config` (GET and PUT)."""
    if ctx.info.era == "A":
        return error_response(503, "Update checker not enabled")  # the generic body
    with ctx.lock:
        if req.path == "/api/updates/check":
            ctx.last_update_check = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if req.path == "/api/updates/config":
            if req.method == "PUT":
                try:
                    update = parse_json(req.body)
                except BadRequest as exc:
                    return update_error(400, str(exc))
                if not isinstance(update, dict):
                    return update_error(400, "Invalid JSON: the config is not an object")
                ctx.update_settings = config.merge(ctx.update_settings, update)
                # handleUpdateConfig: the new config under "config", not the config itself
                body = {"success": True, "message": _CONFIG_UPDATED}
                return json_response(200, {**body, "config": dict(ctx.update_settings)})
            # handleGetConfig adds the checker's run state (its thread runs while enabled)
            running = ctx.update_settings.get("enabled") is True
            return json_response(200, {**ctx.update_settings, "is_running": running})
        include_pre = ctx.update_settings.get("include_prereleases") is True
        return json_response(200, status_body(ctx.info, ctx.last_update_check, include_pre))


def status_body(info: versions.VersionInfo, checked: str, include_pre: bool = False) -> dict:
    """`UpdateCheckResult::toJson` for a node running `info`, as the switch decides."""
    switch = os.environ.get(SWITCH, "").strip()
    current = _key(info)
    own = _release(info.text, versions.build_timestamp(info), bool(info.suffix))
    body: dict[str, Any] = {"current_version": info.text}
    if switch == "offline":
        body.update(status="check_failed", message=_MESSAGES["check_failed"])
        body["error"] = "Failed to fetch releases from GitHub: network unreachable"
    elif not switch:
        body.update(status="up_to_date", message=_MESSAGES["up_to_date"], latest_release=own)
    else:
        releases = _catalogue() if switch == "catalogue" else _switched(switch)
        if not include_pre:  # upstream skips prereleases unless they are critical
            releases = [r for r in releases if not r["prerelease"] or r["critical"]]
        latest = max(releases, key=lambda r: r["key"], default=None)
        critical = [r for r in releases if r["critical"]]
        latest_critical = max(critical, key=lambda r: r["key"], default=None)
        if latest is None or latest["key"] <= current:
            status = "up_to_date"
        elif latest_critical is not None and latest_critical["key"] > current:
            status = "critical_update"
        else:
            status = "update_available"
        body.update(status=status, message=_MESSAGES[status])
        body["latest_release"] = _public(latest) if latest else own
        if latest_critical is not None:
            shown = _public(latest_critical)
            del shown["prerelease"]  # upstream's latest_critical_release has no prerelease
            body["latest_critical_release"] = shown
    body["last_check_time"] = checked
    return body


def _key(info: versions.VersionInfo) -> tuple[int, int, int, int, str]:
    pre = any(info.suffix.lower().startswith(word) for word in _PRERELEASE)
    return (info.major, info.minor, info.patch, 0 if pre else 1, info.suffix)


def _release(text: str, published: str, prerelease: bool) -> dict[str, Any]:
    return {
        "version": text,
        "tag_name": f"v{text}",
        "name": f"ThemisDB v{text}",
        "published_at": published,
        "url": f"https://github.com/makr-code/ThemisDB/releases/tag/v{text}",
        "prerelease": prerelease,
    }


def _public(release: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in release.items() if k not in ("key", "critical")}


def _entry(text: str, date: str, critical: bool) -> dict[str, Any] | None:
    try:
        info = versions.parse_version(text)
    except ValueError:
        return None
    key = _key(info)
    published = f"{date}T00:00:00Z" if len(date) == 10 else date
    return {**_release(text, published, key[3] == 0), "key": key, "critical": critical}


def _switched(switch: str) -> list[dict[str, Any]]:
    entry = _entry(switch.rstrip("!"), "", switch.endswith("!"))
    return [entry] if entry else []


@functools.lru_cache(maxsize=1)
def _catalogue_entries() -> tuple[tuple[str, str, bool], ...]:
    """(version, date, critical) of each released version of the bundled catalogue."""
    root = Path(getattr(sys, "_MEIPASS", "") or Path(__file__).resolve().parents[2])
    try:
        data = yaml.safe_load((root / "resources" / "releases.yaml").read_text("utf-8"))
    except (OSError, yaml.YAMLError):
        return ()
    found = []
    for line in data.get("lines", []) if isinstance(data, dict) else []:
        for release in line.get("releases", []) if isinstance(line, dict) else []:
            if not isinstance(release, dict) or release.get("status", "released") != "released":
                continue
            summary = str(release.get("summary", "")).lower()
            critical = any(word in summary for word in _CRITICAL_WORDS)
            found.append((str(release.get("version")), str(release.get("date", "")), critical))
    return tuple(found)


def _catalogue() -> list[dict[str, Any]]:
    entries = (_entry(*fields) for fields in _catalogue_entries())
    return [entry for entry in entries if entry is not None]
