"""The key under the version graph, part of the scene so that exported pictures carry it."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from themis_desktop.ui.widgets import graph_style as gs

ROW_H = 26.0
GAP = 22.0
# (sample, caption): a sample is a kind of drawing, chips are "chip:<style>:<text>"
ENTRIES = (
    ("current", "current version"),
    ("target", "target"),
    ("path", "planned path"),
    ("stop", "numbered stop"),
    ("skip", "skip-level hop"),
    ("ponr", "point of no return"),
    ("chip:ok:guide ✓", "upstream migration guide"),
    ("chip:warn:3 breaking", "breaking changes"),
    ("chip:ok:binary swap|chip:warn:restore backup|chip:bad:reconciliation", "how to roll back"),
    ("contested", "contested: may never have shipped"),
    ("chip:bad:known-bad", "never a stop"),
    ("chip:warn:4 known issues", "known issues: plan around them"),
)


def _sample_width(sample: str) -> float:
    if sample.startswith("chip:"):
        parts = [part.split(":", 2)[2] for part in sample.split("|")]
        return sum(gs.chip_width(text) + 4 for text in parts) - 4
    if sample == "contested":
        return gs.chip_width("contested") + 4 + 34.0
    return {"stop": 20.0, "ponr": 12.0}.get(sample, 34.0)


class LegendItem(QGraphicsItem):
    """Flows its entries into as many rows as `max_width` needs."""

    def __init__(self) -> None:
        super().__init__()
        self._placed: list[tuple[QPointF, str, str]] = []
        self._size = QRectF()
        self.reflow(600)

    @staticmethod
    def flow(max_width: float) -> tuple[list[tuple[QPointF, str, str]], QSizeF]:
        """Where each entry goes when the key may be `max_width` wide, and the key's size."""
        placed, x, y, widest = [], 0.0, 0.0, 0.0
        for sample, caption in ENTRIES:
            width = _sample_width(sample) + 6 + gs.text_width(caption, gs.SMALL_FONT)
            if x and x + width > max_width:
                x, y = 0.0, y + ROW_H
            placed.append((QPointF(x, y), sample, caption))
            x += width + GAP
            widest = max(widest, x - GAP)
        return placed, QSizeF(widest, y + ROW_H)

    def reflow(self, max_width: float) -> None:
        self.prepareGeometryChange()
        self._placed, size = self.flow(max_width)
        self._size = QRectF(QPointF(0, 0), size)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._size

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for origin, sample, caption in self._placed:
            x = origin.x() + self._draw_sample(painter, origin, sample) + 6
            painter.setPen(gs.MUTED)
            painter.setFont(gs.SMALL_FONT)
            painter.drawText(QRectF(x, origin.y(), 400, 18), Qt.AlignmentFlag.AlignVCenter, caption)

    @staticmethod
    def _draw_sample(painter: QPainter, origin: QPointF, sample: str) -> float:
        x, mid = origin.x(), origin.y() + 9
        if sample.startswith("chip:"):
            for part in sample.split("|"):
                _, style, text = part.split(":", 2)
                x += gs.draw_chip(painter, x, origin.y(), text, style) + 4
            return x - 4 - origin.x()
        if sample in ("current", "target"):
            colour, fill = (
                (gs.GREEN, gs.CURRENT_FILL) if sample == "current" else (gs.SKY, gs.TARGET_FILL)
            )
            painter.setPen(QPen(colour, 3))
            painter.setBrush(fill)
            painter.drawRoundedRect(QRectF(x + 1, origin.y() + 1, 32, 16), 5, 5)
        elif sample == "contested":  # a dashed amber box and its chip, as the node draws them
            pen = QPen(gs.AMBER, 2, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(gs.WHITE)
            painter.drawRoundedRect(QRectF(x + 1, origin.y() + 1, 32, 16), 5, 5)
            gs.draw_chip(painter, x + 38, origin.y(), "contested", "warn")
        elif sample == "stop":
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(gs.BLUE)
            painter.drawEllipse(QRectF(x, origin.y() - 1, 20, 20))
            painter.setPen(gs.WHITE)
            painter.setFont(gs.STOP_FONT)
            painter.drawText(QRectF(x, origin.y() - 1, 20, 20), Qt.AlignmentFlag.AlignCenter, "1")
        elif sample == "ponr":
            painter.setPen(QPen(gs.RED, 4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            painter.drawLine(QPointF(x + 6, origin.y()), QPointF(x + 6, origin.y() + 18))
        else:
            pen = QPen(gs.BLUE, 5) if sample == "path" else QPen(gs.RED, 3.5)
            if sample == "skip":
                pen.setStyle(Qt.PenStyle.CustomDashLine)
                pen.setDashPattern([3, 2])
            painter.setPen(pen)
            painter.drawLine(QPointF(x, mid), QPointF(x + 34, mid))
        return _sample_width(sample)
