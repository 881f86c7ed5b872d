"""Compare windows…: two stored windows of a profile's samples judged as live (core's
`retrospective.compare_windows`, on the journal thread), shown in the comparison table.
A preset (the same hour last week against the last hour, …) or custom from/to times; the
same question on the command line is shown beside the result."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from html import escape

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.metrics.comparison import load_statistics
from themis_desktop.core.metrics.retrospective import (
    PRESETS,
    Window,
    WindowComparison,
    compare_windows,
    preset_windows,
)
from themis_desktop.core.util.formatting import human_duration
from themis_desktop.ui.tasks import TaskManager
from themis_desktop.ui.widgets.comparison_table import ComparisonTable

CUSTOM = "Custom windows"
FORMAT = "yyyy-MM-dd HH:mm:ss"


class CompareWindowsDialog(QDialog):
    sig_compared = Signal(object)  # WindowComparison

    def __init__(
        self, tasks: TaskManager, profile: str, min_samples: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Compare windows — {profile}")
        self.tasks, self.profile, self.min_samples = tasks, profile, min_samples
        self.result: WindowComparison | None = None
        self.preset = QComboBox()
        for title, back in PRESETS.items():
            self.preset.addItem(f"{title[0].upper()}{title[1:]} vs the last hour", back)
        self.preset.addItem(CUSTOM, None)
        self.preset.setToolTip("Two windows of the samples in the journal; or choose custom times")
        self.edits = {
            key: _time_edit() for key in ("before_from", "before_to", "after_from", "after_to")
        }
        times = QGridLayout()
        windows = QLabel("&Windows")
        windows.setBuddy(self.preset)
        times.addWidget(windows, 0, 0)
        times.addWidget(self.preset, 0, 1, 1, 3)
        times.setColumnStretch(4, 1)  # the times keep their width; the rest is spare
        for row, (side, tip) in enumerate(
            (("before", "the reference, e.g. a week ago"), ("after", "the window judged")), 1
        ):
            label = QLabel(f"&{side.capitalize()}")
            label.setBuddy(self.edits[f"{side}_from"])
            label.setToolTip(tip)
            times.addWidget(label, row, 0)
            times.addWidget(self.edits[f"{side}_from"], row, 1)
            times.addWidget(QLabel("to"), row, 2)
            times.addWidget(self.edits[f"{side}_to"], row, 3)
        self.compare_button = QPushButton("Com&pare")
        self.compare_button.setDefault(True)
        self.compare_button.clicked.connect(self.compare)
        self.summary = QLabel("Choose two windows, then Compare.")
        self.summary.setWordWrap(True)
        self.table = ComparisonTable()
        self.reason = QLabel("", objectName="muted")
        self.reason.setWordWrap(True)
        self.table.sig_reason.connect(self.reason.setText)
        self.command = QLabel("", objectName="muted")
        self.command.setWordWrap(True)
        self.command.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.compare_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(times)
        layout.addWidget(buttons)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.reason)
        layout.addWidget(self.command)
        self.preset.currentIndexChanged.connect(self._on_preset)
        for edit in self.edits.values():
            edit.dateTimeChanged.connect(self._on_edited)
        self._on_preset(0)
        self.resize(max(760, self.table.full_width() + 40), 560)

    def windows(self) -> tuple[Window, Window]:
        """The before and after windows as unix seconds."""
        e = {key: edit.dateTime().toSecsSinceEpoch() for key, edit in self.edits.items()}
        return (e["before_from"], e["before_to"]), (e["after_from"], e["after_to"])

    def set_windows(self, before: Window, after: Window) -> None:
        for key, at in zip(self.edits, (*before, *after), strict=True):
            edit = self.edits[key]
            edit.blockSignals(True)
            edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(at)))
            edit.blockSignals(False)

    def _on_preset(self, index: int) -> None:
        back = self.preset.itemData(index)
        if back is not None:
            self.set_windows(*preset_windows(back, time.time()))

    def _on_edited(self) -> None:
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(self.preset.findText(CUSTOM))
        self.preset.blockSignals(False)

    def compare(self) -> None:
        before, after = self.windows()
        load_statistics()  # here, in the GUI thread, not in the worker
        self.compare_button.setEnabled(False)
        self.summary.setText("Comparing…")
        profile, min_samples = self.profile, self.min_samples
        self.command.setText(
            f"Same as: themis-desktop metrics compare --profile '{profile}' "
            f"--before {_iso(before[0])}..{_iso(before[1])} "
            f"--after {_iso(after[0])}..{_iso(after[1])} --min-samples {min_samples}"
        )
        self.tasks.run_journal(
            lambda journal: compare_windows(
                journal, profile, before, after, min_samples=min_samples
            ),
            on_done=self._on_compared,
            on_failed=self._on_failed,
        )

    def _on_compared(self, result: WindowComparison) -> None:
        self.result = result
        self.compare_button.setEnabled(True)
        evaluation = result.evaluation
        self.table.set_evaluation(evaluation)
        nodes = ", ".join(result.nodes) or "no node"
        load = (
            f"offered (probe) load {result.load.before:.2g} → {result.load.after:.2g} req/s a node"
            if result.load
            else "offered load unknown (no probes on a side): served requests not judged"
        )
        text = (
            f"<b>Verdict: {evaluation.overall.upper()}</b> — {human_duration(_span(result.after))}"
            f" from {_local(result.after[0])} against {human_duration(_span(result.before))} "
            f"from {_local(result.before[0])} ({escape(nodes)}); {load}."
        )
        if evaluation.inconclusive:
            text += f"<br>{escape(evaluation.inconclusive)}"
        self.summary.setText(text)
        self.sig_compared.emit(result)

    def _on_failed(self, exc: object) -> None:
        self.compare_button.setEnabled(True)
        self.summary.setText(f"The windows could not be compared: {exc}")


def _time_edit() -> QDateTimeEdit:
    edit = QDateTimeEdit(calendarPopup=True)
    edit.setDisplayFormat(FORMAT)
    return edit


def _span(window: Window) -> float:
    return window[1] - window[0]


def _local(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%d %b %H:%M")


def _iso(at: float) -> str:
    """UTC without a zone, as `metrics compare` reads it."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S")
