"""A hop drawn between two line boxes: sequential, wrapped to the next row, skip-level, patch."""

from __future__ import annotations

import math
from itertools import pairwise

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPainterPathStroker, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from themis_desktop.core.versions.upgrade_path import Hop
from themis_desktop.ui.widgets import graph_style as gs

ARROW = 11.0
LABEL_H = 20.0
PONR_TEXT = "point of no return"
SKIP_TEXT = "skip-level: not recommended"
ENTRY = 40.0  # skip and patch hops leave and enter a box this far from its left side


def _polyline(points: list[QPointF], radius: float = 10.0) -> QPainterPath:
    """An orthogonal path through `points` with rounded corners."""
    points = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    path = QPainterPath(points[0])
    for before, corner, after in zip(points, points[1:], points[2:], strict=False):
        r_in = min(radius, QLineF(before, corner).length() / 2)
        r_out = min(radius, QLineF(corner, after).length() / 2)
        path.lineTo(QLineF(corner, before).pointAt(r_in / QLineF(corner, before).length()))
        path.quadTo(corner, QLineF(corner, after).pointAt(r_out / QLineF(corner, after).length()))
    path.lineTo(points[-1])
    return path


def _label_width(text: str) -> float:
    return gs.chip_width(text, gs.LABEL_FONT) + 6  # room for hinting at odd zoom levels


def _label_rect(centre: QPointF, text: str) -> QRectF:
    width = _label_width(text)
    return QRectF(centre.x() - width / 2, centre.y() - LABEL_H / 2, width, LABEL_H)


