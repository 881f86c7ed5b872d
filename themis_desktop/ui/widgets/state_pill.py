"""A small coloured pill that names a node's state: up, not ready, down, …

Short of room it elides its text ("● node-1 v1.…") and shows the whole of it in its
tooltip; it never cuts a word off silently."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from themis_desktop.ui import palette
from themis_desktop.ui.widgets.elided_label import ElidedLabel

_COLOURS = {
    "up": (palette.OK_GREEN, palette.OK_FILL),
    "not ready": (palette.WARN_AMBER, palette.WARN_FILL),
    "unhealthy": (palette.WARN_AMBER, palette.WARN_FILL),
    "down": (palette.BAD_RED, palette.BAD_FILL),
    "polling": (palette.SLATE, palette.NEUTRAL_FILL),
}


class StatePill(ElidedLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.set_state("polling")

    def set_state(self, state: str) -> None:
        fg, bg = _COLOURS.get(state, _COLOURS["polling"])
        self.setText(f"● {state}")
        self.setProperty("state", state)
        self.set_colours(fg, bg)

    def set_colours(self, fg: str, bg: str) -> None:
        self.setStyleSheet(
            f"color: {fg}; background: {bg}; border-radius: 9px; padding: 2px 8px;"
            " font-weight: 600;"
        )
        self.updateGeometry()
        self._elide()
