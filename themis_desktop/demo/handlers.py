"""Route handlers: each takes the node's context and a request, returns a response."""

from __future__ import annotations

import json
import os
import re
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np

from themis_desktop.demo import checkpoint, era_a_issues, metrics, versions
from themis_desktop.demo.auth import Auth
from themis_desktop.demo.messages import (
    PROMETHEUS,
    BadRequest,
    Request,
    Response,
    error_response,
    json_object,
    json_response,
    json_type,
    parse_json,
)
from themis_desktop.demo.serverlog import ServerLog
from themis_desktop.demo.state import NodeState
from themis_desktop.demo.storage import RocksStore, StorageError
from themis_desktop.demo.versions import Profile, VersionInfo

_KEY_RE = re.compile(r"^orders:(\d+)$")  # the demo database's keys: orders:0 .. orders:N-1


@dataclass
class NodeContext:
    """What the handlers of one running node share."""

    info: VersionInfo
    data_dir: Path
    config_path: Path
    config: dict[str, Any]
    state: NodeState
    store: RocksStore
    log: ServerLog
    auth: Auth
    profile: Callable[[], Profile]
    vector: tuple[int, int] = (0, 0)  # vectors, dimension
    runtime: dict[str, Any] = field(default_factory=dict)  # what POST /config changed
    lock: threading.Lock = field(default_factory=threading.Lock)  # config and update settings
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    update_settings: dict[str, Any] = field(
        default_factory=lambda: {
            "enabled": True,
            "check_interval_hours": 24,
            "github_repo": "makr-code/ThemisDB",
            "include_prereleases": False,
            "auto_download": False,
        }
    )
    last_update_check: str = field(default_factory=lambda: _now_iso())
    rss_peak: int = 0  # bytes: this node's process peak since it started (see _peak_rss)


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def health(ctx: NodeContext, req: Request) -> Response:
    body = {
        "status": "healthy",
        "version": "0.1.0",  # hard-coded in every real release
        "database": "themis",
        "uptime_seconds": ctx.state.uptime_seconds(),
    }
    return json_response(200, body)


def live(ctx: NodeContext, req: Request) -> Response:
    checks = {"server_running": True, "uptime_seconds": ctx.state.uptime_seconds()}
    return json_response(200, {"status": "alive", "checks": checks})


def ready(ctx: NodeContext, req: Request) -> Response:
    storage_ok = ctx.store.available and (ctx.store.path / "CURRENT").is_file()
    checks = {
        "server_running": True,
        "storage_available": storage_ok,
        "active_connections": ctx.state.active_connections,
        "active_requests": ctx.state.active_requests,
        "memory_rss_bytes": _peak_rss(ctx),
    }
    status = 200 if storage_ok else 503
    return json_response(
        status, {"status": "ready" if storage_ok else "not_ready", "checks": checks}
    )


def _peak_rss(ctx: NodeContext) -> int:
    """The PEAK resident size of the node's process, as upstream reports it: getrusage's
    ru_maxrss (src/server/monitoring_api_handler.cpp, handleReadiness), which never goes
    down while the process lives and starts again from zero after a restart. Demo nodes
    may share one process, so each keeps its own high-water mark from its start."""
    with ctx.lock:
        ctx.rss_peak = max(ctx.rss_peak, _current_rss())
        return ctx.rss_peak


def _current_rss() -> int:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def version(ctx: NodeContext, req: Request) -> Response:
    return json_response(200, versions.version_document(ctx.info), pretty=True)


def capabilities(ctx: NodeContext, req: Request) -> Response:
    threads = int(ctx.config["server"]["worker_threads"])
    return json_response(200, versions.capabilities_document(ctx.info, threads))


def stats(ctx: NodeContext, req: Request) -> Response:
    snap = ctx.state.snapshot()
    server = {
        "uptime_seconds": snap["uptime_seconds"],
        "total_requests": snap["total_requests"],
        "total_errors": snap["total_errors"],
        "queries_per_second": snap["qps"],
    }
    if ctx.info.era == "A":
        server["threads"] = int(ctx.config["server"]["worker_threads"])
    return json_response(200, {"server": server, "storage": ctx.store.stats()}, pretty=True)


def metrics_text(ctx: NodeContext, req: Request) -> Response:
    snap = ctx.state.snapshot()
    snap["vectors"] = ctx.vector
    text = metrics.exposition(ctx.info, snap, ctx.store.stats(), ctx.auth.enabled)
    return Response(200, text.encode(), PROMETHEUS)


RUNTIME_FEATURES = ("semantic_cache", "llm_store", "cdc", "timeseries")


def _runtime(ctx: NodeContext) -> dict[str, Any]:
    """The settings POST /config may change while running (kept in memory, as the server
    keeps them: the config file is not rewritten)."""
    if not ctx.runtime:
        features = ctx.config.get("features", {})
        ctx.runtime.update(
            request_timeout_ms=int(ctx.config["server"].get("request_timeout_ms", 30000)),
            features={k: bool(features.get(k, False)) for k in RUNTIME_FEATURES},
            logging={"level": "info", "format": "text"},
        )
    return ctx.runtime


