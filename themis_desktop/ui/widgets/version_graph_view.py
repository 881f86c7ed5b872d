"""The version graph: release lines in rows per major (wrapped), hops as arrows, the plan on top.

Zoom with Ctrl+wheel or +/-, pan by dragging, `F` fits, arrows move the selection, Enter
opens the selected line. The scene's items are built once; a plan only changes their state.
"""

from __future__ import annotations

from itertools import groupby, pairwise
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, QSizeF, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QMouseEvent, QPainter, QResizeEvent, QWheelEvent
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QApplication, QGraphicsScene, QGraphicsView, QWidget

from themis_desktop.core.versions.releases import Catalogue, Release, VersionError
from themis_desktop.core.versions.upgrade_path import Hop, Plan, plan_upgrade
from themis_desktop.ui.widgets import graph_style as gs
from themis_desktop.ui.widgets.graph_edge_item import HopEdgeItem
from themis_desktop.ui.widgets.graph_legend_item import LegendItem
from themis_desktop.ui.widgets.graph_node_item import NODE_H, NODE_W, LineNodeItem

MARGIN, TOP, GAP_X, GAP_Y = 48.0, 40.0, 56.0, 66.0
MIN_SCALE, MAX_SCALE, FIT_CAP = 0.15, 4.0, 1.25


