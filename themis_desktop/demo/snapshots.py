"""Snapshot tags and point-in-time-restore routes (era B from 1.5.0).

Upstream: src/server/snapshot_api_handler.cpp and src/transaction/snapshot_manager.cpp
(tags), src/server/pitr_api_handler.cpp and include/storage/pitr_manager.h (restore).
A tag names the storage's sequence number at the moment it is made; a preview counts the
writes made since. Upstream keeps tags as keys in RocksDB; the demo keeps them in a small
JSON file inside the database directory, so checkpoints, restores and restarts carry them
the same way. The demo keeps no changefeed, so it cannot replay a restore: it says so.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote

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
from themis_desktop.demo.sstgen import RECORD_SIZE

TAGS_FILE = "snapshot_tags.json"
TAG_PREFIX = "/api/v1/snapshots/tags/"
# snapshot_manager.cpp isValidTagName: 1..128 characters of [a-zA-Z0-9_.-]
_TAG_RE = re.compile(r"[a-zA-Z0-9_.-]{1,128}")
_RESTORE_TYPES = ("sequence", "tag", "timestamp")
_REPLAY_PER_SECOND = 10_000  # the demo's estimate for a preview's duration
Handler = Callable[[NodeContext, Request], Response]


def _own_errors(handler: Handler) -> Handler:
    """A 400 (bad JSON, a field of the wrong type) in these handlers' own error shape."""

    @functools.wraps(handler)
    def handle(ctx: NodeContext, req: Request) -> Response:
        try:
            return handler(ctx, req)
        except BadRequest as exc:
            return update_error(400, str(exc))

    return handle


def _answer(status: int, obj: Any) -> Response:
    """Upstream's sendJson: `dump(2)`."""
    return json_response(status, obj, pretty=True)


def _load(ctx: NodeContext) -> dict[str, dict[str, Any]]:
    """The node's tags by name (the caller holds the store lock)."""
    try:
        data = json.loads((ctx.store.path / TAGS_FILE).read_text("utf-8"))
    except FileNotFoundError:
        return {}
    return {t["tag_name"]: t for t in data} if isinstance(data, list) else {}


