"""Overview page: one card per node of the connected profile."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.server.node_status import NodeStatus
from themis_desktop.ui.models.workspace import Workspace
from themis_desktop.ui.widgets.node_card import NodeCard

CARD_WIDTH = 320  # for choosing how many cards fit side by side
NOT_CONNECTED = (
    "Not connected to any ThemisDB node.\n"
    "Open a connection profile, or start the app with --demo to try it on the demo instance."
)


class OverviewPage(QWidget):
    TITLE = "Overview"

    sig_connect_requested = Signal()

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.cards: list[NodeCard] = []
        self._columns = 0
        self.heading = QLabel("Overview", objectName="pageTitle")
        self.summary = QLabel("", objectName="muted")
        self.empty = QWidget()
        empty_layout = QVBoxLayout(self.empty)
        self.empty_text = QLabel(NOT_CONNECTED, objectName="muted", wordWrap=True)
        empty_layout.addWidget(self.empty_text)
        connect = QPushButton("Connect…")
        connect.clicked.connect(self.sig_connect_requested)
        empty_layout.addWidget(connect, alignment=Qt.AlignmentFlag.AlignLeft)
        empty_layout.addStretch()

        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setSpacing(14)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        scroll = QScrollArea(objectName="cards")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.grid_host)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.addWidget(self.heading)
        layout.addWidget(self.summary)
        layout.addWidget(self.empty)
        layout.addWidget(scroll, 1)

        workspace.sig_profile_changed.connect(self._on_workspace_profile_changed)
        workspace.sig_node_status.connect(self._on_workspace_node_status)
        workspace.sig_connecting.connect(self._on_workspace_connecting)
        self._on_workspace_profile_changed(workspace.profile)
        self._on_workspace_connecting(workspace.connecting)

    def _on_workspace_connecting(self, text: str) -> None:
        """A connection on its way (the demo starting) is said, not "Not connected"."""
        self.empty_text.setText(text or NOT_CONNECTED)

    def _on_workspace_profile_changed(self, profile: Profile | None) -> None:
        for card in self.cards:
            card.deleteLater()
        self.cards = []
        self.empty.setVisible(profile is None)
        if profile is None:
            self.summary.setText("")
            return
        self.cards = [NodeCard(node) for node in profile.nodes]
        self._columns = 0
        self._place_cards()
        self._update_summary()

    def _place_cards(self) -> None:
        """Lay the cards out in as many columns as the page's width allows."""
        columns = max(1, min(len(self.cards), self.width() // CARD_WIDTH))
        if columns == self._columns:
            return
        self._columns = columns
        for card in self.cards:
            self.grid.removeWidget(card)
        for i, card in enumerate(self.cards):
            self.grid.addWidget(card, i // columns, i % columns, Qt.AlignmentFlag.AlignTop)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.cards:
            self._place_cards()

    def _on_workspace_node_status(self, index: int, status: NodeStatus) -> None:
        if index < len(self.cards):
            self.cards[index].show_status(status)
        self._update_summary()

    def _update_summary(self) -> None:
        profile = self.workspace.profile
        if profile is None:
            return
        statuses = [s for s in self.workspace.statuses if s is not None]
        up = sum(s.up for s in statuses)
        versions = sorted({s.version.version for s in statuses if s.version})
        parts = [f"{profile.name}", f"{len(profile.nodes)} node(s)"]
        if statuses:
            parts.append(f"{up} up, {len(statuses) - up} down")
        if versions:
            parts.append("version " + ", ".join(versions))
            if len(versions) > 1:
                parts.append("mixed versions")
        self.summary.setText(" · ".join(parts))
