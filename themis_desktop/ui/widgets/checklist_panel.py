"""The checklist of one guide: steps by phase, ticks, notes, skips, choices and progress.

A step with alternatives (`Option A: package manager`, `Option B: Docker`, …) lists them as
checkable rows under it; checking one records it as the step's choice."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QProgressBar,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.guides.checklist import StepState
from themis_desktop.core.guides.structure import PHASE_TITLES, PHASES, Step, plain_text

STEP_ROLE = Qt.ItemDataRole.UserRole
OPTION_ROLE = Qt.ItemDataRole.UserRole + 1  # the option key, on an alternative's row


class _WrappingDelegate(QStyledItemDelegate):
    """Row heights that fit the wrapped text of column 0 at its current width."""

    def __init__(self, tree: QTreeWidget) -> None:
        super().__init__(tree)
        self.tree = tree

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        if index.column() != 0:
            return hint
        depth, parent = 0, index.parent()
        while parent.isValid():
            depth, parent = depth + 1, parent.parent()
        width = self.tree.columnWidth(0) - self.tree.indentation() * (depth + 1) - 34
        text = str(index.data() or "")
        bounds = option.fontMetrics.boundingRect(
            QRect(0, 0, max(60, width), 10_000), int(Qt.TextFlag.TextWordWrap), text
        )
        return QSize(hint.width(), max(hint.height(), bounds.height() + 6))


class ChecklistPanel(QWidget):
    """Emits what the user did; the page records it and calls `apply_state` back."""

    # step id, state, note, reason; for a choice: step id, "choice", option key, option label
    sig_step_changed = Signal(str, str, str, str)

    def __init__(self) -> None:
        super().__init__()
        self.steps: dict[str, Step] = {}
        self.states: dict[str, StepState] = {}
        self.items: dict[str, QTreeWidgetItem] = {}
        self.option_items: dict[tuple[str, str], QTreeWidgetItem] = {}  # (step id, key)
        self.phase_items: dict[str, QTreeWidgetItem] = {}
        self.heading = QLabel("Checklist", objectName="cardTitle")
        self.session_label = QLabel("", objectName="muted")
        self.session_label.setWordWrap(True)
        self.progress = QProgressBar()
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Step", "Done"])
        self.tree.setWordWrap(True)  # long steps wrap instead of being cut off
        self.tree.setUniformRowHeights(False)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideNone)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setItemDelegate(_WrappingDelegate(self.tree))
        self.tree.viewport().installEventFilter(self)
        self.tree.itemChanged.connect(self._on_tree_item_changed)
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.note_button = QPushButton("Note…")
        self.skip_button = QPushButton("Skip…")
        self.reopen_button = QPushButton("Reopen")
        self.note_button.clicked.connect(self._ask_note)
        self.skip_button.clicked.connect(self._ask_skip)
        self.reopen_button.clicked.connect(lambda: self._emit(self.current_step(), "open"))
        buttons = QHBoxLayout()
        for button in (self.note_button, self.skip_button, self.reopen_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.session_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self._update_buttons()

    def show_steps(self, steps: tuple[Step, ...], states: dict[str, StepState]) -> None:
        """Replace the list (with signals blocked: this is model → widget)."""
        self.steps = {s.id: s for s in steps}
        self.states = dict(states)
        self.tree.blockSignals(True)
        self.tree.clear()
        self.items, self.phase_items, self.option_items = {}, {}, {}
        for phase in PHASES:
            phase_steps = [s for s in steps if s.phase == phase]
            if not phase_steps:
                continue
            parent = QTreeWidgetItem(self.tree, [PHASE_TITLES[phase], ""])
            parent.setFlags(Qt.ItemFlag.ItemIsEnabled)
            parent.setExpanded(True)
            self.phase_items[phase] = parent
            for step in phase_steps:
                item = QTreeWidgetItem(parent, [plain_text(step.text), ""])
                item.setData(0, STEP_ROLE, step.id)
                item.setFlags(
                    Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsSelectable
                    | Qt.ItemFlag.ItemIsUserCheckable
                )
                self.items[step.id] = item
                for option in step.options:
                    row = QTreeWidgetItem(item, [f"{option.key}: {plain_text(option.label)}", ""])
                    row.setData(0, STEP_ROLE, step.id)
                    row.setData(0, OPTION_ROLE, option.key)
                    row.setToolTip(0, option.body)
                    row.setFlags(
                        Qt.ItemFlag.ItemIsEnabled
                        | Qt.ItemFlag.ItemIsSelectable
                        | Qt.ItemFlag.ItemIsUserCheckable
                    )
                    self.option_items[(step.id, option.key)] = row
                item.setExpanded(True)
                self._paint(step.id)
        self.tree.blockSignals(False)
        self._update_progress()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.tree.viewport() and event.type() == QEvent.Type.Resize:
            # row heights are cached: lay the rows out again for the new text width
            QTimer.singleShot(0, self.tree.doItemsLayout)
        return super().eventFilter(watched, event)

    def apply_state(self, state: StepState) -> None:
        """A state the journal has recorded."""
        self.states[state.step_id] = state
        self.tree.blockSignals(True)
        self._paint(state.step_id)
        self.tree.blockSignals(False)
        self._update_progress()
        self._update_buttons()

    def current_step(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, STEP_ROLE) if item else None

    def tick(self, step_id: str, done: bool = True) -> None:
        """What a click on the step's box does (also for tests and keyboard use)."""
        self.items[step_id].setCheckState(
            0, Qt.CheckState.Checked if done else Qt.CheckState.Unchecked
        )

    def choose(self, step_id: str, key: str) -> None:
        """What a click on an alternative's box does: record it as the step's choice."""
        self.option_items[(step_id, key)].setCheckState(0, Qt.CheckState.Checked)

    def counts(self, phase: str | None = None) -> tuple[int, int]:
        """(finished, total) steps, overall or for one phase; skipped steps count as finished."""
        ids = [i for i, s in self.steps.items() if phase is None or s.phase == phase]
        finished = sum(
            self.states.get(i) is not None and self.states[i].state != "open" for i in ids
        )
        return finished, len(ids)

    def _paint(self, step_id: str) -> None:
        item, state = self.items[step_id], self.states.get(step_id)
        done = state is not None and state.state == "done"
        item.setCheckState(0, Qt.CheckState.Checked if done else Qt.CheckState.Unchecked)
        step = self.steps[step_id]
        detail, tip = "", plain_text(step.text)
        self._paint_choice(step, state)
        if state and state.state == "done":
            detail = f"{state.at[11:16]} {state.user}"
            tip += f"\nDone {state.at} by {state.user}"
        elif state and state.state == "skipped":
            detail = "skipped"
            tip += f"\nSkipped {state.at} by {state.user}: {state.reason}"
        if state and state.choice:
            tip += f"\nChosen: option {state.choice} {plain_text(state.choice_label)}".rstrip()
        elif step.options:
            tip += "\nNo option chosen yet: check the one you take"
        if state and state.note:
            detail += " ✎"
            tip += f"\nNote: {state.note}"
        item.setText(1, detail)
        item.setToolTip(0, tip)
        item.setToolTip(1, tip)
        font = item.font(0)
        font.setStrikeOut(bool(state and state.state == "skipped"))
        item.setFont(0, font)

    def _paint_choice(self, step: Step, state: StepState | None) -> None:
        """The chosen alternative checked (the others not), and named in the step's row."""
        if not step.options:
            return
        chosen = state.choice if state else ""
        for option in step.options:
            row = self.option_items[(step.id, option.key)]
            mine = option.key == chosen
            row.setCheckState(0, Qt.CheckState.Checked if mine else Qt.CheckState.Unchecked)
            row.setText(1, "chosen" if mine else "")
        label = next((plain_text(o.label) for o in step.options if o.key == chosen), "")
        text = plain_text(step.text)
        shown = f"{text} — chosen: {chosen} {label}".rstrip() if chosen else text
        self.items[step.id].setText(0, shown)

    def _update_progress(self) -> None:
        finished, total = self.counts()
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(finished)
        self.progress.setFormat(f"{finished} of {total} steps")
        for phase, parent in self.phase_items.items():
            done, count = self.counts(phase)
            parent.setText(1, f"{done}/{count}")

    def _update_buttons(self) -> None:
        step = self.current_step()
        state = self.states.get(step) if step else None
        self.note_button.setEnabled(step is not None)
        self.skip_button.setEnabled(step is not None and (state is None or state.state == "open"))
        self.reopen_button.setEnabled(state is not None and state.state != "open")

    def _on_tree_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        step_id, key = item.data(0, STEP_ROLE), item.data(0, OPTION_ROLE)
        if key and step_id and column == 0:
            if item.checkState(0) == Qt.CheckState.Checked:
                option = next(o for o in self.steps[step_id].options if o.key == key)
                self.sig_step_changed.emit(step_id, "choice", key, option.label)
            else:  # a choice is changed by checking another option, not undone
                self.tree.blockSignals(True)
                self._paint(step_id)
                self.tree.blockSignals(False)
        elif step_id and column == 0:
            self._emit(step_id, "done" if item.checkState(0) == Qt.CheckState.Checked else "open")

    def _emit(self, step_id: str | None, state: str, note: str = "", reason: str = "") -> None:
        if step_id:
            self.sig_step_changed.emit(step_id, state, note, reason)

    def _ask_note(self) -> None:
        step = self.current_step()
        old = self.states.get(step)
        text, ok = QInputDialog.getMultiLineText(
            self, "Note", "Note for this step:", old.note if old else ""
        )
        if ok and step:
            self._emit(step, "note", text.strip())

    def _ask_skip(self) -> None:
        step = self.current_step()
        reason, ok = QInputDialog.getText(self, "Skip step", "Why is this step skipped?")
        if ok and reason.strip():
            self._emit(step, "skipped", reason=reason.strip())
