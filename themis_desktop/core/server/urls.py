"""A node's address as the client and the connection profiles keep it (imports no HTTP
library: the profiles are read at the window's start)."""

from __future__ import annotations

from urllib.parse import urlsplit


def normalize_url(url: str) -> str:
    """`host:port` or `http://host:port/` → `http://host:port` (no trailing slash)."""
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not a ThemisDB node address: {url!r} (expected http(s)://host:port)")
    if parts.username or parts.password:
        raise ValueError(
            "a node address must not carry a user name or password: put the token in the "
            "connection profile instead"
        )
    return url.rstrip("/")
