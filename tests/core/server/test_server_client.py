"""The ThemisDB client against real servers on loopback: both eras, redirects, every error."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import trustme

from tests.conftest import wait_until
from tests.core.loopback import canned_http, free_port, silent_listener
from themis_desktop.core.server import errors
from themis_desktop.core.server.client import ThemisClient, build_info_version, normalize_url


def test_era_b_version_comes_from_the_version_route(start_demo_node):
    node = start_demo_node("1.7.3")
    with ThemisClient(node.url) as client:
        info = client.version()
    assert info.version == "1.7.3"
    assert info.source == "version-route"
    assert info.edition
    assert info.build is not None and info.build.build_type
    assert info.api_version and info.api_version.startswith("v")
    assert info.supported_api_versions


def test_era_a_version_falls_back_to_capabilities_when_metrics_need_a_token(start_demo_node):
    node = start_demo_node("1.0.2", tokens={"admin": "secret-admin"})
    with ThemisClient(node.url) as client:
        info = client.version()
    # era A's /api/capabilities names a fixed 1.0.0: it tells the era, not the release
    assert (info.version, info.source, info.exact) == ("1.0.0", "capabilities", False)


def test_build_info_is_read_from_a_real_exposition(start_demo_node):
    node = start_demo_node("1.5.0")
    with ThemisClient(node.url) as client:
        assert build_info_version(client.metrics_text()) == "1.5.0"


def test_build_info_of_garbage_is_none():
    assert build_info_version('themis_build_info{version="1.2" 1 2 3 {{') is None
    assert build_info_version("no such metric 1") is None


def test_health_stats_and_readiness_of_era_b(start_demo_node):
    node = start_demo_node("1.4.2")
    with ThemisClient(node.url) as client:
        health = client.health()
        ready = client.ready()
        stats = client.stats()
    assert health.healthy and health.uptime_seconds >= 0
    assert ready.ready and "storage_available" in ready.checks
    assert stats.threads is None  # era B dropped server.threads
    assert stats.rocksdb.estimate_num_keys > 0
    assert set(stats.rocksdb.files_per_level) >= {"L0", "L6"}


def test_era_a_has_no_readiness_route_but_has_threads(start_demo_node):
    node = start_demo_node("1.1.0")
    with ThemisClient(node.url) as client:
        with pytest.raises(errors.NotFound):
            client.ready()
        assert client.stats().threads is not None


def test_a_1_8_node_is_asked_on_unversioned_paths_without_redirects(start_demo_node):
    # upstream's route_version_router.h never redirects /version, /health*, /stats, /metrics
    node = start_demo_node("1.8.0")
    with ThemisClient(node.url) as client:
        assert client.version().version == "1.8.0"
        assert client.health().healthy and client.ready().ready
        assert client.stats().rocksdb is not None
        assert build_info_version(client.metrics_text()) == "1.8.0"


@contextmanager
def routed_http(routes: dict[str, tuple[int, dict[str, str], bytes]]) -> Iterator[tuple[str, list]]:
    """A server answering each path from `routes` (status, headers, body), 404 otherwise,
    and the list of paths it was asked."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            status, headers, body = routes.get(self.path, (404, {}, b'{"error": true}'))
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="routed-http")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


VERSION_1_8 = (
    b'{"version": "1.8.2", "api_version": {"major": 1, "minor": 4, "patch": 1, "string": "v1.4.1"}}'
)


def test_a_redirect_is_followed_for_its_request_only_never_made_a_prefix():
    routes = {
        "/api/updates": (301, {"Location": "/v1/api/updates"}, b"{}"),
        "/v1/api/updates": (200, {}, b"{}"),
        "/version": (200, {}, VERSION_1_8),
    }
    with routed_http(routes) as (url, asked), ThemisClient(url) as client:
        assert client.probe("/api/updates")[0] == 200
        assert client.version().version == "1.8.2"
    assert asked == ["/api/updates", "/v1/api/updates", "/version"]  # never /v1/version


def test_the_api_version_is_never_taken_for_the_product_version():
    unknown = VERSION_1_8.replace(b'"1.8.2"', b'"unknown"')
    metrics = b'themis_build_info{version="1.8.2",build_type="Release"} 1\n'
    routes = {
        "/version": (200, {}, unknown),
        "/metrics": (200, {"Content-Type": "text/plain"}, metrics),
    }
    with routed_http(routes) as (url, _asked), ThemisClient(url) as client:
        info = client.version()
    assert (info.version, info.source) == ("1.8.2", "build-info")


