"""Versions page: the release graph, the upgrade path from the running version, its summary."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.server.node_status import NodeStatus
from themis_desktop.core.versions.catalogue_file import CatalogueError, load_catalogue
from themis_desktop.core.versions.releases import (
    Catalogue,
    ReleaseLine,
    VersionError,
    parse_version,
)
from themis_desktop.core.versions.update_status import UpdateStatus, ask_update_status
from themis_desktop.core.versions.upgrade_path import DowngradeError, Hop, Plan, plan_upgrade
from themis_desktop.ui.models.workspace import Workspace
from themis_desktop.ui.settings import remember_target, remembered_target
from themis_desktop.ui.widgets.plan_prediction import PlanPrediction
from themis_desktop.ui.widgets.plan_summary import PlanSummary
from themis_desktop.ui.widgets.release_panel import ReleasePanel
from themis_desktop.ui.widgets.version_graph_view import VersionGraphView

NEXT_MINOR = "next minor"
ROLLBACK_HINT = (
    "To go back: stop the services, restore the backup taken before the upgrade (data and "
    "configuration), reinstall the previous version, verify data integrity, resume services."
)


def _ask_node_updates(
    profile: Profile, node: NodeEndpoint, token: str | None, check: bool
) -> UpdateStatus:
    """The node's own update checker (in a worker): never raises a client error."""
    with profile.client(node, token, timeout=5.0) as client:
        return ask_update_status(client, check=check)


