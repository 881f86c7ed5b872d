"""A dialog that asks for a required note (raising a trigger, acknowledging one): its OK
button is enabled only when something is written."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout


class NoteDialog(QDialog):
    """A required note (a trigger's or an acknowledgement's): OK only with text."""

    def __init__(
        self, title: str, placeholder: str, ok_text: str, parent=None, intro: str = ""
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText(placeholder)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(ok_text)
        self.ok.setEnabled(False)
        self.note.textChanged.connect(lambda: self.ok.setEnabled(bool(self.text())))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if intro:
            label = QLabel(intro)
            label.setWordWrap(True)
            layout.addWidget(label)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)
        self.resize(480, 240)

    def text(self) -> str:
        return self.note.toPlainText().strip()