def test_version_route_reports_the_api_versions_apart_from_the_product(start_demo_node):
    node = start_demo_node("1.7.3")
    with ThemisClient(node.url) as client:
        info = client.version()
    assert info.version == "1.7.3"
    assert (info.api_version, info.api_minimum_version) == ("v1.4.1", "v1.0.0")
    assert "1.4.1" in info.supported_api_versions and "1.7.3" not in info.supported_api_versions


def test_post_survives_the_redirect_with_its_body(start_demo_node, tmp_path):
    node = start_demo_node("1.8.1", tokens={"admin": "tok"})
    target = tmp_path / "checkpoint-1"
    with ThemisClient(node.url, "tok") as client:
        result = client.admin_backup(str(target))
    assert result.directory == str(target)
    assert (target / "CURRENT").is_file()


def test_backup_and_restore_round_trip(start_demo_node, tmp_path):
    node = start_demo_node("1.7.3", tokens={"admin": "tok"})
    marker = node.data_path / "MARKER"
    marker.write_text("before")
    checkpoint = tmp_path / "cp"
    with ThemisClient(node.url, "tok") as client:
        client.admin_backup(str(checkpoint))
        marker.write_text("after")
        assert client.admin_restore(str(checkpoint)).restored_from == str(checkpoint)
    assert marker.read_text() == "before"


def test_existing_checkpoint_directory_is_a_server_failure(start_demo_node, tmp_path):
    node = start_demo_node("1.7.3")
    with ThemisClient(node.url) as client, pytest.raises(errors.ServerFailure) as caught:
        client.admin_backup(str(tmp_path))
    assert "Failed to create checkpoint" in str(caught.value)
    assert caught.value.status == 500


def test_missing_token_is_unauthorized_and_says_to_add_one(start_demo_node):
    node = start_demo_node("1.7.3", tokens={"admin": "tok"})
    with ThemisClient(node.url) as client, pytest.raises(errors.Unauthorized) as caught:
        client.admin_backup("/tmp/x")
    assert caught.value.status == 401
    assert "add one in the connection profile" in str(caught.value)


def test_wrong_scope_is_forbidden(start_demo_node):
    node = start_demo_node("1.7.3", tokens={"admin": "adm", "readonly": "ro"})
    with ThemisClient(node.url, "ro") as client, pytest.raises(errors.Forbidden) as caught:
        client.admin_backup("/tmp/x")
    assert caught.value.status == 403
    assert "admin" in caught.value.hint


def test_token_never_shows_in_repr_or_errors(start_demo_node):
    node = start_demo_node("1.7.3", tokens={"admin": "adm"})
    with ThemisClient(node.url, "very-secret-token") as client:
        with pytest.raises(errors.Forbidden) as caught:
            client.config()
        assert "very-secret-token" not in repr(client)
    assert "very-secret-token" not in str(caught.value)


def test_refused_connection():
    with ThemisClient(f"http://127.0.0.1:{free_port()}") as client:
        with pytest.raises(errors.ConnectionRefused) as caught:
            client.health()
    assert "8765" in caught.value.hint


def test_unknown_host():
    with ThemisClient("http://themis-node.invalid:8765") as client:
        with pytest.raises(errors.HostNotFound):
            client.health()


def test_hung_server_times_out():
    with silent_listener() as url, ThemisClient(url, timeout=0.3) as client:
        with pytest.raises(errors.ConnectTimeout) as caught:
            client.health()
    assert "0.3 s" in str(caught.value)


def test_missing_route_is_not_found(start_demo_node):
    node = start_demo_node("1.0.2")
    with ThemisClient(node.url) as client, pytest.raises(errors.NotFound):
        client.ready()


def test_server_error_carries_the_servers_message():
    body = b'{"error": true, "message": "RocksDB is closed", "status_code": 500}'
    with canned_http(500, body) as url, ThemisClient(url) as client:
        with pytest.raises(errors.ServerFailure) as caught:
            client.health()
    assert "RocksDB is closed" in str(caught.value)


def test_html_instead_of_json_is_malformed():
    with canned_http(200, b"<html>proxy login</html>", "text/html") as url:
        with ThemisClient(url) as client, pytest.raises(errors.MalformedResponse) as caught:
            client.health()
    assert "not JSON" in str(caught.value)


def test_json_of_the_wrong_shape_is_malformed():
    with canned_http(200, b'{"server": "nope"}') as url, ThemisClient(url) as client:
        with pytest.raises(errors.MalformedResponse):
            client.stats()


def test_rate_limit_says_how_long_to_wait():
    body = b'{"error": true, "message": "Too Many Requests", "status_code": 429}'
    with canned_http(429, body) as url, ThemisClient(url) as client:
        with pytest.raises(errors.RateLimited):
            client.health()


