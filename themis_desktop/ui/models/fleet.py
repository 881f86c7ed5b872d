"""The Fleet page's data: a table model of the clusters (`core/fleet/status.py`) that a
poll updates row by row, and the poller that runs `poll_fleet` in the background every
second while the page is visible, at most one poll in flight."""

from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor

from themis_desktop.core.fleet.status import ClusterStatus, FleetPoller, FleetStatus
from themis_desktop.core.upgrade.health_state import LEVELS
from themis_desktop.core.upgrade.rollback_window import BANDS
from themis_desktop.ui import palette
from themis_desktop.ui.tasks import TaskManager

logger = logging.getLogger(__name__)

COLUMNS = (
    "Cluster",
    "Nodes",
    "Versions",
    "Health",
    "Session",
    "Health state",
    "Rollback band",
    "Behind latest",
)
SORT_ROLE = Qt.ItemDataRole.UserRole
POLL_INTERVAL_MS = 1000
HEALTH_RANK = {"up": 0, "degraded": 1, "down": 2, "not polled": 3, "no nodes": 4}
BAND_RANK = {band.key: n for n, band in enumerate(BANDS)}
HEALTH_COLOUR = {"up": palette.OK_GREEN, "degraded": palette.WARN_AMBER, "down": palette.BAD_RED}
STATE_COLOUR = {
    "healthy": palette.OK_GREEN,
    "watch": palette.WARN_AMBER,
    "degraded": palette.BUSY_ORANGE,
    "failing": palette.BAD_RED,
}

Cell = tuple[str, Any, str, str | None]  # text, sort key, tooltip, colour


def _version_sort(versions: tuple[str, ...]) -> Any:
    from themis_desktop.core.versions.releases import VersionError, parse_version

    try:
        return tuple(parse_version(v) for v in versions) or (parse_version("0"),)
    except VersionError:
        return (parse_version("0"),)


def cells(cluster: ClusterStatus) -> tuple[Cell, ...]:
    """Each column's text, sort key, tooltip and colour for one cluster."""
    nodes = cluster.nodes
    node_lines = "\n".join(
        f"{n.name}: {n.state}{f' {n.version}' if n.version else ''}"
        + (f" — {n.error}" if n.error else "")
        for n in nodes
    )
    s = cluster.session
    behind = cluster.behind
    behind_text = {True: f"yes (latest {cluster.latest})", False: "no", None: "?"}[behind]
    versions = ", ".join(cluster.versions) or "?"
    return (
        (cluster.profile, cluster.profile.lower(), cluster.profile, None),
        (
            f"{cluster.up_count}/{len(nodes)} up",
            (len(nodes) - cluster.up_count, len(nodes)),
            node_lines,
            None,
        ),
        (versions, _version_sort(cluster.versions), node_lines, None),
        (
            cluster.health,
            HEALTH_RANK.get(cluster.health, 9),
            node_lines,
            HEALTH_COLOUR.get(cluster.health),
        ),
        (s.text if s else "—", (0, s.id) if s else (1, 0), s.text if s else "no session", None),
        (
            s.health.title() if s else "—",
            LEVELS.index(s.health) if s else -1,
            s.health_reason if s else "",
            STATE_COLOUR.get(s.health) if s else None,
        ),
        (
            (s.band_title or "—") if s else "—",
            BAND_RANK.get(s.band, -1) if s and s.band else -1,
            f"{s.band_title} ({s.band_hop})" if s and s.band else "",
            None,
        ),
        (
            behind_text,
            {True: 1, False: 0, None: -1}[behind],
            f"the newest release of the catalogue is {cluster.latest}",
            palette.WARN_AMBER if behind else None,
        ),
    )


