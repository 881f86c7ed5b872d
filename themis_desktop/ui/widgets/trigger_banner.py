"""The red banner of rollback triggers: what was raised, the numbers, the way to the
rollback procedure, and (for a session's triggers) Acknowledge… per trigger: a raised
trigger stays in the banner until an admin acknowledges it with a note."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from themis_desktop.core.journal.store import parse_utc
from themis_desktop.core.metrics.verdict import Trigger
from themis_desktop.ui import palette

PROCEDURE = 'if you roll back, follow the <a href="#rollback">rollback procedure</a>'


class TriggerBanner(QFrame):
    sig_open_rollback = Signal()
    sig_acknowledge = Signal(int)  # a session trigger's id: the admin wants to acknowledge it

    def __init__(self, parent=None) -> None:
        super().__init__(parent, objectName="triggerBanner")
        self.setStyleSheet(
            f"#triggerBanner {{ background: {palette.BAD_FILL};"
            f" border: 1px solid {palette.BAD_RED}; border-radius: 4px; }}"
            f"#triggerBanner QLabel {{ color: {palette.BAD_TEXT}; }}"
        )
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setOpenExternalLinks(False)
        self.text.linkActivated.connect(lambda _: self.sig_open_rollback.emit())
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.setToolTip(
            "Hide this advisory (no upgraded hop of a session to judge; the verdict stays "
            "in the 48 h watch)"
        )
        self.dismiss.clicked.connect(self.dismiss_advisory)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.text, 1)
        head.addWidget(self.dismiss)
        self._rows_host = QWidget()
        self._rows = QVBoxLayout(self._rows_host)
        self._rows.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self._rows_host)
        self.trigger: Trigger | None = None
        self.triggers: list = []  # the session triggers shown (core.session.Trigger)
        self.ack_buttons: dict[int, QPushButton] = {}
        self.hide()

    def show_trigger(self, trigger: Trigger) -> None:
        """A metrics trigger outside a session (advisory; the banner may be dismissed)."""
        self.trigger = trigger
        self.triggers = []
        self._clear_rows()
        self.dismiss.show()
        self.text.setText(
            "<b>Rollback trigger: performance degradation.</b> "
            f"{escape(trigger.summary)}. The verdict is advisory: decide with the evidence, "
            f"and {PROCEDURE}."
        )
        self.show()

    def dismiss_advisory(self) -> None:
        """The admin read the advisory: hide it (a session's triggers are not dismissed)."""
        if self.trigger is not None:
            self.trigger = None
            self.hide()

    def show_open(self, triggers: list) -> None:
        """A session's raised, unacknowledged triggers (`core.session.Trigger`), one row
        each with Acknowledge…; hidden when there are none."""
        ids = [t.id for t in triggers]
        same = ids == [t.id for t in self.triggers] and self.trigger is None
        if same and bool(triggers) != self.isHidden():
            return  # as shown already
        self.trigger = None
        self.triggers = list(triggers)
        self._clear_rows()
        self.dismiss.hide()  # a trigger leaves only when acknowledged (or rolled back)
        if not triggers:
            self.hide()
            return
        count = len(triggers)
        self.text.setText(
            f"<b>{count} rollback trigger{'s' if count > 1 else ''} raised, not acknowledged."
            "</b> Decide with the evidence: acknowledge each with a note (what you decided), "
            f"or roll back; {PROCEDURE}."
        )
        for trigger in triggers:
            row = QHBoxLayout()
            label = QLabel(
                f"<b>{escape(trigger.title)}</b> — {escape(trigger.note)} "
                f"<span style='color:{palette.BAD_NOTE}'>"
                f"({escape(trigger.user)}, {_clock(trigger.at)}, "
                f"trigger {trigger.id})</span>"
            )
            label.setWordWrap(True)
            label.setObjectName("triggerRow")
            button = QPushButton("Acknowledge…")
            button.setToolTip("Say what you decided about this trigger (kept in the journal)")
            button.clicked.connect(lambda _=False, i=trigger.id: self.sig_acknowledge.emit(i))
            self.ack_buttons[trigger.id] = button
            row.addWidget(label, 1)
            row.addWidget(button)
            self._rows.addLayout(row)
        self.show()

    def _clear_rows(self) -> None:
        self.ack_buttons = {}
        while self._rows.count():
            row = self._rows.takeAt(0).layout()
            while row is not None and row.count():
                widget = row.takeAt(0).widget()
                if widget is not None:
                    widget.deleteLater()


def _clock(iso: str) -> str:
    try:
        return parse_utc(iso).astimezone().strftime("%H:%M")
    except ValueError:
        return escape(iso)
