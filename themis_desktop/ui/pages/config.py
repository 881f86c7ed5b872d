"""Config advisor page: a node's config checked against the target version's expectations,
the findings with their reasons to pick from (`FindingsTable`), the file before and after
side by side (`ConfigDiffView`), and the picked changes written (old file kept) or posted to
the server, after a confirmation; then what a restart or a reload does (`ReloadPanel`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.ui import palette
from themis_desktop.ui.models.workspace import Workspace
from themis_desktop.ui.widgets.config_diff_view import ConfigDiffView
from themis_desktop.ui.widgets.config_findings_table import FindingsTable, value_text
from themis_desktop.ui.widgets.config_reload_panel import ReloadPanel
from themis_desktop.ui.widgets.eliding_combo import ElidingComboBox

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

        self.table = FindingsTable()
        self.table.sig_picks_changed.connect(self._update_after)
        self.diff = ConfigDiffView()
        self.before, self.after = self.diff.before, self.diff.after
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.diff)
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
        self.reload_panel = ReloadPanel(workspace.tasks, workspace.refuse)
        self.reload_panel.sig_reloaded.connect(self.sig_reloaded)
        self.reload_words, self.reload_button = self.reload_panel.words, self.reload_panel.button

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
        self.reload_panel.show_pending(None)
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
        self.table.show_findings(checked.findings if checked else [])
        if checked is None:
            self.summary.setText("")
            self.diff.clear()
            self.apply_button.setEnabled(False)
            return
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
        self.diff.show_before(checked.doc.dumps())
        self._update_after()
        applied, self._applied = self._applied, ""
        self.status.setText(
            (f"{applied} " if applied else "") + "Tick the changes to apply, then Apply."
        )
        self.sig_checked.emit(checked)

    def picked(self) -> list[str]:
        """The ids of the findings ticked to apply."""
        return self.table.picked()

    def set_picked(self, ids: set[str]) -> None:
        self.table.set_picked(ids)

    def _update_after(self) -> None:
        from themis_desktop.core.config import advisor as config_advisor

        checked = self.checked
        if checked is None:
            return
        picked = self.picked()
        self.diff.show_after(config_advisor.apply(checked.doc, checked.findings, picked).dumps())
        self.apply_button.setEnabled(bool(picked) and not self.workspace.read_only)

    # -- applying ---------------------------------------------------------------------

    def ask_apply(self, confirm: bool = True) -> None:
        """Confirm the picked changes, then write them (or post them)."""
        checked, picked = self.checked, self.picked()
        if checked is None or not picked or self.workspace.refuse("Applying config changes"):
            return
        chosen = [f for f in checked.findings if f.id in picked]
        lines = "".join(
            f"<li><code>{f.key}</code>: {value_text(f.current)} → {value_text(f.recommended)}</li>"
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
            self.reload_panel.show_pending((profile, node, plan) if profile and node else None)
            self.sig_applied.emit(message)
            self.check()
            self.status.setText(message + " Checking again…")

        self.apply_button.setEnabled(False)
        self.workspace.tasks.run(
            work,
            on_done=done,
            on_failed=lambda exc: self.status.setText(f"Nothing was changed: {exc}"),
        )

    @property
    def reload_question(self) -> QMessageBox | None:
        """The question Reload (SIGHUP)… asked last."""
        return self.reload_panel.question
