"""What the demo instance's control API says about one node (`GET /nodes`), bounded.

The entry of the node on a profile node's port: `{name, port, url, version, installed,
running, side_port}` (themis_desktop/demo/control.py). Any failure is a `DemoNodeUnknown`
whose text says why, for callers that only inform.
"""

from __future__ import annotations

import time
from typing import Any

from themis_desktop.core.connection.profiles import NodeEndpoint
from themis_desktop.core.server import errors
from themis_desktop.core.service.errors import ServiceError

TIMEOUT_S = 3.0
LIMIT = 256 * 1024  # 256 KiB


class DemoNodeUnknown(ServiceError):
    """The control API did not describe the node; `str()` says why."""


def node_port(node: NodeEndpoint) -> int:
    """The port a demo node is known by (its URL's)."""
    import httpx  # httpx (and bounded_http): not on the window's first-paint path

    url = httpx.URL(node.url)
    return url.port or (443 if url.scheme == "https" else 80)


def describe_node(control_url: str, node: NodeEndpoint, timeout: float = TIMEOUT_S) -> dict:
    """The control API's entry for `node`; DemoNodeUnknown if it cannot say."""
    import httpx

    from themis_desktop.core.server.bounded_http import bounded_client, fetch

    base = control_url.rstrip("/")
    http, backend = bounded_client(base, verify=False, headers={})
    try:
        with http:
            answer = fetch(
                http,
                backend,
                "GET",
                "/nodes",
                url=base + "/nodes",
                who="the demo instance's control API",
                deadline=time.monotonic() + timeout,
                seconds=timeout,
                limit=LIMIT,
                ok=(200,),
            )
            listed: Any = answer.json() if answer.status_code == 200 else None
    except (httpx.HTTPError, errors.ThemisError, ValueError) as exc:
        raise DemoNodeUnknown(f"the demo instance's control API did not answer ({exc})") from None
    if not isinstance(listed, list):
        raise DemoNodeUnknown(f"the demo instance's control API at {base} gave no node list")
    port = node_port(node)
    for entry in listed:
        if isinstance(entry, dict) and entry.get("port") == port:
            return entry
    raise DemoNodeUnknown(f"the demo instance has no node on port {port}")
