"""Bearer auth: exact 401/403 bodies, scopes per role, what each era protects."""

from __future__ import annotations

import pytest

from tests.demo.conftest import TOKENS

MISSING = {"error": "missing_authorization", "message": "Missing Authorization header"}


def bearer(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


@pytest.mark.parametrize("version", ["1.2.0", "1.6.0"])
def test_missing_and_malformed_headers_are_401(make_node, client, version):
    c = client(make_node(version, tokens=TOKENS))
    r = c.get("/metrics" if version == "1.2.0" else "/config")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="themis"'
    assert r.json() == MISSING
    assert r.headers["server"] == "THEMIS/0.1.0"
    for header in (f"Basic {TOKENS['admin']}", "Bearer", "Token abc", f"bearer {TOKENS['admin']}"):
        r = c.get("/config", headers={"Authorization": header})
        assert r.status_code == 401, header
        assert r.headers["www-authenticate"] == 'Bearer realm="themis"'
        assert r.json() == {
            "error": "invalid_authorization",
            "message": "Invalid Bearer token format",  # upstream http_server.cpp's text
        }


def test_unknown_token_and_missing_scope_are_403(make_node, client):
    c = client(make_node("1.7.3", tokens=TOKENS))
    r = c.get("/config", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 403
    assert r.json() == {"error": "forbidden", "message": "Invalid or missing token"}
    r = c.post("/admin/backup", json={}, headers=bearer("readonly"))
    assert r.status_code == 403
    assert r.json() == {"error": "forbidden", "message": "Missing required scope: admin"}
    r = c.get("/config", headers=bearer("analyst"))  # analyst has no config:read
    assert r.status_code == 403
    assert c.get("/config", headers=bearer("readonly")).status_code == 200
    r = c.post("/config", json={}, headers=bearer("readonly"))  # no config:write
    assert r.json()["message"] == "Missing required scope: config:write"
    assert c.post("/config", json={}, headers=bearer("admin")).status_code == 200


def test_era_a_protects_metrics_and_config_only(make_node, client, tmp_path):
    c = client(make_node("1.2.0", tokens=TOKENS))
    assert c.get("/metrics").status_code == 401
    assert c.get("/metrics", headers=bearer("analyst")).status_code == 200
    assert c.get("/config").status_code == 401
    for path in ("/health", "/stats", "/api/capabilities"):
        assert c.get(path).status_code == 200, path
    r = c.post("/admin/backup", json={"directory": str(tmp_path / "bk")})
    assert r.status_code == 200  # the era-A hole: backups need no token


def test_era_b_protects_admin_and_config(make_node, client, tmp_path):
    c = client(make_node("1.5.0", tokens=TOKENS))
    for path in ("/health", "/version", "/stats", "/metrics", "/health/ready"):
        assert c.get(path).status_code == 200, path
    assert c.get("/config").status_code == 401
    r = c.post("/admin/backup", json={"directory": str(tmp_path / "bk")})
    assert r.status_code == 401
    assert r.json() == MISSING
    r = c.post("/admin/backup", json={"directory": str(tmp_path / "bk")}, headers=bearer("admin"))
    assert r.status_code == 200


def test_auth_off_without_tokens(make_node, client, tmp_path):
    c = client(make_node("1.7.3"))
    assert c.get("/config").status_code == 200
    assert c.post("/admin/backup", json={"directory": str(tmp_path / "bk")}).status_code == 200


def test_the_admin_role_has_the_pii_write_and_reveal_scopes():
    """Upstream's http_server.cpp gives THEMIS_TOKEN_ADMIN pii:read, pii:write, pii:reveal;
    the read-only and analyst roles only pii:read."""
    from themis_desktop.demo.auth import ROLE_SCOPES, Auth

    assert {"pii:read", "pii:write", "pii:reveal"} <= ROLE_SCOPES["admin"]
    auth = Auth(TOKENS)
    for scope in ("pii:write", "pii:reveal"):
        assert auth.check(f"Bearer {TOKENS['admin']}", scope) is None
        denial = auth.check(f"Bearer {TOKENS['readonly']}", scope)
        assert denial is not None and denial.status == 403
