"""Route sets and JSON shapes per era, over real HTTP."""

from __future__ import annotations

import pytest

ERA_B_ONLY = ["/health/live", "/health/ready", "/version"]
NOT_FOUND = {"error": True, "message": "Endpoint not found", "status_code": 404}


def test_health_is_the_same_in_both_eras_and_never_tells_the_version(make_node, client):
    for version in ("1.2.0", "1.7.3"):
        c = client(make_node(version))
        for path in ("/health", "/"):
            r = c.get(path)
            assert r.status_code == 200
            assert r.headers["server"] == "THEMIS/0.1.0"
            assert r.headers["content-type"] == "application/json"
            body = r.json()
            assert body["status"] == "healthy"
            assert body["version"] == "0.1.0"
            assert body["database"] == "themis"
            assert isinstance(body["uptime_seconds"], int)


def test_era_a_route_set(make_node, client):
    c = client(make_node("1.2.0"))
    for path in ERA_B_ONLY:
        r = c.get(path)
        assert r.status_code == 404
        assert r.json() == NOT_FOUND
    caps = c.get("/api/capabilities").json()
    assert caps["server"] == {"version": "1.0.0", "threads": 8}  # fixed, like the real server
    r = c.get("/api/updates")
    assert r.status_code == 503
    assert r.json() == {"error": True, "message": "Update checker not enabled", "status_code": 503}


def test_era_b_route_set(make_node, client):
    c = client(make_node("1.3.0"))
    # era B still serves the capabilities (upstream's monitoring_api_handler.cpp), with
    # edition and build and without `threads`; its server version is still a fixed 1.0.0
    caps = c.get("/api/capabilities").json()
    assert caps["server"] == {"version": "1.0.0"}
    assert {"edition", "build", "geo", "vector"} <= set(caps)
    live = c.get("/health/live").json()
    assert live["status"] == "alive"
    ready = c.get("/health/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {
        "server_running",
        "storage_available",
        "active_connections",
        "active_requests",
        "memory_rss_bytes",
    }
    assert body["checks"]["memory_rss_bytes"] > 0
    updates = c.get("/api/updates").json()
    assert updates["status"] == "up_to_date"
    assert updates["current_version"] == "1.3.0"
    assert set(updates["latest_release"]) == {
        "version",
        "tag_name",
        "name",
        "published_at",
        "url",
        "prerelease",
    }
    assert c.post("/api/updates/check").json()["status"] == "up_to_date"
    put = c.put("/api/updates/config", json={"auto_download": True}).json()
    assert put["success"] is True
    assert put["message"] == "Configuration updated successfully"
    assert put["config"]["auto_download"] is True and "is_running" not in put["config"]
    got = c.get("/api/updates/config").json()
    assert got["auto_download"] is True and got["is_running"] is True
    assert "is_running" not in c.get("/api/updates").json()  # UpdateCheckResult::toJson
    c.put("/api/updates/config", json={"enabled": False})
    assert c.get("/api/updates/config").json()["is_running"] is False


def test_version_document(make_node, client):
    c = client(make_node("1.5.2"))
    body = c.get("/version").json()
    assert body["version"] == "1.5.2"
    assert {"name", "type"} <= set(body["edition"])
    assert set(body["build"]) == {"compiler", "compiler_version", "build_type", "timestamp"}
    assert body["build"]["build_type"] == "Release"
    assert "compiled_in" in body["modules"]
    # the HTTP API's version (api_version_config.h: 1.4.1), never the product's 1.5.2
    assert body["api_version"] == {"major": 1, "minor": 4, "patch": 1, "string": "v1.4.1"}
    assert body["api_minimum_version"] == {"major": 1, "minor": 0, "patch": 0, "string": "v1.0.0"}
    supported = body["supported_api_versions"]
    assert all(set(v) == {"major", "minor", "patch"} for v in supported)
    assert max((v["major"], v["minor"], v["patch"]) for v in supported) == (1, 4, 1)
    assert {"major": 1, "minor": 5, "patch": 2} not in supported


def test_the_api_version_stays_1_4_1_on_1_8_and_is_absent_before_1_4(make_node, client):
    assert client(make_node("1.8.2")).get("/version").json()["api_version"]["string"] == "v1.4.1"
    body = client(make_node("1.3.4")).get("/version").json()
    assert body["version"] == "1.3.4"
    assert not {"api_version", "api_minimum_version", "supported_api_versions"} & set(body)


