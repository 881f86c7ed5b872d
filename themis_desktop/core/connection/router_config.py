"""A profile's traffic router setting: which kind of router a rollout asks to shift traffic
(see `traffic` for what each kind does). Profiles store it; it imports neither profiles nor
the router itself, so both can import it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from themis_desktop.core.connection.service_config import StoredConfig

Kind = Literal["none", "demo", "manual", "commands"]
KINDS: tuple[Kind, ...] = ("none", "demo", "manual", "commands")


@dataclass(frozen=True)
class RouterConfig(StoredConfig):
    """A profile's traffic router: its kind and what that kind needs."""

    kind: Kind = "none"
    control_url: str = ""  # demo
    command: str = ""  # commands

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown traffic router {self.kind!r} (one of {', '.join(KINDS)})")
        if self.kind == "demo" and not self.control_url:
            raise ValueError("traffic router 'demo' needs the demo-server's control URL")
        if self.kind == "commands" and not self.command:
            raise ValueError("traffic router 'commands' needs a command")
