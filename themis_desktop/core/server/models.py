"""Typed answers of a ThemisDB node, parsed from the real server's JSON (both eras)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from themis_desktop.core.errors import ThemisDesktopError

VersionSource = Literal["version-route", "build-info", "capabilities", "user"]


class ShapeError(ThemisDesktopError, ValueError):
    """The JSON did not have the shape of the real server's answer."""


def _obj(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ShapeError(f"{where} is not a JSON object")
    return data


def _num(data: dict[str, Any], key: str, where: str, default: float | None = None) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ShapeError(f"{where}.{key} is missing or not a finite number")
    return value


def _opt_num(data: dict[str, Any], key: str, where: str) -> float | None:
    """A number that may be absent: None is "no data", never zero."""
    return None if data.get(key) is None else _num(data, key, where)


def _str(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ShapeError(f"{where}.{key} is missing or not a string")
    return value


_LEADING_VERSION = re.compile(r"v?(\d+\.\d+(?:\.\d+)?(?:-[0-9A-Za-z.]+)?)")


def clean_version(text: str) -> str:
    """`"1.8.0 (3f2c…)"` → `"1.8.0"`: servers may append a build id to the version."""
    match = _LEADING_VERSION.match(text.strip())
    if not match:
        raise ShapeError(f"version {text!r} is not a version number")
    return match.group(1)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _opt_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class BuildInfo:
    compiler: str | None = None
    compiler_version: str | None = None
    build_type: str | None = None
    timestamp: str | None = None


@dataclass(frozen=True)
class VersionInfo:
    """What a node says about its version; `source` tells which route said it.

    `exact` is False when the route only tells the era: `/api/capabilities` of servers
    before 1.3 always says "1.0.0", whatever release they are.

    `api_version` and `api_minimum_version` are the HTTP API's versions ("v1.4.1" and
    "v1.0.0" from 1.4 through 1.8, upstream's include/server/api_version_config.h), never
    the product's: `version` only ever comes from the `version` field.
    """

    version: str
    source: VersionSource
    edition: str | None = None
    build: BuildInfo | None = None
    api_version: str | None = None
    supported_api_versions: tuple[str, ...] = ()
    exact: bool = True
    api_minimum_version: str | None = None

    @classmethod
    def from_version_route(cls, data: Any) -> VersionInfo:
        data = _obj(data, "/version")
        edition = data.get("edition")
        edition_name = _opt_str(edition, "name") if isinstance(edition, dict) else None
        build = data.get("build")
        build_info = (
            BuildInfo(**{k: _opt_str(build, k) for k in BuildInfo.__dataclass_fields__})
            if isinstance(build, dict)
            else None
        )
        api = data.get("api_version")
        api_string = _opt_str(api, "string") if isinstance(api, dict) else None
        minimum = data.get("api_minimum_version")
        minimum_string = _opt_str(minimum, "string") if isinstance(minimum, dict) else None
        supported = tuple(
            f"{v.get('major')}.{v.get('minor')}.{v.get('patch')}"
            for v in _list(data.get("supported_api_versions"))
            if isinstance(v, dict)
        )
        return cls(
            version=clean_version(_str(data, "version", "/version")),
            source="version-route",
            edition=edition_name,
            build=build_info,
            api_version=api_string,
            supported_api_versions=supported,
            api_minimum_version=minimum_string,
        )

    @classmethod
    def from_capabilities(cls, data: Any) -> VersionInfo:
        server = _obj(_obj(data, "/api/capabilities").get("server"), "/api/capabilities.server")
        version = clean_version(_str(server, "version", "server"))
        return cls(version=version, source="capabilities", exact=False)


@dataclass(frozen=True)
class Health:
    status: str
    uptime_seconds: float
    database: str | None = None

    @property
    def healthy(self) -> bool:
        return self.status == "healthy"

    @classmethod
    def from_json(cls, data: Any) -> Health:
        data = _obj(data, "/health")
        return cls(
            status=_str(data, "status", "/health"),
            uptime_seconds=_num(data, "uptime_seconds", "/health", 0),
            database=_opt_str(data, "database"),
        )


@dataclass(frozen=True)
class Readiness:
    ready: bool
    status: str
    checks: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> Readiness:
        data = _obj(data, "/health/ready")
        status = _str(data, "status", "/health/ready")
        checks = data.get("checks")
        return cls(
            ready=status == "ready",
            status=status,
            checks=checks if isinstance(checks, dict) else {},
        )


@dataclass(frozen=True)
class RocksDBStats:
    """RocksDB figures; None where the node did not report one ("no data", not zero)."""

    block_cache_usage_bytes: float | None = None
    block_cache_capacity_bytes: float | None = None
    estimate_num_keys: float | None = None
    estimate_live_data_size_bytes: float | None = None
    estimate_pending_compaction_bytes: float | None = None
    num_running_compactions: float | None = None
    num_running_flushes: float | None = None
    memtable_size_bytes: float | None = None
    cur_size_all_mem_tables_bytes: float | None = None
    files_per_level: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> RocksDBStats:
        data = _obj(data, "/stats.storage.rocksdb")
        numbers = {
            name: _opt_num(data, name, "rocksdb")
            for name in cls.__dataclass_fields__
            if name != "files_per_level"
        }
        levels = data.get("files_per_level")
        files = (
            {
                str(k): int(v)
                for k, v in levels.items()
                if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            }
            if isinstance(levels, dict)
            else {}
        )
        return cls(**numbers, files_per_level=files)


@dataclass(frozen=True)
class Stats:
    uptime_seconds: float
    total_requests: float
    total_errors: float
    queries_per_second: float
    threads: int | None
    rocksdb: RocksDBStats
    raw_stats: str = ""
    storage_error: str = ""  # `storage.error`, e.g. "Database not open" after a failed restore

    @classmethod
    def from_json(cls, data: Any) -> Stats:
        data = _obj(data, "/stats")
        server = _obj(data.get("server"), "/stats.server")
        storage = _obj(data.get("storage", {}), "/stats.storage")
        threads = server.get("threads")
        return cls(
            uptime_seconds=_num(server, "uptime_seconds", "server", 0),
            total_requests=_num(server, "total_requests", "server", 0),
            total_errors=_num(server, "total_errors", "server", 0),
            queries_per_second=_num(server, "queries_per_second", "server", 0),
            threads=int(threads) if isinstance(threads, int | float) else None,
            rocksdb=RocksDBStats.from_json(storage.get("rocksdb", {})),
            raw_stats=storage.get("raw_stats") or "",
            storage_error=str(storage.get("error") or "")[:500],
        )


@dataclass(frozen=True)
class BackupResult:
    directory: str

    @classmethod
    def from_json(cls, data: Any) -> BackupResult:
        return cls(directory=_str(_obj(data, "/admin/backup"), "directory", "/admin/backup"))


@dataclass(frozen=True)
class RestoreResult:
    restored_from: str

    @classmethod
    def from_json(cls, data: Any) -> RestoreResult:
        data = _obj(data, "/admin/restore")
        return cls(restored_from=_str(data, "restored_from", "/admin/restore"))