class VersionGraphView(QGraphicsView):
    sig_line_activated = Signal(object)  # ReleaseLine: clicked, or Enter on the selection
    sig_hop_clicked = Signal(object)  # Hop: an edge was clicked

    def __init__(self, catalogue: Catalogue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalogue = catalogue
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setBackgroundBrush(gs.WHITE)
        lines = catalogue.lines
        self.nodes = {line.key: LineNodeItem(line, i == 0) for i, line in enumerate(lines)}
        self.edges = {b.key: HopEdgeItem(b.key) for _, b in pairwise(lines)}
        for (a, b), edge in zip(pairwise(lines), self.edges.values(), strict=True):
            edge.one_way = b.reversibility != "binary-swap"  # drawn dashed: restore only
            edge.setToolTip(
                f"{a.name} → {b.name}: {gs.ROLLBACK_STATE_TEXT.get(b.reversibility, '')}"
                f"{' ' + b.reversibility_note if b.reversibility_note else ''}\n"
                "Click for this hop's summary."
            )
        self.overlays: list[HopEdgeItem] = []  # skip-level or patch hop of the shown plan
        self.legend = LegendItem()
        for item in [*self.nodes.values(), *self.edges.values(), self.legend]:
            self.scene().addItem(item)
        self.plan: Plan | None = None
        self.selected: tuple[int, int] | None = None
        self.home: tuple[int, int] | None = None  # where the arrow keys start: the current line
        self.columns = 0
        self.auto_fit = True  # refit on resize until the user zooms
        self._press: QPoint | None = None
        self._sequential: dict[tuple[int, int], Hop | None] = {}
        self._size = QSizeF()
        self.relayout(4)

    # layout -------------------------------------------------------------------------------

    def _rows(self, columns: int) -> list[list[tuple[int, int]]]:
        rows = []
        for _, group in groupby(self.catalogue.lines, key=lambda line: line.key[0]):
            keys = [line.key for line in group]
            rows += [keys[i : i + columns] for i in range(0, len(keys), columns)]
        return rows

    def _layout(self, columns: int) -> tuple[QSizeF, QPointF, float]:
        """Scene size, the key's position and width: beside the last rows when they leave
        room (short rows at the end of a major), else under the graph."""
        rows = self._rows(columns)
        widest = max((len(row) for row in rows), default=1)
        width = 2 * MARGIN + widest * NODE_W + (widest - 1) * GAP_X
        bottom = TOP + len(rows) * (NODE_H + GAP_Y) - GAP_Y
        tail = 0
        while tail < len(rows) and widest - len(rows[-1 - tail]) >= 2:
            tail += 1
        if tail:
            used = max(len(row) for row in rows[len(rows) - tail :])
            left = MARGIN + used * (NODE_W + GAP_X) + 12
            top = TOP + (len(rows) - tail) * (NODE_H + GAP_Y)
            _, size = LegendItem.flow(width - MARGIN - left)
            if size.height() <= bottom - top:
                return (
                    QSizeF(width, bottom + MARGIN / 2),
                    QPointF(left, top + 4),
                    width - MARGIN - left,
                )
        _, size = LegendItem.flow(width - 2 * MARGIN)
        height = bottom + 40 + size.height() + MARGIN / 2
        return QSizeF(width, height), QPointF(MARGIN, bottom + 40), width - 2 * MARGIN

    def _size_for(self, columns: int) -> tuple[float, float]:
        size = self._layout(columns)[0]
        return size.width(), size.height()

    def best_columns(self) -> int:
        """The wrap width that shows the whole graph largest in the current viewport."""
        view = self.viewport().size()
        most = max((len(r) for r in self._rows(len(self.catalogue.lines) or 1)), default=1)

        def scale(columns: int) -> float:
            width, height = self._size_for(columns)
            return min(view.width() / width, view.height() / height)

        return max(range(2, max(2, most) + 1), key=lambda c: (round(scale(c), 3), c))

    def relayout(self, columns: int) -> None:
        """Place boxes `columns` to a row, each major on new rows; route every edge again."""
        self.columns = columns
        for r, row in enumerate(self._rows(columns)):
            for c, key in enumerate(row):
                self.nodes[key].setPos(MARGIN + c * (NODE_W + GAP_X), TOP + r * (NODE_H + GAP_Y))
        for a, b in pairwise(self.catalogue.lines):
            self.edges[b.key].route_sequential(self.nodes[a.key].box(), self.nodes[b.key].box())
        self._route_overlays()
        size, legend_at, legend_width = self._layout(columns)
        self.legend.reflow(legend_width)
        self.legend.setPos(legend_at)
        self._size = size
        self._update_scene_rect()

    def _update_scene_rect(self) -> None:
        """The laid-out area plus whatever the plan's overlays draw beyond it."""
        bounds = self.scene().itemsBoundingRect().adjusted(-16, -16, 16, 16)
        self.scene().setSceneRect(bounds.united(QRectF(QPointF(0, 0), self._size)))

    def _route_overlays(self) -> None:
        for edge in self.overlays:
            hop = edge.hop
            assert hop is not None
            source, target = self.nodes[hop.source.line].box(), self.nodes[hop.target.line].box()
            if edge.kind == "patch":
                edge.route_patch(target)
            else:
                edge.route_skip(source, target, GAP_Y, MARGIN - 34)

    # the plan -----------------------------------------------------------------------------

    def show_plan(self, current: Release | None, target: Release | None, plan: Plan | None):
        """Highlight `current` and `target`, and draw `plan` (None: no path) on the graph."""
        self.plan = plan
        self.home = current.line if current and current.line in self.nodes else None
        hops = plan.hops if plan else ()
        stops = {hop.target.line: i for i, hop in enumerate(hops, start=1)}
        ponr = (
            hops[plan.point_of_no_return] if plan and plan.point_of_no_return is not None else None
        )
        on_path: set[tuple[int, int]] = set()
        if plan and hops and current and target:
            keys = [line.key for line in self.catalogue.lines]
            first, last = keys.index(current.line), keys.index(target.line)
            on_path = (
                {current.line, target.line} if plan.skip_level else set(keys[first : last + 1])
            )
        for key, node in self.nodes.items():
            node.set_state(
                stop=stops.get(key),
                on_path=key in on_path,
                current=current.text if current and current.line == key else None,
                target=target.text if target and target.line == key else None,
            )
        by_line = {hop.target.line: hop for hop in hops if hop.kind == "minor"}
        for key, edge in self.edges.items():
            hop = by_line.get(key)
            edge.set_state(hop, hop is not None, hop is not None and hop is ponr)
        for edge in self.overlays:
            self.scene().removeItem(edge)
        self.overlays = []
        for hop in hops:
            if hop.kind in ("skip-level", "patch"):
                edge = HopEdgeItem(hop.target.line, hop.kind)
                edge.set_state(hop, True, hop is ponr)
                edge.setToolTip(f"{hop.title} ({hop.kind}): click for this hop's summary")
                self.overlays.append(edge)
                self.scene().addItem(edge)
        self._route_overlays()
        self._update_scene_rect()
        if self.auto_fit:
            self.fit_to_view()

    def path_stops(self) -> list[tuple[int, str]]:
        """The numbered stops as drawn: (number, line name), in order."""
        return sorted((n.stop, n.line.name) for n in self.nodes.values() if n.stop is not None)

    def sequential_hop(self, key: tuple[int, int]) -> Hop | None:
        """The hop from the previous line's stop into line `key`'s stop (the release a path
        stops at: the one carrying all fixes of its line, not the highest number)."""
        if key not in self._sequential:
            lines = self.catalogue.lines
            at = self.catalogue.index_of(key)
            source, target = (lines[at - 1].stop, lines[at].stop) if at else (None, None)
            self._sequential[key] = None
            if source is not None and target is not None:
                try:
                    plan = plan_upgrade(self.catalogue, source.text, target.text)
                    self._sequential[key] = plan.hops[0] if plan.hops else None
                except VersionError:
                    pass
        return self._sequential[key]

    # selection and clicks -----------------------------------------------------------------

    def select_line(self, key: tuple[int, int] | None) -> None:
        self.selected = key if key in self.nodes else None
        for node_key, node in self.nodes.items():
            node.set_selected(node_key == self.selected)
        if self.selected:
            self.ensureVisible(self.nodes[self.selected], 40, 40)

    def click_item(self, item: object) -> None:
        """What a click on `item` does: a box is selected and opened, an edge shows its hop."""
        if isinstance(item, LineNodeItem):
            self.select_line(item.key)
            self.sig_line_activated.emit(item.line)
        elif isinstance(item, HopEdgeItem):
            hop = item.hop or (self.sequential_hop(item.into) if item.into else None)
            if hop is not None:
                self.sig_hop_clicked.emit(hop)

    def item_at(self, scene_point: QPointF) -> LineNodeItem | HopEdgeItem | None:
        for item in self.scene().items(scene_point):
            if isinstance(item, LineNodeItem | HopEdgeItem):
                return item
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        left = event.button() == Qt.MouseButton.LeftButton
        self._press = event.position().toPoint() if left else None
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        press, self._press = self._press, None
        point = event.position().toPoint()
        if (
            press is not None
            and (point - press).manhattanLength() < QApplication.startDragDistance()
        ):
            self.click_item(self.item_at(self.mapToScene(point)))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        keys = list(self.nodes)
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and keys:
            if self.selected is None:
                self.select_line(self.home or keys[0])
            else:
                step = 1 if key == Qt.Key.Key_Right else -1
                at = max(0, min(len(keys) - 1, keys.index(self.selected) + step))
                self.select_line(keys[at])
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and keys:
            if self.selected is None:
                self.select_line(self.home or keys[0])
            else:
                self.select_line(self._vertical_neighbour(1 if key == Qt.Key.Key_Down else -1))
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.selected:
            self.sig_line_activated.emit(self.nodes[self.selected].line)
        elif key == Qt.Key.Key_F and not event.modifiers():
            self.fit_to_view()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(1.25)
        elif key == Qt.Key.Key_Minus:
            self.zoom(0.8)
        else:
            super().keyPressEvent(event)

    def _vertical_neighbour(self, direction: int) -> tuple[int, int]:
        assert self.selected is not None
        here = self.nodes[self.selected].pos()
        rows = sorted({n.pos().y() for n in self.nodes.values()})
        at = rows.index(here.y()) + direction
        if not 0 <= at < len(rows):
            return self.selected
        row = [n for n in self.nodes.values() if n.pos().y() == rows[at]]
        return min(row, key=lambda n: abs(n.pos().x() - here.x())).key

    # zoom, fit, export --------------------------------------------------------------------

    def zoom(self, factor: float) -> None:
        scale = min(MAX_SCALE, max(MIN_SCALE, self.transform().m11() * factor))
        self.auto_fit = False
        self.setTransform(self.transform().fromScale(scale, scale))

    def fit_to_view(self) -> None:
        """Rewrap the rows for the viewport's shape and show the whole graph."""
        self.auto_fit = True
        best = self.best_columns()
        if best != self.columns:
            self.relayout(best)
        rect = self.sceneRect()
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.transform().m11() > FIT_CAP:
            self.setTransform(self.transform().fromScale(FIT_CAP, FIT_CAP))
        self.centerOn(rect.center())

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1.15 ** (event.angleDelta().y() / 120))
            event.accept()
        else:
            super().wheelEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.auto_fit:
            self.fit_to_view()

    def export_png(self, path: str | Path, scale: float = 2.0) -> Path:
        """Write the whole graph (with its key) as a PNG at `scale` times scene size."""
        rect = self.sceneRect()
        image = QImage(
            int(rect.width() * scale), int(rect.height() * scale), QImage.Format.Format_ARGB32
        )
        image.fill(gs.WHITE)
        painter = QPainter(image)
        painter.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
        )
        self.scene().render(painter, QRectF(image.rect()), rect)
        painter.end()
        if not image.save(str(path), "PNG"):
            raise OSError(f"Could not write {path}.")
        return Path(path)

    def export_svg(self, path: str | Path) -> Path:
        """Write the whole graph (with its key) as an SVG drawing."""
        Path(path).open("wb").close()  # say why a path is unwritable, before Qt warns
        rect = self.sceneRect()
        size = QSize(int(rect.width()), int(rect.height()))
        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setSize(size)
        generator.setViewBox(QRect(QPoint(0, 0), size))
        generator.setTitle("ThemisDB version graph")
        generator.setDescription("Release lines, the upgrade path and its hops, by Themis Desktop")
        painter = QPainter(generator)
        painter.fillRect(QRectF(0, 0, size.width(), size.height()), gs.WHITE)
        self.scene().render(painter, QRectF(0, 0, size.width(), size.height()), rect)
        painter.end()
        return Path(path)
