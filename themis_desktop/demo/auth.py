"""Bearer-token auth as the real server does it: env tokens per role, scopes, exact bodies."""

from __future__ import annotations

from dataclasses import dataclass

# The scopes the real server gives each THEMIS_TOKEN_* role (admin has them all), as
# upstream's src/server/http_server.cpp sets them up from the environment at start.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset(
        {
            "admin",
            "config:read",
            "config:write",
            "cdc:read",
            "cdc:admin",
            "metrics:read",
            "data:read",
            "data:write",
            "audit:read",
            "pii:read",
            "pii:write",
            "pii:reveal",
        }
    ),
    "readonly": frozenset(
        {"metrics:read", "config:read", "data:read", "cdc:read", "audit:read", "pii:read"}
    ),
    "analyst": frozenset({"metrics:read", "data:read", "cdc:read", "pii:read"}),
}
ROLE_ENV = {
    "admin": "THEMIS_TOKEN_ADMIN",
    "readonly": "THEMIS_TOKEN_READONLY",
    "analyst": "THEMIS_TOKEN_ANALYST",
}
WWW_AUTHENTICATE = 'Bearer realm="themis"'


@dataclass(frozen=True)
class Denial:
    """Why a request was refused: status, the JSON body, extra headers."""

    status: int
    body: dict
    headers: dict[str, str]
    counter: str  # which authz counter it moves


class Auth:
    """Token table built from role -> token; empty means auth is off."""

    def __init__(self, tokens: dict[str, str]):
        unknown = set(tokens) - set(ROLE_SCOPES)
        if unknown:
            raise ValueError(f"unknown role(s) {sorted(unknown)}; use {sorted(ROLE_SCOPES)}")
        self._scopes = {tok: ROLE_SCOPES[role] for role, tok in tokens.items() if tok}
        self._roles = {tok: role for role, tok in tokens.items() if tok}

    @property
    def enabled(self) -> bool:
        return bool(self._scopes)

    def check(self, header: str | None, scope: str) -> Denial | None:
        """None when the request may proceed, else the refusal to send."""
        if not self.enabled:
            return None
        if header is None:  # an empty header is there: a malformed one, as the server sees it
            return Denial(
                401,
                {"error": "missing_authorization", "message": "Missing Authorization header"},
                {"WWW-Authenticate": WWW_AUTHENTICATE},
                "authz_invalid_token",
            )
        token = extract_bearer(header)
        if token is None:
            return Denial(
                401,
                {
                    "error": "invalid_authorization",
                    "message": "Invalid Bearer token format",
                },
                {"WWW-Authenticate": WWW_AUTHENTICATE},
                "authz_invalid_token",
            )
        scopes = self._scopes.get(token)
        if scopes is None:
            body = {"error": "forbidden", "message": "Invalid or missing token"}
            return Denial(403, body, {}, "authz_invalid_token")
        if scope not in scopes:
            body = {"error": "forbidden", "message": f"Missing required scope: {scope}"}
            return Denial(403, body, {}, "authz_denied")
        return None

    def role(self, header: str | None) -> str | None:
        """The role of a valid token in `header` (the real server's rate-limit user), or None."""
        token = extract_bearer(header or "") if self.enabled else None
        return self._roles.get(token) if token else None


def extract_bearer(header: str) -> str | None:
    """The token of `Bearer <token>` (prefix exactly "Bearer "), or None."""
    prefix = "Bearer "
    if not header.startswith(prefix):
        return None
    token = header[len(prefix) :].strip(" \t")
    return token or None


def scope_for(era: str, method: str, path: str) -> str | None:
    """The scope a route needs in this era by default, or None when it is public."""
    if path == "/config":
        return "config:write" if method in ("POST", "PUT") else "config:read"
    if era == "A":
        if path.startswith("/entities/"):
            return "data:read" if method == "GET" else "data:write"
        return "metrics:read" if path == "/metrics" else None
    if path == "/admin" or path.startswith("/admin/"):
        return "admin"
    return None
