"""What a demo node looks like as a given ThemisDB version: era, build facts, latency profile."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

_VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:[-+.]?([0-9A-Za-z.+-]+))?$")

COMPILER = "GCC"
COMPILER_VERSION = "13.2.0"
BUILD_TYPE = "Release"
EDITION = "COMMUNITY"  # the compile-time edition string


@dataclass(frozen=True)
class VersionInfo:
    """A parsed `X.Y.Z[-suffix]` server version."""

    text: str
    major: int
    minor: int
    patch: int
    suffix: str = ""

    @property
    def era(self) -> str:
        """ "A" for the late-2025 server (< 1.3), "B" from 1.3 on."""
        return "A" if (self.major, self.minor) < (1, 3) else "B"

    @property
    def versioned_routing(self) -> bool:
        """From 1.8 unversioned paths outside the router's exempt list answer 301 -> /v1/…
        (see `redirect_target`)."""
        return (self.major, self.minor) >= (1, 8)

    @property
    def memtable_default_mb(self) -> int:
        """Default `storage.memtable_size_mb`: 128, 512 from 1.5."""
        return 512 if (self.major, self.minor) >= (1, 5) else 128


# 1.8's versioned routing, as upstream's include/server/route_version_router.h
# (RouteVersionRouter::getRedirectTarget, isExemptFromRedirect) and its unit tests
# (tests/api/test_api_version.cpp: NoRedirect_HealthEndpoint, NoRedirect_MetricsEndpoint,
# NoRedirect_RootPath) do it: a target starting with one of these strings is never
# redirected (a plain prefix test on the whole target, query included), nor is one that
# already carries a version (`/vN`, `/api/vN`), nor `/` itself. Everything else answers
# 301 to `/v1` + target.
REDIRECT_EXEMPT = (
    "/health", "/version", "/stats", "/metrics", "/ready", "/_internal/", "/_ready",
    "/graphql", "/static/", "/admin/", "/changefeed", "/favicon.ico", "/entities",
    "/query/", "/api/aql", "/indexes", "/index/", "/spatial/", "/graph/", "/transaction",
    "/config", "/ts/", "/streams", "/vector/", "/geo/", "/search", "/triggers", "/jobs",
    "/bpmn/", "/crdt/", "/timeseries/",
)  # fmt: skip


def _is_versioned(target: str) -> bool:
    """`/v1`, `/v2/…`, `/v3?…` or `/api/v1…` (RouteVersionRouter::isVersioned)."""
    top = len(target) >= 3 and target[1] == "v" and "1" <= target[2] <= "9"
    if top and (len(target) == 3 or target[3] in "/?"):
        return True
    return target.startswith("/api/v") and len(target) > 6 and "1" <= target[6] <= "9"


def redirect_target(target: str) -> str | None:
    """Where a 1.8+ server sends `target` (path plus query) with a 301, or None."""
    if _is_versioned(target) or target.startswith(REDIRECT_EXEMPT):
        return None
    path = target.partition("?")[0]
    return None if path in ("", "/") else "/v1" + target


def parse_version(text: str) -> VersionInfo:
    """Parse `X.Y.Z[-suffix]`; raise ValueError for anything else."""
    match = _VERSION_RE.match(text.strip())
    if not match:
        raise ValueError(f"not a server version (expected X.Y.Z[-suffix]): {text!r}")
    major, minor, patch, suffix = match.groups()
    return VersionInfo(text.strip(), int(major), int(minor), int(patch), suffix or "")


@dataclass(frozen=True)
class Profile:
    """Latency/error behaviour of a node: lognormal latency, Bernoulli errors.

    A healthy version's errors are its clients' (a missing key, a write conflict, a bad
    query): counted, answered with a 4xx, and not logged at info level, as the server does.
    A `faulty` version's are its own (500s): each is logged as an error."""

    median_ms: float
    sigma: float
    error_rate: float
    faulty: bool = False


def default_profile(version: str) -> Profile:
    """Every version is healthy by default, with a small, stable per-version variation."""
    spread = zlib.crc32(version.encode()) % 1000 / 1000.0  # 0..1, same for the same version
    return Profile(median_ms=1.8 + 0.4 * spread, sigma=0.45, error_rate=0.0008 + 0.0004 * spread)


def _lookup(table: dict[str, float], version: str) -> float | None:
    """Exact version first, then its `X.Y` line."""
    if version in table:
        return table[version]
    line = ".".join(version.split(".")[:2])
    return table.get(line)