def test_readiness_reports_the_peak_rss_which_never_goes_down(make_node, client):
    c = client(make_node("1.7.3"))
    before = c.get("/health/ready").json()["checks"]["memory_rss_bytes"]
    ballast = b"\x01" * (96 << 20)  # touched pages: resident until freed
    peak = c.get("/health/ready").json()["checks"]["memory_rss_bytes"]
    del ballast  # returned to the OS: the current RSS drops, the peak must not
    after = c.get("/health/ready").json()["checks"]["memory_rss_bytes"]
    assert peak >= before + (64 << 20)
    assert after == peak


def test_ready_is_503_when_the_data_directory_is_gone(make_node, client):
    node = make_node("1.4.0")
    c = client(node)
    for p in node.data_path.iterdir():
        p.unlink()
    node.data_path.rmdir()
    r = c.get("/health/ready")
    assert r.status_code == 503
    assert r.json()["status"] == "not_ready"
    assert r.json()["checks"]["storage_available"] is False


def test_stats_shape_per_era(make_node, client):
    rocks_keys = {
        "block_cache_usage_bytes",
        "block_cache_capacity_bytes",
        "estimate_num_keys",
        "estimate_live_data_size_bytes",
        "estimate_pending_compaction_bytes",
        "num_running_compactions",
        "num_running_flushes",
        "memtable_size_bytes",
        "cur_size_all_mem_tables_bytes",
        "files_per_level",
        "block_cache_hit",  # RocksDB tickers the real /stats adds
        "block_cache_miss",
        "cache_hit_rate_percent",
        "bytes_read",
        "bytes_written",
        "compaction_keys_dropped",
    }
    for version, threads in (("1.1.0", True), ("1.6.0", False)):
        body = client(make_node(version)).get("/stats").json()
        server_keys = {"uptime_seconds", "total_requests", "total_errors", "queries_per_second"}
        assert set(body["server"]) == server_keys | ({"threads"} if threads else set())
        rocks = body["storage"]["rocksdb"]
        assert set(rocks) == rocks_keys
        assert list(rocks["files_per_level"]) == [f"L{i}" for i in range(7)]
        assert rocks["estimate_num_keys"] > 0
        assert rocks["estimate_live_data_size_bytes"] > 500_000
        assert "Compaction Stats" in body["storage"]["raw_stats"]


def test_unknown_route_and_query_strings(make_node, client):
    a, b = client(make_node("1.0.0")), client(make_node("1.7.0"))
    for c in (a, b):
        r = c.get("/no/such/route")
        assert r.status_code == 404
        assert r.json() == NOT_FOUND
        assert r.headers["server"] == "THEMIS/0.1.0"
    assert a.get("/metrics?x=1").status_code == 404  # era A matches the whole target
    assert a.get("/stats?pretty=1").status_code == 404
    assert b.get("/metrics?x=1").status_code == 200  # era B ignores the query
    assert a.post("/stats").status_code == 404  # wrong method: no such route


def test_versioned_routing_from_1_8(make_node, client):
    """Upstream's RouteVersionRouter (include/server/route_version_router.h) and its tests
    (NoRedirect_HealthEndpoint, NoRedirect_MetricsEndpoint, NoRedirect_RootPath)."""
    node = make_node("1.8.0")
    c = client(node)
    for path in ("/", "/health", "/health/ready", "/version", "/stats", "/metrics?name=x"):
        assert c.get(path).status_code == 200, path
    assert c.get("/config").status_code == 200
    assert c.get("/entities/orders:1").status_code == 200
    assert c.post("/admin/backup", json={"directory": "cp"}).status_code == 200
    # already versioned paths are never redirected, /api/vN/… included
    r = c.get("/api/v1/snapshots/tags")  # a route from 1.5 on (demo/snapshots.py)
    assert r.status_code == 200 and r.json() == []
    r = c.get("/api/v1/no-such-route")
    assert r.status_code == 404 and r.json() == NOT_FOUND
    # other unversioned paths answer 301 to /v1 + the whole target, for every method
    r = c.get("/api/updates?x=1")
    assert r.status_code == 301
    assert r.headers["location"] == "/v1/api/updates?x=1"
    assert r.json() == {
        "status": 301,
        "message": "Moved Permanently - use versioned API path",
        "location": "/v1/api/updates?x=1",
    }
    assert c.post("/no/such").headers["location"] == "/v1/no/such"
    # upstream routes the target as it came: no /v1 is stripped, so these are 404
    for path in ("/v1/version", "/v1/health", "/v1/no/such"):
        assert c.get(path).json() == NOT_FOUND, path
    # 1.7 does not redirect
    assert client(make_node("1.7.3")).get("/api/updates").status_code == 200


def test_oversized_body_is_413(make_node, client):
    c = client(make_node("1.7.3"))
    r = c.post("/config", content=b"x" * (10 * 1024 * 1024 + 1))
    assert r.status_code == 413
    assert r.json()["status_code"] == 413


