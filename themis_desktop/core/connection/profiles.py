"""Connection profiles: which nodes make up an installation and how to reach them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from themis_desktop.core.connection.router_config import RouterConfig
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.server.urls import normalize_url

if TYPE_CHECKING:
    from themis_desktop.core.server.client import ThemisClient


@dataclass(frozen=True)
class NodeEndpoint:
    """One node: its URL and, for file-level backups, its data dir and config on this host."""

    url: str
    name: str = ""
    data_dir: str | None = None
    config_path: str | None = None
    version_override: str | None = None
    log_source: str = ""  # a LogSource spec (core/logs/watch.py): file:P, journald:U, command:C

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", normalize_url(self.url))
        if not self.name:
            object.__setattr__(self, "name", self.url.split("://", 1)[1])


@dataclass(frozen=True)
class Profile:
    """A named installation. Holds no secret: the token is in the `TokenStore`."""

    name: str
    nodes: tuple[NodeEndpoint, ...] = field(default_factory=tuple)
    verify_tls: bool = True
    ca_file: str | None = None
    demo: bool = False
    uses_auth: bool = False  # its nodes want a bearer token (kept in the TokenStore, not here)
    service: ServiceConfig = field(default_factory=ServiceConfig)  # how to stop/start/install
    router: RouterConfig = field(default_factory=RouterConfig)  # how rollouts shift traffic
    id: int | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a profile needs a name")
        object.__setattr__(self, "nodes", tuple(self.nodes))

    def settings(self) -> dict[str, Any]:
        """Every setting as plain data (`profiles show --json`). No secret: `uses_auth`
        only says that the nodes want a token."""
        return {
            "name": self.name,
            "nodes": [
                {
                    "name": node.name,
                    "url": node.url,
                    "data_dir": node.data_dir,
                    "config": node.config_path,
                    "version_override": node.version_override,
                    "log_source": node.log_source or None,
                }
                for node in self.nodes
            ],
            "tls": {"verify": self.verify_tls, "ca_file": self.ca_file},
            "uses_auth": self.uses_auth,
            "service": asdict(self.service),
            "router": asdict(self.router),
            "demo": self.demo,
        }

    def with_id(self, profile_id: int) -> Profile:
        return replace(self, id=profile_id)

    def client(self, node: NodeEndpoint, token: str | None, timeout: float = 5.0) -> ThemisClient:
        from themis_desktop.core.server.client import ThemisClient  # httpx: not at the start

        return ThemisClient(
            node.url, token, verify_tls=self.verify_tls, ca_file=self.ca_file, timeout=timeout
        )
