"""Colours, fonts and small painting helpers shared by the version graph's items."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter

INK = QColor("#1f2a37")
BLUE = QColor("#2a5db0")
SKY = QColor("#4c9aff")
GREEN = QColor("#3ccf91")
RED = QColor("#a4161a")
AMBER = QColor("#8a5a00")
MUTED = QColor("#607080")
EDGE = QColor("#9aa8b8")
BORDER = QColor("#c3ccd6")
WHITE = QColor("#ffffff")
PATH_FILL = QColor("#f3f7ff")
CURRENT_FILL = QColor("#e6f8ef")
TARGET_FILL = QColor("#e8f1ff")

# chip styles: (text colour, background)
CHIP = {
    "ok": (QColor("#1f7a3a"), QColor("#e3f4e8")),
    "warn": (QColor("#8a5a00"), QColor("#fff2d6")),
    "bad": (QColor("#a4161a"), QColor("#fde2e1")),
    "plain": (QColor("#44546a"), QColor("#e8edf3")),
    "current": (QColor("#ffffff"), QColor("#1f9d68")),
    "target": (QColor("#ffffff"), QColor("#2a5db0")),
}

REVERSIBILITY_CHIP = {
    "binary-swap": ("binary swap", "ok"),
    "restore-backup": ("restore backup", "warn"),
    "reconciliation": ("reconciliation", "bad"),
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
