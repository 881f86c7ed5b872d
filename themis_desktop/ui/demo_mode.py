"""Demo mode: start the demo instance in the background and connect to it."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.connection.router_config import RouterConfig
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.demo.launcher import (
    TOKEN_VARIABLE,
    DemoLauncher,
    LaunchedNode,
    app_demo_launcher,
)
from themis_desktop.ui.models.workspace import Workspace

logger = logging.getLogger(__name__)

DEMO_PROFILE = "Demo instance"
STARTING = "Starting the demo instance…"


class DemoMode(QObject):
    """Owns the demo server process and its temporary data dir for the app's lifetime."""

    sig_ready = Signal(object)  # Profile
    sig_failed = Signal(str)

    def __init__(
        self,
        workspace: Workspace,
        nodes: int = 3,
        version: str = "1.7.0",
        data_size_mb: float = 64,
        parent: QObject | None = None,
        *,
        launcher: DemoLauncher | None = None,
    ) -> None:
        """`launcher`: one already spawned (`app_demo_launcher`), else one is made here."""
        super().__init__(parent)
        self.workspace = workspace
        self.launcher = launcher or app_demo_launcher(version, nodes, data_size_mb)
        self.data_dir = self.launcher.data_dir
        self.token = self.launcher.env[TOKEN_VARIABLE]

    def start(self) -> None:
        """Start the demo cluster in the background; the pages say so until it answers."""
        self.workspace.set_connecting(STARTING)
        self.workspace.sig_message.emit(STARTING)
        self.workspace.tasks.run(
            self.launcher.start,
            on_done=self._on_launcher_started,
            on_failed=self._on_launcher_failed,
        )

    def _on_launcher_started(self, nodes: list[LaunchedNode]) -> None:
        logger.info("Demo instance started: %d nodes, data in %s", len(nodes), self.data_dir)
        control = self.launcher.control_url
        profile = Profile(
            DEMO_PROFILE,
            nodes=tuple(
                NodeEndpoint(
                    n.url,
                    name=n.name,
                    data_dir=str(n.data_dir / "data"),
                    config_path=str(n.data_dir / "config.yaml"),
                    log_source=f"file:{n.data_dir / 'themis_server.log'}",
                )
                for n in nodes
            ),
            demo=True,
            service=ServiceConfig(kind="demo", control_url=control) if control else ServiceConfig(),
            router=RouterConfig(kind="demo", control_url=control) if control else RouterConfig(),
        )
        self.workspace.tokens.set(DEMO_PROFILE, self.token, persist=False)
        self.workspace.connect_profile(profile)
        self.workspace.sig_message.emit(f"Demo instance started: {len(nodes)} nodes")
        self.sig_ready.emit(profile)

    def _on_launcher_failed(self, error: Exception) -> None:
        self.workspace.set_connecting(f"The demo instance could not start: {error}")
        self.workspace.sig_message.emit(f"The demo instance could not start: {error}")
        self.sig_failed.emit(str(error))

    def stop(self) -> None:
        self.launcher.discard()