def _write_buffer_and_async_io(ctx: NodeContext, storage: dict[str, Any]) -> dict[str, Any]:
    """`db_write_buffer_size_mb` and `enable_async_io`: in the era-B RocksDB config only (the
    2025 include/storage/rocksdb_wrapper.h has neither); 1.7 raises their defaults from 0
    (unlimited) and false to 2048 and true (resources/releases.yaml, 1.7 config changes)."""
    if ctx.info.era == "A":
        return {}
    newer = (ctx.info.major, ctx.info.minor) >= (1, 7)
    return {
        "db_write_buffer_size_mb": storage.get("db_write_buffer_size_mb", 2048 if newer else 0),
        "enable_async_io": storage.get("enable_async_io", newer),
    }


def _config_view(ctx: NodeContext) -> dict[str, Any]:
    """`GET /config` as the server answers it: its running settings under its own names
    (`rocksdb`, `server.threads`), not the file's."""
    server, storage, runtime = ctx.config["server"], ctx.config["storage"], _runtime(ctx)
    compression = storage.get("compression", {})
    # 1.7 doubles the memtables per column family, 3 → 6 (include/storage/rocksdb_wrapper.h;
    # resources/releases.yaml, rocksdb.max_write_buffer_number)
    write_buffers = 6 if (ctx.info.major, ctx.info.minor) >= (1, 7) else 3
    return {
        "server": {
            "port": server["port"],
            "threads": server["worker_threads"],
            "request_timeout_ms": runtime["request_timeout_ms"],
        },
        "features": dict(runtime["features"]),
        "rocksdb": {
            "db_path": storage["rocksdb_path"],
            # an empty wal_dir puts the WAL beside the data (rocksdb_wrapper.cpp)
            "wal_dir": storage.get("wal_dir") or storage["rocksdb_path"],
            "memtable_size_mb": storage["memtable_size_mb"],
            "block_cache_size_mb": storage["block_cache_size_mb"],
            "enable_wal": storage.get("enable_wal", True),
            "enable_blobdb": False,
            "blob_size_threshold": 4096,
            "max_background_jobs": storage.get("max_background_jobs", 4),
            "target_file_size_base_mb": storage.get("target_file_size_base_mb", 64),
            "max_bytes_for_level_base_mb": 256,
            "max_write_buffer_number": write_buffers,
            "min_write_buffer_number_to_merge": 1,
            "dynamic_level_bytes": True,
            "use_universal_compaction": False,
            "bloom_bits_per_key": 10,
            "partition_filters": True,
            "cache_index_and_filter_blocks": True,
            "pin_l0_filter_and_index_blocks_in_cache": True,
            "high_pri_pool_ratio": 0.5,
            "use_direct_reads": False,
            "use_direct_io_for_flush_and_compaction": False,
            "compression_default": compression.get("default", "none"),
            "compression_bottommost": compression.get("bottommost", "none"),
            **_write_buffer_and_async_io(ctx, storage),
        },
        "runtime": {
            "compression_active": (
                f"default={compression.get('default', 'none')}, "
                f"bottommost={compression.get('bottommost', 'none')}"
            ),
            "db_size_bytes": ctx.store.live_bytes(),
        },
        "metrics": {
            "total_requests": ctx.state.total_requests,
            "total_errors": ctx.state.total_errors,
        },
    }


def get_config(ctx: NodeContext, req: Request) -> Response:
    with ctx.lock, ctx.store.lock:
        return json_response(200, _config_view(ctx), pretty=True)


def post_config(ctx: NodeContext, req: Request) -> Response:
    """Change the run-time settings the server takes (logging, request timeout, four feature
    flags); everything else in the body is ignored, as the server ignores it."""
    try:
        update = json_object(req.body)
    except BadRequest:
        raise BadRequest("Invalid JSON body") from None
    with ctx.lock:
        runtime = _runtime(ctx)
        taken = []
        logging = update.get("logging")
        if isinstance(logging, dict):
            for key in ("level", "format"):
                if isinstance(logging.get(key), str):
                    runtime["logging"][key] = logging[key]
                    taken.append(f"logging.{key}")
            if ctx.info.era == "B":  # era A's logger has no JSON pattern (logger.cpp)
                ctx.log.json_format = runtime["logging"]["format"] == "json"
        if "request_timeout_ms" in update:
            value = update["request_timeout_ms"]
            if isinstance(value, bool) or not isinstance(value, int) or not 1000 <= value <= 300000:
                raise BadRequest("request_timeout_ms must be 1000-300000")
            runtime["request_timeout_ms"] = value
            taken.append("request_timeout_ms")
        features = update.get("features")
        for key in RUNTIME_FEATURES:
            if isinstance(features, dict) and isinstance(features.get(key), bool):
                runtime["features"][key] = features[key]
                taken.append(f"features.{key}")
        ctx.log.info(f"Configuration updated via API: {', '.join(taken) or 'nothing applied'}")
        with ctx.store.lock:
            return json_response(200, _config_view(ctx))