def test_config_answers_the_running_settings_and_takes_only_run_time_keys(make_node, client):
    """As the server: GET /config reports under its own names (rocksdb, server.threads);
    POST /config changes logging, the request timeout and four feature flags in memory and
    ignores everything else (the config file is not rewritten)."""
    node = make_node("1.7.3")
    c = client(node)
    before = node.config_path.read_text()
    cfg = c.get("/config").json()
    assert cfg["rocksdb"]["db_path"] == str(node.data_path)
    assert cfg["rocksdb"]["memtable_size_mb"] == 512
    assert cfg["server"]["port"] == node.port and cfg["server"]["threads"] == 8
    assert set(cfg) == {"server", "features", "rocksdb", "runtime", "metrics"}
    r = c.post(
        "/config",
        json={
            "request_timeout_ms": 5000,
            "features": {"cdc": True},
            "storage": {"memtable_size_mb": 1024},  # not a run-time setting: ignored
        },
    )
    assert r.status_code == 200
    answer = r.json()
    assert answer["server"]["request_timeout_ms"] == 5000 and answer["features"]["cdc"] is True
    assert answer["rocksdb"]["memtable_size_mb"] == 512
    assert node.config_path.read_text() == before
    assert c.post("/config", json={"request_timeout_ms": 10}).status_code == 400
    assert c.post("/config", content=b"").json()["message"] == "Invalid JSON body"


@pytest.mark.parametrize("version", ["1.2.0", "1.7.3"])
def test_probe_route(make_node, client, version):
    c = client(make_node(version, error_rate=0.0))  # the profile's 0.1 % errors: not here
    r = c.get("/entities/orders:7")
    assert r.status_code == 200
    assert r.json()["key"] == "orders:7"
    assert "blob" in r.json()
    r = c.get("/entities/orders:999999999")
    assert r.status_code == 404
    assert r.json() == {"error": True, "message": "Entity not found", "status_code": 404}


def test_probe_follows_the_error_rate_and_latency(make_node, client):
    c = client(make_node("1.7.3", error_rate=1.0))
    r = c.get("/entities/user:1")
    assert r.status_code == 500
    assert r.json()["error"] is True
    stats = c.get("/stats").json()
    assert stats["server"]["total_errors"] >= 1

    slow = client(make_node("1.7.3", latency_factor=25.0))  # median ~50 ms
    fast = client(make_node("1.7.3"))
    slow_t = sorted(slow.get("/entities/user:1").elapsed.total_seconds() for _ in range(5))
    fast_t = sorted(fast.get("/entities/user:1").elapsed.total_seconds() for _ in range(5))
    assert slow_t[2] > 0.02
    assert fast_t[2] < slow_t[2] / 3


def test_update_config_refuses_bad_json_in_the_update_handlers_own_shape(make_node, client):
    # upstream's update_api_handler.cpp: {"error": "Invalid JSON: …", "status": 400}
    r = client(make_node("1.7.3")).put("/api/updates/config", content=b"{oops")
    assert r.status_code == 400
    assert set(r.json()) == {"error", "status"} and r.json()["status"] == 400
    assert r.json()["error"].startswith("Invalid JSON: [json.exception.parse_error.101]")


@pytest.mark.parametrize(("version", "buffers"), [("1.5.2", 3), ("1.7.0", 6), ("1.7.3", 6)])
def test_config_reports_the_write_buffers_of_the_running_version(
    make_node, client, version, buffers
):
    """1.7 raises the built-in max_write_buffer_number from 3 to 6 (the catalogue's
    rocksdb.max_write_buffer_number); the WAL lives beside the data, as upstream derives it."""
    node = make_node(version)
    rocksdb = client(node).get("/config").json()["rocksdb"]
    assert rocksdb["max_write_buffer_number"] == buffers
    assert rocksdb["wal_dir"] == rocksdb["db_path"] == str(node.data_path)


def test_config_view_write_buffer_and_async_io_per_version(make_node, client):
    """Era B's running config carries both keys, their defaults raised by 1.7; era A has
    neither (its rocksdb_wrapper.h does not know them)."""
    expected = {"1.5.2": (0, False), "1.7.3": (2048, True), "1.8.0": (2048, True)}
    for version, (buffer_mb, async_io) in expected.items():
        rocksdb = client(make_node(version)).get("/config").json()["rocksdb"]
        assert rocksdb["db_write_buffer_size_mb"] == buffer_mb, version
        assert rocksdb["enable_async_io"] is async_io, version
    old = client(make_node("1.0.0")).get("/config").json()["rocksdb"]
    assert "db_write_buffer_size_mb" not in old and "enable_async_io" not in old