def _save(ctx: NodeContext, tags: dict[str, dict[str, Any]]) -> None:
    path = ctx.store.path / TAGS_FILE
    tmp = path.with_name(f"{TAGS_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(list(tags.values()), indent=2), "utf-8")
    os.replace(tmp, path)


def _body(req: Request) -> dict[str, Any]:
    body = parse_json(req.body)
    if not isinstance(body, dict):
        raise BadRequest("Invalid JSON: the body is not an object")
    return body


def _string(body: dict[str, Any], key: str, default: str | None = None) -> str:
    """A string field, or the nlohmann type error upstream answers as 400 Invalid JSON."""
    value = body.get(key, default)
    if not isinstance(value, str):
        raise BadRequest(
            "Invalid JSON: [json.exception.type_error.302] type must be string, but is "
            + ("null" if value is None else type(value).__name__)
        )
    return value


def _sequence(ctx: NodeContext) -> int:
    """The storage's latest sequence number (the caller holds the store lock)."""
    return int(ctx.store.last_seq)


# -- tags -------------------------------------------------------------------------------


@_own_errors
def create_tag(ctx: NodeContext, req: Request) -> Response:
    """`POST /api/v1/snapshots/tags`: 201 with the new snapshot; 409 duplicate/invalid."""
    body = _body(req)
    if "tag_name" not in body or "description" not in body:
        return update_error(400, "Missing required fields: tag_name and description")
    name, description = _string(body, "tag_name"), _string(body, "description")
    created_by = _string(body, "created_by", "system")
    with ctx.store.lock:
        tags = _load(ctx)
        if not _TAG_RE.fullmatch(name) or name in tags or not ctx.store.available:
            ctx.log.warning(f"Snapshot API error (409): cannot create tag {name!r}")
            return update_error(
                409, f"Failed to create tag '{name}'. Tag may already exist or name is invalid."
            )
        snapshot = {
            "tag_name": name,
            "sequence_number": _sequence(ctx),
            "timestamp_ms": int(time.time() * 1000),
            "description": description,
            "created_by": created_by,
        }
        tags[name] = snapshot
        _save(ctx, tags)
    ctx.log.info(f"Created snapshot: {name} at sequence {snapshot['sequence_number']}")
    return _answer(201, snapshot)


def list_tags(ctx: NodeContext, req: Request) -> Response:
    """`GET /api/v1/snapshots/tags?limit=&sort_by=timestamp|sequence|name&ascending=`."""
    query = {k: v[-1] for k, v in parse_qs(req.target.partition("?")[2]).items()}
    try:
        limit = int(query.get("limit", "0"))
    except ValueError:
        return update_error(400, "Invalid limit parameter")
    key = {"timestamp": "timestamp_ms", "sequence": "sequence_number", "name": "tag_name"}.get(
        query.get("sort_by") or "timestamp"
    )
    with ctx.store.lock:
        snapshots = list(_load(ctx).values())
    if key is not None:  # an unknown sort_by leaves the stored order, as upstream does
        ascending = query.get("ascending") in ("true", "1")
        snapshots.sort(key=lambda s: s[key], reverse=not ascending)
    return _answer(200, snapshots[:limit] if limit > 0 else snapshots)


def _tag_name(req: Request) -> str | None:
    """The `<name>` of `/api/v1/snapshots/tags/<name>` (upstream's `([^/]+)`), or None."""
    name = unquote(req.path[len(TAG_PREFIX) :])
    return name if name and "/" not in req.path[len(TAG_PREFIX) :] else None


def tag(ctx: NodeContext, req: Request) -> Response:
    """`GET` or `DELETE /api/v1/snapshots/tags/<name>`."""
    name = _tag_name(req)
    if name is None:
        return error_response(404, "Endpoint not found")
    with ctx.store.lock:
        tags = _load(ctx)
        found = tags.pop(name, None)
        if found is not None and req.method == "DELETE":
            _save(ctx, tags)
    if found is None:
        return update_error(404, f"Tag '{name}' not found")
    if req.method != "DELETE":
        return _answer(200, found)
    ctx.log.info(f"Deleted snapshot: {name}")
    return _answer(200, {"status": "success", "message": f"Tag '{name}' deleted successfully"})


def stats(ctx: NodeContext, req: Request) -> Response:
    """`GET /api/v1/snapshots/stats` (zeros without tags, as upstream's defaults)."""
    with ctx.store.lock:
        snapshots = list(_load(ctx).values())
    times = [s["timestamp_ms"] for s in snapshots] or [0]
    sequences = [s["sequence_number"] for s in snapshots] or [0]
    return _answer(
        200,
        {
            "total_snapshots": len(snapshots),
            "oldest_timestamp_ms": min(times),
            "newest_timestamp_ms": max(times),
            "oldest_sequence": min(sequences),
            "newest_sequence": max(sequences),
        },
    )


# -- point-in-time restore --------------------------------------------------------------


def _target(ctx: NodeContext, body: dict[str, Any]) -> tuple[int | None, Response | None]:
    """The target sequence of a restore body, or the error answer."""
    kind, target = _string(body, "restore_type"), _string(body, "target")
    if kind not in _RESTORE_TYPES:
        return None, update_error(400, "Invalid restore_type: must be sequence, tag, or timestamp")
    if kind == "sequence":
        if not target.strip().isdigit():
            return None, update_error(400, "Invalid sequence number: stoull")
        return int(target), None
    with ctx.store.lock:
        tags = _load(ctx)
    if kind == "tag":
        found = tags.get(target)
        if found is None:
            return None, update_error(404, f"Tag '{target}' not found")
        return int(found["sequence_number"]), None
    if not target.strip().lstrip("-").isdigit():
        return None, update_error(400, "Invalid timestamp: stoll")
    # the demo knows the sequence only at its tags: the newest tag at or before the time
    older = [t for t in tags.values() if t["timestamp_ms"] <= int(target)]
    if not older:
        return None, update_error(
            404, "No changefeed events found at or before the specified timestamp"
        )
    return int(max(older, key=lambda t: t["timestamp_ms"])["sequence_number"]), None


def _restore_fields(req: Request) -> dict[str, Any] | Response:
    body = _body(req)
    if "restore_type" not in body or "target" not in body:
        return update_error(400, "Missing required fields: restore_type and target")
    return body


@_own_errors
def preview(ctx: NodeContext, req: Request) -> Response:
    """`POST /api/v1/restore/preview`: what going back to the target would replay."""
    body = _restore_fields(req)
    if isinstance(body, Response):
        return body
    target, failure = _target(ctx, body)
    if failure is not None:
        return failure
    with ctx.store.lock:
        current = _sequence(ctx)
    events = max(0, current - target)
    return _answer(
        200,
        {
            "target_sequence": target,
            "current_sequence": current,
            "events_to_replay": events,
            "affected_tables": ["orders"] if events else [],  # the demo's one table
            "affected_keys": [],  # the demo does not keep the keys it wrote
            "estimated_duration_sec": events // _REPLAY_PER_SECOND,
            "estimated_size_bytes": events * RECORD_SIZE,
        },
    )


@_own_errors
def restore(ctx: NodeContext, req: Request) -> Response:
    """`POST /api/v1/restore/pitr`: checked as upstream checks it, then refused honestly
    (500 with ok false): the demo keeps no changefeed to replay backward."""
    body = _restore_fields(req)
    if isinstance(body, Response):
        return body
    if body["restore_type"] == "tag":  # upstream: restoreToTag fails without the tag
        with ctx.store.lock:
            known = _string(body, "target") in _load(ctx)
        if not known:
            return _answer(500, {"ok": False, "message": f"Tag not found: {body['target']}"})
    _, failure = _target(ctx, body)
    if failure is not None and failure.status == 400:
        return failure
    message = "Replay failed: this demo instance keeps no changefeed to replay backward"
    ctx.log.error(f"PITR restore refused: {message}")
    return _answer(500, {"ok": False, "message": message})


def progress(ctx: NodeContext, req: Request) -> Response:
    """`GET /api/v1/restore/progress`: no restore ever runs on the demo."""
    return _answer(200, {"in_progress": False})