def test_version_unknown_when_no_route_tells_it():
    body = b'{"error": true, "message": "Endpoint not found", "status_code": 404}'
    with canned_http(404, body) as url, ThemisClient(url) as client:
        with pytest.raises(errors.VersionUnknown):
            client.version()


@pytest.fixture(scope="module")
def tls_ca():
    return trustme.CA()


def _tls_node(start_demo_node, tls_ca, tmp_path):
    cert = tls_ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
    cert.cert_chain_pems[0].write_to_path(cert_file)
    cert.private_key_pem.write_to_path(key_file)
    return start_demo_node("1.7.3", tls_cert=cert_file, tls_key=key_file)


def test_untrusted_certificate_is_a_tls_failure(start_demo_node, tls_ca, tmp_path):
    node = _tls_node(start_demo_node, tls_ca, tmp_path)
    assert node.url.startswith("https://")
    with ThemisClient(node.url) as client, pytest.raises(errors.TlsFailure) as caught:
        client.health()
    assert "CA file" in caught.value.hint


def test_ca_file_makes_the_certificate_trusted(start_demo_node, tls_ca, tmp_path):
    node = _tls_node(start_demo_node, tls_ca, tmp_path)
    ca_file = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(ca_file)
    with ThemisClient(node.url, ca_file=str(ca_file)) as client:
        assert client.health().healthy


def test_https_to_a_plain_http_node_says_to_use_http(start_demo_node):
    node = start_demo_node("1.7.3")
    with ThemisClient(node.url.replace("http://", "https://")) as client:
        with pytest.raises(errors.TlsFailure) as caught:
            client.health()
    assert "http://" in caught.value.hint


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("localhost:8765", "http://localhost:8765"),
        ("https://db.example:9/", "https://db.example:9"),
    ],
)
def test_addresses_are_normalized(given, expected):
    assert normalize_url(given) == expected


def test_nonsense_address_is_rejected():
    with pytest.raises(ValueError):
        normalize_url("ftp://x")


def test_build_info_prefers_the_real_line_over_the_collectors_duplicate():
    text = (
        'themis_build_info{version="1.8.1",build_type="Release",compiler="GCC",'
        'edition="COMMUNITY"} 1\n'
        "# TYPE themis_build_info gauge\n"
        'themis_build_info{version="0.1.0"} 1\n'
        'query_latency_ms{table="t"}{quantile="0.5"} 3\n'
    )
    assert build_info_version(text) == "1.8.1"
    reordered = 'themis_build_info{version="0.1.0"} 1\n' + text.splitlines()[0]
    assert build_info_version(reordered) == "1.8.1"


def test_version_with_a_build_id_suffix_is_cleaned():
    from themis_desktop.core.server.models import VersionInfo

    info = VersionInfo.from_version_route({"version": "1.8.0 (9b1e2c)"})
    assert info.version == "1.8.0"


def test_the_exact_version_set_by_the_user_wins_over_an_era_a_guess(start_demo_node):
    from themis_desktop.core.server.node_status import poll_node

    node = start_demo_node("1.2.0")
    with ThemisClient(node.url) as client:
        guessed = poll_node(client, "n")
        told = poll_node(client, "n", version_override="1.2.0")
    assert (guessed.version.version, guessed.version.exact) == ("1.0.0", False)
    assert any("exact version" in note for note in guessed.notes)
    assert (told.version.version, told.version.source) == ("1.2.0", "user")
    assert not told.notes


@pytest.mark.parametrize(("before", "after"), [("1.8.0", "1.7.3"), ("1.7.3", "1.8.0")])
def test_the_same_client_follows_a_node_restarted_as_another_version(tmp_path, before, after):
    from themis_desktop.demo.cluster import DemoCluster

    with DemoCluster(tmp_path, nodes=1, version=before, data_size_mb=1, workload=False) as cluster:
        with ThemisClient(cluster.urls[0]) as client:
            assert client.health().healthy and client.version().version == before
            # whole seconds: let it show a drop
            wait_until(lambda: client.health().uptime_seconds >= 1, interval=0.1)
            cluster.restart_node(0, version=after)
            assert client.health().healthy  # uptime went down: the client forgets
            assert client.version().version == after


def test_a_restart_is_seen_even_when_the_new_uptime_is_not_lower(tmp_path):
    """Whole seconds hide a restart of a node that ran briefly (uptime 1 before, 1 after):
    its start moved later, which one process's start never does."""
    from themis_desktop.demo.cluster import DemoCluster

    with DemoCluster(tmp_path, nodes=1, version="1.7.3", data_size_mb=1, workload=False) as cluster:
        url = cluster.urls[0]
        with ThemisClient(url) as client:
            assert client.version().version == "1.7.3"
            # the first run's start and the second's lie clearly apart (whole seconds): the
            # first has run 3 s by its own clock — the very case under test
            wait_until(lambda: httpx.get(f"{url}/health").json()["uptime_seconds"] >= 3, 10)
            seen = client.health().uptime_seconds
            cluster.restart_node(0, version="1.8.0")
            wait_until(  # the new run answers (its uptime not yet seen)
                lambda: httpx.get(f"{url}/health").json()["uptime_seconds"] >= seen
            )
            assert client.health().healthy
            assert client.version().version == "1.8.0"


