"""The confirmation of Roll back now: each backup, its age and what it replaces, the
rollback window, and a required note. Roll back is never the default button."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout

from themis_desktop.core.formatting import human_duration
from themis_desktop.core.journal import parse_utc
from themis_desktop.core.rollback_window import describe, window
from themis_desktop.core.session import Hop


class RollbackDialog(QDialog):
    """Names the backups, their age and what will be replaced; a note is required. Roll
    back is never the default button: Enter or Escape cancels."""

    def __init__(self, hop: Hop, backups: dict, profile, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Roll back {hop.label}")
        now = datetime.now(UTC)
        lines = [
            f"<b>Roll back hop {hop.label} to {hop.from_version}.</b> Every node is stopped, "
            "its data and config are restored from the hop's backup, the previous version "
            "is reinstalled, the restored files are checked against the backup's manifest "
            "and the service is started again. Writes made since the backup are lost.<ul>"
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
        self.ok.setAutoDefault(False)
        self.ok.setDefault(False)
        cancel = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setDefault(True)
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