class HopEdgeItem(QGraphicsItem):
    """An arrow into the line `into`. `hop` is the plan's hop when this edge is on the path."""

    def __init__(self, into: tuple[int, int] | None, kind: str = "sequential") -> None:
        super().__init__()
        self.into = into
        self.kind = kind  # "sequential" | "skip-level" | "patch"
        self.hop: Hop | None = None
        self.on_path = kind != "sequential"
        self.point_of_no_return = False
        self.one_way = False  # the catalogue: after its first write only a restore undoes it
        self._path = QPainterPath()
        self._stroke = QPainterPath()
        self._tip, self._direction, self._anchor = QPointF(), QPointF(1, 0), QPointF()
        self._marker = QLineF()  # the red bar across the edge at the point of no return
        self._ponr_label = QRectF()
        self._label: QRectF | None = None  # the skip-level warning
        self._bounds = QRectF()
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setZValue(1.5 if kind == "skip-level" else 1)

    # geometry -----------------------------------------------------------------------------

    def route_sequential(self, a: QRectF, b: QRectF) -> None:
        """Straight within a row; down, left and into the next row's first box otherwise."""
        tip = QPointF(b.left(), b.center().y())
        if abs(a.top() - b.top()) < 1:
            gap = (a.right() + b.left()) / 2
            path = _polyline([QPointF(a.right(), a.center().y()), tip])
            self._anchor = QPointF(gap, a.center().y())
            self._marker = QLineF(gap, a.top() - 4, gap, a.bottom() + 4)
            self._ponr_label = _label_rect(QPointF(gap, a.bottom() + 8 + LABEL_H / 2), PONR_TEXT)
        else:
            lane_y, lane_x = (a.bottom() + b.top()) / 2, b.left() - 18
            path = _polyline(
                [
                    QPointF(a.center().x(), a.bottom()),
                    QPointF(a.center().x(), lane_y),
                    QPointF(lane_x, lane_y),
                    QPointF(lane_x, b.center().y()),
                    tip,
                ]
            )
            mid = (a.center().x() + lane_x) / 2
            self._anchor = QPointF(mid, lane_y)
            self._marker = QLineF(mid, lane_y - 12, mid, lane_y + 12)
            width = _label_width(PONR_TEXT)
            self._ponr_label = _label_rect(QPointF(mid + 10 + width / 2, lane_y), PONR_TEXT)
        self._finish(path, tip, QPointF(1, 0))

    def route_skip(self, a: QRectF, b: QRectF, row_gap: float, left_x: float) -> None:
        """Orthogonal through the gaps between rows: over the row when both boxes share it,
        through the lane below when `b` is on the next row, down the left margin otherwise."""
        start_x, end_x = a.left() + ENTRY, b.left() + ENTRY
        if abs(a.top() - b.top()) < 1:
            lane = a.top() - row_gap / 2 + 8
            points = [QPointF(start_x, a.top()), QPointF(start_x, lane), QPointF(end_x, lane)]
            self._marker = QLineF(start_x - 12, a.top() - 10, start_x + 12, a.top() - 10)
        else:
            lane_a, lane_b = a.bottom() + row_gap / 2 + 8, b.top() - row_gap / 2 + 8
            points = [QPointF(start_x, a.bottom()), QPointF(start_x, lane_a)]
            if lane_b - lane_a > 1:  # rows in between: go round them on the left
                points += [QPointF(left_x, lane_a), QPointF(left_x, lane_b)]
            points.append(QPointF(end_x, lane_b))
            self._marker = QLineF(start_x - 12, a.bottom() + 10, start_x + 12, a.bottom() + 10)
        tip = QPointF(end_x, b.top())
        points.append(tip)
        # the labels sit on the longest horizontal stretch, side by side
        segments = [(p, q) for p, q in pairwise(points) if p.y() == q.y()]
        p, q = max(segments, key=lambda s: abs(s[1].x() - s[0].x()), default=(points[0], tip))
        centre = (p + q) / 2
        skip_w = _label_width(SKIP_TEXT)
        ponr_w = _label_width(PONR_TEXT) + 6 if self.point_of_no_return else 0
        self._label = _label_rect(centre - QPointF(ponr_w / 2, 0), SKIP_TEXT)
        self._ponr_label = _label_rect(centre + QPointF(skip_w / 2 + 3, 0), PONR_TEXT)
        self._anchor = self._label.center()
        self._finish(_polyline(points), tip, QPointF(0, 1))

    def route_patch(self, a: QRectF) -> None:
        """A loop on the box's top-left: an upgrade within one line."""
        start, end = QPointF(a.left() + 22, a.top()), QPointF(a.left() + 70, a.top())
        path = QPainterPath(start)
        path.cubicTo(QPointF(a.left() + 8, a.top() - 46), QPointF(a.left() + 84, a.top() - 46), end)
        self._anchor = QPointF(a.left() + 46, a.top() - 34)
        self._marker = QLineF(self._anchor.x(), a.top() - 44, self._anchor.x(), a.top() - 24)
        self._ponr_label = _label_rect(QPointF(a.left() + 46, a.top() - 58), PONR_TEXT)
        self._finish(path, end, QPointF(0.3, 1))

    def _finish(self, path: QPainterPath, tip: QPointF, direction: QPointF) -> None:
        self.prepareGeometryChange()
        length = math.hypot(direction.x(), direction.y()) or 1.0
        self._path, self._tip = path, tip
        self._direction = QPointF(direction.x() / length, direction.y() / length)
        stroker = QPainterPathStroker()
        stroker.setWidth(16)
        self._stroke = stroker.createStroke(path)
        bounds = path.boundingRect().adjusted(-ARROW, -ARROW, ARROW, ARROW)
        bounds = bounds.united(self._ponr_label).united(
            QRectF(self._marker.p1(), self._marker.p2())
        )
        self._bounds = bounds.united(self._label) if self._label else bounds
        self.update()

    def set_state(self, hop: Hop | None, on_path: bool, point_of_no_return: bool) -> None:
        self.hop, self.on_path, self.point_of_no_return = hop, on_path, point_of_no_return
        self.update()

    # painting -----------------------------------------------------------------------------

    def boundingRect(self) -> QRectF:
        return self._bounds.adjusted(-4, -4, 4, 4)

    def shape(self) -> QPainterPath:
        shape = QPainterPath(self._stroke)
        for rect in (self._label, self._ponr_label if self.point_of_no_return else None):
            if rect is not None:
                shape.addRoundedRect(rect, 10, 10)
        return shape

    def anchor(self) -> QPointF:
        """A point on the edge, clear of the boxes, in scene coordinates (e.g. to click it)."""
        return self._anchor

    def pen(self) -> QPen:
        """The pen the edge is drawn with: its colour and dash pattern show its kind."""
        if self.kind == "skip-level":
            pen = QPen(gs.RED, 3.5, Qt.PenStyle.CustomDashLine)
            pen.setDashPattern([3, 2])
            return pen
        if self.on_path:
            return QPen(gs.BLUE, 5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        if self.one_way:  # restore only once the new version writes
            return QPen(gs.EDGE, 2, Qt.PenStyle.DashLine)
        return QPen(gs.EDGE, 2)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = self.pen()
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        d = self._direction
        normal = QPointF(-d.y(), d.x())
        size = ARROW + pen.widthF()
        back = self._tip - d * size
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(pen.color())
        painter.drawPolygon(
            QPolygonF([self._tip, back + normal * size * 0.5, back - normal * size * 0.5])
        )
        if self._label:
            self._draw_label(painter, self._label, SKIP_TEXT, filled=False)
        if self.point_of_no_return:
            painter.setPen(QPen(gs.RED, 4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            painter.drawLine(self._marker)
            self._draw_label(painter, self._ponr_label, PONR_TEXT, filled=True)

    @staticmethod
    def _draw_label(painter: QPainter, rect: QRectF, text: str, filled: bool) -> None:
        painter.setPen(QPen(gs.RED, 1.2))
        painter.setBrush(gs.RED if filled else gs.WHITE)
        painter.drawRoundedRect(rect, LABEL_H / 2, LABEL_H / 2)
        painter.setPen(gs.WHITE if filled else gs.RED)
        painter.setFont(gs.LABEL_FONT)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
