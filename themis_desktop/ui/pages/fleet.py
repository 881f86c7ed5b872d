"""Fleet page: every saved profile (cluster) at a glance — nodes' versions and health, the
session in progress with its health state and rollback band, and which clusters are behind
the newest release; filtered by text, sorted by any column. Polls every second while it
is shown, by a child process (`models/fleet.py`); a read-only review shows the journal's
clusters unpolled."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.fleet.status import FleetStatus
from themis_desktop.ui.models.fleet import COLUMNS, SORT_ROLE, FleetMonitor
from themis_desktop.ui.models.workspace import Workspace


class FleetPage(QWidget):
    TITLE = "Fleet"

    def __init__(self, workspace: Workspace, *, interval_ms: int = 1000) -> None:
        super().__init__()
        self.workspace = workspace
        self.monitor = FleetMonitor(
            workspace.tasks,
            workspace.tokens,
            self,
            interval_ms=interval_ms,
            connected=lambda: workspace.profile,
        )
        self.model = self.monitor.model
        workspace.sig_profile_changed.connect(lambda _profile: self.monitor.refresh_facts())
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)  # every column
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        title = QLabel(self.TITLE, objectName="pageTitle")
        self.filter = QLineEdit(placeholderText="Filter clusters (name, version, health, session…)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.summary = QLabel("")
        self.summary.setObjectName("muted")
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setObjectName("muted")
        if workspace.read_only:
            self.note.setText(
                "Read-only review: the servers are not polled. Sessions, their health state "
                "and rollback bands are the reviewed journal's; node health is not shown."
            )
        self.note.setVisible(workspace.read_only)
        self.problem = QLabel("")  # the poller's trouble, until its next good poll
        self.problem.setWordWrap(True)
        self.problem.setObjectName("pageError")
        self.problem.setVisible(False)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        # columns as wide as their contents, the session takes what is left, and a row is
        # as tall as its wrapped text: all of it in view at 1024 px, no sideways scroll
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Session"), QHeaderView.ResizeMode.Stretch)
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

        top = QHBoxLayout()
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.summary)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 12)  # as the other pages
        layout.addLayout(top)
        layout.addWidget(self.note)
        layout.addWidget(self.problem)
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 1)

        self.monitor.sig_polled.connect(self._on_monitor_polled)
        self.monitor.sig_failed.connect(self._on_monitor_failed)
        workspace.sig_changed.connect(self.monitor.on_changed)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.monitor.start()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.monitor.stop()

    def _on_monitor_failed(self, message: str) -> None:
        self.problem.setText(message)
        self.problem.setVisible(True)

    def _on_monitor_polled(self, fleet: FleetStatus) -> None:
        if fleet.seconds > 0:  # a poll, not the journal's side read again
            self.problem.setVisible(False)
        clusters = fleet.clusters
        behind = sum(1 for c in clusters if c.behind)
        down = sum(1 for c in clusters if c.health in ("degraded", "down"))
        when = datetime.fromtimestamp(fleet.polled_at).strftime("%H:%M:%S")
        if self.workspace.read_only:
            self.summary.setText(f"{_clusters(len(clusters))} (not polled in a review)")
        else:
            self.summary.setText(
                f"{_clusters(len(clusters))} · {down} with a node down · {behind} behind "
                f"{fleet.latest} · polled {when}"
            )


def _clusters(count: int) -> str:
    return f"{count} cluster" if count == 1 else f"{count} clusters"
