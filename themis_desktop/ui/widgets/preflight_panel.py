"""The pre-flight readiness of the current hop: one verdict (ready, ready with warnings,
blocked), the suite's checks with their status, severity and message, the offending items
of a failed check as its rows (the selected check's whole text below the list), Run
pre-flight (`run_button`, which the page places among its step buttons) and a Rerun per
check.

It only shows what it is given (`show_preflight`) and says what was asked
(`sig_run_all`, `sig_rerun`); the page runs the checks through the upgrade model."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.upgrade.preflight import CHECKS, CheckResult, Preflight
from themis_desktop.ui import palette

VERDICTS = {  # verdict → its words, text colour, fill
    "ready": ("Ready", palette.OK_GREEN, palette.OK_FILL),
    "warnings": ("Ready with warnings", palette.WARN_AMBER, palette.WARN_FILL),
    "blocked": ("Blocked", palette.BAD_RED, palette.BAD_FILL),
    None: ("Not checked yet", palette.SLATE, palette.NEUTRAL_FILL),
}
CHECK_COLUMN, SEVERITY_COLUMN, RESULT_COLUMN, RERUN_COLUMN = range(4)
DETAIL_ITEMS = 6  # the selected check's items written out below the list


class PreflightPanel(QWidget):
    sig_run_all = Signal()
    sig_rerun = Signal(str)  # a check's name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.run_button = QPushButton("Run pre-flight")
        self.run_button.setToolTip(
            "Run every check of the hop's pre-flight now (the upgrade step runs them too)"
        )
        self.run_button.clicked.connect(self.sig_run_all)
        # Run pre-flight is not in the panel's layout: the page places it among its steps
        top = QHBoxLayout()
        top.addWidget(self.verdict, 1)
        self.checks = QTreeWidget()
        self.checks.setColumnCount(4)
        self.checks.setHeaderLabels(["Check", "Severity", "Result", ""])
        self.checks.setRootIsDecorated(True)
        self.checks.setIndentation(14)
        self.checks.currentItemChanged.connect(lambda item, _: self._show_detail(item))
        header = self.checks.header()
        header.setStretchLastSection(False)
        for column in (CHECK_COLUMN, SEVERITY_COLUMN, RERUN_COLUMN):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(RESULT_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.checks.setMinimumHeight(150)
        self.checks.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.detail = QLabel("", objectName="muted")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.rerun_buttons: dict[str, QToolButton] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.checks)
        layout.addWidget(self.detail)
        self.preflight: Preflight | None = None
        self.show_preflight(None)

    def show_preflight(self, preflight: Preflight | None, enabled: bool = True) -> None:
        """The latest result of each check (None: none ran yet); `enabled`: runs may start."""
        self.preflight = preflight
        words, fg, bg = VERDICTS[preflight.verdict if preflight else None]
        detail = ""
        if preflight is not None:
            if preflight.blocking:
                detail = f" by {', '.join(r.name for r in preflight.blocking)}"
            when = max(r.at for r in preflight.results)[:16].replace("T", " ")
            self.verdict.setToolTip(f"The latest result of each check (newest {when} UTC)")
        else:
            self.verdict.setToolTip("The upgrade step runs every check first in any case")
        self.verdict.setText(f"● Pre-flight: {words}{detail}")
        self.verdict.setProperty("verdict", preflight.verdict if preflight else "none")
        self.verdict.setStyleSheet(
            f"color: {fg}; background: {bg}; border-radius: 9px; padding: 2px 8px;"
            " font-weight: 600;"
        )
        found = {r.name: r for r in preflight.results} if preflight else {}
        self.checks.clear()
        self.rerun_buttons.clear()
        for name, check in CHECKS.items():
            self._add(name, check.severity, check.title, found.get(name), enabled)
        self.run_button.setEnabled(enabled)
        first = next(  # the first that blocks, else the first that warns, is the one to read
            (
                r.name
                for r in sorted(found.values(), key=lambda r: not r.blocks)
                if r.status == "fail"
            ),
            None,
        )
        self._show_detail(self._item(first) if first else None)

    def short_state(self) -> tuple[str, str]:
        """The verdict in a word and its colour, for a tab's title: "● blocked", "○" (not
        run yet)."""
        verdict = self.preflight.verdict if self.preflight is not None else None
        words = {"ready": "● ready", "warnings": "● warnings", "blocked": "● blocked"}
        return words.get(verdict or "", "○"), VERDICTS[verdict][1]

    def _item(self, name: str) -> QTreeWidgetItem | None:
        for index in range(self.checks.topLevelItemCount()):
            item = self.checks.topLevelItem(index)
            if item.data(CHECK_COLUMN, Qt.ItemDataRole.UserRole) == name:
                return item
        return None

    def _show_detail(self, item: QTreeWidgetItem | None) -> None:
        """The selected check's whole text, with its items (a row of one: its check's)."""
        if item is not None and item.parent() is not None:
            item = item.parent()
        text = item.data(RESULT_COLUMN, Qt.ItemDataRole.UserRole) if item is not None else None
        self.detail.setText(text or "")
        self.detail.setVisible(bool(text))

    def set_enabled(self, enabled: bool) -> None:
        """Runs may start (not while a step or a run is under way, nor in a review)."""
        self.run_button.setEnabled(enabled)
        for button in self.rerun_buttons.values():
            button.setEnabled(enabled)

    def _add(
        self, name: str, severity: str, title: str, result: CheckResult | None, enabled: bool
    ) -> None:
        if result is None:
            mark, colour, text = "·", palette.MUTED_TEXT, f"not run yet — {title}"
        elif result.status == "pass":
            mark, colour, text = "✓", palette.OK_GREEN, result.message
        elif result.blocks:
            mark, colour, text = "✗", palette.BAD_RED, result.message
        else:
            mark, colour, text = "⚠", palette.WARN_AMBER, result.message
        item = QTreeWidgetItem([f"{mark} {name}", severity, text, ""])
        item.setData(CHECK_COLUMN, Qt.ItemDataRole.UserRole, name)
        lines = [f"{mark} {name} ({severity}): {text}"]
        items = result.items if result is not None else ()
        lines += [f"  • {line}" for line in items[:DETAIL_ITEMS]]
        if len(items) > DETAIL_ITEMS:
            lines.append(f"  … and {len(items) - DETAIL_ITEMS} more (in the list above)")
        item.setData(RESULT_COLUMN, Qt.ItemDataRole.UserRole, "\n".join(lines))
        item.setForeground(CHECK_COLUMN, QColor(colour))
        tip = f"{title}\n{severity}: {text}"
        if result is not None:
            tip += f"\n(checked {result.at[:16].replace('T', ' ')} UTC)"
        for column in (CHECK_COLUMN, SEVERITY_COLUMN, RESULT_COLUMN):
            item.setToolTip(column, tip)
        for line in result.items if result is not None else ():
            child = QTreeWidgetItem([f"↳ {line}"])
            child.setToolTip(0, f"↳ {line}")
            child.setForeground(0, QColor(colour))
            item.addChild(child)
        self.checks.addTopLevelItem(item)
        for index in range(item.childCount()):
            item.child(index).setFirstColumnSpanned(True)
        item.setExpanded(result is not None and result.status == "fail")
        button = QToolButton()
        button.setText("Rerun")
        button.setAutoRaise(True)
        button.setObjectName(f"rerun-{name}")
        button.setToolTip(f"Run the {name} check alone, now")
        button.setEnabled(enabled)
        button.clicked.connect(lambda _=False, n=name: self.sig_rerun.emit(n))
        self.rerun_buttons[name] = button
        self.checks.setItemWidget(item, RERUN_COLUMN, button)
