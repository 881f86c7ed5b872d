"""The live plots: a row per metric group, a line per node, the baseline window shaded with
its median–p95 band, upgrade events as vertical markers, a crosshair, follow-live."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QSize, Qt, Signal

from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.metrics.live import LiveStore
from themis_desktop.core.metrics.store import Baseline
from themis_desktop.core.util.formatting import format_quantity
from themis_desktop.ui import palette
from themis_desktop.ui.widgets import metric_plot_style as style

ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("traffic", ("request_rate", "error_rate")),
    ("latency", ("probe_ms", "server_p95_ms")),
    ("resources", ("rss_bytes", "block_cache_usage_bytes")),
    ("storage", ("pending_compaction_bytes", "estimated_keys")),
)
SPANS: dict[str, float | None] = {
    "15 min": 900.0,
    "1 h": 3600.0,
    "6 h": 6 * 3600.0,
    "48 h": 48 * 3600.0,
    "All": None,
}
NEAR_S = 15.0  # the crosshair shows a sample at most this far from the pointer
MARKER_TEXT = {
    "hop.started": "hop started",
    "hop.finished": "hop finished",
    "rollback.started": "rollback",
    "rollback.finished": "rolled back",
    "rollback.trigger": "trigger",
    "node.restarted": "restart",
    "metrics.baseline": "baseline",
}


class MetricPlots(pg.GraphicsLayoutWidget):
    sig_follow_changed = Signal(bool)
    sig_hover = Signal(str)  # the values under the crosshair, as text

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.plots: dict[str, pg.PlotItem] = {}
        self.lines: dict[tuple[str, str], pg.PlotDataItem] = {}
        self.nodes: list[str] = []
        self.follow = True
        self.span: float | None = SPANS["15 min"]
        self.store: LiveStore | None = None
        self._decor: list[tuple[pg.PlotItem, pg.GraphicsObject]] = []
        self._markers: list[tuple[pg.PlotItem, pg.InfiniteLine]] = []
        self._crosshairs: dict[str, pg.InfiniteLine] = {}
        self._no_data: dict[str, pg.TextItem] = {}
        self._applying_range = False
        first: pg.PlotItem | None = None
        for row, (_group, metrics) in enumerate(ROWS):
            for col, key in enumerate(metrics):
                info = METRICS[key]
                plot = style.make_plot(info.title, info.unit)
                self.addItem(plot, row=row, col=col)
                if first is None:
                    first = plot
                else:
                    plot.setXLink(first)
                plot.getViewBox().sigRangeChangedManually.connect(self._on_manual_range)
                cross = pg.InfiniteLine(angle=90, movable=False, pen=style.CROSSHAIR_PEN)
                cross.hide()
                plot.addItem(cross, ignoreBounds=True)
                self._crosshairs[key] = cross
                no_data = pg.TextItem("no data", color=palette.MUTED_TEXT, anchor=(0.5, 0.5))
                no_data.setParentItem(plot.getViewBox())
                self._no_data[key] = no_data
                self.plots[key] = plot
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def minimumSizeHint(self) -> QSize:
        """What the plots' titles and axes need: narrower, the right column would be cut."""
        least = self.ci.layout.effectiveSizeHint(Qt.SizeHint.MinimumSize)
        frame = 2 * self.frameWidth()
        return QSize(math.ceil(least.width()) + frame, math.ceil(least.height()) + frame)

    # -- data ------------------------------------------------------------------

    def set_nodes(self, names: Sequence[str]) -> None:
        for (key, _node), line in self.lines.items():
            self.plots[key].removeItem(line)
        self.lines.clear()
        self.nodes = list(names)
        for key, plot in self.plots.items():
            if plot.legend is None and len(self.nodes) > 1 and key == "request_rate":
                plot.addLegend(offset=(10, 5), labelTextSize="8pt")
            for index, node in enumerate(self.nodes):
                self.lines[(key, node)] = style.add_line(plot, index, node)

    def update_data(self, store: LiveStore) -> None:
        """Show the store's series; with follow-live on, scroll to the newest sample."""
        self.store = store
        has_data = dict.fromkeys(self.plots, False)
        for (key, node), line in self.lines.items():
            series = store.series.get(node)
            if series is None or not len(series):
                line.setData([], [])
                continue
            values = series.values(key)
            line.setData(series.at, values, connect="finite")
            has_data[key] = has_data[key] or bool(np.isfinite(values[-600:]).any())
        for key, label in self._no_data.items():
            label.setVisible(not has_data[key])
            view = self.plots[key].getViewBox()
            label.setPos(view.width() / 2, view.height() / 2)
        if self.follow:
            self._apply_span()

    def set_baseline(self, baseline: Baseline | None) -> None:
        """Shade the baseline window and draw its median–p95 band across every plot."""
        for plot, item in self._decor:
            plot.removeItem(item)
        self._decor.clear()
        if baseline is None:
            return
        for key, plot in self.plots.items():
            region = pg.LinearRegionItem(
                (baseline.start, baseline.end),
                movable=False,
                brush=style.BASELINE_FILL,
                pen=pg.mkPen(None),
            )
            region.setZValue(-10)
            plot.addItem(region, ignoreBounds=True)
            self._decor.append((plot, region))
            values = baseline.values(key)
            if len(values) >= 2:
                median, p95 = np.percentile(values, [50, 95])
                band = pg.LinearRegionItem(
                    (median, max(p95, median)),
                    orientation="horizontal",
                    movable=False,
                    brush=style.BAND_FILL,
                    pen=pg.mkPen(None),
                )
                band.setZValue(-9)
                line = pg.InfiniteLine(median, angle=0, movable=False, pen=style.EVENT_PEN)
                for item in (band, line):
                    plot.addItem(item, ignoreBounds=True)
                    self._decor.append((plot, item))

    def set_markers(self, markers: Sequence[tuple[float, str, str]]) -> None:
        for plot, item in self._markers:
            plot.removeItem(item)
        self._markers.clear()
        for index, plot in enumerate(self.plots.values()):
            for at, kind, message in markers:
                pen = style.ROLLBACK_PEN if kind.startswith("rollback") else style.EVENT_PEN
                label = MARKER_TEXT.get(kind, kind) if index == 0 else None
                line = pg.InfiniteLine(
                    at,
                    angle=90,
                    movable=False,
                    pen=pen,
                    label=label,
                    labelOpts={
                        "position": 0.92,
                        "color": palette.WARN_AMBER,
                        "fill": palette.LABEL_FILL,
                    },
                )
                line.setToolTip(message)
                plot.addItem(line, ignoreBounds=True)
                self._markers.append((plot, line))

    # -- view ------------------------------------------------------------------

    def set_span(self, seconds: float | None) -> None:
        self.span = seconds
        self.set_follow(True)

    def set_follow(self, follow: bool) -> None:
        if follow != self.follow:
            self.follow = follow
            self.sig_follow_changed.emit(follow)
        if follow:
            self._apply_span()

    def _apply_span(self) -> None:
        store = self.store
        end = (store.latest if store else None) or time.time()
        if self.span is None:
            start = (store.earliest if store else None) or end - 900
        else:
            start = end - self.span
        first = next(iter(self.plots.values()))
        self._applying_range = True
        try:
            first.setXRange(start, end + max(1.0, (end - start) * 0.01), padding=0)
            for plot in self.plots.values():
                plot.enableAutoRange(axis="y")
                plot.setAutoVisible(y=True)
        finally:
            self._applying_range = False

    def _on_manual_range(self, *_: object) -> None:
        if not self._applying_range:
            self.set_follow(False)  # the user panned or zoomed: stop scrolling

    def _on_mouse_moved(self, pos: QPointF) -> None:
        hovered = next(
            (k for k, p in self.plots.items() if p.sceneBoundingRect().contains(pos)), None
        )
        for cross in self._crosshairs.values():
            cross.setVisible(hovered is not None)
        if hovered is None or self.store is None:
            return
        x = self.plots[hovered].getViewBox().mapSceneToView(pos).x()
        for cross in self._crosshairs.values():
            cross.setPos(x)
        info = METRICS[hovered]
        parts = []
        for node in self.nodes:
            series = self.store.series.get(node)
            if series is None or not len(series):
                continue
            i = int(np.clip(np.searchsorted(series.at, x), 1, max(1, len(series) - 1)))
            if len(series) > 1 and abs(series.at[i - 1] - x) < abs(series.at[i] - x):
                i -= 1
            j = min(i, len(series) - 1)
            step = float(series.at[j] - series.at[j - 1]) if j > 0 else 0.0
            near = abs(series.at[j] - x) <= max(NEAR_S, 1.5 * step)  # aged samples: 1 min
            value = float(series.values(hovered)[j]) if near else None
            parts.append(f"{node}: {format_quantity(value, info.unit)}")
        stamp = time.strftime("%H:%M:%S", time.localtime(x)) if x > 0 else ""
        self.sig_hover.emit(f"{stamp}  {info.title}  " + " · ".join(parts))
