"""After a config change is applied: does the node need a restart, or may SIGHUP apply it
(`core/config/reload.py` says; upstream 1.8+ reloads only TLS certificates)? The plan's
words, and a Reload button where SIGHUP is safe: it asks first, then sends the signal
through the profile's service control in the background."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

from themis_desktop.ui.tasks import TaskManager


class ReloadPanel(QWidget):
    sig_reloaded = Signal(str)  # what the reload (SIGHUP) did, or why it failed

    def __init__(self, tasks: TaskManager, refuse: Callable[[str], bool]) -> None:
        """`refuse(action)`: True, having said why, when nothing may change (a review)."""
        super().__init__()
        self.tasks = tasks
        self.refuse = refuse
        self.pending: tuple | None = None  # (profile, node, plan) of the last Apply
        self.question: QMessageBox | None = None
        self.words = QLabel("")
        self.words.setWordWrap(True)
        self.words.setTextFormat(Qt.TextFormat.RichText)
        self.button = QPushButton("Reload (SIGHUP)…")
        self.button.setToolTip(
            "Send the node SIGHUP through the profile's service control: ThemisDB 1.8+ "
            "re-reads its TLS certificate and key files, not its config"
        )
        self.button.clicked.connect(self._on_button_clicked)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.words, 1)
        row.addWidget(self.button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_pending(self, pending: tuple | None, result: str = "") -> None:
        """The plan's words for the last Apply (`pending`: profile, node, reload plan; None
        hides the panel), the Reload button where SIGHUP is safe."""
        self.pending = pending
        if pending is None:
            self.hide()
            return
        _, node, plan = pending
        self.words.setText(
            f"<b>After this change to {html.escape(node.name)}:</b> {html.escape(plan.words)}"
            + (f"<br>{html.escape(result)}" if result else "")
        )
        self.button.setVisible(plan.offer_reload)
        self.button.setEnabled(plan.offer_reload)
        self.show()

    def _on_button_clicked(self) -> None:
        """Ask first (naming the node, saying only TLS certificates are reloaded)."""
        from themis_desktop.core.config.reload import reload_by_hand
        from themis_desktop.core.service.control import controller_for, label

        if self.pending is None or self.refuse("Reloading a node"):
            return
        profile, node, plan = self.pending
        if reload_by_hand(profile.service):
            how = (
                "Send it yourself (<code>systemctl reload themisdb</code>, or "
                "<code>kill -HUP &lt;pid&gt;</code>), then answer Yes."
            )
        else:
            step = controller_for(profile.service).describe("reload", node)
            how = f"The app runs: <code>{html.escape(step)}</code>."
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Reload (SIGHUP)",
            f"<b>Send SIGHUP to {html.escape(label(node))}?</b><br>ThemisDB "
            f"{html.escape(plan.version or '')} reloads only its TLS certificate and key files "
            "on SIGHUP; it does not read its config again, so the changed keys still need a "
            f"restart.<br>{how}",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)
        yes = box.button(QMessageBox.StandardButton.Yes)
        box.finished.connect(lambda _: self._send() if box.clickedButton() is yes else None)
        self.question = box
        box.open()

    def _send(self) -> None:
        """SIGHUP through the profile's service control, in the background."""
        from themis_desktop.core.config.reload import reload_by_hand, reload_node

        pending = self.pending
        if pending is None:
            return
        profile, node, plan = pending
        # a by-hand SIGHUP was confirmed by the Yes just given
        confirm = (lambda _text: True) if reload_by_hand(profile.service) else None

        def done(step: Any) -> None:  # the service control's ServiceStep
            message = (
                f"Sent SIGHUP to {node.name} ({step.command}): it re-reads its TLS certificate "
                "files (when TLS is on) and keeps running with the config it started with."
            )
            self.show_pending(pending, message)
            self.sig_reloaded.emit(message)

        def failed(exc: Exception) -> None:
            message = f"The reload of {node.name} failed: {exc}"
            self.show_pending(pending, message)
            self.sig_reloaded.emit(message)

        self.button.setEnabled(False)
        self.words.setText(self.words.text() + "<br>Sending SIGHUP…")
        self.tasks.run(
            lambda: reload_node(profile.service, node, plan, confirm=confirm),
            on_done=done,
            on_failed=failed,
        )
