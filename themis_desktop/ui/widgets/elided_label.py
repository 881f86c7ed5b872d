"""A one-line label that never cuts its text: given less room than the text needs, it
shows it elided ("…") and puts the whole text in its tooltip."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QWidget


class ElidedLabel(QLabel):
    """`text()` is the whole text; `property("elided")` says whether it is shortened."""

    def __init__(
        self,
        text: str = "",
        parent: QWidget | None = None,
        mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight,
        min_chars: int = 6,
        **properties,
    ) -> None:
        super().__init__(parent, **properties)
        self._full = ""
        self._tip = ""
        self._mode = mode
        self._min_chars = min_chars
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setProperty("elided", False)
        self.setText(text)

    # -- the text --------------------------------------------------------------------

    def text(self) -> str:  # type: ignore[override]
        return self._full

    def setText(self, text: str) -> None:  # type: ignore[override]
        self._full = text or ""
        super().setText(self._full)
        self.updateGeometry()
        self._elide()

    def setToolTip(self, tip: str) -> None:  # type: ignore[override]
        self._tip = tip or ""
        self._update_tip()

    def shown_text(self) -> str:
        """What is painted (the text, or its elided form)."""
        return super().text()

    # -- sizes -----------------------------------------------------------------------

    def _overhead(self) -> int:
        """Padding, border and margins around the text (style sheets included)."""
        self.ensurePolished()
        shown = super().text()
        return super().sizeHint().width() - self.fontMetrics().horizontalAdvance(shown)

    def sizeHint(self) -> QSize:
        self.ensurePolished()
        hint = super().sizeHint()
        metrics = self.fontMetrics()
        extra = metrics.horizontalAdvance(self._full) - metrics.horizontalAdvance(super().text())
        return QSize(hint.width() + max(0, extra), hint.height())

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        room = self.fontMetrics().horizontalAdvance(self._full[: self._min_chars] + "…")
        return QSize(min(self.sizeHint().width(), self._overhead() + room), hint.height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        room = self.width() - self._overhead()
        metrics = self.fontMetrics()
        fits = metrics.horizontalAdvance(self._full) <= room
        shown = self._full if fits else metrics.elidedText(self._full, self._mode, max(room, 0))
        if shown != super().text():
            QLabel.setText(self, shown)
        if self.property("elided") != (not fits):
            self.setProperty("elided", not fits)
        self._update_tip()

    def _update_tip(self) -> None:
        elided = bool(self.property("elided"))
        if elided and self._full not in self._tip:
            tip = f"{self._full}\n{self._tip}" if self._tip else self._full
        else:
            tip = self._tip
        QLabel.setToolTip(self, tip)
