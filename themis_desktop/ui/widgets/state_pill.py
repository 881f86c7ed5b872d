"""A small coloured pill that names a node's state: up, not ready, down, …"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

_COLOURS = {
    "up": ("#1f7a3a", "#e3f4e8"),
    "not ready": ("#8a5a00", "#fff2d6"),
    "unhealthy": ("#8a5a00", "#fff2d6"),
    "down": ("#a4161a", "#fde2e1"),
    "polling": ("#44546a", "#e8edf3"),
}


class StatePill(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.set_state("polling")

    def set_state(self, state: str) -> None:
        fg, bg = _COLOURS.get(state, _COLOURS["polling"])
        self.setText(f"● {state}")
        self.setProperty("state", state)
        self.setStyleSheet(
            f"color: {fg}; background: {bg}; border-radius: 9px; padding: 2px 8px;"
            " font-weight: 600;"
        )
