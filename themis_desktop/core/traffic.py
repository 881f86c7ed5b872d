"""How a rollout applies traffic weights to a profile's nodes (per profile).

- `none`: no router (a single node, or nobody to ask): canary and blue-green need one.
- `demo`: the demo-server's load balancer (`PUT <control>/router/weights`).
- `manual`: the app tells the admin which weights to set and waits for the confirmation.
- `commands`: a user command; `{weights}` becomes `n1=5,n2=95` (percent by node URL's
  host:port), `{json}` the weights as JSON, both shell-quoted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

import httpx

Confirm = Callable[[str], bool]
KINDS = ("none", "demo", "manual", "commands")


class TrafficError(Exception):
    """The weights could not be applied; the message says why and what to do."""


@dataclass(frozen=True)
class RouterConfig:
    kind: str = "none"
    control_url: str = ""  # demo
    command: str = ""  # commands

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown traffic router {self.kind!r} (one of {', '.join(KINDS)})")
        if self.kind == "demo" and not self.control_url:
            raise ValueError("traffic router 'demo' needs the demo-server's control URL")
        if self.kind == "commands" and not self.command:
            raise ValueError("traffic router 'commands' needs a command")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> RouterConfig:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def describe(weights: dict[str, float]) -> str:
    """`127.0.0.1:8765 5 %, 127.0.0.1:8766 95 %` (weights are shares 0..1 by node URL)."""
    return ", ".join(f"{_host(url)} {share * 100:g} %" for url, share in weights.items())


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


class TrafficRouter:
    def __init__(self, config: RouterConfig, confirm: Confirm | None = None) -> None:
        self.config = config
        self.confirm = confirm

    def set_weights(self, weights: dict[str, float]) -> str:
        """Apply shares (0..1 per node URL); returns what was done, in words."""
        kind = self.config.kind
        text = describe(weights)
        if kind == "none":
            raise TrafficError(
                "This profile has no traffic router, so traffic cannot be shifted between "
                "nodes. Set one in the profile (manual, commands) or use a rolling rollout."
            )
        if kind == "manual":
            if self.confirm is None or not self.confirm(
                f"Set the load balancer's weights to: {text}, then confirm."
            ):
                raise TrafficError(f"The weights were not confirmed ({text}); nothing went on.")
            return f"weights set by hand: {text}"
        if kind == "commands":
            return self._command(weights, text)
        return self._demo(weights, text)

    def served(self) -> dict:
        """The demo router's counters (demo only)."""
        if self.config.kind != "demo":
            return {}
        try:
            return httpx.get(f"{self.config.control_url}/router", timeout=5.0).json()
        except (httpx.HTTPError, ValueError):
            return {}

    def _demo(self, weights: dict[str, float], text: str) -> str:
        body = {"weights": {str(urlsplit(u).port): w for u, w in weights.items()}}
        try:
            response = httpx.put(
                f"{self.config.control_url}/router/weights", json=body, timeout=5.0
            )
        except httpx.HTTPError as exc:
            raise TrafficError(f"The demo router does not answer ({exc}).") from None
        if response.status_code != 200:
            try:
                reason = response.json().get("error", response.text)
            except ValueError:
                reason = response.text
            raise TrafficError(f"The demo router refused the weights: {reason[:300]}")
        return f"demo router: {text}"

    def _command(self, weights: dict[str, float], text: str) -> str:
        import shlex

        from themis_desktop.core.profiles import NodeEndpoint
        from themis_desktop.core.service_control import ServiceError, run_command

        pairs = ",".join(f"{_host(u)}={w * 100:g}" for u, w in weights.items())
        command = self.config.command.replace("{weights}", shlex.quote(pairs)).replace(
            "{json}", shlex.quote(json.dumps({_host(u): w for u, w in weights.items()}))
        )
        node = NodeEndpoint(next(iter(weights)), "router")
        try:
            out = run_command(["/bin/sh", "-c", command], command, node, "weights", 120.0)
        except ServiceError as exc:
            raise TrafficError(str(exc)) from None
        return f"{command} (exit {out.returncode}): {text}"


def router_for(config: RouterConfig, *, confirm: Confirm | None = None) -> TrafficRouter:
    return TrafficRouter(config, confirm)
