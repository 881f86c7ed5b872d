"""The baseline and the current samples of one metric, overlaid as histograms."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.metrics.verdict import MetricVerdict

BASELINE_COLOUR = (42, 93, 176)
NOW_COLOUR = (194, 65, 12)


class DistributionDialog(QDialog):
    def __init__(
        self,
        verdict: MetricVerdict,
        baseline: list[float],
        now: list[float],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        info = METRICS[verdict.metric]
        self.setWindowTitle(f"{info.title}: baseline and now")
        self.plot = pg.PlotWidget(background="w")
        self.plot.addLegend(offset=(-10, 10))
        self.plot.setLabel("bottom", info.unit)
        self.plot.setLabel("left", "share of samples")
        both = np.asarray(baseline + now, dtype=float)
        if both.size:
            edges = np.histogram_bin_edges(both, bins=min(40, max(5, int(both.size**0.5))))
            for values, colour, name in (
                (baseline, BASELINE_COLOUR, "baseline"),
                (now, NOW_COLOUR, "now"),
            ):
                if not values:
                    continue
                counts, _ = np.histogram(values, bins=edges)
                share = counts / counts.sum()
                self.plot.plot(
                    edges,
                    share,
                    stepMode="center",
                    fillLevel=0,
                    brush=(*colour, 70),
                    pen=pg.mkPen(colour, width=1.5),
                    name=f"{name} (n = {len(values)})",
                )
        explanation = QLabel(f"<b>{verdict.verdict}</b>: {verdict.explanation}")
        explanation.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot, 1)
        layout.addWidget(explanation)
        layout.addWidget(buttons)
        self.resize(640, 420)
