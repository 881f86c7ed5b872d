"""After an aborted or failed rollout: the cluster as it is (each node's version, traffic
share, whether it was restored) and a button per next step. It only renders the
`ClusterState` that core decided (`rollout_next`); a click emits the step."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from themis_desktop.core.rollout.next_steps import ClusterState, NextStep, percent
from themis_desktop.ui import palette

HEADING = {"aborted": "The rollout was aborted", "failed": "The rollout failed"}


class RolloutOutcome(QFrame):
    sig_step = Signal(object)  # NextStep

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="rolloutOutcome")
        self.setStyleSheet(
            f"#rolloutOutcome {{ background: {palette.NOTICE_FILL};"
            f" border: 1px solid {palette.NOTICE_BORDER}; border-radius: 4px; }}"
        )
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.nodes = QLabel()
        self.nodes.setWordWrap(True)
        self.steps_host = QWidget()
        self.steps_layout = QGridLayout(self.steps_host)
        self.steps_layout.setContentsMargins(0, 0, 0, 0)
        self.steps_layout.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.nodes)
        layout.addWidget(self.steps_host)
        self.state: ClusterState | None = None
        self.buttons: list[QPushButton] = []
        self.hide()

    def show_state(self, state: ClusterState | None) -> None:
        """Show `state` (None, or a rollout that neither aborted nor failed: hidden)."""
        self.state = state
        for button in self.buttons:
            button.deleteLater()
        while self.steps_layout.count():
            item = self.steps_layout.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.buttons = []
        if state is None or state.status not in HEADING:
            self.hide()
            return
        why = f": {escape(state.reason)}" if state.reason else ""
        self.heading.setText(
            f"<b>{HEADING[state.status]}</b>{why}. <b>The cluster now:</b> {escape(state.summary)}"
        )
        self.nodes.setText(" · ".join(escape(_node(n)) for n in state.nodes))
        for row, step in enumerate(state.steps):
            detail = QLabel(escape(step.detail))
            detail.setWordWrap(True)
            detail.setObjectName("muted")
            if step.action == "check":
                self.steps_layout.addWidget(QLabel(f"<b>{escape(step.title)}</b>"), row, 0)
            else:
                button = QPushButton(step.title)
                button.setAutoDefault(False)  # a step is never what Enter does
                button.setToolTip(step.detail)
                button.clicked.connect(lambda _=False, s=step: self.sig_step.emit(s))
                self.buttons.append(button)
                self.steps_layout.addWidget(button, row, 0)
            self.steps_layout.addWidget(detail, row, 1)
        self.show()

    def button_for(self, action: str) -> QPushButton | None:
        """The button of the first step doing `action`, if shown."""
        steps = [s for s in (self.state.steps if self.state else ()) if s.action != "check"]
        for step, button in zip(steps, self.buttons, strict=False):
            if step.action == action:
                return button
        return None

    def enable(self, enabled: bool) -> None:
        for button in self.buttons:
            button.setEnabled(enabled)


def _node(node) -> str:
    version = node.version or "does not answer"
    restored = ", restored from its backup" if node.restored else ""
    return f"{node.name}: {version}, {percent(node.share)} % of traffic{restored}"


__all__ = ["NextStep", "RolloutOutcome"]