class VersionGraphPage(QWidget):
    TITLE = "Versions"

    sig_hop_activated = Signal(object)  # Hop: the user opened a hop (a guides page can follow)
    sig_plan_changed = Signal(object)  # Plan | None

    def __init__(self, workspace: Workspace, catalogue: Catalogue | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.load_error: str | None = None
        if catalogue is None:
            try:
                catalogue = load_catalogue()
            except (CatalogueError, VersionError) as exc:
                self.load_error = (
                    f"Your release catalogue cannot be read, so only the bundled one is used: {exc}"
                )
                catalogue = load_catalogue(with_user=False)
            if catalogue.problems:  # the user catalogue was left out
                self.load_error = (
                    "Your release catalogue cannot be read, so only the bundled one is used: "
                    + "; ".join(catalogue.problems)
                )
        self.catalogue = catalogue
        self.plan: Plan | None = None
        self.server_version: tuple[str, bool, int] | None = None  # text, exact, nodes up
        self._inputs: tuple[str, str, bool, int | None, tuple[str, ...]] | None = None
        self.have: list[str] = []  # contested releases the admin confirmed they have
        self._panel_follows_plan = True  # until the user opens a line or a hop

        self.source_label = QLabel("", objectName="muted", wordWrap=True)
        self.target_label = QLabel("", objectName="muted", wordWrap=True)
        self.from_edit = QLineEdit(placeholderText="e.g. 1.7.3", clearButtonEnabled=True)
        self.to_edit = QLineEdit(placeholderText=NEXT_MINOR, clearButtonEnabled=True)
        for edit, tip in (
            (self.from_edit, "The version you run (empty: the connected server's)"),
            (
                self.to_edit,
                "Where to go: 1.8, 1.8.x, v1.8.2, 2.4.0-rc1 or latest; empty: the next minor "
                "line. Remembered for the connection profile.",
            ),
        ):
            edit.setToolTip(tip)
            edit.setMaximumWidth(170)
        self.skip_check = QCheckBox("Skip-level")
        self.skip_check.setToolTip("Plan one direct hop instead of one minor line at a time")
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Show the whole graph (F)")
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the graph as PNG or SVG")
        # what the server's own update checker says (era B), beside our catalogue's view
        self.update_label = QLabel("", objectName="muted", wordWrap=True)
        self.update_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.check_button = QPushButton("Check now")
        self.check_button.setToolTip("Ask the server to check for a newer release now")
        self.check_button.setEnabled(False)
        self._update_ask = 0  # which answer is still wanted (a newer ask or profile wins)
        self.error_label = QLabel("", objectName="pageError", wordWrap=True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()

        self.view = VersionGraphView(catalogue)
        self.summary = PlanSummary()
        PlanPrediction(workspace, self.summary, self.sig_plan_changed)  # its durations, below
        self.panel = ReleasePanel(catalogue)
        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(self.summary)
        side.addWidget(self.panel)
        side.setSizes([440, 220])
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setSizes([740, 310])

        controls = QHBoxLayout()
        controls.addWidget(QLabel("From"))
        controls.addWidget(self.from_edit)
        controls.addWidget(QLabel("To"))
        controls.addWidget(self.to_edit)
        controls.addWidget(self.skip_check)
        controls.addStretch()
        controls.addWidget(self.fit_button)
        controls.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.addWidget(QLabel("Versions", objectName="pageTitle"))
        layout.addWidget(self.source_label)
        layout.addWidget(self.target_label)
        update_row = QHBoxLayout()
        update_row.addWidget(self.update_label, 1)
        update_row.addWidget(self.check_button)
        layout.addLayout(update_row)
        layout.addLayout(controls)
        layout.addWidget(self.error_label)
        layout.addWidget(self.splitter, 1)
        self._shortcuts()

        self.from_edit.editingFinished.connect(self.refresh)
        self.from_edit.textChanged.connect(self._on_from_edit_text_changed)
        self.to_edit.editingFinished.connect(self._on_to_edit_editing_finished)
        self.to_edit.textChanged.connect(self._on_to_edit_text_changed)
        self.skip_check.toggled.connect(self._on_skip_check_toggled)
        self.fit_button.clicked.connect(self.view.fit_to_view)
        self.check_button.clicked.connect(self._on_check_button_clicked)
        self.export_button.clicked.connect(self._on_export_button_clicked)
        self.view.sig_line_activated.connect(self._on_view_line_activated)
        self.view.sig_hop_clicked.connect(self._on_view_hop_clicked)
        self.summary.sig_confirm.connect(self._on_summary_confirm)
        workspace.sig_profile_changed.connect(self._on_workspace_profile_changed)
        workspace.sig_node_status.connect(self._on_workspace_node_status)
        workspace.sig_connecting.connect(lambda _: self._update_source())
        self._on_workspace_profile_changed(workspace.profile)

    def _shortcuts(self) -> None:
        actions = (
            (("Ctrl+=", "Ctrl++", QKeySequence.StandardKey.ZoomIn), lambda: self.view.zoom(1.25)),
            (("Ctrl+-", QKeySequence.StandardKey.ZoomOut), lambda: self.view.zoom(0.8)),
            # no Ctrl+0 for fit (F does it): Ctrl+0 is View → Config advisor (issue 17)
        )
        seen: set[str] = set()
        for keys, slot in actions:
            for key in keys:
                sequence = QKeySequence(key)
                if sequence.isEmpty() or sequence.toString() in seen:
                    continue  # a standard key may be one of the explicit ones
                seen.add(sequence.toString())
                shortcut = QShortcut(sequence, self)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(slot)

    # planning -----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Plan from the From field (or the server's version) to the To field and show it."""
        typed = self.from_edit.text().strip()
        from_text = typed or (self.server_version[0] if self.server_version else "")
        next_minor = self._next_minor(from_text)
        to_text = self.to_edit.text().strip() or next_minor
        self._update_target(to_text, next_minor)
        nodes = len(self.workspace.profile.nodes) if self.workspace.profile else None
        inputs = (from_text, to_text, self.skip_check.isChecked(), nodes, tuple(self.have))
        if inputs == self._inputs:  # nothing to redraw
            return
        self._inputs = inputs
        errors: list[str] = [self.load_error] if self.load_error else []
        current = target = plan = None
        try:  # no To and no From: nothing to resolve yet (the next minor of what?)
            target = self.catalogue.resolve(to_text) if to_text else None
        except VersionError as exc:
            errors.append(f"To: {exc}")
        if from_text:
            try:
                current = self.catalogue.resolve(from_text)
            except VersionError as exc:
                errors.append(f"From{'' if typed else ' (the server’s version)'}: {exc}")
        if current and target:
            try:
                plan = plan_upgrade(self.catalogue, from_text, to_text, inputs[2], self.have)
            except DowngradeError as exc:
                errors.append(f"{exc} {ROLLBACK_HINT}")
            except VersionError as exc:
                errors.append(str(exc))
        self.plan = plan
        self.view.show_plan(current, target, plan)
        self.error_label.setText("\n".join(errors))
        self.error_label.setVisible(bool(errors))
        if self._panel_follows_plan:
            if plan and plan.hops:
                self.panel.show_hop(plan.hops[0], 1, len(plan.hops), plan.point_of_no_return == 0)
            else:
                self.panel.show_intro()
        if plan is not None:
            self.summary.show_plan(plan, nodes)
        elif errors:
            self.summary.show_error("No plan: correct the versions above.")
        else:
            self.summary.show_hint("Type the version you run in From, or connect to a server.")
        self.sig_plan_changed.emit(plan)

    def _next_minor(self, from_text: str) -> str:
        """The default target: the line after the running one (one minor at a time, as the
        migration docs ask); the newest line's latest release from there. "" when unknown."""
        try:
            current = self.catalogue.resolve(from_text) if from_text else None
        except VersionError:
            current = None
        if current is None:
            return ""
        index = self.catalogue.index_of(current.line)
        return self.catalogue.lines[min(index + 1, len(self.catalogue.lines) - 1)].name

    def _update_target(self, to_text: str, next_minor: str) -> None:
        """Say where the plan goes and why: the next minor line, or the chosen target."""
        chosen = self.to_edit.text().strip()
        with QSignalBlocker(self.to_edit):
            self.to_edit.setPlaceholderText(
                f"{next_minor} ({NEXT_MINOR})" if next_minor else NEXT_MINOR
            )
        profile = self.workspace.profile
        try:
            target = self.catalogue.resolve(to_text).text if to_text else ""
        except VersionError:
            target = to_text
        if not to_text:
            text = "Target: the next minor line after the version you run."
        elif not chosen:
            text = (
                f"Target {target}: the next minor line, one at a time as the migration docs "
                "ask. Type another in To to plan further."
            )
        elif profile and not self.workspace.read_only:
            text = f"Target {target}, as chosen for {profile.name}. Clear To for the next minor."
        else:
            text = f"Target {target}. Clear To for the next minor."
        self.target_label.setText(text)

    def _oldest_up_version(self) -> tuple[str, bool, int] | None:
        up = [s for s in self.workspace.statuses if s and s.up and s.version]
        known = []
        for status in up:
            try:
                known.append((parse_version(status.version.version), status.version))
            except VersionError:
                continue
        if not known:
            return None
        _, info = min(known, key=lambda pair: pair[0])
        return info.version, info.exact, len(up)

    def _update_source(self) -> None:
        profile, server = self.workspace.profile, self.server_version
        with QSignalBlocker(self.from_edit):
            self.from_edit.setPlaceholderText(server[0] if server else "e.g. 1.7.3")
        if server is None:
            text = (
                f"Waiting for a node of {profile.name} to answer; or type the version you run."
                if profile
                else f"{self.workspace.connecting} Or type the version you run in From."
                if self.workspace.connecting
                else "Not connected: type the version you run in From, or connect to a server."
            )
        else:
            version, exact, count = server
            text = f"Current version {'≈ ' if not exact else ''}{version} from {profile.name}"
            text += f" (oldest of {count} nodes up)." if count > 1 else "."
            if not exact:
                text += " Releases before 1.3 all report 1.0.0: type the exact version in From."
            if self.from_edit.text().strip():
                text += " From overrides it; clear From to use it."
        self.source_label.setText(text)

    # slots --------------------------------------------------------------------------------

    def _on_workspace_profile_changed(self, profile: Profile | None) -> None:
        """Another profile: the target chosen for it, if one was."""
        self.server_version = None
        self.have = []  # confirmations belong to one installation
        self._update_ask += 1
        self.update_label.setText("")
        self.check_button.setEnabled(False)
        if not self.workspace.read_only:  # a review shows the reviewed session's path
            with QSignalBlocker(self.to_edit):
                self.to_edit.setText(remembered_target(profile.name) if profile else "")
        self._update_source()
        self.refresh()

    def _on_workspace_node_status(self, index: int, status: NodeStatus) -> None:
        server = self._oldest_up_version()
        if server != self.server_version:
            self.server_version = server
            if server is not None:
                self._ask_updates(check=False)
            self._forget_reached_target()
            self._update_source()
            self.refresh()

    def _on_check_button_clicked(self) -> None:
        self._ask_updates(check=True)

    def _ask_updates(self, check: bool) -> None:
        """Ask the first node that is up what its update checker reports, in the background."""
        profile, statuses = self.workspace.profile, self.workspace.statuses
        index = next((i for i, s in enumerate(statuses) if s and s.up), None)
        if profile is None or index is None or self.workspace.read_only:
            return
        self._update_ask += 1
        ask = self._update_ask
        node = profile.nodes[index]
        self.check_button.setEnabled(False)
        if check:
            self.update_label.setText(f"Server update check ({node.name}): checking…")
        self.workspace.tasks.run(
            _ask_node_updates,
            profile,
            node,
            self.workspace.tokens.get(profile.name),
            check,
            on_done=lambda status: self._on_updates_done(ask, node.name, status),
            on_failed=lambda exc: self._on_updates_done(
                ask, node.name, UpdateStatus("failed", message=str(exc))
            ),
        )

    def _on_updates_done(self, ask: int, name: str, status: UpdateStatus) -> None:
        if ask != self._update_ask:
            return  # another profile, or a newer ask
        self.update_label.setText(f"Server update check ({name}): {status.summary()}")
        self.update_label.setToolTip(status.hint)
        # only a node with an update checker can be asked to check now
        self.check_button.setEnabled(status.reported)

    def _forget_reached_target(self) -> None:
        """A remembered target the servers now run (or have passed) has been reached: the
        next minor is proposed again."""
        profile, chosen = self.workspace.profile, self.to_edit.text().strip()
        if not (profile and chosen and self.server_version) or self.workspace.read_only:
            return
        if chosen != remembered_target(profile.name):
            return  # typed just now, not remembered from before
        try:
            target = self.catalogue.resolve(chosen)
            running = self.catalogue.resolve(self.server_version[0])
        except VersionError:
            return
        if target.version <= running.version:
            remember_target(profile.name, "")
            with QSignalBlocker(self.to_edit):
                self.to_edit.clear()

    def _on_to_edit_text_changed(self, text: str) -> None:
        if not text.strip():  # cleared (its clear button): back to the next minor
            self._on_to_edit_editing_finished()

    def _on_to_edit_editing_finished(self) -> None:
        """The user chose a target: plan it and remember it for the profile."""
        profile = self.workspace.profile
        if profile is not None and not self.workspace.read_only:
            remember_target(profile.name, self.to_edit.text().strip())
        self.refresh()

    def _on_from_edit_text_changed(self, text: str) -> None:
        self._update_source()
        if not text.strip():
            self.refresh()

    def _on_skip_check_toggled(self, checked: bool) -> None:
        self.refresh()

    def _on_summary_confirm(self, version: str, have: bool) -> None:
        """The admin says they have (or not) a contested release: the plan records it."""
        if have and version not in self.have:
            self.have.append(version)
        elif not have and version in self.have:
            self.have.remove(version)
        self.refresh()

    def _on_view_line_activated(self, line: ReleaseLine) -> None:
        self._panel_follows_plan = False
        self.panel.show_line(line)

    def _on_view_hop_clicked(self, hop: Hop) -> None:
        hops = self.plan.hops if self.plan else ()
        number = hops.index(hop) + 1 if hop in hops else None
        ponr = bool(number and self.plan and self.plan.point_of_no_return == number - 1)
        self._panel_follows_plan = False
        self.panel.show_hop(hop, number, len(hops), ponr)
        self.sig_hop_activated.emit(hop)

    # export -------------------------------------------------------------------------------

    def export_png(self, path: str | Path) -> Path:
        return self.view.export_png(path)

    def export_svg(self, path: str | Path) -> Path:
        return self.view.export_svg(path)

    def _on_export_button_clicked(self) -> None:
        name = "themisdb-upgrade-path"
        if self.plan:
            name = f"themisdb-{self.plan.current.text}-to-{self.plan.target.text}"
        path, chosen = QFileDialog.getSaveFileName(
            self,
            "Export the version graph",
            f"{name}.png",
            "PNG image (*.png);;SVG drawing (*.svg)",
        )
        if not path:
            return
        target = Path(path)
        if target.suffix.lower() not in (".png", ".svg"):
            target = target.with_suffix(".svg" if "svg" in chosen.lower() else ".png")
        try:
            if target.suffix.lower() == ".svg":
                self.export_svg(target)
            else:
                self.export_png(target)
        except OSError as exc:
            QMessageBox.warning(
                self, "Export failed", f"The graph was not saved: {exc}\nChoose another folder."
            )
            return
        self.workspace.sig_message.emit(f"Saved the version graph to {target}")
