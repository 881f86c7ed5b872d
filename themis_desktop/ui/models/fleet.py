"""The Fleet page's data: a table model of the clusters (`core/fleet/status.py`) that a
poll updates row by row, and the monitor that keeps it current while the page is shown.

The nodes are polled by a child process (`core/fleet/poll_worker.py`, started with
QProcess) so the GUI thread never competes with ~400 requests a second for the GIL; its
answer lines are merged here with the journal's side (profiles, sessions, the catalogue),
which a worker reads only on start, on change notices and once a minute."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QProcess,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor

from themis_desktop.core.fleet import poll_worker
from themis_desktop.core.fleet.status import (
    ClusterStatus,
    FleetStatus,
    NodeState,
    SessionSummary,
    fleet_status,
    not_polled,
)
from themis_desktop.core.upgrade.health_state import LEVELS
from themis_desktop.core.upgrade.rollback_window import BANDS
from themis_desktop.core.util.changes import Changes, Topic
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
FACTS_REFRESH_MS = 60_000  # sessions' rollback bands move with time: re-read now and then
RESTART_BACKOFF_MS = (500, 1000, 2000, 5000, 10_000, 30_000)
STOP_GRACE_MS = 1500  # from closing the child's stdin to killing it
FACT_TOPICS = (Topic.SESSIONS, Topic.EVENTS, Topic.PROFILES)
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
    """Keeps `model` current while started. The nodes: a child process
    (`poll_worker`) polls them every interval and writes a line per poll, read here on
    `readyReadStandardOutput`; garbage from it, or its end, is a message
    (`sig_failed`) and a restart after a growing pause. The journal's side (profiles,
    tokens, sessions, the catalogue): read by a worker task on start, on change notices
    (`on_changed`) and once a minute; a change of profiles is a new request to the child.
    In a read-only review it reads the journal once and asks no server (no child)."""

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
        connected: Callable[[], Any] = lambda: None,
    ) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.connected = connected  # the window's profile: listed even when not saved
        self.tokens = tokens
        self.model = FleetTableModel(self)
        self.interval_ms = interval_ms
        self.max_workers, self.timeout = max_workers, timeout
        self.polls = 0  # answers applied
        self.last_poll_s = 0.0  # how long the child's last poll took
        self.restarts = 0
        self.process: QProcess | None = None
        self._running = False
        self._buffer = bytearray()
        self._profiles: list[Any] | None = None
        self._sessions: dict[str, SessionSummary | None] = {}
        self._catalogue: Any = None
        self._request: str | None = None  # the last request line sent (or to send)
        self._facts_in_flight = False
        self._facts_again = False
        self._failures = 0
        self._unregister: Any = None
        self._restart = QTimer(self, singleShot=True)
        self._restart.timeout.connect(self._start_child)
        self._facts_timer = QTimer(self, interval=FACTS_REFRESH_MS)
        self._facts_timer.timeout.connect(self.refresh_facts)

    @property
    def read_only(self) -> bool:
        return self.tasks.read_only

    @property
    def running(self) -> bool:
        return self._running

    @property
    def child_pid(self) -> int | None:
        """The child's process id while it runs."""
        process = self.process
        if process is None or process.state() == QProcess.ProcessState.NotRunning:
            return None
        return int(process.processId()) or None

    # -- start and stop -------------------------------------------------------------------

    def start(self) -> None:
        """Read the journal's side and start the child (once, without a child, in a review)."""
        if self.read_only:
            if self.model.fleet is None:
                self.refresh_facts()
            return
        if self._running:
            return
        self._running = True
        self._failures = 0
        self._facts_timer.start()
        self.refresh_facts()  # the child starts once the profiles are known

    def stop(self) -> None:
        """No more polls: the child is told to end (its stdin closed) and killed if it
        has not within a moment."""
        self._running = False
        self._facts_timer.stop()
        self._restart.stop()
        self._stop_child()

    def stop_now(self, seconds: float) -> None:
        """The app quits (`TaskManager.stop_services`): end the child, waiting at most
        `seconds`."""
        self._running = False
        self._facts_timer.stop()
        self._restart.stop()
        process, self.process = self.process, None
        self._forget_service()
        if process is None:
            return
        self._disconnect(process)
        if process.state() != QProcess.ProcessState.NotRunning:
            process.closeWriteChannel()
            if not process.waitForFinished(int(min(seconds, STOP_GRACE_MS / 1000) * 1000)):
                process.kill()
                process.waitForFinished(1000)
        process.deleteLater()

    # -- the journal's side ---------------------------------------------------------------

    def on_changed(self, changes: Changes, _initiator: object) -> None:
        """A change notice: profiles, sessions or events changed: read them again."""
        if (self._running or self.read_only) and changes.touches(*FACT_TOPICS):
            self.refresh_facts()

    def refresh_facts(self) -> None:
        """Read profiles, tokens, sessions and the catalogue in a worker (one at a time)."""
        if self._facts_in_flight:
            self._facts_again = True
            return
        self._facts_in_flight = True
        read_only, path, catalogue, tokens, connected = (
            self.read_only,
            self.tasks.journal_path,
            self._catalogue,
            self.tokens,
            self.connected(),
        )

        def work() -> tuple[list[Any], dict[str, Any], Any, dict[str, str | None]]:
            from themis_desktop.core.connection import profile_store
            from themis_desktop.core.fleet.status import session_summaries
            from themis_desktop.core.journal.store import Journal
            from themis_desktop.core.versions.catalogue_file import load_catalogue

            found = catalogue if catalogue is not None else load_catalogue()
            with Journal(path, read_only=read_only) as journal:
                profiles = profile_store.load_all(journal)
                if connected is not None and connected.name not in {p.name for p in profiles}:
                    profiles.append(connected)  # e.g. the demo instance: connected, unsaved
                sessions = session_summaries(journal, profiles)
            known: dict[str, str | None] = {}
            if not read_only and tokens is not None:
                for p in profiles:
                    try:
                        known[p.name] = tokens.get(p.name)
                    except Exception:  # a keyring that fails: ask without (health needs none)
                        known[p.name] = None
            return profiles, sessions, found, known

        self.tasks.run(work, on_done=self._on_facts, on_failed=self._on_facts_failed)

    def _on_facts(self, result: tuple[list[Any], dict[str, Any], Any, dict[str, Any]]) -> None:
        self._facts_in_flight = False
        profiles, self._sessions, self._catalogue, tokens = result
        self._profiles = profiles
        if self.read_only:
            self._apply(not_polled(profiles), time.time(), 0.0)
        elif self._running:
            self._request = poll_worker.request_json(
                profiles,
                tokens,
                interval=self.interval_ms / 1000,
                max_workers=self.max_workers,
                timeout=self.timeout,
            )
            if self.process is None:
                if not self._restart.isActive():
                    self._start_child()
            else:
                self.process.write(self._request.encode())
            if self.model.fleet is None or not profiles:
                # shown at once (unpolled), and kept when no profile is saved
                self._apply(self._last_nodes(), time.time(), 0.0)
        if self._facts_again:
            self._facts_again = False
            self.refresh_facts()

    def _on_facts_failed(self, exc: object) -> None:
        self._facts_in_flight = False
        logger.warning("Fleet: the journal could not be read: %s", exc)
        self.sig_failed.emit(f"The fleet's profiles and sessions could not be read: {exc}")
        if self._facts_again:
            self._facts_again = False
            self.refresh_facts()

    def _last_nodes(self) -> dict[str, tuple[NodeState, ...]]:
        fleet = self.model.fleet
        return {c.profile: c.nodes for c in fleet.clusters} if fleet else {}

    # -- the child ------------------------------------------------------------------------

    def _start_child(self) -> None:
        if not self._running or self._request is None or self.process is not None:
            return
        process = QProcess(self)
        command = poll_worker.worker_command()
        process.setProgram(command[0])
        process.setArguments(command[1:])
        process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        process.setStandardErrorFile(os.devnull)  # its last words: the exit status says enough
        process.readyReadStandardOutput.connect(self._on_output)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self.process = process
        self._buffer.clear()
        process.start()
        process.write(self._request.encode())
        if self._unregister is None:
            self._unregister = self.tasks.register_service("fleet poller", self.stop_now)

    def _disconnect(self, process: QProcess) -> None:
        for signal in (process.readyReadStandardOutput, process.finished, process.errorOccurred):
            with contextlib.suppress(RuntimeError, TypeError):
                signal.disconnect()

    def _stop_child(self) -> None:
        process, self.process = self.process, None
        self._forget_service()
        if process is None:
            return
        self._disconnect(process)
        if process.state() == QProcess.ProcessState.NotRunning:
            process.deleteLater()
            return
        process.finished.connect(process.deleteLater)
        process.closeWriteChannel()  # the child ends when its stdin closes

        def kill() -> None:
            try:
                if process.state() != QProcess.ProcessState.NotRunning:
                    process.kill()
            except RuntimeError:  # deleted already: it had ended
                pass

        QTimer.singleShot(STOP_GRACE_MS, kill)

    def _forget_service(self) -> None:
        if self._unregister is not None:
            self._unregister()
            self._unregister = None

    def _fail(self, message: str) -> None:
        """Something wrong with the child: say so, end it, start another after a pause."""
        logger.warning("Fleet poller: %s", message)
        self._stop_child()
        if not self._running:
            return
        pause = RESTART_BACKOFF_MS[min(self._failures, len(RESTART_BACKOFF_MS) - 1)]
        self._failures += 1
        self.restarts += 1
        self.sig_failed.emit(f"{message} Restarting it in {pause / 1000:g} s.")
        self._restart.start(pause)

    def _on_output(self) -> None:
        process = self.process
        if process is None:
            return
        self._buffer += bytes(process.readAllStandardOutput().data())
        lines = self._buffer.split(b"\n")
        self._buffer = bytearray(lines.pop())
        if len(self._buffer) > poll_worker.MAX_LINE_BYTES:
            self._fail("The fleet poller sent a line too long to read.")
            return
        last = None
        for line in lines:
            if not line.strip():
                continue
            try:
                last = poll_worker.parse_line(line)
            except ValueError as exc:
                self._fail(f"The fleet poller sent something unreadable ({exc}).")
                return
        if last is not None:  # only the newest poll matters
            self._failures = 0
            self.polls += 1
            self.last_poll_s = last.seconds
            self._apply(last.nodes, last.polled_at, last.seconds)

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        how = (
            "crashed" if status == QProcess.ExitStatus.CrashExit else f"ended with exit code {code}"
        )
        self._fail(f"The fleet poller {how}.")

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._fail("The fleet poller could not be started.")

    # -- merging --------------------------------------------------------------------------

    def _apply(
        self, polled: dict[str, tuple[NodeState, ...]], polled_at: float, seconds: float
    ) -> None:
        profiles, catalogue = self._profiles, self._catalogue
        if profiles is None or catalogue is None:
            return
        nodes = {}
        for p in profiles:
            states = polled.get(p.name)
            same = states is not None and [s.url for s in states] == [n.url for n in p.nodes]
            nodes[p.name] = states if same else not_polled([p])[p.name]
        fleet = fleet_status(
            profiles, nodes, self._sessions, catalogue, polled_at=polled_at, seconds=seconds
        )
        self.model.apply(fleet)
        self.sig_polled.emit(fleet)
