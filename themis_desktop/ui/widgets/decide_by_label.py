"""Decide by, after an upgrade: when the metrics evidence will be enough against when the
rollback band ends (`core.upgrade.decide_by`), and in amber its warning when the evidence
cannot be complete in time."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from themis_desktop.core.upgrade.decide_by import DecideBy
from themis_desktop.ui import palette


class DecideByLabel(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName("decideBy")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.decide: DecideBy | None = None
        self.hide()

    def show_decide_by(self, decide: DecideBy | None) -> None:
        """The text (hidden for None: no hop upgraded, or rolled back)."""
        self.decide = decide
        if decide is None:
            self.setText("")
            self.setToolTip("")
            self.hide()
            return
        text = f"<b>Decide by</b> — {escape(decide.text)}"
        if decide.warning:
            warning = escape(decide.warning)
            text += f"<br><span style='color:{palette.WARNING_ORANGE}'>⚠ {warning}</span>"
        self.setText(text)
        self.setProperty("warning", bool(decide.warning))
        self.setToolTip(
            "When the metrics verdict will have enough evidence, and when the rollback band "
            "ends: decide before then to roll back cheaply."
        )
        self.show()