def _directory(ctx: NodeContext, value: str) -> Path:
    """Where a checkpoint path names: relative ones are in the working folder (data_dir)."""
    path = Path(value)
    return path if path.is_absolute() else ctx.data_dir / path


def backup(ctx: NodeContext, req: Request) -> Response:
    """A RocksDB checkpoint of the database (not config, not vector index). Answers the
    directory as it was given, as the real server does."""
    body = parse_json(req.body)
    if not isinstance(body, dict):
        raise BadRequest(
            f"Invalid JSON: [json.exception.type_error.306] cannot use value() with "
            f"{json_type(body)}"
        )
    # the real default is ./data/backup_<unix seconds>; the demo's database is ./data itself
    value = body.get("directory", f"./backup_{int(time.time())}")
    if not isinstance(value, str):
        raise BadRequest(
            f"Invalid JSON: [json.exception.type_error.302] type must be string, but is "
            f"{json_type(value)}"
        )
    failure = f"Failed to create checkpoint at {value}"
    if not value:
        return error_response(500, failure)
    dest = _directory(ctx, value)
    if not ctx.store.available:  # e.g. after a failed restore: nothing to checkpoint
        ctx.log.error("createCheckpoint failed: DB is not open")
        return error_response(500, failure)
    try:
        with ctx.store.lock:
            checkpoint.create_checkpoint(ctx.store.path, dest)
    except OSError as exc:
        ctx.log.error(f"Checkpoint at {dest} failed: {exc}")
        return error_response(500, failure)
    ctx.log.info(f"Checkpoint created at {dest}")
    return json_response(200, {"status": "ok", "directory": value})


def restore(ctx: NodeContext, req: Request) -> Response:
    """Close the DB, delete the whole data dir, copy the checkpoint in, reopen (no safety net)."""
    body = parse_json(req.body)
    value = body.get("directory") if isinstance(body, dict) else None
    if not isinstance(value, str):
        raise BadRequest("Missing required field: directory")
    src = _directory(ctx, value)
    failure = None
    with ctx.store.lock:  # the workload waits: paused until the database is back
        ctx.log.warning(f"Restoring database from {src}: current data will be deleted")
        ctx.store.close()
        try:
            checkpoint.restore_checkpoint(src, ctx.store.path)
        except (OSError, ValueError) as exc:
            failure = f"Restore from {src} failed: {exc}"
        try:
            ctx.store.open()
        except (OSError, StorageError) as exc:
            if isinstance(exc, StorageError):  # what RocksDBWrapper logs (a 1.0.x's own data)
                era_a_issues.log_reopen_failure(ctx.log, str(exc), value)
            failure = failure or f"Restore from {src} failed, database cannot be opened: {exc}"
    if failure:
        ctx.log.error(failure)
        return error_response(500, f"Failed to restore from checkpoint {value}")
    ctx.log.info(f"Database restored from {src}")
    return json_response(200, {"status": "ok", "restored_from": value})


def put_entity(ctx: NodeContext, req: Request) -> Response:
    """`PUT /entities/<key>`: one write (it lands in the WAL file, as a real write would)."""
    key = unquote(req.path[len("/entities/") :])
    if not key:
        return error_response(400, "Missing entity key")
    with ctx.store.lock:
        if not ctx.store.available:
            if ctx.info.era == "A":  # the real 1.0.x with its database closed
                return error_response(500, era_a_issues.WRITE_FAILED)
            return error_response(503, "Storage not available")
        ctx.store.tick(writes=1, reads=0)
    return json_response(201, {"key": key, "written": True})


def entity(ctx: NodeContext, req: Request) -> Response:
    """`GET /entities/<key>`: the probe route, with the version's latency; a misbehaving
    version's failures too (a healthy one's errors are its clients', never a known key's)."""
    key = unquote(req.path[len("/entities/") :])
    if not key:  # refused before routing, without counting an error
        return json_response(
            400, {"error": True, "message": "invalid entity key", "status_code": 400}
        )
    profile = ctx.profile()
    time.sleep(ctx.rng.lognormal(np.log(profile.median_ms / 1000.0), profile.sigma))
    if profile.faulty and ctx.rng.random() < profile.error_rate:
        ctx.log.error(f"GET /entities/{key} failed with 500: Internal server error")
        return error_response(500, "Internal server error")
    match = _KEY_RE.match(key)
    with ctx.store.lock:
        known = ctx.store.available and match is not None and int(match[1]) < ctx.store.num_keys()
    if not known:
        return error_response(404, "Entity not found")
    blob = json.dumps({"id": match[1], "checksum": f"{zlib.crc32(key.encode()):08x}"})
    return json_response(200, {"key": key, "blob": blob})
