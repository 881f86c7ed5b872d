"""The header strip: connected profile, a demo badge, and one chip per node."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from themis_desktop.core.node_status import NodeStatus
from themis_desktop.core.profiles import Profile
from themis_desktop.ui.widgets.node_card import version_label
from themis_desktop.ui.widgets.rollback_countdown import RollbackCountdown
from themis_desktop.ui.widgets.state_pill import StatePill


class NodeStrip(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("header")
        self.profile_label = QLabel("Not connected", objectName="headerTitle")
        self.demo_badge = QLabel("demo instance", objectName="demoBadge")
        self.demo_badge.hide()
        self.countdown = RollbackCountdown()
        self.connect_button = QPushButton("Connection…")
        self.connect_button.setToolTip("Manage connection profiles (Ctrl+K)")
        self._chips_host = QWidget()
        self._chips = QHBoxLayout(self._chips_host)
        self._chips.setContentsMargins(0, 0, 0, 0)
        self.chips: list[StatePill] = []
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 8, 16, 8)
        layout.addWidget(self.profile_label)
        layout.addWidget(self.demo_badge)
        layout.addSpacing(12)
        layout.addWidget(self._chips_host)
        layout.addStretch()
        layout.addWidget(self.countdown)
        layout.addSpacing(8)
        layout.addWidget(self.connect_button)

    def show_profile(self, profile: Profile | None) -> None:
        for chip in self.chips:
            chip.deleteLater()
        self.chips = []
        self.profile_label.setText(profile.name if profile else "Not connected")
        self.demo_badge.setVisible(bool(profile and profile.demo))
        for node in profile.nodes if profile else ():
            chip = StatePill()
            chip.setText(f"● {node.name}")
            chip.setToolTip(node.url)
            self._chips.addWidget(chip)
            self.chips.append(chip)

    def show_status(self, index: int, status: NodeStatus) -> None:
        if index >= len(self.chips):
            return
        chip = self.chips[index]
        chip.set_state(status.state)
        version = f" {version_label(status)}" if status.version else ""
        chip.setText(f"● {status.name}{version}")
        chip.setToolTip(
            f"{status.url}\n{status.state}" + (f"\n{status.error}" if status.error else "")
        )
