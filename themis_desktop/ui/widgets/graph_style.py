"""Colours, fonts and small painting helpers shared by the version graph's items."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter

from themis_desktop.ui import palette

INK = QColor(palette.INK)
BLUE = QColor(palette.ACCENT_BLUE)
SKY = QColor(palette.SKY_BLUE)
GREEN = QColor(palette.BRIGHT_GREEN)
RED = QColor(palette.BAD_RED)
AMBER = QColor(palette.WARN_AMBER)
MUTED = QColor(palette.MUTED_TEXT)
EDGE = QColor(palette.EDGE_GREY)
BORDER = QColor(palette.BORDER_GREY)
WHITE = QColor(palette.WHITE)
PATH_FILL = QColor(palette.PATH_FILL)
CURRENT_FILL = QColor(palette.CURRENT_FILL)
TARGET_FILL = QColor(palette.TARGET_FILL)

# chip styles: (text colour, background)
CHIP = {
    "ok": (QColor(palette.OK_GREEN), QColor(palette.OK_FILL)),
    "warn": (QColor(palette.WARN_AMBER), QColor(palette.WARN_FILL)),
    "bad": (QColor(palette.BAD_RED), QColor(palette.BAD_FILL)),
    "plain": (QColor(palette.SLATE), QColor(palette.NEUTRAL_FILL)),
    "current": (QColor(palette.WHITE), QColor(palette.ACCENT_GREEN)),
    "target": (QColor(palette.WHITE), QColor(palette.ACCENT_BLUE)),
}

REVERSIBILITY_CHIP = {
    "binary-swap": ("binary swap", "ok"),
    "restore-backup": ("restore backup", "warn"),
    "reconciliation": ("reconciliation", "bad"),
}
# the rollback state an edge's tooltip names (a one-way hop is drawn dashed)
ROLLBACK_STATE_TEXT = {
    "binary-swap": "rollback by binary swap (the old binary reads the new data).",
    "restore-backup": "binary swap until the new version's first write, then restore only.",
    "reconciliation": "restore only, and later writes reconciled by hand.",
}
REVERSIBILITY_TEXT = {
    "binary-swap": "binary swap (reinstall the previous binary)",
    "restore-backup": "restore the backup taken before the hop",
    "reconciliation": "restore the backup and reconcile later writes by hand",
}


def font(pixels: int, weight: QFont.Weight = QFont.Weight.Normal) -> QFont:
    """A font of the app's family at a fixed pixel size (the scene scales, not the font)."""
    result = QFont()
    result.setPixelSize(pixels)
    result.setWeight(weight)
    return result


NAME_FONT = font(26, QFont.Weight.Bold)
SMALL_FONT = font(12)
CHIP_FONT = font(12, QFont.Weight.DemiBold)
STOP_FONT = font(13, QFont.Weight.Bold)
LABEL_FONT = font(12, QFont.Weight.Bold)

CHIP_HEIGHT = 20.0
CHIP_PAD = 6.0


_WIDTHS: dict[tuple[str, str], float] = {}


def text_width(text: str, which: QFont) -> float:
    """Measured once per text and font, so painting only looks widths up."""
    key = (text, which.key())
    if key not in _WIDTHS:
        _WIDTHS[key] = QFontMetricsF(which).horizontalAdvance(text)
    return _WIDTHS[key]


def chip_width(text: str, which: QFont = CHIP_FONT) -> float:
    return text_width(text, which) + 2 * CHIP_PAD


def draw_chip(
    painter: QPainter, x: float, y: float, text: str, style: str, which: QFont = CHIP_FONT
) -> float:
    """Draw a rounded chip with its top-left at (x, y); return its width."""
    fg, bg = CHIP[style]
    width = chip_width(text, which)
    rect = QRectF(x, y, width, CHIP_HEIGHT)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(bg)
    painter.drawRoundedRect(rect, CHIP_HEIGHT / 2, CHIP_HEIGHT / 2)
    painter.setPen(fg)
    painter.setFont(which)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    return width
