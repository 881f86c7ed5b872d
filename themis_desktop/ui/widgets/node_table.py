"""The Connection dialog's node table: one row per node, columns sized to be read.

The URL column takes the room the others leave, never less than its whole text; the others
fit their header and cells up to a cap and share what room there is as evenly as they can
(a longer path is elided in the middle, its cell's tooltip holds all of it). The table never
gets shorter than `visible_rows` rows, so a long report beside it cannot squeeze it.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)


class NodeTable(QTableWidget):
    """`columns`: (title, tooltip) each; column 0 is the URL; `caps`: the widest each other
    column grows to fit its cells."""

    def __init__(
        self,
        columns: tuple[tuple[str, str], ...],
        caps: dict[int, int],
        visible_rows: int = 4,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(0, len(columns), parent)
        self.caps = caps
        self.setHorizontalHeaderLabels([title for title, _ in columns])
        for column, (_, tip) in enumerate(columns):
            self.horizontalHeaderItem(column).setToolTip(tip)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        self.verticalHeader().hide()
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a path keeps both its ends
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMinimumHeight(
            header.sizeHint().height()
            + visible_rows * self.verticalHeader().defaultSectionSize()
            + 2 * self.frameWidth()
            + self.horizontalScrollBar().sizeHint().height()
        )
        self.itemChanged.connect(self._on_item_changed)

    def add_row(self, values: tuple[str, ...]) -> None:
        """A row of cells, each with its whole text as its tooltip."""
        row = self.rowCount()
        self.insertRow(row)
        with QSignalBlocker(self):
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.setItem(row, column, item)
        self.fit_columns()

    def texts(self, row: int) -> list[str]:
        """The row's cells, stripped ("" for a cell never set)."""
        items = (self.item(row, column) for column in range(self.columnCount()))
        return [item.text().strip() if item else "" for item in items]

    def resizeEvent(self, event: QResizeEvent) -> None:  # the viewport's, too
        super().resizeEvent(event)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Size the columns for the viewport's width (see the module's docstring); narrower
        than all headers and the URL, the URL keeps its width and the table scrolls."""
        header, room = self.horizontalHeader(), self.viewport().width()

        def cells(column: int) -> int:
            return self.sizeHintForColumn(column) if self.rowCount() else 0

        heads = {c: header.sectionSizeHint(c) for c in self.caps}
        wants = {c: max(heads[c], min(cells(c), cap)) for c, cap in self.caps.items()}
        url = max(header.sectionSizeHint(0), cells(0))
        widths = share(room - url, heads, wants)
        for column, width in widths.items():
            header.resizeSection(column, width)
        if url + sum(widths.values()) > room:
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(0, url)
        else:
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.toolTip() != item.text():
            with QSignalBlocker(self):
                item.setToolTip(item.text())
        self.fit_columns()


def share(room: int, floors: dict[int, int], wants: dict[int, int]) -> dict[int, int]:
    """Widths between each floor and want that fit `room` with the widest as narrow as
    possible (a water level); the floors when even they do not fit."""

    def total(level: int) -> int:
        return sum(min(wants[c], max(floors[c], level)) for c in wants)

    low, high = 0, max(wants.values())
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if total(mid) <= room else (low, mid - 1)
    return {c: min(wants[c], max(floors[c], low)) for c in wants}
