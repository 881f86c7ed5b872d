"""The verdict table: metric, baseline, now, change, p-value, verdict (coloured)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
)

from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.metrics.verdict import Evaluation
from themis_desktop.core.util.formatting import format_quantity
from themis_desktop.ui.widgets.graph_style import CHIP

COLUMNS = ("Metric", "Baseline", "Now", "Change", "p", "Verdict")
P_COLUMN = COLUMNS.index("p")  # left out when the table is narrow: every tooltip has it
VERDICT_CHIP = {"pass": "ok", "marginal": "warn", "fail": "bad", "no data": "plain"}


class ComparisonTable(QTableWidget):
    sig_metric_clicked = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # the names: spare room
        for col in range(1, len(COLUMNS)):  # every number whole
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.setToolTip("Click a row to see both distributions")
        self.cellClicked.connect(self._on_clicked)
        self.cellActivated.connect(self._on_clicked)
        self.evaluation: Evaluation | None = None

    def natural_widths(self) -> list[int]:
        """Per column, the width its header and its cells need: the cells shown, or the
        widest typical ones."""
        metrics = self.fontMetrics()
        header = self.horizontalHeader()
        margin = 2 * (self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 1) + 1
        return [
            max(
                header.sectionSizeFromContents(col).width(),
                max(metrics.horizontalAdvance(text) for text in samples) + margin,
                self.sizeHintForColumn(col) if self.rowCount() else 0,
            )
            for col, samples in enumerate(_widest_cells())
        ]

    def full_width(self) -> int:
        """The width that shows every column, the p-values too."""
        return sum(self.natural_widths()) + self._chrome()

    def minimumSizeHint(self) -> QSize:
        """Wide enough for every metric's name and typical numbers (the p column may go), so
        that a layout or a splitter never squeezes the names into "Server …"."""
        widths = self.natural_widths()
        width = sum(widths) - widths[P_COLUMN] + self._chrome()
        return QSize(width, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Leave the p column out when the table is too narrow for every column whole."""
        narrow = self.width() < self.full_width()
        if narrow != self.isColumnHidden(P_COLUMN):
            self.setColumnHidden(P_COLUMN, narrow)

    def _chrome(self) -> int:
        return self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()

    def set_evaluation(self, evaluation: Evaluation | None) -> None:
        self.evaluation = evaluation
        verdicts = evaluation.verdicts if evaluation else []
        self.setRowCount(len(verdicts))
        for row, v in enumerate(verdicts):
            info = METRICS[v.metric]
            c = v.hop
            change = f"{c.change:+.1%}" if c.change is not None else "—"
            p = f"{c.p_value:.2g}" if c.p_value is not None else "—"
            cells = (
                info.label,
                format_quantity(c.baseline_median, info.unit),
                format_quantity(c.now_median, info.unit),
                change,
                p,
                v.verdict,
            )
            tip = f"{info.title}: {v.explanation}"
            if c.p_value is not None:
                tip += f"\nMann-Whitney p = {p}"
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, v.metric)
                item.setToolTip(tip)
                if col:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.setItem(row, col, item)
            ink, fill = CHIP[VERDICT_CHIP[v.verdict]]
            verdict = self.item(row, len(COLUMNS) - 1)
            verdict.setForeground(ink)
            verdict.setBackground(fill)
            verdict.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
        self._fit_columns()

    def verdict_of(self, metric: str) -> str | None:
        for row in range(self.rowCount()):
            if self.item(row, 0).data(Qt.ItemDataRole.UserRole) == metric:
                return self.item(row, len(COLUMNS) - 1).text()
        return None

    def _on_clicked(self, row: int, _col: int) -> None:
        self.sig_metric_clicked.emit(self.item(row, 0).data(Qt.ItemDataRole.UserRole))


def _widest_cells() -> tuple[tuple[str, ...], ...]:
    """Per column, the texts its cells typically need room for."""
    values = ("188.8 req/s", "188.8 MiB", "18.8 k keys", "14 min 48 s", "no data")
    return (
        tuple(info.label for info in METRICS.values()),
        values,
        values,
        ("+888.8%",),
        ("8.8e-88",),
        ("marginal", "no data"),
    )
