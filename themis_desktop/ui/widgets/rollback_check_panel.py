"""The check after a rollback on the session page: while it samples, a progress bar with
the seconds left and Cancel; then its outcome (the verdict, what it was compared with, the
metrics that decided it) and Check again. Hidden while the session has no check."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.upgrade.rollback_check import RollbackCheck
from themis_desktop.core.util.formatting import human_duration
from themis_desktop.ui import palette
from themis_desktop.ui.models.rollback_check import RollbackCheckModel

COLOUR = {"pass": palette.OK_GREEN, "fail": palette.BAD_RED, "marginal": palette.WARN_AMBER}


class RollbackCheckPanel(QFrame):
    def __init__(self, model: RollbackCheckModel, parent=None) -> None:
        super().__init__(parent, objectName="rollbackCheck")
        self.model = model
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel("<b>Check after the rollback</b>")
        self.outcome = QLabel("")
        self.outcome.setWordWrap(True)
        self.outcome.setTextFormat(Qt.TextFormat.RichText)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.left = QLabel("")
        self.cancel_button = QPushButton("Cancel check")
        self.cancel_button.setToolTip("Stop sampling: what was sampled is judged (and says so)")
        self.cancel_button.clicked.connect(model.cancel)
        self.again_button = QPushButton("Check again")
        self.again_button.setToolTip(
            "Sample the restored cluster again and judge it against the hop's baseline"
        )
        self.again_button.clicked.connect(lambda: model.start())
        running = QHBoxLayout()
        running.setContentsMargins(0, 0, 0, 0)
        running.addWidget(self.progress, 1)
        running.addWidget(self.left)
        running.addWidget(self.cancel_button)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.title, 1)
        head.addWidget(self.again_button)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addLayout(running)
        layout.addWidget(self.outcome)
        model.sig_running.connect(self._on_running)
        model.sig_progress.connect(self._on_progress)
        model.sig_outcome.connect(self.show_check)
        model.sig_failed.connect(self._on_failed)
        self.short = ("", palette.SLATE)  # the check in a word and its colour, for a tab
        self._show_running(False)
        self.hide()

    def _show_running(self, running: bool) -> None:
        for widget in (self.progress, self.left, self.cancel_button):
            widget.setVisible(running)
        self.again_button.setVisible(not running)

    def _on_running(self, seconds: float) -> None:
        self.short = ("· running…", palette.BUSY_ORANGE)
        self.progress.setValue(0)
        self.left.setText(f"{human_duration(seconds)} left")
        self.outcome.setText(
            f"Sampling the restored cluster for {escape(human_duration(seconds))} and judging "
            "it against the hop's baseline…"
        )
        self._show_running(True)
        self.show()

    def _on_progress(self, done: float, total: float) -> None:
        if total > 0:
            self.progress.setValue(int(1000 * min(done, total) / total))
        self.left.setText(f"{human_duration(max(0.0, total - done) + 0.5)} left")

    def _on_failed(self, message: str) -> None:
        self.short = ("● could not run", palette.BAD_RED)
        self._show_running(False)
        self.outcome.setText(
            f"<span style='color:{palette.BAD_RED}'>The check could not run:</span> "
            f"{escape(message)}"
        )
        self.show()

    def show_check(self, check: RollbackCheck | None) -> None:
        """The check's outcome (None: no check, the panel hides)."""
        self._show_running(False)
        if check is None:
            self.short = ("", palette.SLATE)
            self.outcome.setText("")
            self.hide()
            return
        colour = COLOUR.get(check.verdict, palette.WARN_AMBER)
        self.short = (f"● {check.verdict}", colour)
        lines = [
            f"<b style='color:{colour}'>{escape(check.verdict.upper())}</b> — "
            f"{escape(check.summary)}",
            f"<span style='color:{palette.MUTED_TEXT}'>Compared with {escape(check.reference)}"
            + (
                f"; sampled {escape(human_duration(check.seconds))}"
                if check.verdict not in ("skipped", "no baseline")
                else ""
            )
            + f"; {escape(check.at)}</span>",
        ]
        decided = [
            (key, value)
            for key, value in check.metrics.items()
            if value.get("verdict") in ("fail", "marginal")
        ]
        for key, value in decided:
            title = METRICS[key].title if key in METRICS else key
            lines.append(f"{escape(title)}: {escape(str(value.get('reason', '')))}")
        if check.trigger_id is not None:
            lines.append(f"Trigger {check.trigger_id} raised (Post-rollback check failed).")
        self.outcome.setText("<br>".join(lines))
        self.outcome.setToolTip("\n".join(check.lines()))
        self.show()
