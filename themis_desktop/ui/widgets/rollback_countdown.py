"""The rollback-window countdown in the window header: band, time since the upgrade, time
left until the next band; it ticks every second and says when the band changes.

It is drawn neutral (the band as a coloured edge): the colour that judges the upgrade is
the health badge beside it, so a green "Easy rollback" never sits beside a failing hop."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QTimer, Signal

from themis_desktop.core.formatting import human_duration
from themis_desktop.core.rollback_window import WindowState, window
from themis_desktop.ui.widgets.elided_label import ElidedLabel


class RollbackCountdown(ElidedLabel):
    sig_band_changed = Signal(str, str)  # band key, a sentence for a notification

    def __init__(self, clock=None) -> None:
        super().__init__()
        self.setObjectName("rollbackCountdown")
        self.clock = clock or (lambda: datetime.now(UTC))
        self.finished_at: datetime | None = None
        self.hop_label = ""
        self.rolled_back = False
        self.state: WindowState | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.tick)
        self.hide()

    def follow(self, finished_at: datetime | None, hop_label: str, rolled_back: bool) -> None:
        """Count from `finished_at` (None hides the countdown); `rolled_back` shows that."""
        same = finished_at == self.finished_at and rolled_back == self.rolled_back
        self.finished_at, self.hop_label, self.rolled_back = finished_at, hop_label, rolled_back
        if not same:
            self.state = None
        if finished_at is None and not rolled_back:
            self._timer.stop()
            self.hide()
            return
        self.show()
        self.tick()
        if rolled_back:
            self._timer.stop()
        else:
            self._timer.start()

    def tick(self) -> None:
        if self.rolled_back:
            self.setText(f"{self.hop_label}: rolled back")
            self.setToolTip("The hop was rolled back; its data and version were restored.")
            self._set_style("#44546a")
            return
        if self.finished_at is None:
            return
        state = window(self.finished_at, self.clock())
        previous = self.state
        self.state = state
        text = f"{state.band.title} · {human_duration(state.elapsed)}"
        if state.to_next is not None and state.next_band is not None:
            text += f" · {human_duration(state.to_next)} to {state.next_band.key}"
        self.setText(text)
        self.setToolTip(
            f"Rollback window of {self.hop_label}: {human_duration(state.elapsed)} since its "
            f"new version answered.\n{state.band.meaning}"
        )
        self._set_style(state.band.colour)
        if previous is not None and previous.band.key != state.band.key:
            self.sig_band_changed.emit(
                state.band.key, f"Rollback window of {self.hop_label}: {state.band.title}."
            )

    def _set_style(self, colour: str) -> None:
        style = _style(colour)
        if self.styleSheet() != style:
            self.setStyleSheet(style)
            self.updateGeometry()


def _style(colour: str) -> str:
    return (
        "QLabel#rollbackCountdown { color: #1d2733; background: #f1f4f8; border-radius: 10px;"
        f" border: 1px solid #d5dbe2; border-left: 5px solid {colour}; padding: 2px 10px; }}"
    )
