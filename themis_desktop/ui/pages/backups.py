"""Backups page: one-click verified backups of every node, the catalogue, verify and restore."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.backup import catalog as backup_catalog
from themis_desktop.core.backup.catalog import BackupRecord
from themis_desktop.core.backup.node import InconsistentBackupRefused
from themis_desktop.core.backup.operations import (
    NodeJob,
    back_up_and_record_all,
    delete_backup,
    restore_node,
)
from themis_desktop.core.backup.restore import remember_checksum, verify
from themis_desktop.core.journal.store import parse_utc
from themis_desktop.core.util.changes import ChangeLog, Changes, Topic
from themis_desktop.core.util.formatting import human_bytes, human_duration
from themis_desktop.core.util.progress_text import Rate
from themis_desktop.ui import palette
from themis_desktop.ui.models.workspace import Workspace
from themis_desktop.ui.settings import backup_folder, settings
from themis_desktop.ui.tasks import Task
from themis_desktop.ui.widgets.elided_label import ElidedLabel

BACKUPS = Changes.of(Topic.BACKUPS)  # what the catalogue's writers change
COLUMNS = ("Node", "Version", "Taken", "Size", "Verified", "Kind", "Archive")


class BackupsPage(QWidget):
    TITLE = "Backups"

    sig_records_loaded = Signal(list)
    sig_job_finished = Signal(str)  # a one-line summary of what a backup/verify/restore did

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.records: list[BackupRecord] = []
        self.task: Task | None = None
        self.rate = Rate()
        self.heading = QLabel("Backups", objectName="pageTitle")
        self.folder_label = ElidedLabel(  # a long folder is shortened in its middle
            "", objectName="muted", mode=Qt.TextElideMode.ElideMiddle, min_chars=20
        )
        change_folder = QPushButton("Folder…")
        change_folder.clicked.connect(self._choose_folder)
        self.scope = QComboBox()
        self.scope.setToolTip("Which nodes to back up")
        self.backup_button = QPushButton("Back up", default=True)
        self.backup_button.setToolTip("Verified backup of data and config of every node (Ctrl+B)")
        self.backup_button.clicked.connect(lambda: self.back_up())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self.progress = QProgressBar()
        self.progress.hide()
        self.status = QLabel(
            "A backup holds each node's data (from a server checkpoint while it runs), its "
            "config and its vector index, and is verified as soon as it is written.",
            objectName="muted",
        )
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # keeps node, version, .tar.zst
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.verify_button = QPushButton("Verify")
        self.restore_button = QPushButton("Restore…")
        self.reveal_button = QPushButton("Show in folder")
        self.delete_button = QPushButton("Delete…")
        self.verify_button.clicked.connect(self.verify_selected)
        self.restore_button.clicked.connect(self.restore_selected)
        self.reveal_button.clicked.connect(self._reveal_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        QShortcut(QKeySequence("Ctrl+B"), self, activated=self.back_up)

        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addStretch()
        top.addWidget(self.folder_label)
        top.addWidget(change_folder)
        actions = QHBoxLayout()
        actions.addWidget(self.scope)
        actions.addWidget(self.backup_button)
        actions.addWidget(self.cancel_button)
        actions.addWidget(self.progress, 1)
        actions.addStretch()
        row = QHBoxLayout()
        for button in (
            self.verify_button,
            self.restore_button,
            self.reveal_button,
            self.delete_button,
        ):
            row.addWidget(button)
        row.addStretch()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 12)
        layout.addLayout(top)
        layout.addLayout(actions)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        workspace.sig_profile_changed.connect(self._on_workspace_profile_changed)
        workspace.sig_changed.connect(self._on_workspace_changed)
        self._on_workspace_profile_changed(workspace.profile)
        self._show_folder()
        self.reload()

    # -- catalogue --------------------------------------------------------------

    def reload(self) -> None:
        self.workspace.tasks.run_journal(backup_catalog.backups, on_done=self._on_records_loaded)

    def _on_records_loaded(self, records: list[BackupRecord]) -> None:
        self.records = records
        self.table.setRowCount(len(records))
        now = datetime.now(UTC)
        versions = {s.name: s.version.version for s in self.workspace.statuses if s and s.version}
        for row, record in enumerate(records):
            taken = parse_utc(record.created_at)
            age = f"{human_duration((now - taken).total_seconds())} ago"
            stale = record.node in versions and versions[record.node] != record.version
            if stale:
                age += f" · stale (node now {versions[record.node]})"
            kind = "checkpoint" if record.checkpoint else "files"
            if not record.consistent:
                kind += ", possibly inconsistent"
            values = (
                record.node,
                record.version,
                age,
                human_bytes(record.size),
                "✓" if record.verified else "—",
                kind,
                # the folder is the same for most: the file name tells the archives apart
                Path(record.path).name + ("" if record.exists else " (missing)"),
            )
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(
                    f"{value}\nin {Path(record.path).parent}\nSHA-256 {record.sha256}"
                    if column == 6
                    else value
                )
                self.table.setItem(row, column, item)
        self._update_buttons()
        self.sig_records_loaded.emit(records)

    def selected(self) -> BackupRecord | None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        return self.records[rows.pop()] if len(rows) == 1 else None

    def select_row(self, row: int) -> None:
        self.table.selectRow(row)

    # -- backup -----------------------------------------------------------------

    def back_up(self, accept_inconsistent: frozenset[str] = frozenset()) -> Task | None:
        """Back up every node of the connected profile (in a worker), then verify each."""
        profile = self.workspace.profile
        if profile is None or self.task is not None or self.workspace.refuse("Backing up"):
            return None
        statuses = {s.name: s for s in self.workspace.statuses if s}
        only = self.scope.currentData()
        jobs = [
            NodeJob(n, _version_of(n, statuses.get(n.name)), n.name in accept_inconsistent)
            for n in profile.nodes
            if only is None or n.name == only or n.name in accept_inconsistent
        ]
        missing = [j.node.name for j in jobs if not j.node.data_dir]
        if missing:
            self._say(
                f"No data dir set for {', '.join(missing)}: add it in the connection "
                "profile (Ctrl+K) to back up its files.",
                error=True,
            )
            return None
        token = self.workspace.tokens.get(profile.name)
        self._busy(f"Backing up {len(jobs)} node(s)…")
        changed = ChangeLog()  # each node's backup is recorded as it lands (core)
        self.task = self.workspace.tasks.run_op(
            partial(
                back_up_and_record_all,
                journal_path=self.workspace.tasks.journal_path,
                changed=changed,
            ),
            profile,
            token,
            jobs,
            backup_folder(),
            changes=changed,
            initiator=self,
            with_progress=True,
            on_done=lambda outcomes: self._on_backups_done(outcomes, accept_inconsistent),
            on_failed=self._on_job_failed,
        )
        self.task.sig_progress.connect(self._on_task_progress)
        return self.task

    def _on_backups_done(self, outcomes, accepted: frozenset[str]) -> None:
        """What was taken; core recorded it (profile, the profile's open session)."""
        self._idle()
        done = [o for o in outcomes if o.result is not None]
        refused = [o for o in outcomes if isinstance(o.error, InconsistentBackupRefused)]
        failed = [o for o in outcomes if o.error and o not in refused and o not in done]
        lines = [
            f"{o.node.name}: {human_bytes(o.result.size)}, verified ✓"
            if o.verified and o.record is not None
            else f"{o.node.name}: {o.error}"
            if o.record is None
            else f"{o.node.name}: written but NOT verified ({o.error})"
            for o in done
        ]
        lines += [f"{o.node.name}: note — {w}" for o in done for w in o.result.warnings]
        lines += [f"{o.node.name}: failed — {o.error}" for o in failed]
        failed += [o for o in done if o.record is None]
        self._say("\n".join(lines) or "Cancelled: nothing was kept.", error=bool(failed))
        self.sig_job_finished.emit("\n".join(lines))
        if refused and not accepted:
            self._offer_inconsistent([o.node.name for o in refused], refused[0].error)

    def _offer_inconsistent(self, names: list[str], reason: Exception) -> QMessageBox:
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "No checkpoint possible",
            f"{reason}\n\nCopy the files of {', '.join(names)} while the server runs? The copy "
            "may be inconsistent; the manifest will say so.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)
        yes = QMessageBox.StandardButton.Yes
        box.buttonClicked.connect(
            lambda button: (
                self.back_up(frozenset(names)) if box.standardButton(button) == yes else None
            )
        )
        box.open()
        self.inconsistent_box = box
        return box

    # -- verify, restore, delete ------------------------------------------------

    def verify_selected(self) -> Task | None:
        record = self.selected()
        if record is None or self.task is not None or self.workspace.refuse("Verifying"):
            return None
        self._busy(f"Verifying {Path(record.path).name}…")
        self.task = self.workspace.tasks.run(
            lambda progress, cancelled: _verify_and_remember(
                Path(record.path), progress, cancelled, record
            ),
            with_progress=True,
            on_done=lambda report: self._on_verified(record, report),
            on_failed=self._on_job_failed,
        )
        self.task.sig_progress.connect(self._on_task_progress)
        return self.task

    def _on_verified(self, record: BackupRecord, report) -> None:
        self._idle()
        if report.ok:
            self.workspace.tasks.run_op(
                backup_catalog.mark_verified,
                record.id,
                report.archive_sha256,
                journal=True,
                changes=BACKUPS,
                initiator=self,
            )
            text = f"{Path(record.path).name}: verified ✓ ({report.files_checked} files)"
        else:
            text = f"{Path(record.path).name} is damaged:\n" + "\n".join(report.problems[:10])
        text = "\n".join([text, *report.notes])
        self._say(text, error=not report.ok)
        self.sig_job_finished.emit(text)

    def restore_plan(self, record: BackupRecord) -> tuple[str, object] | None:
        """What a restore of `record` would replace: (message, node), or None."""
        profile = self.workspace.profile
        if profile is None or record.profile != profile.name:
            return None  # another installation's "node-1" is not this one
        node = next((n for n in profile.nodes if n.name == record.node), None)
        if node is None or not node.data_dir:
            return None
        config = f" and its config in {Path(node.config_path).parent}" if node.config_path else ""
        return (
            f"Restore {record.node} to the backup taken {record.created_at} (ThemisDB "
            f"{record.version})?\n\nThis replaces {node.data_dir}{config}. The current data is "
            f"kept beside it as {Path(node.data_dir).name}.pre-restore-<time> until you delete "
            "it. The node must be stopped first.",
            node,
        )

    def restore_selected(self, confirmed: bool = False) -> Task | None:
        if self.workspace.refuse("Restoring"):
            return None
        record = self.selected()
        plan = self.restore_plan(record) if record else None
        if plan is None:
            self._say(
                "Select a backup taken from the connected profile, of a node with a data dir.",
                error=True,
            )
            return None
        message, node = plan
        if not confirmed and QMessageBox.question(self, "Restore", message) != (
            QMessageBox.StandardButton.Yes
        ):
            return None
        self._busy(f"Restoring {record.node}…")
        changed = ChangeLog()
        self.task = self.workspace.tasks.run_op(
            partial(  # checked against its manifest and journaled (core)
                restore_node,
                node,
                record,
                journal_path=self.workspace.tasks.journal_path,
                changed=changed,
                service=self.workspace.profile.service,  # a newer backup than it is refused
            ),
            changes=changed,
            initiator=self,
            with_progress=True,
            on_done=self._on_restored,
            on_failed=self._on_job_failed,
        )
        self.task.sig_progress.connect(self._on_task_progress)
        return self.task

    def _on_restored(self, result) -> None:
        self._idle()
        text = " ".join([*result.recovered, f"Restored {result.data_dir}."])
        if result.kept:
            text += f" The replaced data is kept in {result.kept}."
        text = " ".join([text, *result.notes])
        self._say(text)
        self.sig_job_finished.emit(text)

    def delete_selected(self, confirmed: bool = False) -> None:
        record = self.selected()
        if record is None or self.workspace.refuse("Deleting a backup"):
            return
        if (
            not confirmed
            and QMessageBox.question(
                self, "Delete backup", f"Delete {record.path} and its manifest?"
            )
            != QMessageBox.StandardButton.Yes
        ):
            return
        self.workspace.tasks.run_op(
            delete_backup, record, journal=True, changes=BACKUPS, initiator=self
        )

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.status.setText("Cancelling…")

    # -- plumbing ---------------------------------------------------------------

    def _on_task_progress(self, done: int, total: int) -> None:
        self.rate.update(done, total)
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * done / total) if total else 0)
        self.progress.setFormat(self.rate.describe())

    def _on_job_failed(self, error: Exception) -> None:
        self._idle()
        self._say(str(error), error=True)
        self.sig_job_finished.emit(str(error))

    def _busy(self, text: str) -> None:
        self.rate = Rate()
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self._say(text)
        self._update_buttons()

    def _idle(self) -> None:
        self.task = None
        self.progress.hide()
        self.cancel_button.hide()
        self._update_buttons()

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {palette.BAD_RED};" if error else "")

    def _update_buttons(self) -> None:
        idle, writable = self.task is None, not self.workspace.read_only
        self.backup_button.setEnabled(idle and writable and self.workspace.profile is not None)
        chosen = self.selected() is not None
        for button in (self.verify_button, self.restore_button, self.delete_button):
            button.setEnabled(idle and chosen and writable)
        self.reveal_button.setEnabled(idle and chosen)

    def _on_workspace_changed(self, changes: Changes, initiator: object) -> None:
        """A change notice: this page's, the session's or a rollout's write touched the
        catalogue (the page's own writes reload it this way too)."""
        if Topic.BACKUPS in changes:
            self.reload()

    def _on_workspace_profile_changed(self, profile) -> None:
        self.scope.blockSignals(True)
        self.scope.clear()
        self.scope.addItem("All nodes", None)
        for node in profile.nodes if profile else ():
            self.scope.addItem(node.name, node.name)
        self.scope.blockSignals(False)
        self._update_buttons()

    def _show_folder(self) -> None:
        self.folder_label.setText(f"into {backup_folder()}")

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Backup folder", str(backup_folder()))
        if folder:
            settings().setValue("backup_dir", folder)
            self._show_folder()

    def _reveal_selected(self) -> None:
        record = self.selected()
        if record:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(record.path).parent)))


def _verify_and_remember(archive: Path, progress, cancelled, record: BackupRecord):
    report = verify(archive, progress, cancelled, recorded=record)
    remember_checksum(report)
    return report


def _version_of(node, status) -> str:
    if status and status.version:
        return status.version.version
    return node.version_override or "unknown"
