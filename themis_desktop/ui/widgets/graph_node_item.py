"""One minor release line drawn as a rounded box: name, patch versions, hop badges."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from themis_desktop.core.versions.releases import KnownIssue, ReleaseLine
from themis_desktop.ui.widgets import graph_style as gs

NODE_W = 176.0
NODE_H = 118.0
PAD = 12.0
RING = 6.0  # the selection ring lies this far outside the box


def patch_list(line: ReleaseLine) -> str:
    """`1.3.0  .1  .2  .3` — the first release in full, the others by what follows the line."""
    texts = [r.text for r in line.releases]
    return "  ".join([texts[0]] + [t[len(line.name) :] for t in texts[1:]]) if texts else ""


def line_tooltip(line: ReleaseLine) -> str:
    rows = "".join(
        f"<br>{escape(r.text)} · {escape(r.date or 'date unknown')} ({r.confidence})"
        + (f" <b>[{escape(r.status)}]</b>" if r.status != "released" else "")
        + (f" — {escape(r.summary)}" if r.summary else "")
        for r in line.releases
    )
    issues = "".join(f"<br>⚠ {escape(i.summary)}" for i in line_issues(line))
    if issues:
        issues = f"<br><b>Known issues:</b>{issues}"
    return f"<b>ThemisDB {escape(line.name)}</b> — {escape(line.summary)}{rows}{issues}"


def line_issues(line: ReleaseLine) -> list[KnownIssue]:
    """The known issues of the line and of any of its releases, each once."""
    found = {i.id: i for i in line.known_issues}
    for release in line.releases:
        found.update({i.id: i for i in release.known_issues if i.id not in found})
    return list(found.values())


def status_chips(line: ReleaseLine) -> tuple[tuple[str, str], ...]:
    """What the line's releases' status puts beside its name: `contested` when upstream's
    documents disagree it shipped at all, `N known-bad` for releases that are never a stop,
    `N known issues` (`N issues` where the long form does not fit) for behaviour to plan
    around."""
    chips = [("contested", "warn")] if line.contested else []
    for status in ("known-bad", "withdrawn"):
        count = sum(r.status == status for r in line.releases)
        if count:
            chips.append((f"{count} {status}", "bad"))
    count = len(line_issues(line))
    if count:
        long, short = ("known issue", "issue") if count == 1 else ("known issues", "issues")
        room = NODE_W - 2 * PAD - sum(gs.chip_width(text) + 4 for text, _ in chips)
        noun = long if gs.chip_width(f"{count} {long}") <= room else short
        chips.append((f"{count} {noun}", "warn"))
    return tuple(chips)


class LineNodeItem(QGraphicsItem):
    """A release line. The page sets its role and stop number; `paint` only draws."""

    def __init__(self, line: ReleaseLine, first: bool) -> None:
        super().__init__()
        self.line = line
        self.first = first  # the oldest line: no hop leads into it, so no badges
        self.stop: int | None = None
        self.on_path = False
        self.current_text: str | None = None
        self.target_text: str | None = None
        self.selected = False
        self._pill: tuple[str, str] | None = None
        metrics = QFontMetricsF(gs.SMALL_FONT)
        self._patches = metrics.elidedText(
            patch_list(line), Qt.TextElideMode.ElideRight, NODE_W - 2 * PAD
        )
        self.badges: tuple[tuple[tuple[str, str], ...], ...] = () if first else self._badges()
        self.status_chips = status_chips(line)
        self.setToolTip(line_tooltip(line))
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setZValue(2)

    def _badges(self) -> tuple[tuple[tuple[str, str], ...], ...]:
        line = self.line
        guide = ("guide ✓", "ok") if line.guide else ("no guide", "plain")
        count = len(line.breaking_changes)
        breaking = (f"{count} breaking", "warn" if count else "plain")
        return ((guide, breaking), (gs.REVERSIBILITY_CHIP[line.reversibility],))

    @property
    def key(self) -> tuple[int, int]:
        return self.line.key

    def box(self) -> QRectF:
        """The node's box in scene coordinates."""
        return QRectF(self.pos().x(), self.pos().y(), NODE_W, NODE_H)

    def boundingRect(self) -> QRectF:
        top = bottom = max(RING, gs.CHIP_HEIGHT / 2) + 2  # the pill and status chips straddle
        return QRectF(-RING - 2, -top, NODE_W + 2 * RING + 4, NODE_H + bottom + top)

    def shape(self) -> QPainterPath:
        """The box itself (and its role pill): a click beside it may be meant for an edge."""
        shape = QPainterPath()
        shape.addRoundedRect(QRectF(0, 0, NODE_W, NODE_H), 12, 12)
        if self._pill:
            top = -gs.CHIP_HEIGHT / 2
            shape.addRect(QRectF(0, top, NODE_W, gs.CHIP_HEIGHT))
        if self.status_chips:
            shape.addRect(QRectF(0, NODE_H - gs.CHIP_HEIGHT / 2, NODE_W, gs.CHIP_HEIGHT))
        return shape

    def set_state(
        self,
        stop: int | None = None,
        on_path: bool = False,
        current: str | None = None,
        target: str | None = None,
    ) -> None:
        """The line's role in the shown plan; recomputes what `paint` needs."""
        self.stop, self.on_path = stop, on_path
        self.current_text, self.target_text = current, target
        if current and target:
            self._pill = (f"{current} → {target}", "target")
        elif current:
            self._pill = (f"current {current}", "current")
        elif target:
            self._pill = (f"target {target}", "target")
        else:
            self._pill = None
        self.update()

    def set_selected(self, selected: bool) -> None:
        if selected != self.selected:
            self.selected = selected
            self.update()

    def _frame(self) -> tuple[QPen, object]:
        """The box's pen and fill by role; a contested line's border is dashed amber (in its
        role's width), so that a stop there reads as uncertain."""
        if self.current_text and not self.target_text:
            pen, fill = QPen(gs.GREEN, 3), gs.CURRENT_FILL
        elif self.target_text:
            pen, fill = QPen(gs.SKY, 3), gs.TARGET_FILL
        elif self.on_path:
            pen, fill = QPen(gs.BLUE, 2.5), gs.PATH_FILL
        else:
            pen, fill = QPen(gs.BORDER, 1.5), gs.WHITE
        if self.line.contested:
            pen.setColor(gs.AMBER)
            pen.setWidthF(max(pen.widthF(), 2.0))
            pen.setStyle(Qt.PenStyle.DashLine)
        return pen, fill

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen, fill = self._frame()
        painter.setPen(pen)
        painter.setBrush(fill)
        painter.drawRoundedRect(QRectF(0, 0, NODE_W, NODE_H), 12, 12)
        if self.selected:
            ring = QPen(gs.SKY, 2, Qt.PenStyle.DashLine)
            painter.setPen(ring)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            outer = QRectF(0, 0, NODE_W, NODE_H).adjusted(-RING, -RING, RING, RING)
            painter.drawRoundedRect(outer, 16, 16)
        x = PAD
        if self.stop is not None:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(gs.BLUE)
            circle = QRectF(PAD - 2, 10, 26, 26)
            painter.drawEllipse(circle)
            painter.setPen(gs.WHITE)
            painter.setFont(gs.STOP_FONT)
            painter.drawText(circle, Qt.AlignmentFlag.AlignCenter, str(self.stop))
            x += 30
        painter.setPen(gs.INK)
        painter.setFont(gs.NAME_FONT)
        painter.drawText(QRectF(x, 6, NODE_W, 34), Qt.AlignmentFlag.AlignVCenter, self.line.name)
        right = NODE_W - PAD  # status chips straddle the bottom border, right-aligned
        for text, style in reversed(self.status_chips):
            right -= gs.chip_width(text)
            gs.draw_chip(painter, right, NODE_H - gs.CHIP_HEIGHT / 2, text, style)
            right -= 4
        if self._pill:  # straddles the top border, right-aligned
            text, style = self._pill
            left = max(PAD, NODE_W - PAD - gs.chip_width(text))
            gs.draw_chip(painter, left, -gs.CHIP_HEIGHT / 2, text, style)
        painter.setPen(gs.MUTED)
        painter.setFont(gs.SMALL_FONT)
        patches = QRectF(PAD, 42, NODE_W - 2 * PAD, 18)
        painter.drawText(patches, Qt.AlignmentFlag.AlignVCenter, self._patches)
        y = 66.0
        if self.first:
            first = QRectF(PAD, y, NODE_W - 2 * PAD, 18)
            painter.drawText(first, Qt.AlignmentFlag.AlignVCenter, "oldest catalogued line")
        for row in self.badges:
            x = PAD
            for text, style in row:
                x += gs.draw_chip(painter, x, y, text, style) + 5
            y += gs.CHIP_HEIGHT + 4
