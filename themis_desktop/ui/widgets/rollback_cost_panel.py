"""Beside the rollback window on the session page: how the last upgraded hop can be undone
now ("binary swap" until its new version writes, then "restore only"), the writes each node
has taken since its last verified backup (what a restore loses or must reconcile), and in
red the warning of a session left half done too long (`core.upgrade.rollback_cost`)."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from themis_desktop.core.upgrade.rollback_cost import RESTORE_ONLY, RollbackCost
from themis_desktop.ui import palette
from themis_desktop.ui.models.rollback_cost import RollbackCostMonitor


class RollbackCostPanel(QWidget):
    def __init__(self, monitor: RollbackCostMonitor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rollbackCost")
        self.monitor = monitor
        self.mode_label = QLabel("")
        self.meter = QLabel("")
        self.half_done = QLabel("")
        for label in (self.mode_label, self.meter, self.half_done):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meter.setToolTip(
            "Writes each node took since its last verified backup, from the server's own "
            "write counter (RocksDB): what a rollback by restore loses or must reconcile. "
            "“At least”: a restart between two readings may have hidden more."
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.mode_label)
        layout.addWidget(self.meter)
        layout.addWidget(self.half_done)
        monitor.sig_cost.connect(self.show_cost)
        self.show_cost(monitor.cost)

    def short_state(self) -> tuple[str, str]:
        """The way back in a few words and its colour, for a tab's title: "· restore only
        ⚠"…"""
        cost = self.monitor.cost
        if cost is None:
            return "", palette.SLATE
        mode = cost.mode
        text = f"· {mode.mode}" if mode is not None else ""
        colour = palette.SLATE
        if mode is not None:
            colour = palette.BAD_RED if mode.mode == RESTORE_ONLY else palette.OK_GREEN
        if cost.half_done is not None and cost.half_done.warning:
            text, colour = f"{text} ⚠", palette.BAD_RED
        return text, colour

    def show_cost(self, cost: RollbackCost | None) -> None:
        mode = cost.mode if cost else None
        if cost is None:
            self.hide()
            return
        if mode is not None:
            colour = palette.BAD_RED if mode.mode == RESTORE_ONLY else palette.OK_GREEN
            self.mode_label.setText(
                f"<b>Rollback of {escape(mode.label)}:</b> "
                f"<span style='color:{colour}'><b>{escape(mode.mode)}</b></span> — "
                f"{escape(mode.reason)}"
            )
            self.mode_label.setToolTip(mode.note)
            self.mode_label.show()
        else:
            self.mode_label.hide()
        lines = [escape(w.text()) for w in cost.at_risk.values()]
        lines += [
            f"<span style='color:{palette.MUTED_TEXT}'>{escape(n)}: not read now "
            f"({escape(why[:120])})</span>"
            for n, why in cost.polled.items()
        ]
        self.meter.setText("<b>Writes at risk</b><br>" + "<br>".join(lines))
        half = cost.half_done
        if half is not None and half.warning:
            self.half_done.setText(
                f"<span style='color:{palette.BAD_RED}'>⚠ {escape(half.text)}</span>"
            )
            self.half_done.show()
        else:
            self.half_done.hide()
        self.show()
