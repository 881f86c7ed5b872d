"""A node on the Rollout page: name, version and health, its role in the rollout (by
colour) and its share of the traffic."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QVBoxLayout

from themis_desktop.core.server.node_status import NodeStatus
from themis_desktop.ui import palette

ROLE_COLOUR = {
    "stable": palette.ACCENT_BLUE,
    "blue": palette.ACCENT_BLUE,
    "canary": palette.BUSY_ORANGE,
    "green": palette.ACCENT_GREEN,
    "green (serving)": palette.ACCENT_GREEN,
    "upgraded": palette.ACCENT_GREEN,
    "stable (restored)": palette.SLATE,
}


class NodeTile(QFrame):
    """One node: name, version, health, role, and its share of the traffic."""

    def __init__(self, name: str) -> None:
        super().__init__(objectName="nodeTile")
        self.name = name
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(f"<b>{name}</b>")
        self.version = QLabel("version ?")
        self.health = QLabel("…")
        self.role = QLabel("stable")
        self.traffic = QProgressBar()
        self.traffic.setRange(0, 100)
        self.traffic.setFormat("%p % of traffic")
        top = QHBoxLayout()
        for label in (self.title, self.version, self.health):
            top.addWidget(label)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.role)
        layout.addWidget(self.traffic)
        self.setMinimumWidth(170)

    def show_status(self, status: NodeStatus) -> None:
        self.version.setText(f"v{status.version.version}" if status.version else "version ?")
        self.health.setText(status.state)

    def show_role(self, role: str, share: float) -> None:
        colour = ROLE_COLOUR.get(role, palette.SLATE)
        self.role.setText(f"<span style='color:{colour}'>● {role}</span>")
        self.traffic.setValue(round(share))
        self.setStyleSheet(f"QFrame#nodeTile {{ border: 2px solid {colour}; border-radius: 6px; }}")
