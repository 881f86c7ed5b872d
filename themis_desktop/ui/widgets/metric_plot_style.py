"""How the metrics page draws a plot and its lines: time axis, colours, and the settings
that keep 1 M points fast (peak downsampling and clip-to-view)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor

from themis_desktop.ui import palette

NODE_COLOURS = palette.NODE_COLOURS
BASELINE_FILL = QColor(42, 93, 176, 28)
BAND_FILL = QColor(42, 93, 176, 40)
EVENT_PEN = pg.mkPen(palette.WARN_AMBER, width=1, style=pg.QtCore.Qt.PenStyle.DashLine)
ROLLBACK_PEN = pg.mkPen(palette.BAD_RED, width=2)
CROSSHAIR_PEN = pg.mkPen(palette.MUTED_TEXT, width=1, style=pg.QtCore.Qt.PenStyle.DotLine)


def node_pen(index: int) -> pg.QtGui.QPen:
    # 1 px: wider pens make Qt stroke every segment (drawLines), several times slower
    return pg.mkPen(NODE_COLOURS[index % len(NODE_COLOURS)], width=1)


def make_plot(title: str = "", unit: str = "") -> pg.PlotItem:
    """A plot with a date/time x axis, grid and fast rendering of long series."""
    plot = pg.PlotItem(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
    plot.setTitle(title, size="9pt", color=palette.INK)
    # no grid: pyqtgraph's grid lines cost 20–40 ms a frame (bench/metrics.py); the
    # crosshair and the baseline band give the reference instead
    axis = plot.getAxis("left")
    if unit == "bytes":
        plot.setLabel("left", units="B")  # SI prefixes: kB, MB, GB
    else:
        axis.enableAutoSIPrefix(False)
        plot.setLabel("left", "errors / requests" if unit == "ratio" else unit)
    plot.setMenuEnabled(False)
    make_fast(plot)
    plot.getViewBox().setMouseEnabled(x=True, y=False)
    return plot


def make_fast(plot: pg.PlotItem) -> None:
    """Draw at most about one point per pixel column (keeping peaks), only what is visible."""
    plot.setDownsampling(auto=True, mode="peak")
    plot.setClipToView(True)


def add_line(plot: pg.PlotItem, index: int, name: str) -> pg.PlotDataItem:
    """One node's line; NaN (a gap or no data) breaks it instead of drawing zero."""
    return plot.plot(
        [], [], pen=node_pen(index), name=name, connect="finite", autoDownsampleFactor=1.0
    )  # peak downsampling keeps min and max: two points per pixel column
