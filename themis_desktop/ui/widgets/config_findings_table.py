"""The config advisor's findings, one row each: a tick where the app can apply it ("built in"
or "by hand" where it cannot), severity, key, current and recommended values, since when
and why. Ticking a row says so (`sig_picks_changed`)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from themis_desktop.core.config import advisor as config_advisor
from themis_desktop.core.config.advisor import Finding
from themis_desktop.ui import palette

COLUMNS = ("Apply", "Severity", "Key", "Current", "Recommended", "Since", "Why")
SEVERITY_COLOUR = {
    "breaks": palette.BAD_RED,
    "changes": palette.WARNING_ORANGE,
    "recommended": palette.INFO_BLUE,
}


class FindingsTable(QTableWidget):
    sig_picks_changed = Signal()  # a row was ticked or unticked

    def __init__(self) -> None:
        super().__init__(0, len(COLUMNS))
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().hide()
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(True)
        header = self.horizontalHeader()
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.itemChanged.connect(self._on_item_changed)

    def show_findings(self, findings: list[Finding]) -> None:
        """One row per finding, none ticked (no `sig_picks_changed` meanwhile)."""
        self.blockSignals(True)
        self.setRowCount(0)
        for finding in findings:
            self._add_row(finding)
        self.blockSignals(False)
        self.resizeRowsToContents()

    def picked(self) -> list[str]:
        """The ids of the ticked findings."""
        return [
            item.data(Qt.ItemDataRole.UserRole)
            for item in self._picks()
            if item.checkState() == Qt.CheckState.Checked
        ]

    def set_picked(self, ids: set[str]) -> None:
        for item in self._picks():
            if item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
                wanted = item.data(Qt.ItemDataRole.UserRole) in ids
                item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)

    def _picks(self) -> list[QTableWidgetItem]:
        """The first column's items, one per row."""
        return [item for r in range(self.rowCount()) if (item := self.item(r, 0)) is not None]

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() == 0:
            self.sig_picks_changed.emit()

    def _add_row(self, finding: Finding) -> None:
        row = self.rowCount()
        self.insertRow(row)
        pick = QTableWidgetItem()
        if finding.applicable:
            pick.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            pick.setCheckState(Qt.CheckState.Unchecked)
        else:
            pick.setFlags(Qt.ItemFlag.ItemIsEnabled)
            if config_advisor.action(finding) == "keep":  # as `config check` says it
                pick.setText("built in")
                pick.setToolTip("A built-in default of the new version: nothing to do")
            else:
                pick.setText("by hand")
                pick.setToolTip("This change cannot be made by the app; the reason says how")
        pick.setData(Qt.ItemDataRole.UserRole, finding.id)
        self.setItem(row, 0, pick)
        values = (
            finding.severity,
            finding.key,
            value_text(finding.current),
            value_text(finding.recommended),
            finding.since,
            finding.reason,
        )
        for column, value in enumerate(values, start=1):
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            colour = SEVERITY_COLOUR.get(finding.severity)
            if column == 1 and colour:
                item.setForeground(QColor(colour))
            self.setItem(row, column, item)


def value_text(value: Any) -> str:
    """A config value as the advisor writes it."""
    return config_advisor.value_text(value)
