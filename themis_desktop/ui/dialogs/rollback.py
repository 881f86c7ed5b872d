"""The confirmation of Roll back now: each backup, its age and what it replaces, the
rollback window, what cannot be undone (core's words), and a required note. Roll back is
never the default button."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
)

from themis_desktop.core.upgrade.hop_runner import rollback_question
from themis_desktop.core.upgrade.session import Hop


class RollbackDialog(QDialog):
    """Names the backups, their age and what will be replaced, and what cannot be undone,
    in core's words (`rollback_question`, which `session rollback` asks too); a note is
    required. Roll back is never the default button: Enter or Escape cancels."""

    def __init__(
        self, hop: Hop, backups: dict, profile, parent=None, restore_points=(), writes=()
    ) -> None:
        super().__init__(parent)
        self.question = (
            rollback_question(
                hop, profile, backups, restore_points=restore_points, writes_at_risk=writes
            )
            if profile
            else None
        )
        q = self.question
        self.setWindowTitle(q.title if q else f"Roll back {hop.label}")
        lines = []
        if q is not None:
            lines.append(f"<p><b>{escape(q.happens)}</b></p>")
            if q.backups:
                items = "".join(f"<li>{escape(line)}</li>" for line in q.backups)
                lines.append(f"<ul>{items}</ul>")
            if q.restore_points:
                items = "".join(f"<li>{escape(line)}</li>" for line in q.restore_points)
                lines.append(f"<ul>{items}</ul>")
            if q.writes_at_risk:  # what the restore loses or must reconcile, per node
                items = "".join(f"<li>{escape(line)}</li>" for line in q.writes_at_risk)
                lines.append(f"<p><b>Writes at risk</b></p><ul>{items}</ul>")
            for warning in q.known_issues:  # what the version returned to is known to do
                lines.append(f"<p><b>⚠</b> {escape(warning)}</p>")
            if q.window:
                lines.append(f"<p>{escape(q.window)}</p>")
            lines.append(f"<p>{escape(q.lost)}</p>")
            if q.missing:
                lines.append(f"<p><b>{escape(q.missing)}</b></p>")
        else:  # no profile connected: the rollback itself refuses, and says why
            lines.append(f"<p>Roll back hop {escape(hop.label)}: connect to its profile first.</p>")
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
        self.ok.setAutoDefault(False)
        self.ok.setDefault(False)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setDefault(True)
        self.note.textChanged.connect(
            lambda: self.ok.setEnabled(bool(self.note.toPlainText().strip()))
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        scroll = QScrollArea()  # long warnings scroll; the note and buttons stay in view
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(text)
        self.note.setMaximumHeight(90)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)
        self.resize(640, 520)
