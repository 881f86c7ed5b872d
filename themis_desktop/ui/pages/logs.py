"""Logs page: every node's log live (level filters, search, pause, repeats grouped), or a
hop's warnings and errors from the journal; jump to the hop's start; export its lines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.journal.store import Journal, parse_utc
from themis_desktop.core.logs import line_format as log_format
from themis_desktop.core.logs import store as log_store
from themis_desktop.core.logs import watch as logs
from themis_desktop.core.logs.line_format import LogLine
from themis_desktop.core.upgrade.session import Hop, UpgradeSession
from themis_desktop.core.util.atomic_file import replace_text
from themis_desktop.ui import palette
from themis_desktop.ui.models.workspace import Workspace

COLUMNS = ("Time", "Node", "Level", "Message", "Repeats")
LEVEL_COLOUR = {
    "critical": palette.BAD_RED,
    "error": palette.BAD_RED,
    "warning": palette.WARNING_ORANGE,
    "debug": palette.QUIET_GREY,
}
LEVEL_BUTTONS = (  # (label, levels it shows, on at start)
    ("Errors", ("critical", "error"), True),
    ("Warnings", ("warning",), True),
    ("Info", ("info",), True),
    ("Debug", ("debug",), False),
)
LIVE = -1  # the view combo's data for the live view


@dataclass(frozen=True)
class Row:
    ts: float
    node: str
    level: str
    message: str
    repeats: int = 1


class LogTableModel(QAbstractTableModel):
    """Rows of log lines (or groups of repeats), appended live and capped."""

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap
        self.rows: list[Row] = []

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        row = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                log_format.format_ts(row.ts),
                row.node,
                row.level,
                row.message,
                f"×{row.repeats}" if row.repeats > 1 else "",
            )[column]
        if role == Qt.ItemDataRole.ForegroundRole and column in (2, 3):
            colour = LEVEL_COLOUR.get(row.level)
            return QColor(colour) if colour else None
        if role == Qt.ItemDataRole.ToolTipRole and column == 3:
            return row.message  # the column elides what does not fit: the tip has it all
        return None

    def replace(self, rows: list[Row]) -> None:
        self.beginResetModel()
        self.rows = rows[-self.cap :]
        self.endResetModel()

    def append(self, rows: list[Row]) -> None:
        if not rows:
            return
        rows = rows[-self.cap :]
        excess = len(self.rows) + len(rows) - self.cap
        if excess > 0:
            self.beginRemoveRows(QModelIndex(), 0, excess - 1)
            del self.rows[:excess]
            self.endRemoveRows()
        first = len(self.rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self.rows.extend(rows)
        self.endInsertRows()


class LogsPage(QWidget):
    TITLE = "Logs"

    sig_view_loaded = Signal()  # a hop's lines from the journal are shown

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.monitor = workspace.logs
        self.model = LogTableModel(self.monitor.ring.maxlen or 20_000)
        self.paused = False
        self.unseen = 0
        self.hop_rows: list[Row] = []  # the hop view's lines, from the journal

        title = QLabel("Logs", objectName="pageTitle")
        self.sources = QLabel("", objectName="muted")
        self.sources.setWordWrap(True)
        self.level_buttons: dict[str, QToolButton] = {}
        filters = QHBoxLayout()
        for label, _levels, on in LEVEL_BUTTONS:
            button = QToolButton(text=label, checkable=True, checked=on)
            button.toggled.connect(self.refilter)
            self.level_buttons[label] = button
            filters.addWidget(button)
        self.node = QComboBox()
        self.node.currentIndexChanged.connect(self.refilter)
        filters.addWidget(self.node)
        self.search = QLineEdit(placeholderText="Search (Ctrl+F)", clearButtonEnabled=True)
        self.search.textChanged.connect(self.refilter)
        filters.addWidget(self.search, 1)
        self.group = QToolButton(text="Group repeats", checkable=True)
        self.group.setToolTip("One row per kind of message and node, with how often it came")
        self.group.toggled.connect(self.refilter)
        filters.addWidget(self.group)
        self.pause = QToolButton(text="Pause", checkable=True)
        self.pause.setToolTip("Freeze the view; lines keep being collected (Ctrl+Shift+P)")
        self.pause.toggled.connect(self.set_paused)
        filters.addWidget(self.pause)

        view_row = QHBoxLayout()
        self.view = QComboBox()
        self.view.setToolTip(
            "Live: the last lines of every node. A hop: its warnings and "
            "errors as kept in the journal"
        )
        self.view.currentIndexChanged.connect(self._on_view_changed)
        view_row.addWidget(QLabel("Show"))
        view_row.addWidget(self.view, 1)
        self.jump = QPushButton("Jump to hop start")
        self.jump.setToolTip("The first line after the current hop's upgrade step began")
        self.jump.clicked.connect(self.jump_to_hop_start)
        view_row.addWidget(self.jump)
        self.export = QPushButton("Export hop lines…")
        self.export.setToolTip(
            "The hop's warnings and errors as a text file (the session report includes them too)"
        )
        self.export.clicked.connect(lambda: self.export_hop_lines())
        view_row.addWidget(self.export)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        for column in (0, 1, 4):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        # the lines shown first may all be "info": room for every level from the start
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        levels = [level for _, names, _ in LEVEL_BUTTONS for level in names] + ["Level"]
        widest = max(self.table.fontMetrics().horizontalAdvance(name) for name in levels)
        header.resizeSection(2, max(widest + 16, header.sectionSizeFromContents(2).width()))
        self.status = QLabel("", objectName="muted")

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.sources)
        layout.addLayout(filters)
        layout.addLayout(view_row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        QShortcut(QKeySequence("Ctrl+F"), self, activated=self.search.setFocus)
        QShortcut(QKeySequence("Ctrl+Shift+P"), self, activated=self.pause.toggle)

        self.monitor.sig_lines.connect(self._on_lines)
        self.monitor.sig_reset.connect(self._on_reset)
        self.monitor.sig_problem.connect(lambda *_: self._show_sources())
        workspace.upgrade.sig_session.connect(self._on_session)
        self._on_reset()
        self._on_session(workspace.upgrade.session)

    # -- what is shown -------------------------------------------------------------

    @property
    def hop_id(self) -> int:
        return self.view.currentData() if self.view.count() else LIVE

    def levels(self) -> set[str]:
        return {
            level
            for label, levels, _ in LEVEL_BUTTONS
            if self.level_buttons[label].isChecked()
            for level in levels
        }

    def accepts(self, node: str, level: str, message: str) -> bool:
        wanted_node = self.node.currentData()
        needle = self.search.text().strip().casefold()
        return (
            level in self.levels()
            and (not wanted_node or node == wanted_node)
            and (not needle or needle in message.casefold())
        )

    def refilter(self) -> None:
        """Rebuild the rows from the ring (live) or the hop's journal lines."""
        if self.hop_id == LIVE:
            lines = [x for x in self.monitor.ring if self.accepts(x.node, x.level, x.message)]
            rows = self._grouped(lines) if self.group.isChecked() else [_row(x) for x in lines]
        else:
            rows = [r for r in self.hop_rows if self.accepts(r.node, r.level, r.message)]
            rows = self._grouped(rows) if self.group.isChecked() else rows
        self.model.replace(rows)
        self.table.setColumnHidden(4, not self.group.isChecked())
        self.unseen = 0
        if self.group.isChecked():
            self.table.scrollToTop()  # the most severe, most frequent kinds first
        self._follow()
        self._show_status()

    def _grouped(self, lines: list) -> list[Row]:
        """One row per kind of message and node: the most severe, most frequent first."""
        groups = logs.Groups(limit=max(1, len(lines)))  # every kind shown: none evicted
        groups.add(lines)
        return [Row(g.last, g.node, g.level, g.example, g.count) for g in groups.groups()]

    def _on_lines(self, lines: list[LogLine]) -> None:
        if self.hop_id != LIVE:
            return
        if self.paused:
            self.unseen += len(lines)
            self._show_status()
            return
        if self.group.isChecked():
            self.refilter()
            return
        at_bottom = self._at_bottom()
        self.model.append([_row(x) for x in lines if self.accepts(x.node, x.level, x.message)])
        if at_bottom:
            self.table.scrollToBottom()
        self._show_status()

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.pause.setText("Resume" if paused else "Pause")
        if not paused:
            self.refilter()
        self._show_status()

    def _at_bottom(self) -> bool:
        bar = self.table.verticalScrollBar()
        return bar.value() >= bar.maximum() - 2

    def _follow(self) -> None:
        if self.hop_id == LIVE and not self.paused and not self.group.isChecked():
            self.table.scrollToBottom()

    def _on_reset(self) -> None:
        profile = self.monitor.profile
        current = self.node.currentData()
        self.node.blockSignals(True)
        self.node.clear()
        self.node.addItem("All nodes", "")
        for node in profile.nodes if profile else ():
            self.node.addItem(node.name, node.name)
        index = self.node.findData(current)
        self.node.setCurrentIndex(max(index, 0))
        self.node.blockSignals(False)
        self._show_sources()
        self.refilter()

    def _show_sources(self) -> None:
        monitor, profile = self.monitor, self.monitor.profile
        if profile is None:
            self.sources.setText("Connect to a profile (Ctrl+K) to follow its logs.")
            return
        if self.workspace.read_only:
            self.sources.setText("A review: the hops' warnings and errors from the journal.")
            return
        parts = []
        for name, source in monitor.sources.items():
            problem = monitor.problems.get(name)
            state = f"<b>{problem}</b>" if problem else source.label
            parts.append(f"{name}: {state}")
        parts += [
            f"{n}: <b>{p}</b>" for n, p in monitor.problems.items() if n not in monitor.sources
        ]
        unset = [name for name, s in monitor.sources.items() if s.kind == "none"]
        text = " · ".join(parts)
        if unset:
            text += (
                f"<br>No log source for {', '.join(unset)}: set one in the connection dialog "
                "(Ctrl+K): the server's log file, journald or a command."
            )
        self.sources.setText(text)

    def _show_status(self) -> None:
        shown = self.model.rowCount()
        if self.hop_id == LIVE:
            text = f"{shown} line(s) shown of the last {len(self.monitor.ring)} held"
            if self.paused:
                text += f" · paused, {self.unseen} new line(s) since"
        else:
            text = f"{shown} of the hop's {len(self.hop_rows)} stored warning/error line(s)"
        self.status.setText(text)

    # -- hops --------------------------------------------------------------------------

    def _on_session(self, session: UpgradeSession | None) -> None:
        current = self.hop_id
        self.view.blockSignals(True)
        self.view.clear()
        self.view.addItem("Live: the last lines of every node", LIVE)
        for hop in session.hops if session else ():
            self.view.addItem(f"Hop {hop.position + 1}: {hop.label} (journal)", hop.id)
        index = self.view.findData(current)
        if self.workspace.read_only and index <= 0 and session and session.hops:
            index = 1  # a review has no live view worth showing
        self.view.setCurrentIndex(max(index, 0))
        self.view.blockSignals(False)
        self.jump.setEnabled(session is not None)
        self.export.setEnabled(session is not None)
        if self.hop_id != LIVE:
            self.load_hop(self.hop_id)

    def _on_view_changed(self) -> None:
        if self.hop_id == LIVE:
            self.hop_rows = []
            self.refilter()
        else:
            self.load_hop(self.hop_id)

    def load_hop(self, hop_id: int, then=None) -> None:
        def load(journal: Journal) -> list[Row]:
            return [
                Row(parse_utc(x.ts).timestamp(), x.node, x.level, x.message)
                for x in log_store.hop_lines(journal, hop_id, min_level="debug")
            ]

        def show(rows: list[Row]) -> None:
            if self.hop_id != hop_id:
                return
            self.hop_rows = rows
            self.refilter()
            self.table.scrollToTop()
            if then:
                then()
            self.sig_view_loaded.emit()

        self.workspace.tasks.run_journal(load, on_done=show)

    def _hop(self) -> Hop | None:
        session = self.workspace.upgrade.session
        if session is None:
            return None
        if self.hop_id != LIVE:
            return session.hop(self.hop_id)
        return session.current or session.last_finished or session.hops[-1]

    def jump_to_hop_start(self) -> bool:
        """Select the first line at or after the hop's upgrade step; True if one is held."""
        hop = self._hop()
        if hop is None:
            return False
        if not hop.started_at:
            self.status.setText(f"Hop {hop.label} has not started its upgrade step yet.")
            return False
        start = parse_utc(hop.started_at).timestamp()
        for i, row in enumerate(self.model.rows):
            if row.ts >= start:
                if self.hop_id == LIVE:
                    self.pause.setChecked(True)  # stay there while lines come in
                self.table.selectRow(i)
                top = QAbstractItemView.ScrollHint.PositionAtTop
                self.table.scrollTo(self.model.index(i, 0), top)
                return True
        if self.hop_id == LIVE:  # older than the ring: the journal has the hop's lines
            self.view.setCurrentIndex(self.view.findData(hop.id))
            self.status.setText(
                f"Hop {hop.label} began before the oldest line held live: showing its lines "
                "from the journal."
            )
        return False

    def export_hop_lines(self, path: Path | None = None) -> Path | None:
        """Write the hop's stored lines as text, in the server's own line format."""
        hop = self._hop()
        if hop is None:
            return None
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self,
                "Export the hop's log lines",
                f"hop-{hop.position + 1}-{hop.from_version}-to-{hop.to_version}.log",
                "Log files (*.log *.txt)",
            )
            if not chosen:
                return None
            path = Path(chosen)

        def write(journal: Journal) -> int:
            lines = log_store.hop_lines(journal, hop.id, min_level="debug")
            text = "".join(
                f"[{log_format.format_ts(parse_utc(x.ts).timestamp())}] [{x.node}] [{x.level}] "
                f"[{x.phase}] {x.message}\n"
                for x in lines
            )
            replace_text(path, text, keep_old=False)
            return len(lines)

        self.workspace.tasks.run_journal(
            write,
            on_done=lambda n: self.status.setText(f"Exported {n} line(s) to {path}"),
            on_failed=lambda exc: self.status.setText(f"Export failed: {exc}"),
        )
        return path


def _row(line: LogLine) -> Row:
    return Row(line.ts, line.node, line.level, line.message)
