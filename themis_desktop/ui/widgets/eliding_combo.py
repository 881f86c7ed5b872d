"""A combo box that never cuts its current text: given less room than the text needs, it
shows it elided ("…") and puts the whole text in its tooltip."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QComboBox, QStyle, QStyleOptionComboBox, QStylePainter, QWidget


class ElidingComboBox(QComboBox):
    """`setToolTip` sets what the box is for; the current text is added when it is elided.
    `min_chars`: how much of a long text the box asks room for (the rest is elided)."""

    def __init__(
        self,
        parent: QWidget | None = None,
        mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight,
        min_chars: int = 16,
    ) -> None:
        super().__init__(parent)
        self._mode = mode
        self._tip = ""
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(min_chars)
        self.currentTextChanged.connect(lambda _: self._update_tip())

    def setToolTip(self, tip: str) -> None:  # type: ignore[override]
        self._tip = tip or ""
        self._update_tip()

    def elided(self) -> bool:
        text = self.currentText()
        return self.fontMetrics().horizontalAdvance(text) > self._room()

    def _room(self) -> int:
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        field = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, self
        )
        icon = self.iconSize().width() + 4 if not option.currentIcon.isNull() else 0
        return field.width() - icon - 2

    def _update_tip(self) -> None:
        text = self.currentText().strip()
        tip = f"{text}\n{self._tip}" if text and self._tip else text or self._tip
        super().setToolTip(tip if self.elided() else self._tip)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_tip()

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.isEditable() or not self.elided():
            super().paintEvent(event)
            return
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        option.currentText = self.fontMetrics().elidedText(
            option.currentText, self._mode, max(0, self._room())
        )
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)
