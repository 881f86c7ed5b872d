"""A small coloured pill that names a node's state: up, not ready, down, …

Short of room it elides its text ("● node-1 v1.…") and shows the whole of it in its
tooltip; it never cuts a word off silently."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from themis_desktop.ui.widgets.elided_label import ElidedLabel

_COLOURS = {
    "up": ("#1f7a3a", "#e3f4e8"),
    "not ready": ("#8a5a00", "#fff2d6"),
    "unhealthy": ("#8a5a00", "#fff2d6"),
    "down": ("#a4161a", "#fde2e1"),
    "polling": ("#44546a", "#e8edf3"),
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
