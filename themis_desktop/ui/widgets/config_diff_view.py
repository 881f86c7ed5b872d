"""A config file before and after the picked changes, side by side in monospace, the lines
that differ marked (removed or changed on the left, added on the right)."""

from __future__ import annotations

import difflib

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QTextCursor, QTextFormat
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QSplitter, QTextEdit, QVBoxLayout, QWidget

from themis_desktop.ui import palette


class ConfigDiffView(QSplitter):
    def __init__(self) -> None:
        super().__init__(Qt.Orientation.Horizontal)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.before = QPlainTextEdit(readOnly=True, placeholderText="The config as it is")
        self.after = QPlainTextEdit(readOnly=True, placeholderText="The config with the picks")
        for pane in (self.before, self.after):
            pane.setFont(mono)
            pane.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.addWidget(_titled("Current", self.before))
        self.addWidget(_titled("With the picked changes", self.after))

    def show_before(self, text: str) -> None:
        self.before.setPlainText(text)

    def show_after(self, text: str) -> None:
        """The changed document; the lines that differ from the one before are marked."""
        self.after.setPlainText(text)
        highlight(self.before, self.after)

    def clear(self) -> None:
        self.before.clear()
        self.after.clear()


def _titled(title: str, widget: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    label = QLabel(title)
    label.setObjectName("sectionTitle")
    layout.addWidget(label)
    layout.addWidget(widget)
    return box


def highlight(before: QPlainTextEdit, after: QPlainTextEdit) -> None:
    """Mark the lines that differ: removed or changed on the left, added on the right."""
    old, new = before.toPlainText().splitlines(), after.toPlainText().splitlines()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    removed: list[int] = []
    added: list[int] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed += range(i1, i2)
            added += range(j1, j2)
    for pane, lines, colour in (
        (before, removed, palette.DIFF_REMOVED_FILL),
        (after, added, palette.DIFF_ADDED_FILL),
    ):
        selections = []
        for number in lines:
            selection = QTextEdit.ExtraSelection()
            selection.format.setBackground(QColor(colour))
            selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            cursor = QTextCursor(pane.document().findBlockByNumber(number))
            selection.cursor = cursor
            selections.append(selection)
        pane.setExtraSelections(selections)
        if lines:  # bring the first change into view
            pane.setTextCursor(QTextCursor(pane.document().findBlockByNumber(lines[0])))
            pane.centerCursor()