class FleetTableModel(QAbstractTableModel):
    """One row per cluster. `apply` changes only the rows whose cells changed
    (`dataChanged`), and resets only when the clusters themselves change."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._names: list[str] = []
        self._cells: list[tuple[Cell, ...]] = []
        self.fleet: FleetStatus | None = None
        self.resets = 0  # how often the clusters changed (tests, the benchmark)
        self.rows_changed = 0

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._cells)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(
        self,
        index: QModelIndex | QPersistentModelIndex,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if not index.isValid():
            return None
        text, key, tip, colour = self._cells[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return text
        if role == SORT_ROLE:
            return key
        if role == Qt.ItemDataRole.ToolTipRole:
            return tip or None
        if role == Qt.ItemDataRole.ForegroundRole and colour:
            return QColor(colour)
        return None

    def cluster_names(self) -> list[str]:
        return list(self._names)

    def apply(self, fleet: FleetStatus) -> None:
        """The clusters after a poll: only the changed rows are announced."""
        self.fleet = fleet
        names = [c.profile for c in fleet.clusters]
        fresh = [cells(c) for c in fleet.clusters]
        if names != self._names:
            self.beginResetModel()
            self._names, self._cells = names, fresh
            self.endResetModel()
            self.resets += 1
            return
        last = len(COLUMNS) - 1
        for row, (old, new) in enumerate(zip(self._cells, fresh, strict=True)):
            if old != new:
                self._cells[row] = new
                self.rows_changed += 1
                self.dataChanged.emit(self.index(row, 0), self.index(row, last))


class FleetMonitor(QObject):
    """Polls the fleet every second while started: each poll a worker task that reads the
    profiles and sessions from the journal and asks the nodes (`poll_fleet` with a poller
    kept between polls); at most one in flight; results applied to `model` in the GUI
    thread. In a read-only review it reads the journal once and asks no server."""

    sig_polled = Signal(object)  # FleetStatus
    sig_failed = Signal(str)

    def __init__(
        self,
        tasks: TaskManager,
        tokens: Any,
        parent: QObject | None = None,
        *,
        interval_ms: int = POLL_INTERVAL_MS,
        max_workers: int = 16,
        timeout: float = 2.0,
    ) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.tokens = tokens
        self.model = FleetTableModel(self)
        self.max_workers, self.timeout = max_workers, timeout
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.poll_now)
        self.in_flight = False
        self.polls = 0
        self.last_poll_s = 0.0
        self._poller: FleetPoller | None = None
        self._catalogue: Any = None
        self._unregister: Any = None

    @property
    def read_only(self) -> bool:
        return self.tasks.read_only

    @property
    def running(self) -> bool:
        return self.timer.isActive()

    def start(self) -> None:
        """Poll now and every interval (once, without the timer, in a review)."""
        if self.read_only:
            if self.model.fleet is None:
                self.poll_now()
            return
        if not self.timer.isActive():
            self.timer.start()
            self.poll_now()

    def stop(self) -> None:
        """No more polls; the poller's threads and clients are closed once none runs."""
        self.timer.stop()
        if not self.in_flight:
            self._close_poller()

    def poll_now(self) -> None:
        if self.in_flight:
            return  # the previous poll is still waiting for its nodes
        self.in_flight = True
        read_only = self.read_only
        if not read_only and self._poller is None:
            self._poller = FleetPoller(
                self.tokens, max_workers=self.max_workers, timeout=self.timeout
            )
            poller = self._poller
            self._unregister = self.tasks.register_service(
                "fleet poller", lambda _t: poller.close()
            )
        poller, path, catalogue = self._poller, self.tasks.journal_path, self._catalogue

        def work() -> tuple[FleetStatus, Any]:  # a worker: no Qt object touched
            from themis_desktop.core.connection import profile_store
            from themis_desktop.core.fleet.status import poll_fleet
            from themis_desktop.core.journal.store import Journal
            from themis_desktop.core.versions.catalogue_file import load_catalogue

            found = catalogue if catalogue is not None else load_catalogue()
            with Journal(path, read_only=read_only) as journal:
                profiles = profile_store.load_all(journal)
                fleet = poll_fleet(
                    profiles,
                    None,
                    journal,
                    poller=poller,
                    catalogue=found,
                    poll_nodes=not read_only,
                )
            return fleet, found

        started = time.monotonic()
        self.tasks.run(
            work,
            on_done=lambda result, t=started: self._on_done(result, t),
            on_failed=self._on_failed,
        )

    def _on_done(self, result: tuple[FleetStatus, Any], started: float) -> None:
        self.in_flight = False
        fleet, self._catalogue = result
        self.polls += 1
        self.last_poll_s = time.monotonic() - started
        self.model.apply(fleet)
        self.sig_polled.emit(fleet)
        if not self.timer.isActive():
            self._close_poller()

    def _on_failed(self, exc: object) -> None:
        self.in_flight = False
        logger.warning("Fleet poll failed: %s", exc)
        self.sig_failed.emit(f"The fleet could not be polled: {exc}")
        if not self.timer.isActive():
            self._close_poller()

    def _close_poller(self) -> None:
        """Close the poller in a worker (its pool waits for nothing now: no poll runs)."""
        poller, self._poller = self._poller, None
        if self._unregister is not None:
            self._unregister()
            self._unregister = None
        if poller is not None:
            self.tasks.run(poller.close)
