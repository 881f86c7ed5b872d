"""The verdict table: metric, baseline, now, change, p-value, verdict (coloured)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from themis_desktop.core.formatting import format_quantity
from themis_desktop.core.metric_catalog import METRICS
from themis_desktop.core.metrics_verdict import Evaluation
from themis_desktop.ui.widgets.graph_style import CHIP

COLUMNS = ("Metric", "Baseline", "Now", "Change", "p", "Verdict")
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
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.setToolTip("Click a row to see both distributions")
        self.cellClicked.connect(self._on_clicked)
        self.cellActivated.connect(self._on_clicked)
        self.evaluation: Evaluation | None = None

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
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, v.metric)
                item.setToolTip(f"{info.title}: {v.explanation}")
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

    def verdict_of(self, metric: str) -> str | None:
        for row in range(self.rowCount()):
            if self.item(row, 0).data(Qt.ItemDataRole.UserRole) == metric:
                return self.item(row, len(COLUMNS) - 1).text()
        return None

    def _on_clicked(self, row: int, _col: int) -> None:
        self.sig_metric_clicked.emit(self.item(row, 0).data(Qt.ItemDataRole.UserRole))