def test_one_process_polled_often_is_never_taken_for_a_restart(start_demo_node):
    node = start_demo_node("1.7.3")
    with ThemisClient(node.url) as client:
        client.version()
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:  # across several whole-second ticks
            client.health()
            time.sleep(0.03)  # noqa: TID251 - polls spread over real seconds, on purpose
        before = client.stats().total_requests
        client.version()  # still known: nothing asked
        assert client.stats().total_requests == before + 1


def test_stats_keep_working_across_a_rollback_from_1_8(tmp_path):
    from themis_desktop.demo.cluster import DemoCluster

    with DemoCluster(tmp_path, nodes=1, version="1.8.0", data_size_mb=1, workload=False) as cluster:
        with ThemisClient(cluster.urls[0]) as client:
            client.version()
            cluster.restart_node(0, version="1.7.3")
            assert client.stats().rocksdb is not None  # /stats on every version


def test_non_finite_or_misshapen_numbers_are_malformed_not_crashes():
    body = b'{"server": {"uptime_seconds": 1e400, "total_requests": 1}, "storage": {}}'
    with canned_http(200, body) as url, ThemisClient(url) as client:
        with pytest.raises(errors.MalformedResponse, match="finite"):
            client.stats()
    body = b'{"version": "1.8.0", "supported_api_versions": 5}'
    with canned_http(200, body) as url, ThemisClient(url) as client:
        assert client.version().supported_api_versions == ()


def test_missing_rocksdb_figures_are_no_data_not_zero():
    body = b'{"server": {"uptime_seconds": 5}, "storage": {"rocksdb": {}}}'
    with canned_http(200, body) as url, ThemisClient(url) as client:
        rocks = client.stats().rocksdb
    assert rocks.estimate_num_keys is None and rocks.block_cache_usage_bytes is None


def test_addresses_with_credentials_are_refused():
    with pytest.raises(ValueError, match="user name or password"):
        normalize_url("http://admin:secret@db1:8765")


def test_an_unusable_ca_file_is_a_tls_failure_at_request_time(tmp_path):
    with ThemisClient("https://127.0.0.1:1", ca_file=str(tmp_path / "missing.pem")) as client:
        with pytest.raises(errors.TlsFailure, match="cannot be used"):
            client.health()


def test_an_era_a_node_is_not_asked_again_the_routes_it_lacks(start_demo_node):
    """Era A counts each 404 as an error: a route only 1.3+ has is asked once."""
    node = start_demo_node("1.2.0")
    with ThemisClient(node.url) as client:
        with pytest.raises(errors.NotFound):
            client.ready()
        assert client.era == "A"
        asked = client.stats()
        for _ in range(3):
            with pytest.raises(errors.NotFound):
                client.ready()
        again = client.stats()
    assert again.total_requests == asked.total_requests + 1  # only that /stats
    assert again.total_errors == asked.total_errors == 1


def test_an_era_a_node_restarted_as_era_b_is_asked_those_routes_again(tmp_path):
    from themis_desktop.demo.cluster import DemoCluster

    with DemoCluster(tmp_path, nodes=1, version="1.2.0", data_size_mb=1, workload=False) as cluster:
        with ThemisClient(cluster.urls[0]) as client:
            assert client.version().version == "1.0.0" and client.era == "A"
            # a restart must show as less uptime
            wait_until(lambda: client.health().uptime_seconds >= 1)
            cluster.restart_node(0, version="1.3.0")
            assert client.health().healthy  # uptime went down: the client forgets
            assert client.ready().ready
            assert client.version().version == "1.3.0" and client.era == "B"


def test_on_era_a_the_token_goes_only_to_routes_that_check_one(start_demo_node, tmp_path):
    """Era A rate-limits each token's role, loopback included: what it serves to anyone
    is asked without the token."""
    node = start_demo_node("1.2.0", tokens={"admin": "adm-token"})
    with ThemisClient(node.url, "adm-token") as client:
        client.version()
        before = client.token_uses()
        client.health()
        client.stats()
        client.admin_backup(str(tmp_path / "checkpoint"))
        assert client.token_uses() == before
        client.metrics_text()
        assert client.token_uses() == before + 1
        assert client.token_budget_left == 80 - client.token_uses()
