"""The header strip: connected profile, a demo badge and one chip per node; below them,
while a session is open, its health state (the badge) with the reason it rests on, and the
rollback-window countdown. Text that does not fit is elided with the whole in its tooltip,
except the node chips: they are never shortened, and when one row has no room for them
they wrap onto a second row (`_FlowLayout`)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.server.node_status import NodeStatus
from themis_desktop.ui.widgets.elided_label import ElidedLabel
from themis_desktop.ui.widgets.node_card import version_label
from themis_desktop.ui.widgets.rollback_countdown import RollbackCountdown
from themis_desktop.ui.widgets.state_pill import StatePill


class NodeStrip(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("header")
        self.profile_label = ElidedLabel("Not connected", objectName="headerTitle")
        self.demo_badge = QLabel("demo instance", objectName="demoBadge")
        self.demo_badge.hide()
        self.countdown = RollbackCountdown()
        self.connect_button = QPushButton("Connection…")
        self.connect_button.setToolTip("Manage connection profiles (Ctrl+K)")
        self._chips_host = QWidget()
        self._chips = _FlowLayout(self._chips_host)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)  # more rows when narrower
        self._chips_host.setSizePolicy(policy)
        self.chips: list[StatePill] = []
        self.health_badge = StatePill()
        self.health_badge.setObjectName("healthBadge")
        self.health_badge.hide()
        self.health_reason = ElidedLabel("", objectName="muted")
        self.health_reason.hide()
        self.health = None  # SessionHealth | None
        self.profile: Profile | None = None
        self.connecting = ""  # a connection on its way ("Starting the demo instance…")

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.profile_label)
        top.addWidget(self.demo_badge)
        top.addSpacing(12)
        top.addWidget(self._chips_host, 1)
        top.addWidget(self.connect_button)
        self.session_row = QWidget()
        second = QHBoxLayout(self.session_row)
        second.setContentsMargins(0, 0, 0, 0)
        second.addWidget(self.health_badge)
        second.addWidget(self.health_reason, 1)
        second.addSpacing(8)
        second.addWidget(self.countdown)
        second.addStretch()  # alone (no health badge), the countdown keeps its own width
        self.session_row.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 6, 16, 6)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.session_row)
        self.countdown.installEventFilter(self)  # the row follows the countdown's visibility

    def eventFilter(self, watched, event) -> bool:
        if watched is self.countdown and event.type() in (
            event.Type.ShowToParent,
            event.Type.HideToParent,
        ):
            self._update_session_row()
        return super().eventFilter(watched, event)

    def show_profile(self, profile: Profile | None) -> None:
        for chip in self.chips:
            chip.deleteLater()
        self.chips = []
        self.profile = profile
        self._show_title()
        self.demo_badge.setVisible(bool(profile and profile.demo))
        for node in profile.nodes if profile else ():
            chip = StatePill()
            chip.setText(f"● {node.name}")
            chip.setToolTip(node.url)
            self._chips.addWidget(chip)
            self.chips.append(chip)

    def show_connecting(self, text: str) -> None:
        """What a connection on its way is doing, shown instead of "Not connected"."""
        self.connecting = text
        self._show_title()

    def _show_title(self) -> None:
        if self.profile is not None:
            self.profile_label.setText(self.profile.name)
        else:
            self.profile_label.setText(self.connecting or "Not connected")

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

    def show_health(self, health) -> None:
        """The session's one health state (`core.health_state.SessionHealth`), or None."""
        self.health = health
        if health is None:
            self.health_badge.hide()
            self.health_reason.hide()
        else:
            self.health_badge.setText(f"● {health.title}")
            self.health_badge.setProperty("state", health.level)
            self.health_badge.set_colours(health.colour, health.background)
            reasons = "\n".join(f"• {r.text}" for r in health.reasons)
            self.health_badge.setToolTip(
                f"Health of the upgrade session: {health.title}\n{reasons}"
            )
            self.health_reason.setText(health.headline)
            self.health_reason.setToolTip(reasons)
            self.health_badge.show()
            self.health_reason.show()
        self._update_session_row()

    def _update_session_row(self) -> None:
        self.session_row.setVisible(self.health is not None or not self.countdown.isHidden())


class _FlowLayout(QLayout):
    """Its widgets left to right at their size hint, wrapping onto the next row when the
    row is full: no widget is made narrower than its hint (wider than the whole row only
    when a single one is). Its size hint is its widest widget, so the header's title and
    buttons keep their room and the chips take what is left."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self.setContentsMargins(0, 0, 0, 0)
        self.setSpacing(spacing)
        self._items: list[QLayoutItem] = []

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize(0, 0)
        for item in self._shown():
            size = size.expandedTo(item.sizeHint())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _shown(self) -> list[QLayoutItem]:
        return [i for i in self._items if not (i.widget() and i.widget().isHidden())]

    def _arrange(self, rect: QRect, move: bool) -> int:
        """Place (or only measure) the rows in `rect`; returns the height they take."""
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, row_height = area.x(), area.y(), 0
        gap = self.spacing()
        for item in self._shown():
            hint = item.sizeHint()
            if x > area.x() and x + hint.width() > area.right() + 1:  # the row is full
                x, y, row_height = area.x(), y + row_height + gap, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + gap
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y() + m.bottom()
