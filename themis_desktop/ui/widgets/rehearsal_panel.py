"""The session page's dress rehearsal of the current hop: where the rehearsal gate stands
(passed, failed and why, missing, stale, overridden with its note), Rehearse (the hop's
target on a copy of the latest verified backups, `core.rehearsal.runner.rehearse`, in the
background with progress, time left and Cancel; `rehearse_button` is the page's to place,
among its step buttons) and Override with a note… (when it failed or is missing). The
gate (`gate`, `sig_gate`) is what the page's Upgrade button follows. A review shows the
gate and changes nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.rehearsal.runner import RehearsalOptions, rehearse
from themis_desktop.core.upgrade import rehearsal_gate
from themis_desktop.core.upgrade.session import SessionError
from themis_desktop.core.util.changes import ChangeLog, Changes, Topic
from themis_desktop.core.util.formatting import human_duration
from themis_desktop.ui import palette

if TYPE_CHECKING:
    from collections.abc import Callable

    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.upgrade.rehearsal_gate import RehearsalGate
    from themis_desktop.core.upgrade.session import UpgradeSession
    from themis_desktop.ui.models.workspace import Workspace
    from themis_desktop.ui.tasks import Task

STATES = {  # gate state → its words and colour
    "passed": ("Rehearsal passed", palette.OK_GREEN),
    "overridden": ("Rehearsal gate overridden", palette.WARN_AMBER),
    "failed": ("Rehearsal failed", palette.BAD_RED),
    "fail": ("Rehearsal failed", palette.BAD_RED),
    "inconclusive": ("Rehearsal inconclusive", palette.WARN_AMBER),
    "cancelled": ("Rehearsal cancelled", palette.WARN_AMBER),
    "error": ("Rehearsal could not run", palette.BAD_RED),
    "stale": ("Rehearsal older than the latest backup", palette.WARN_AMBER),
    "missing": ("Not rehearsed yet", palette.SLATE),
}
SHORT = {  # gate state → its words in a tab's title
    "passed": "● passed",
    "overridden": "● overridden",
    "failed": "● failed",
    "fail": "● failed",
    "inconclusive": "● inconclusive",
    "cancelled": "· cancelled",
    "error": "● could not run",
    "stale": "● stale",
    "missing": "○",
}
RELOAD_ON = (Topic.REHEARSALS, Topic.BACKUPS, Topic.SESSIONS)


class RehearsalPanel(QWidget):
    sig_gate = Signal(object)  # RehearsalGate | None, when it is (re)loaded
    sig_busy = Signal(bool)

    def __init__(
        self,
        workspace: Workspace,
        note_dialog: Callable[..., Any],
        parent: QWidget | None = None,
    ) -> None:
        """`note_dialog(title, placeholder, ok_text, parent, intro=)`: the page's required-
        note dialog (`dialogs/note.py`'s NoteDialog; widgets do not import dialogs)."""
        super().__init__(parent)
        self.workspace = workspace
        self._note_dialog = note_dialog
        self.session: UpgradeSession | None = None
        self.gate: RehearsalGate | None = None
        self.options = RehearsalOptions()  # duration from the spin box; the rest as is
        self.task: Task | None = None
        self._asked = 0
        self.state = QLabel("")
        self.state.setTextFormat(Qt.TextFormat.RichText)
        self.state.setWordWrap(True)
        self.duration = QSpinBox()
        self.duration.setRange(5, 3600)
        self.duration.setValue(int(self.options.duration_s))
        self.duration.setSuffix(" s")
        self.duration.setToolTip("How long the probe workload runs on the copy and production")
        self.rehearse_button = QPushButton("Rehearse")
        self.rehearse_button.setToolTip(
            "Restore the latest verified backups into a scratch folder, start the hop's "
            "target version on that copy, check it and compare it with production "
            "(production is only read)"
        )
        self.rehearse_button.clicked.connect(self.rehearse)
        self.override_button = QPushButton("Override with a note…")
        self.override_button.setToolTip(
            "Let the upgrade step run without a passed rehearsal (the note is journaled and "
            "shown in the report)"
        )
        self.override_button.clicked.connect(self.ask_override)
        # Rehearse is not in the panel's layout: the page places it among its step buttons
        top = QHBoxLayout()
        top.addWidget(QLabel("Probe workload for"))
        top.addWidget(self.duration)
        top.addWidget(self.override_button)
        top.addStretch(1)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.detail.setObjectName("muted")
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress_text = QLabel("")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        busy = QHBoxLayout()
        busy.addWidget(self.progress, 1)
        busy.addWidget(self.progress_text)
        busy.addWidget(self.cancel_button)
        for widget in (self.progress, self.progress_text, self.cancel_button):
            widget.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.state)
        layout.addLayout(busy)
        layout.addWidget(self.detail)
        layout.addLayout(top)
        workspace.sig_changed.connect(self._on_changed)
        self._show()

    def short_state(self) -> tuple[str, str]:
        """The gate in a few words and its colour, for a tab's title: "● passed", "○" (not
        rehearsed yet)…"""
        if self.running:
            return "· running…", palette.BUSY_ORANGE
        gate = self.gate
        if gate is None:
            return "", palette.SLATE
        state = gate.state
        if state == "failed" and gate.latest is not None:
            state = gate.latest.verdict
        return SHORT.get(state, f"· {state}"), STATES.get(state, ("", palette.SLATE))[1]

    @property
    def running(self) -> bool:
        return self.task is not None

    @property
    def gate_now(self) -> RehearsalGate | None:
        """The current hop's gate for the Upgrade button: while it is being loaded, a
        refusal saying so (never an open gate by default)."""
        hop = self.session.current if self.session is not None else None
        if hop is None:
            return None
        if self.gate is None or self.gate.hop_id != hop.id:
            return rehearsal_gate.RehearsalGate(hop.id, "The rehearsal gate is being checked…")
        return self.gate

    # -- loading ---------------------------------------------------------------------

    def show_session(self, session: UpgradeSession | None) -> None:
        """Show the gate of `session`'s current hop (hidden once its upgrade started)."""
        self.session = session
        hop = session.current if session is not None else None
        self.setVisible(hop is not None and hop.started_at is None)
        self.reload()

    def reload(self) -> None:
        session = self.session
        self._asked += 1
        asked = self._asked
        if session is None or session.current is None:
            self._set_gate(None)
            return

        def load(journal: Journal) -> Any:
            return rehearsal_gate.current_gate(journal, session.reload(journal))

        self.workspace.tasks.run_journal(
            load, on_done=lambda gate, a=asked: a == self._asked and self._set_gate(gate)
        )

    def _on_changed(self, changes: Changes, _initiator: object) -> None:
        if changes.touches(*RELOAD_ON):
            self.reload()

    def _set_gate(self, gate: RehearsalGate | None) -> None:
        self.gate = gate
        self._show()
        self.sig_gate.emit(gate)

    # -- showing ---------------------------------------------------------------------

    def _show(self) -> None:
        gate = self.gate
        review = self.workspace.read_only
        if gate is None:
            self.state.setText("")
            self.detail.setText("")
        else:
            state = gate.state
            if state == "failed" and gate.latest is not None:
                state = gate.latest.verdict
            words, colour = STATES.get(state, (state, palette.SLATE))
            self.state.setText(f"<b style='color:{colour}'>{words}</b>")
            self.detail.setText(_detail(gate))
        hop = self.session.current if self.session is not None else None
        can = not review and not self.running and hop is not None and hop.started_at is None
        self.rehearse_button.setEnabled(can and gate is not None)
        self.duration.setEnabled(can)
        self.override_button.setEnabled(
            can and gate is not None and gate.refusal is not None and gate.override is None
        )
        tip = "Not possible in a read-only review." if review else ""
        for button in (self.rehearse_button, self.override_button):
            if tip:
                button.setToolTip(tip)

    # -- acting ----------------------------------------------------------------------

    def rehearse(self) -> None:
        session, profile = self.session, self.workspace.profile
        hop = session.current if session is not None else None
        if session is None or hop is None or profile is None or self.running:
            return
        if self.workspace.refuse("Rehearsing"):
            return
        tasks = self.workspace.tasks
        token = self.workspace.tokens.get(profile.name)
        self.options.duration_s = float(self.duration.value())
        options, changed = self.options, ChangeLog()
        say = tasks.to_gui(self._on_progress)

        def work(progress: Any, cancelled: Any) -> Any:
            return rehearse(
                profile,
                token,
                session,
                hop,
                journal_path=tasks.journal_path,
                options=options,
                progress=lambda text, left, done: say(text, left, done),
                cancelled=cancelled,
                changed=changed,
            )

        self.progress.setValue(0)
        self.progress_text.setText("Starting…")
        task = tasks.run_op(
            work,
            changes=changed,
            initiator=self,
            with_progress=True,
            on_done=self._on_done,
            on_failed=self._on_failed,
        )
        self.task = task
        unregister = tasks.register_service("rehearsal", lambda _seconds: task.cancel())
        task.sig_finished.connect(unregister)
        task.sig_finished.connect(self._on_finished)
        for widget in (self.progress, self.progress_text, self.cancel_button):
            widget.show()
        self.sig_busy.emit(True)
        self._show()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.progress_text.setText("Cancelling…")

    def _on_progress(self, text: str, left: float | None, done: float) -> None:
        if self.task is None:
            return
        self.progress.setValue(int(done * 1000))
        self.progress_text.setText(f"about {human_duration(left)} left" if left else "")
        self.detail.setText(text)

    def _on_done(self, result: Any) -> None:
        hop = f"{result.from_version} → {result.to_version}"
        self.workspace.sig_message.emit(f"Rehearsal of hop {hop}: {result.verdict}")

    def _on_failed(self, error: Any) -> None:
        message = str(error)
        self.detail.setText(message)
        self.workspace.sig_message.emit(f"Rehearsal: {message}")

    def _on_finished(self) -> None:
        self.task = None
        for widget in (self.progress, self.progress_text, self.cancel_button):
            widget.hide()
        self.sig_busy.emit(False)
        self._show()
        self.reload()

    def ask_override(self) -> Any:
        session, gate = self.session, self.gate
        hop = session.current if session is not None else None
        if session is None or hop is None or gate is None or self.workspace.refuse("Overriding"):
            return None
        dialog = self._note_dialog(
            f"Override the rehearsal gate of {hop.label}",
            "Why the upgrade may go on without a passed rehearsal (required)",
            "Override",
            self,
            intro=gate.refusal or "",
        )
        dialog.accepted.connect(lambda: self._override(dialog.text()))
        self.override_dialog = dialog
        dialog.open()
        return dialog

    def _override(self, note: str) -> None:
        session = self.session
        hop = session.current if session is not None else None
        if session is None or hop is None:
            return

        def write(journal: Journal) -> Any:
            from themis_desktop.core.connection import profile_store

            fresh = session.reload(journal)
            profile = profile_store.get(journal, fresh.profile or "")
            if profile is None:
                raise SessionError(f"The profile {fresh.profile!r} is gone.")
            return rehearsal_gate.override(journal, fresh, fresh.hop(hop.id), profile, note)

        self.workspace.tasks.run_op(
            write,
            journal=True,
            changes=Changes.of(Topic.REHEARSALS, Topic.EVENTS),
            initiator=self,
            on_failed=self._on_failed,
        )


def _detail(gate: RehearsalGate) -> str:
    """Why the gate stands where it does: the latest rehearsal's reason, its steps' times,
    an override's note."""
    lines = []
    if gate.override is not None:
        o = gate.override
        lines.append(f"Overridden by {o.user} ({o.started_at[:16].replace('T', ' ')}): {o.note}")
    latest = gate.latest
    if latest is not None:
        when = latest.started_at[:16].replace("T", " ")
        lines.append(f"Latest rehearsal ({when}, {latest.verdict}): {latest.reason}")
        steps = ", ".join(f"{s.name} {s.seconds:.1f} s" for s in latest.steps)
        if steps:
            lines.append(f"Steps: {steps}")
        if latest.errors:
            lines.append(f"Copy's log: {latest.errors[-1]}")
    if gate.refusal and gate.override is None:
        lines.append(gate.refusal)
    return "\n".join(lines)
