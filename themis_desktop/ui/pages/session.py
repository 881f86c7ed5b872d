"""Upgrade session page: the plan as a stepper, the current hop's steps with progress and a
live log, the rollback window, the triggers with the metrics verdict, and Roll back now."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core import hop_runner
from themis_desktop.core.formatting import human_duration
from themis_desktop.core.journal import Journal, parse_utc
from themis_desktop.core.logs import errors_and_warnings
from themis_desktop.core.rollback_window import describe, window
from themis_desktop.core.session import TRIGGER_KINDS, Hop, UpgradeSession
from themis_desktop.ui.upgrade_model import UpgradeModel
from themis_desktop.ui.workspace import Workspace

PHASES = (
    ("pre-checks", "Pre-checks"),
    ("backed-up", "Verified backup"),
    ("upgrading", "Upgrade step"),
    ("validating", "Validation"),
    ("done", "Done"),
)
ORDER = ["planned", "pre-checks", "backed-up", "upgrading", "validating", "done"]
STATE_COLOUR = {
    "done": "#1f7a3a",
    "failed": "#a4161a",
    "rolling-back": "#c2410c",
    "rolled-back": "#44546a",
}


class SessionPage(QWidget):
    TITLE = "Upgrade session"

    sig_open_guides = Signal()

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.model: UpgradeModel = workspace.upgrade
        self.session: UpgradeSession | None = None
        self._recorded_triggers: set[tuple[int, int, str]] = set()
        self.heading = QLabel("Upgrade session", objectName="pageTitle")
        self.summary = QLabel("", objectName="muted")
        self.summary.setWordWrap(True)
        self.new_button = QPushButton("Start session for the planned path")
        self.new_button.setToolTip("The path chosen on the Versions page (Ctrl+2)")
        self.new_button.clicked.connect(self.start_session)
        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addStretch(1)
        self.report_button = QPushButton("Report…")
        self.report_button.setToolTip("The session as an HTML or PDF report (for support, review)")
        self.report_button.clicked.connect(lambda: self.export_report())
        top.addWidget(self.report_button)
        top.addWidget(self.new_button)

        self.stepper = QTreeWidget()
        self.stepper.setHeaderHidden(True)
        self.stepper.setMinimumWidth(200)
        self.stepper.setMaximumWidth(300)

        self.hop_title = QLabel("", objectName="sectionTitle")
        font = self.hop_title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setWeight(QFont.Weight.DemiBold)
        self.hop_title.setFont(font)
        self.window_label = QLabel("")
        self.window_label.setWordWrap(True)
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        for step, text, tip in (
            ("pre-checks", "Pre-checks", "Every node answers, is ready and runs the hop's version"),
            ("backup", "Back up now", "A verified backup of every node (required before the hop)"),
            ("upgrade", "Run upgrade step", "Stop, install, start, wait for ready, check version"),
            ("validate", "Validate", "Health, readiness and version after the upgrade"),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, s=step: self.run(s))
            self.buttons[step] = button
            row.addWidget(button)
        self.rollback_button = QPushButton("Roll back now…")
        self.rollback_button.setObjectName("danger")
        self.rollback_button.setToolTip("Stop, restore the hop's backup, reinstall, verify, resume")
        self.rollback_button.clicked.connect(self.ask_rollback)
        row.addStretch(1)
        second = QHBoxLayout()
        second.addWidget(self.rollback_button)
        second.addStretch(1)
        guide = QPushButton("Guide checklist")
        guide.setToolTip("The hop's migration guide with its checklist (Ctrl+3)")
        guide.clicked.connect(self.sig_open_guides)
        second.addWidget(guide)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.model.cancel)
        self.cancel_button.hide()
        busy = QHBoxLayout()
        busy.addWidget(self.progress, 1)
        busy.addWidget(self.cancel_button)
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(5000)
        self.log.setPlaceholderText("The steps' output appears here.")
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addWidget(self.hop_title)
        middle_layout.addWidget(self.window_label)
        middle_layout.addLayout(row)
        middle_layout.addLayout(second)
        middle_layout.addLayout(busy)
        middle_layout.addWidget(self.log, 1)

        self.verdict = QLabel("Metrics: no verdict yet (capture a baseline on the Metrics page).")
        self.verdict.setWordWrap(True)
        self.triggers = QListWidget(wordWrap=True)
        self.trigger_kind = QComboBox()
        for key, title in TRIGGER_KINDS.items():
            self.trigger_kind.addItem(title, key)
        self.raise_button = QPushButton("Raise trigger…")
        self.raise_button.clicked.connect(self.ask_trigger)
        self.log_counts = QLabel("")
        self.log_counts.setWordWrap(True)
        self.log_counts.setTextFormat(Qt.TextFormat.RichText)
        self.log_counts.setToolTip(
            "Errors and warnings in the nodes' logs, per phase of the hop "
            "(the Logs page, Ctrl+9, shows the lines)"
        )
        triggers = QGroupBox("Rollback triggers")
        triggers.setMaximumWidth(360)
        t_layout = QVBoxLayout(triggers)
        t_layout.addWidget(self.verdict)
        t_layout.addWidget(self.log_counts)
        t_layout.addWidget(self.triggers, 1)
        t_row = QHBoxLayout()
        t_row.addWidget(self.trigger_kind, 1)
        t_row.addWidget(self.raise_button)
        t_layout.addLayout(t_row)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.stepper)
        splitter.addWidget(middle)
        splitter.addWidget(triggers)
        splitter.setStretchFactor(1, 3)
        splitter.setStretchFactor(2, 1)
        splitter.setSizes([240, 620, 300])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)

        self.model.sig_session.connect(self.show_session)
        self.model.sig_log.connect(self.log.appendPlainText)
        self.model.sig_busy.connect(self._on_busy)
        self.model.sig_step_failed.connect(self._on_failed)
        self.model.sig_confirm.connect(self._on_confirm)
        self.model.sig_step_done.connect(self._on_done)
        workspace.metrics.sig_evaluation.connect(self._on_evaluation)
        workspace.metrics.sig_trigger.connect(self._on_metrics_trigger)
        workspace.logs.sig_counts.connect(lambda _: self._show_log_counts())
        workspace.sig_plan_changed.connect(lambda _: self._update_buttons())
        self.show_session(self.model.session)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(lambda: self.session and self._show_hop(self.session))
        self._clock.start()

    # -- showing ---------------------------------------------------------------

    def show_session(self, session: UpgradeSession | None) -> None:
        self.session = session
        self.stepper.clear()
        if session is None:
            profile = self.workspace.profile
            self.summary.setText(
                "No upgrade session. Plan a path on the Versions page, then start a session: "
                "every hop then gets pre-checks, a verified backup, the upgrade step and "
                "validation, with one-click rollback."
                if profile
                else "Connect to a profile (Ctrl+K) first."
            )
            self.hop_title.setText("")
            self.window_label.setText("")
            self.triggers.clear()
        else:
            self.workspace.set_session(session.id)
            self.summary.setText(
                f"Session {session.id}: {session.profile} {session.session.from_version} → "
                f"{session.session.to_version} · {session.state} · started "
                f"{session.session.created_at[:16].replace('T', ' ')} by "
                f"{session.session.created_by}"
            )
            for hop in session.hops:
                self._add_hop(hop, hop is session.current)
            self._show_hop(session)
            self._load_triggers(session)
        self._show_log_counts()
        self._update_buttons()

    def _add_hop(self, hop: Hop, current: bool) -> None:
        item = QTreeWidgetItem([f"{hop.position + 1}. {hop.label} — {hop.state}"])
        colour = STATE_COLOUR.get(hop.state)
        if colour:
            item.setForeground(0, QColor(colour))
        if current:
            font = item.font(0)
            font.setBold(True)
            item.setFont(0, font)
        reached = ORDER.index(hop.state) if hop.state in ORDER else -1
        for key, title in PHASES:
            index = ORDER.index(key)
            mark = (
                "✓"
                if reached > index or hop.state == "done"
                else ("▶" if reached == index else "·")
            )
            child = QTreeWidgetItem([f"{mark} {title}"])
            item.addChild(child)
        if hop.state in ("rolling-back", "rolled-back", "failed"):
            item.addChild(
                QTreeWidgetItem([f"↺ {hop.state}" + (f": {hop.note}" if hop.note else "")])
            )
        self.stepper.addTopLevelItem(item)
        item.setExpanded(current or hop.state in ("failed", "rolling-back"))

    def _show_hop(self, session: UpgradeSession) -> None:
        hop = session.current or session.hops[-1]
        total = len(session.hops)
        self.hop_title.setText(f"Hop {hop.position + 1} of {total}: {hop.label} — {hop.state}")
        last = session.last_finished
        if session.rolled_back and (last is None or session.rolled_back.position >= last.position):
            self.window_label.setText(f"Hop {session.rolled_back.label} was rolled back.")
        elif last and last.finished:
            self.window_label.setText(
                f"Rollback window of {last.label}: {describe(window(last.finished))}"
            )
        else:
            self.window_label.setText(
                "The rollback window starts when a hop's new version answers."
            )

    def _show_log_counts(self) -> None:
        """Errors and warnings of the shown hop's logs, per phase."""
        session, logs = self.session, self.workspace.logs
        hop = (session.current or session.last_finished or session.hops[-1]) if session else None
        if hop is None:
            self.log_counts.setText("")
            return
        counts = logs.counts.get(hop.id, {})
        if not counts and not logs.following:
            self.log_counts.setText(
                "Logs: not followed (set each node's log source with Ctrl+K)."
                if not self.workspace.read_only
                else "Logs: nothing recorded for this hop."
            )
            return
        cells = []
        for key, title in PHASES:
            errors, warnings = errors_and_warnings(counts.get(key, {}))
            colour = "#a4161a" if errors else ("#b45309" if warnings else "#6b7280")
            cells.append(
                f"<tr><td>{title}</td><td align='right' style='color:{colour}'>{errors}</td>"
                f"<td align='right'>{warnings}</td></tr>"
            )
        self.log_counts.setText(
            f"<b>Logs of hop {hop.label}</b><table cellspacing='0' cellpadding='2'>"
            "<tr><th align='left'>Phase</th><th>Errors</th><th>Warnings</th></tr>"
            + "".join(cells)
            + "</table>"
        )

    def _load_triggers(self, session: UpgradeSession) -> None:
        def load(journal: Journal):
            return session.triggers(journal)

        def show(triggers) -> None:
            self.triggers.clear()
            for t in triggers:
                text = f"{t.at[:16].replace('T', ' ')}  {t.title}: {t.note}  ({t.user})"
                self.triggers.addItem(text)
                self.triggers.item(self.triggers.count() - 1).setToolTip(text)

        self.workspace.tasks.run_journal(load, on_done=show)

    def _update_buttons(self) -> None:
        session, busy = self.session, bool(self.model.busy) or self.workspace.read_only
        hop = session.current if session else None
        state = hop.state if hop else None
        started = bool(hop and hop.started_at)
        allowed = {
            "pre-checks": state in ("planned", "pre-checks", "backed-up")
            or (state == "failed" and not started),
            "backup": state in ("planned", "pre-checks", "backed-up")
            or (state == "failed" and not started),
            "upgrade": state == "backed-up",
            "validate": state == "validating" or (state == "failed" and started),
        }
        for step, button in self.buttons.items():
            button.setEnabled(not busy and allowed[step])
        self.rollback_button.setEnabled(
            not busy and session is not None and hop_runner.rollback_hop(session) is not None
        )
        self.report_button.setEnabled(session is not None)
        self.new_button.setEnabled(
            not busy
            and (session is None or session.ended)
            and self.workspace.profile is not None
            and self.workspace.plan is not None
            and bool(self.workspace.plan.hops)
        )
        self.raise_button.setEnabled(not busy and session is not None)

    # -- actions ------------------------------------------------------------------

    def export_report(self, path: Path | None = None) -> Path | None:
        """Write the session's report (pictures are drawn here, in the GUI thread)."""
        from PySide6.QtGui import QGuiApplication
        from PySide6.QtWidgets import QFileDialog

        from themis_desktop.ui.report_export import write_report

        if self.session is None:
            return None
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self,
                "Session report",
                f"upgrade-session-{self.session.id}.html",
                "HTML (*.html);;PDF (*.pdf)",
            )
            if not chosen:
                return None
            path = Path(chosen)
        secrets = tuple(t for t in [self.workspace.tokens.get(self.session.profile or "")] if t)
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            out = write_report(self.workspace.tasks.journal_path, self.session.id, path, secrets)
        except (OSError, ValueError) as exc:
            self._on_failed("report", f"The report could not be written: {exc}")
            return None
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.workspace.sig_message.emit(f"Report written to {out}")
        return out

    def start_session(self) -> None:
        if self.workspace.plan is not None and not self.workspace.refuse("Starting a session"):
            self.model.start_session(self.workspace.plan)

    def run(self, step: str) -> None:
        if self.workspace.refuse(step.capitalize()):
            return
        if step == "upgrade" and self.session and self.session.current:
            hop = self.session.current  # the metrics baseline of this hop: the last 15 min
            self.workspace.metrics.capture_baseline(15, label=f"before {hop.label}")
        self.model.run_step(step)

    def ask_rollback(self) -> QDialog | None:
        session = self.session
        hop = hop_runner.rollback_hop(session) if session else None
        if session is None or hop is None or self.workspace.refuse("Rolling back"):
            return None
        profile = self.workspace.profile

        def load(journal: Journal):
            return hop_runner.hop_backups(journal, session, hop, profile) if profile else {}

        self.workspace.tasks.run_journal(
            load, on_done=lambda found: self._confirm_rollback(hop, found)
        )
        return None

    def _confirm_rollback(self, hop: Hop, backups: dict) -> None:
        self.rollback_dialog = RollbackDialog(hop, backups, self.workspace.profile, self)
        self.rollback_dialog.accepted.connect(
            lambda: self.model.run_step("rollback", self.rollback_dialog.note.toPlainText().strip())
        )
        self.rollback_dialog.open()

    def ask_trigger(self) -> None:
        if self.session is None or self.workspace.refuse("Raising a trigger"):
            return
        dialog = QDialog(self)
        dialog.setWindowTitle(f"Raise trigger: {self.trigger_kind.currentText()}")
        note = QPlainTextEdit()
        note.setPlaceholderText("What was seen, where, and how to reproduce it (required)")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(False)
        note.textChanged.connect(lambda: ok.setEnabled(bool(note.toPlainText().strip())))
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(note)
        layout.addWidget(buttons)
        kind = self.trigger_kind.currentData()
        dialog.accepted.connect(lambda: self.model.raise_trigger(kind, note.toPlainText().strip()))
        self.trigger_dialog = dialog
        dialog.open()

    # -- reactions -------------------------------------------------------------------

    def _on_busy(self, step: str) -> None:
        self.progress.setVisible(bool(step))
        self.cancel_button.setVisible(bool(step))
        self._update_buttons()

    def _on_done(self, step: str, result: object) -> None:
        self.workspace.sig_message.emit(f"{step}: done")

    def _on_failed(self, step: str, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, f"{step} failed", message, parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.error_box = box
        box.open()

    def _on_confirm(self, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, "Manual step", text, parent=self)
        box.setStandardButtons(QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Ok).setText("Done")
        box.finished.connect(
            lambda result: self.model.answer(result == QMessageBox.StandardButton.Ok)
        )
        self.confirm_box = box
        box.open()

    def _on_evaluation(self, evaluation) -> None:
        if evaluation is None:
            self.verdict.setText(
                "Metrics: no verdict yet (capture a baseline on the Metrics page)."
            )
            return
        trigger = evaluation.trigger
        self.verdict.setText(
            f"Metrics verdict: <b>{evaluation.overall.upper()}</b> ({evaluation.mode})"
            + (f"<br>{trigger.summary}" if trigger else "")
        )

    def _on_metrics_trigger(self, trigger) -> None:
        """A failing verdict is recorded on the session once per hop and metric (a metric
        that flips between pass and fail does not fill the journal)."""
        session = self.session
        hop = session.current or session.last_finished if session else None
        if session is None or hop is None:
            return
        key = (session.id, hop.id, trigger.metric)
        if key not in self._recorded_triggers:
            self._recorded_triggers.add(key)
            self.model.raise_trigger("performance", trigger.summary)


class RollbackDialog(QDialog):
    """Names the backups, their age and what will be replaced; a note is required."""

    def __init__(self, hop: Hop, backups: dict, profile, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Roll back {hop.label}")
        now = datetime.now(UTC)
        lines = [
            f"<b>Roll back hop {hop.label} to {hop.from_version}.</b> Every node is stopped, "
            "its data and config are restored from the hop's backup, the previous version "
            "is reinstalled, the restored files are checked against the backup's manifest "
            "and the service is started again.<ul>"
        ]
        missing = []
        for node in profile.nodes if profile else ():
            record = backups.get(node.name)
            if record is None:
                missing.append(node.name)
                continue
            taken = parse_utc(record.created_at)
            lines.append(
                f"<li>{node.name}: <code>{Path(record.path).name}</code>, taken "
                f"{human_duration((now - taken).total_seconds())} ago; replaces "
                f"<code>{node.data_dir}</code></li>"
            )
        lines.append("</ul>")
        if hop.finished:
            lines.append(f"Rollback window: {describe(window(hop.finished))}.")
        if missing:
            lines.append(
                f"<p><b>No backup of {', '.join(missing)}</b>: the rollback will refuse.</p>"
            )
        text = QLabel("".join(lines))
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("What went wrong (required; kept in the journal)")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Roll back")
        self.ok.setEnabled(False)
        self.note.textChanged.connect(
            lambda: self.ok.setEnabled(bool(self.note.toPlainText().strip()))
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)
        self.resize(560, 360)
