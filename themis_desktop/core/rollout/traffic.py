"""How a rollout applies traffic weights to a profile's nodes (per profile).

- `none`: no router (a single node, or nobody to ask): canary and blue-green need one.
- `demo`: the demo-server's load balancer (`PUT <control>/router/weights`, by node port).
- `manual`: the app tells the admin which weights to set and waits for the confirmation.
- `commands`: a user command; `{weights}` becomes `node-1=5,node-2=95` (percent per node),
  `{json}` the same as a JSON object, both shell-quoted (do not quote them again).

Weights are shares 0..1 per node, keyed by node URL or, when the router knows the profile's
nodes (`router_for(..., nodes=profile.nodes)`), by node name; descriptions use the names.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from themis_desktop.core.connection.profiles import NodeEndpoint
from themis_desktop.core.connection.router_config import RouterConfig as RouterConfig  # re-exported
from themis_desktop.core.errors import ThemisDesktopError
from themis_desktop.core.service.control import ServiceError, run_command

Confirm = Callable[[str], bool]
COMMAND_TIMEOUT = 120.0
NO_ROUTER = (
    "This profile has no traffic router, so traffic cannot be shifted between nodes: canary "
    "and blue-green rollouts need one. Set the profile's traffic router (manual, commands or "
    "demo), or use a rolling rollout."
)


class TrafficError(ThemisDesktopError):
    """The weights could not be applied; the message says why and what to do."""


def describe(weights: dict[str, float]) -> str:
    """`127.0.0.1:8765 5 %, 127.0.0.1:8766 95 %` (shares 0..1 by node URL or name)."""
    return ", ".join(f"{_host(key)} {_percent(share)} %" for key, share in weights.items())


def _host(url: str) -> str:
    return urlsplit(url).netloc if "://" in url else url


def _port(url: str) -> int:
    parsed = urlsplit(url)
    return parsed.port or (443 if parsed.scheme == "https" else 80)


def _percent(share: float) -> str:
    return f"{round(share * 100, 2):g}"


class TrafficRouter:
    """Applies weights through a profile's router; `describe` says what it will ask for."""

    def __init__(
        self,
        config: RouterConfig,
        confirm: Confirm | None = None,
        nodes: Iterable[NodeEndpoint] = (),
    ) -> None:
        self.config = config
        self.confirm = confirm
        self.nodes = tuple(nodes)

    @property
    def kind(self) -> str:
        return self.config.kind

    def describe(self, weights: dict[str, float]) -> str:
        """`node-1 5 %, node-2 95 %`: the weights by node name (host:port if unknown)."""
        names = {node.url: node.name for node in self.nodes}
        return describe({names.get(url, url): w for url, w in self._by_url(weights).items()})

    def set_weights(self, weights: dict[str, float]) -> str:
        """Apply shares (0..1 per node URL or name); returns what was done, in words."""
        if self.kind == "none":
            raise TrafficError(NO_ROUTER)
        by_url = self._by_url(weights)
        text = self.describe(by_url)
        if self.kind == "manual":
            return self._manual(text)
        if self.kind == "commands":
            return self._command(by_url, text)
        return self._demo(by_url, text)

    def served(self) -> dict[str, dict[str, Any]]:
        """Demo only: `{url: {weight, sent, ok, failed}}` from the demo load balancer
        (other kinds know nothing: `{}`); TrafficError if it does not answer."""
        if self.kind != "demo":
            return {}
        data = self._demo_request("GET", "/router")
        urls = data.get("urls") or {str(_port(n.url)): n.url for n in self.nodes}
        counts = data.get("stats", {}).get("nodes", {})
        return {
            urls.get(port, port): {"weight": weight, **counts.get(port, {})}
            for port, weight in data.get("weights", {}).items()
        }

    # -- the kinds ----------------------------------------------------------------------

    def _by_url(self, weights: dict[str, float]) -> dict[str, float]:
        """Weights keyed by node URL; a key is a URL or a node name of the profile."""
        urls = {node.name: node.url for node in self.nodes}
        by_url: dict[str, float] = {}
        for key, share in weights.items():
            url = urls.get(key, key)
            if "://" not in url:
                known = ", ".join(urls) or "none: give node URLs"
                raise TrafficError(
                    f"“{key}” is not a node of this profile (nodes: {known}), so no weight "
                    "was set. Use the node names or URLs of the profile."
                )
            try:
                by_url[url] = float(share)
            except (TypeError, ValueError):
                raise TrafficError(f"The weight of {key} is not a number: {share!r}.") from None
        return by_url

    def _manual(self, text: str) -> str:
        ask = f"Set the load balancer's weights to: {text}, then confirm."
        if self.confirm is None:
            raise TrafficError(
                f"The traffic weights are set by hand ({text}), but nobody can confirm it "
                "here, so the rollout cannot go on. Run it from the GUI, confirm the steps "
                "(--yes) on the command line, or set a router command in the profile."
            )
        if not self.confirm(ask):
            raise TrafficError(
                f"The weights were not confirmed ({text}); nothing went on. Set them on the "
                "load balancer and retry the step, or abort the rollout."
            )
        return f"weights set by hand: {text}"

    def _command(self, by_url: dict[str, float], text: str) -> str:
        names = {node.url: node.name for node in self.nodes}
        percent = {names.get(url) or _host(url): _percent(w) for url, w in by_url.items()}
        pairs = ",".join(f"{name}={value}" for name, value in percent.items())
        document = json.dumps({name: float(value) for name, value in percent.items()})
        command = self.config.command.replace("{weights}", shlex.quote(pairs)).replace(
            "{json}", shlex.quote(document)
        )
        router = NodeEndpoint(next(iter(by_url), "http://load-balancer"), "the load balancer")
        try:
            out = run_command(
                ["/bin/sh", "-c", command], command, router, "weights", COMMAND_TIMEOUT
            )
        except ServiceError as exc:
            raise TrafficError(f"The traffic weights were not applied ({text}). {exc}") from None
        return f"{command} (exit {out.returncode}): {text}"

    def _demo(self, by_url: dict[str, float], text: str) -> str:
        body = {"weights": {str(_port(url)): share for url, share in by_url.items()}}
        self._demo_request("PUT", "/router/weights", body)
        return f"demo load balancer: {text}"

    def _demo_request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        url = self.config.control_url.rstrip("/") + path
        plain = url.startswith("http://")  # no TLS: skip building a CA store (~0.1 s)
        import httpx  # off the window's first paint (~0.1 s)

        try:
            with httpx.Client(timeout=5.0, verify=not plain) as client:
                response = client.request(method, url, json=body)
        except httpx.HTTPError as exc:
            raise TrafficError(
                f"The demo instance's load balancer at {self.config.control_url} does not "
                f"answer ({type(exc).__name__}: {exc}). The demo-server has probably exited: "
                "restart the demo instance and connect to it again."
            ) from None
        try:
            data = response.json()
        except ValueError:
            data = {"error": response.text[:300]}
        if response.status_code != 200 or not isinstance(data, dict):
            reason = data.get("error") if isinstance(data, dict) else response.text[:300]
            hint = ""
            if response.status_code == 404:
                hint = " This demo-server runs without its load balancer: start it again "
                hint += "without --no-router."
            elif "no demo node" in str(reason):
                hint = " The profile's nodes do not belong to this demo instance: connect to "
                hint += "the demo instance again."
            raise TrafficError(
                f"The demo load balancer refused the request: {reason} "
                f"(HTTP {response.status_code}).{hint}"
            )
        return data


def router_for(
    config: RouterConfig,
    *,
    confirm: Confirm | None = None,
    nodes: Iterable[NodeEndpoint] = (),
) -> TrafficRouter:
    """The traffic router of a profile; `nodes` (the profile's) allow weights by node name."""
    return TrafficRouter(config, confirm, nodes)
