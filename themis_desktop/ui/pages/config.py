"""Config advisor page: a node's config checked against the target version's expectations,
the findings with their reasons to pick from, the file before and after side by side, and
the picked changes written (old file kept) or posted to the server, after a confirmation."""

from __future__ import annotations

import difflib
import html
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.config import advisor as config_advisor
from themis_desktop.ui import palette
from themis_desktop.ui.models.workspace import Workspace
from themis_desktop.ui.widgets.eliding_combo import ElidingComboBox

COLUMNS = ("Apply", "Severity", "Key", "Current", "Recommended", "Since", "Why")
SEVERITY_COLOUR = {
    "breaks": palette.BAD_RED,
    "changes": palette.WARNING_ORANGE,
    "recommended": palette.INFO_BLUE,
}
FROM_SERVER = "server"


@dataclass
class Checked:
    """One check's result: the document, where it came from, and the findings."""

    node: str
    source: str  # a file path, or FROM_SERVER
    target: str
    current: str | None
    doc: Any
    findings: list


class ConfigPage(QWidget):
    TITLE = "Config advisor"

    sig_checked = Signal(object)  # Checked | None
    sig_applied = Signal(str)  # what was done
    sig_reloaded = Signal(str)  # what the reload (SIGHUP) did, or why it failed

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.checked: Checked | None = None
        self._applied = ""  # what the last Apply did, shown after the check that follows it
        self._reload: tuple | None = None  # (profile, node, plan) of the last Apply
        title = QLabel("Config advisor", objectName="pageTitle")
        intro = QLabel(
            "A node's configuration against what the target version expects: defaults that "
            "changed, keys added or removed, legacy paths. Pick what to apply; the old file is "
            "kept beside the new one.",
            objectName="muted",
        )
        intro.setWordWrap(True)
        self.node = QComboBox()
        self.node.currentIndexChanged.connect(self._on_node)
        self.source = ElidingComboBox(min_chars=16)  # a long path: elided, whole in the tip
        self.source.setToolTip("Where the node's configuration is read from")
        self.target = QLineEdit(placeholderText="e.g. 1.8")
        self.target.setMaximumWidth(120)
        self.check_button = QPushButton("Check")
        self.check_button.setDefault(True)
        self.check_button.clicked.connect(self.check)
        self.target.returnPressed.connect(self.check)
        row = QHBoxLayout()
        for label, widget in (("Node", self.node), ("Read", self.source), ("Target", self.target)):
            row.addWidget(QLabel(label))
            row.addWidget(widget, 1 if widget is self.source else 0)
        row.addWidget(self.check_button)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(self._on_pick)

        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.before = QPlainTextEdit(readOnly=True, placeholderText="The config as it is")
        self.after = QPlainTextEdit(readOnly=True, placeholderText="The config with the picks")
        for pane in (self.before, self.after):
            pane.setFont(mono)
            pane.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        panes = QSplitter(Qt.Orientation.Horizontal)
        panes.addWidget(_titled("Current", self.before))
        panes.addWidget(_titled("With the picked changes", self.after))
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(panes)
        split.setSizes([260, 340])

        self.apply_button = QPushButton("Apply picked changes…")
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(lambda: self.ask_apply())
        self.status = QLabel("", objectName="muted")
        self.status.setWordWrap(True)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.apply_button)
        # after an Apply: restart or reload? (core/config/reload.py says what SIGHUP does)
        self.reload_words = QLabel("")
        self.reload_words.setWordWrap(True)
        self.reload_words.setTextFormat(Qt.TextFormat.RichText)
        self.reload_button = QPushButton("Reload (SIGHUP)…")
        self.reload_button.setToolTip(
            "Send the node SIGHUP through the profile's service control: ThemisDB 1.8+ "
            "re-reads its TLS certificate and key files, not its config"
        )
        self.reload_button.clicked.connect(self._on_reload_clicked)
        self.reload_panel = QWidget()
        reload_row = QHBoxLayout(self.reload_panel)
        reload_row.setContentsMargins(0, 0, 0, 0)
        reload_row.addWidget(self.reload_words, 1)
        reload_row.addWidget(self.reload_button, 0, Qt.AlignmentFlag.AlignTop)
        self.reload_panel.hide()

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        layout.addWidget(self.reload_panel)
        layout.addLayout(bottom)

        workspace.sig_profile_changed.connect(self._on_profile)
        workspace.sig_plan_changed.connect(self._on_plan)
        workspace.upgrade.sig_session.connect(lambda _: self._on_plan(workspace.plan))
        self._on_profile(workspace.profile)
        self._on_plan(workspace.plan)

    # -- inputs ----------------------------------------------------------------------

    def _on_profile(self, profile) -> None:
        self.node.blockSignals(True)
        self.node.clear()
        for node in profile.nodes if profile else ():
            self.node.addItem(node.name, node.name)
        self.node.blockSignals(False)
        self._on_node()
        self.check_button.setEnabled(profile is not None)
        self._show(None)

    def _on_node(self) -> None:
        node = self._node()
        self.source.clear()
        self._show_reload(None)
        if node is None:
            return
        if node.config_path:  # the file's name first: elided, the folder goes
            path = Path(node.config_path)
            self.source.addItem(f"file {path.name} in {path.parent}", node.config_path)
        if not self.workspace.read_only:
            self.source.addItem("GET /config from the server (token with config:read)", FROM_SERVER)

    def _on_plan(self, plan) -> None:
        """The target defaults to the session's current hop, else the planned path's end."""
        session = self.workspace.upgrade.session
        hop = session.current if session and not session.ended else None
        if hop is not None:
            self.target.setText(hop.to_version)
        elif plan is not None and plan.hops:
            self.target.setText(plan.hops[-1].target.text)

    def _node(self):
        profile = self.workspace.profile
        name = self.node.currentData()
        return next((n for n in profile.nodes if n.name == name), None) if profile else None

    def _current_version(self, name: str) -> str | None:
        nodes = self.workspace.profile.nodes if self.workspace.profile else ()
        for node, status in zip(nodes, self.workspace.statuses, strict=False):
            if node.name == name and status is not None and status.version is not None:
                return status.version.version if status.version.exact else node.version_override
        return None

    # -- checking ---------------------------------------------------------------------

    def check(self) -> None:
        """Read the config and compare it with the target, in the background."""
        from themis_desktop.core.config import advisor as config_advisor
        from themis_desktop.core.config.file import ConfigDocument
        from themis_desktop.core.versions.catalogue_file import load_catalogue

        node, source, target = self._node(), self.source.currentData(), self.target.text().strip()
        profile = self.workspace.profile
        if node is None or not source or not target or profile is None:
            self.status.setText("Pick a node, where to read its config, and a target version.")
            return
        current = self._current_version(node.name)
        token = self.workspace.tokens.get(profile.name)

        def work() -> Checked:
            if source == FROM_SERVER:
                with profile.client(node, token) as client:
                    doc = ConfigDocument.from_mapping(client.config(), source="GET /config")
                path = None
            else:
                path = Path(source)
                doc = ConfigDocument.load(path)
            findings = config_advisor.check(
                doc,
                target,
                load_catalogue(),
                current=current,
                config_path=path,
                today=date.today(),
            )
            return Checked(node.name, source, target, current, doc, findings)

        self.status.setText(f"Checking the config of {node.name}…")
        self.check_button.setEnabled(False)
        self.workspace.tasks.run(work, on_done=self._show, on_failed=self._failed)

    def _failed(self, exc: Exception) -> None:
        self.check_button.setEnabled(True)
        self._show(None)
        self.status.setText(f"The config could not be checked: {exc}")
        self.sig_checked.emit(None)

    def _show(self, checked: Checked | None) -> None:
        self.checked = checked
        self.check_button.setEnabled(self.workspace.profile is not None)
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        if checked is None:
            self.summary.setText("")
            self.before.clear()
            self.after.clear()
            self.table.blockSignals(False)
            self.apply_button.setEnabled(False)
            return
        for finding in checked.findings:
            self._add_row(finding)
        self.table.blockSignals(False)
        self.table.resizeRowsToContents()
        breaking = sum(f.severity == "breaks" for f in checked.findings)
        where = "the server" if checked.source == FROM_SERVER else checked.source
        versions = f"{checked.current or 'its version'} → {checked.target}"
        self.summary.setText(
            f"<b>{checked.node}</b> ({where}), {versions}: {len(checked.findings)} finding(s)"
            + (
                f", <span style='color:{palette.BAD_RED}'><b>{breaking} would break</b></span>"
                if breaking
                else ""
            )
            + "."
            if checked.findings
            else f"<b>{checked.node}</b>: nothing to change for {versions}."
        )
        self.before.setPlainText(checked.doc.dumps())
        self._update_after()
        applied, self._applied = self._applied, ""
        self.status.setText(
            (f"{applied} " if applied else "") + "Tick the changes to apply, then Apply."
        )
        self.sig_checked.emit(checked)

    def _add_row(self, finding) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        pick = QTableWidgetItem()
        if finding.applicable:
            pick.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            pick.setCheckState(Qt.CheckState.Unchecked)
        else:
            pick.setFlags(Qt.ItemFlag.ItemIsEnabled)
            if config_advisor.action(finding) == "keep":  # as `config check` says it
                pick.setText("built in")
                pick.setToolTip("A built-in default of the new version: nothing to do")
            else:
                pick.setText("by hand")
                pick.setToolTip("This change cannot be made by the app; the reason says how")
        pick.setData(Qt.ItemDataRole.UserRole, finding.id)
        self.table.setItem(row, 0, pick)
        values = (
            finding.severity,
            finding.key,
            _text(finding.current),
            _text(finding.recommended),
            finding.since,
            finding.reason,
        )
        for column, value in enumerate(values, start=1):
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            colour = SEVERITY_COLOUR.get(finding.severity)
            if column == 1 and colour:
                item.setForeground(QColor(colour))
            self.table.setItem(row, column, item)

    def picked(self) -> list[str]:
        return [
            self.table.item(r, 0).data(Qt.ItemDataRole.UserRole)
            for r in range(self.table.rowCount())
            if self.table.item(r, 0).checkState() == Qt.CheckState.Checked
        ]

    def set_picked(self, ids: set[str]) -> None:
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
                wanted = item.data(Qt.ItemDataRole.UserRole) in ids
                item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)

    def _on_pick(self, item: QTableWidgetItem) -> None:
        if item.column() == 0:
            self._update_after()

    def _update_after(self) -> None:
        from themis_desktop.core.config import advisor as config_advisor

        checked = self.checked
        if checked is None:
            return
        picked = self.picked()
        after = config_advisor.apply(checked.doc, checked.findings, picked).dumps()
        self.after.setPlainText(after)
        _highlight(self.before, self.after)
        self.apply_button.setEnabled(bool(picked) and not self.workspace.read_only)

    # -- applying ---------------------------------------------------------------------

    def ask_apply(self, confirm: bool = True) -> None:
        """Confirm the picked changes, then write them (or post them)."""
        checked, picked = self.checked, self.picked()
        if checked is None or not picked or self.workspace.refuse("Applying config changes"):
            return
        chosen = [f for f in checked.findings if f.id in picked]
        lines = "".join(
            f"<li><code>{f.key}</code>: {_text(f.current)} → {_text(f.recommended)}</li>"
            for f in chosen
        )
        where = (
            "posted to the server with POST /config (it applies them at its next start)"
            if checked.source == FROM_SERVER
            else f"written to <code>{checked.source}</code>; the old file is kept beside it"
        )
        if confirm:
            box = QMessageBox(
                QMessageBox.Icon.Question,
                "Apply config changes",
                f"<b>Change the config of {checked.node}?</b><ul>{lines}</ul>The changes are "
                f"{where}. Restart the node (or run the hop's upgrade step) for them to take "
                "effect.",
                QMessageBox.StandardButton.Apply | QMessageBox.StandardButton.Cancel,
                self,
            )
            box.setDefaultButton(QMessageBox.StandardButton.Cancel)
            # Apply has ApplyRole, not AcceptRole: `accepted` is never emitted for it
            apply = box.button(QMessageBox.StandardButton.Apply)
            box.finished.connect(
                lambda _: box.clickedButton() is apply and self._apply(checked, picked)
            )
            self.confirm_box = box
            box.open()
            return
        self._apply(checked, picked)

    def _apply(self, checked: Checked, picked: list[str]) -> None:
        from themis_desktop.core.config import advisor as config_advisor
        from themis_desktop.core.config import reload as config_reload

        profile = self.workspace.profile
        node = self._node()
        token = self.workspace.tokens.get(profile.name) if profile else None

        def work() -> str:
            if checked.source == FROM_SERVER:
                with profile.client(node, token) as client:
                    result = config_advisor.apply_to_server(client, checked.findings, picked)
                return f"Posted to {checked.node}: {result}"
            kept = config_advisor.apply_to_file(Path(checked.source), checked.findings, picked)
            return f"Written {checked.source}; the old config is kept as {kept}."

        keys = [f.key for f in checked.findings if f.id in picked]
        plan = config_reload.reload_plan(checked.current, keys)

        def done(message: str) -> None:
            self._applied = message
            self._show_reload((profile, node, plan) if profile and node else None)
            self.sig_applied.emit(message)
            self.check()
            self.status.setText(message + " Checking again…")

        self.apply_button.setEnabled(False)
        self.workspace.tasks.run(
            work,
            on_done=done,
            on_failed=lambda exc: self.status.setText(f"Nothing was changed: {exc}"),
        )

    # -- after applying: restart, or reload (SIGHUP) ---------------------------------

    def _show_reload(self, pending: tuple | None, result: str = "") -> None:
        """The plan's words for the last Apply, the Reload button where SIGHUP is safe."""
        self._reload = pending
        if pending is None:
            self.reload_panel.hide()
            return
        _, node, plan = pending
        self.reload_words.setText(
            f"<b>After this change to {html.escape(node.name)}:</b> {html.escape(plan.words)}"
            + (f"<br>{html.escape(result)}" if result else "")
        )
        self.reload_button.setVisible(plan.offer_reload)
        self.reload_button.setEnabled(plan.offer_reload)
        self.reload_panel.show()

    def _on_reload_clicked(self) -> None:
        """Ask first (naming the node, saying only TLS certificates are reloaded)."""
        from themis_desktop.core.config.reload import reload_by_hand
        from themis_desktop.core.service.control import controller_for, label

        if self._reload is None or self.workspace.refuse("Reloading a node"):
            return
        profile, node, plan = self._reload
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
        box.finished.connect(lambda _: box.clickedButton() is yes and self._send_reload())
        self.reload_question = box
        box.open()

    def _send_reload(self) -> None:
        """SIGHUP through the profile's service control, in the background."""
        from themis_desktop.core.config.reload import reload_by_hand, reload_node

        pending = self._reload
        if pending is None:
            return
        profile, node, plan = pending
        # a by-hand SIGHUP was confirmed by the Yes just given
        confirm = (lambda _text: True) if reload_by_hand(profile.service) else None

        def done(step) -> None:
            message = (
                f"Sent SIGHUP to {node.name} ({step.command}): it re-reads its TLS certificate "
                "files (when TLS is on) and keeps running with the config it started with."
            )
            self._show_reload(pending, message)
            self.sig_reloaded.emit(message)

        def failed(exc: Exception) -> None:
            message = f"The reload of {node.name} failed: {exc}"
            self._show_reload(pending, message)
            self.sig_reloaded.emit(message)

        self.reload_button.setEnabled(False)
        self.reload_words.setText(self.reload_words.text() + "<br>Sending SIGHUP…")
        self.workspace.tasks.run(
            lambda: reload_node(profile.service, node, plan, confirm=confirm),
            on_done=done,
            on_failed=failed,
        )


def _titled(title: str, widget: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(QLabel(title, objectName="sectionTitle"))
    layout.addWidget(widget)
    return box


def _text(value: Any) -> str:
    from themis_desktop.core.config.advisor import value_text

    return value_text(value)


def _highlight(before: QPlainTextEdit, after: QPlainTextEdit) -> None:
    """Mark the lines that differ: removed or changed on the left, added on the right."""
    old, new = before.toPlainText().splitlines(), after.toPlainText().splitlines()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    removed, added = [], []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed += range(i1, i2)
            added += range(j1, j2)
    for pane, lines, colour in (
        (before, removed, palette.DIFF_REMOVED_FILL),
        (after, added, palette.DIFF_ADDED_FILL),
    ):
        selections = []
        for number in lines:
            selection = QTextEdit.ExtraSelection()
            selection.format.setBackground(QColor(colour))
            selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            cursor = QTextCursor(pane.document().findBlockByNumber(number))
            selection.cursor = cursor
            selections.append(selection)
        pane.setExtraSelections(selections)
        if lines:  # bring the first change into view
            pane.setTextCursor(QTextCursor(pane.document().findBlockByNumber(lines[0])))
            pane.centerCursor()