def resolve_profile(
    version: str,
    latency_factor: float = 1.0,
    error_rate: float | None = None,
    latency_factors: dict[str, float] | None = None,
    error_rates: dict[str, float] | None = None,
) -> Profile:
    """The default profile of `version`, with per-node and per-version overrides applied.
    An error rate set for it (`error_rate`, or `error_rates` naming it) makes it misbehave:
    those requests fail in the server (500) and are logged as errors."""
    base = default_profile(version)
    factor = latency_factor * (_lookup(latency_factors or {}, version) or 1.0)
    rate = error_rate if error_rate is not None else _lookup(error_rates or {}, version)
    if rate is None:
        return Profile(
            median_ms=base.median_ms * factor, sigma=base.sigma, error_rate=base.error_rate
        )
    rate = min(1.0, max(0.0, rate))
    return Profile(base.median_ms * factor, base.sigma, error_rate=rate, faulty=True)


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def build_timestamp(info: VersionInfo) -> str:
    """A stable, plausible build time in C++ `__DATE__ __TIME__` form: `Mar 12 2026 10:00:00`."""
    month = 10 + info.minor + 12 * (info.major - 1)
    year, month = 2025 + (month - 1) // 12, (month - 1) % 12 + 1
    day = 1 + min(info.patch * 3, 27)
    return f"{_MONTHS[month - 1]} {day:2d} {year:04d} 09:{info.patch * 7 % 60:02d}:00"


MODULES = (  # names as the real build reports them; descriptions are ours
    ("Storage Engine", "RocksDB key-value storage", True),
    ("Vector Index", "HNSW approximate nearest-neighbour search", True),
    ("Graph Index", "Adjacency index for graph traversals", True),
    ("Secondary Index", "Secondary and range indexes", True),
    ("HTTP/2 Protocol", "HTTP/2 transport (opt-in since 1.3)", False),
    ("WebSocket Protocol", "WebSocket transport (opt-in since 1.3)", False),
    ("LLM Integration", "Embedded LLM inference (opt-in build flag since 1.3)", False),
    ("CUDA Backend", "GPU acceleration through CUDA", False),
    ("OpenTelemetry Tracing", "OTLP trace export", False),
)


# The HTTP API's own version, not the product's: upstream's include/server/api_version_config.h
# fixes it at 1.4.1 (minimum 1.0.0) and src/server/api_version.cpp (APIVersionManager) lists
# the supported ones; src/server/monitoring_api_handler.cpp (handleVersion) reports them as
# `api_version`, `api_minimum_version` and `supported_api_versions`. That code came with 1.4
# (2026-01): a 1.3 node's /version has none of the three.
API_VERSION = (1, 4, 1)
API_MINIMUM_VERSION = (1, 0, 0)
SUPPORTED_API_VERSIONS = ((1, 0, 0), (1, 1, 0), (1, 2, 0), (1, 3, 0), (1, 4, 0), (1, 4, 1))


def _api(version: tuple[int, int, int], string: bool = True) -> dict:
    major, minor, patch = version
    doc: dict = {"major": major, "minor": minor, "patch": patch}
    if string:
        doc["string"] = f"v{major}.{minor}.{patch}"
    return doc


def _edition() -> dict:
    return {"name": EDITION, "type": EDITION, "gpu_max_vram_gb": 8, "sharding_max_nodes": 5}


def version_document(info: VersionInfo) -> dict:
    """The era-B `GET /version` body."""
    compiled = [{"name": n, "description": d} for n, d, on in MODULES if on]
    disabled = [{"name": n, "description": d} for n, d, on in MODULES if not on]
    doc = {
        "version": info.text,
        "edition": _edition(),
        "build": {
            "compiler": COMPILER,
            "compiler_version": COMPILER_VERSION,
            "build_type": BUILD_TYPE,
            "timestamp": build_timestamp(info),
        },
        "modules": {
            "compiled_in": compiled,
            "not_compiled": disabled,
            "total": len(MODULES),
            "compiled_count": len(compiled),
            "disabled_count": len(disabled),
        },
    }
    if (info.major, info.minor) >= (1, 4):
        doc["api_version"] = _api(API_VERSION)
        doc["api_minimum_version"] = _api(API_MINIMUM_VERSION)
        doc["supported_api_versions"] = [_api(v, string=False) for v in SUPPORTED_API_VERSIONS]
    return doc


def capabilities_document(info: VersionInfo, threads: int) -> dict:
    """`GET /api/capabilities`: its server version is a fixed "1.0.0" in both eras. Era B
    still serves it, adding edition and build and dropping `threads` (upstream's
    src/server/monitoring_api_handler.cpp, handleCapabilities)."""
    doc: dict = {
        "geo": {
            "enabled": False,
            "enterprise_compiled": False,
            "accel": {"simd_compiled": True, "gpu_compiled": False},
            "plugins_compiled": {"geos": False, "h3": False},
        },
        "vector": {"gpu_compiled": False},
    }
    if info.era == "A":
        return {"server": {"version": "1.0.0", "threads": threads}, **doc}
    return {
        "edition": _edition(),
        "build": {"compiler": COMPILER, "version": COMPILER_VERSION, "type": BUILD_TYPE},
        **doc,
        "server": {"version": "1.0.0"},
        "schema_awareness": {"enabled": False},
    }
