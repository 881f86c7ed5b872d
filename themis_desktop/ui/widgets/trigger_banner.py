"""The red banner shown when a rollback trigger fires: what, the numbers, and the way to
the rollback procedure."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from themis_desktop.core.metrics_verdict import Trigger


class TriggerBanner(QFrame):
    sig_open_rollback = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent, objectName="triggerBanner")
        self.setStyleSheet(
            "#triggerBanner { background: #fde2e1; border: 1px solid #a4161a; border-radius: 4px; }"
            "#triggerBanner QLabel { color: #5c0a0d; }"
        )
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setOpenExternalLinks(False)
        self.text.linkActivated.connect(lambda _: self.sig_open_rollback.emit())
        dismiss = QPushButton("Dismiss")
        dismiss.setToolTip("Hide the banner (the trigger stays in the journal)")
        dismiss.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(dismiss)
        self.trigger: Trigger | None = None
        self.hide()

    def show_trigger(self, trigger: Trigger) -> None:
        self.trigger = trigger
        self.text.setText(
            "<b>Rollback trigger: performance degradation.</b> "
            f"{escape(trigger.summary)}. The verdict is advisory: decide with the evidence, "
            'and if you roll back, follow the <a href="#rollback">rollback procedure</a>.'
        )
        self.show()
