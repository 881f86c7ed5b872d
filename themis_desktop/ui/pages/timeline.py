"""Timeline page: the upgrade session's events in time order, filtered by hop, type and text."""

from __future__ import annotations

import json
from dataclasses import dataclass

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.journal.store import Event, Journal
from themis_desktop.core.upgrade.session import Hop, UpgradeSession
from themis_desktop.core.util.changes import Changes, Topic
from themis_desktop.ui.models.workspace import Workspace

COLUMNS = ("Time (UTC)", "User", "Type", "Node", "Message")
OPEN_END = "9999"  # sorts after every ISO time: a hop still going on


@dataclass(frozen=True)
class Timeline:
    """A session, its hops and its events (the session-less ones of its time included)."""

    session: UpgradeSession
    events: list[Event]

    def hop_range(self, hop: Hop) -> tuple[str, str] | None:
        """From the hop's first event to its last (open while the hop goes on)."""
        times = [e.ts for e in self.events if hop_of(e) == hop.id]
        if not times:
            return None
        end = max(times) if hop.state in ("done", "rolled-back") else OPEN_END
        return min(times), end

    def of_hop(self, hop: Hop) -> list[Event]:
        """The hop's events, and the others (checks, node events) that fell in its time."""
        span = self.hop_range(hop)
        return [
            e
            for e in self.events
            if hop_of(e) == hop.id
            or (hop_of(e) is None and span is not None and span[0] <= e.ts <= span[1])
        ]


def profile_label(session: UpgradeSession) -> str:
    """Whose session it is: its profile's name; `lab (deleted)` when the profile is gone
    from the journal (the session kept its name); `profile unknown` when it kept none."""
    name = session.profile
    if session.session.profile_id is not None and name:
        return name
    return f"{name} (deleted)" if name else "profile unknown"


def hop_of(event: Event) -> int | None:
    hop = (event.data or {}).get("hop")
    return hop if isinstance(hop, int) else None


def load_timeline(journal: Journal, session_id: int) -> Timeline:
    """The session's events and the session-less events between its start and end."""
    session = UpgradeSession.load(journal, session_id)
    start, end = session.session.created_at, session.session.ended_at or OPEN_END
    return Timeline(session, journal.events_during(session_id, start, end))


class TimelinePage(QWidget):
    TITLE = "Timeline"

    sig_loaded = Signal(object)  # Timeline | None

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.timeline: Timeline | None = None
        self.visible: list[Event] = []
        self.heading = QLabel("Timeline", objectName="pageTitle")
        self.summary = QLabel("", objectName="muted")
        self.summary.setWordWrap(True)
        self.hop_box = QComboBox()
        self.hop_box.setToolTip("The events of one hop (and what happened during it)")
        self.type_box = QComboBox()
        self.type_box.setToolTip("One type of event, or a family such as hop.*")
        self.search = QLineEdit(placeholderText="Search messages, nodes, users…")
        self.search.setClearButtonEnabled(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)

        filters = QHBoxLayout()
        filters.addWidget(QLabel("Hop"))
        filters.addWidget(self.hop_box)
        filters.addWidget(QLabel("Type"))
        filters.addWidget(self.type_box)
        filters.addWidget(self.search, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 12)
        layout.addWidget(self.heading)
        layout.addWidget(self.summary)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)

        self.hop_box.currentIndexChanged.connect(self.apply_filters)
        self.type_box.currentIndexChanged.connect(self.apply_filters)
        self.search.textChanged.connect(self.apply_filters)
        workspace.sig_session_changed.connect(lambda _: self.reload())
        workspace.sig_changed.connect(self._on_workspace_changed)  # steps add events
        self.reload()

    # -- loading ----------------------------------------------------------------

    def reload(self) -> None:
        session_id = self.workspace.session_id
        if session_id is None:
            self._show(None)
            return
        self.workspace.tasks.run_journal(
            lambda journal: load_timeline(journal, session_id),
            on_done=lambda timeline: self._on_loaded(session_id, timeline),
            on_failed=lambda exc: self.summary.setText(f"The events could not be read: {exc}"),
        )

    def _on_workspace_changed(self, changes: Changes, initiator: object) -> None:
        """A change notice: reload when events or the session changed."""
        if changes.touches(Topic.EVENTS, Topic.SESSIONS) and self.workspace.session_id is not None:
            self.reload()

    def _on_loaded(self, session_id: int, timeline: Timeline) -> None:
        if session_id == self.workspace.session_id:
            self._show(timeline)

    def _show(self, timeline: Timeline | None) -> None:
        self.timeline = timeline
        hop, kind = self.hop_box.currentData(), self.type_box.currentData()
        with QSignalBlocker(self.hop_box), QSignalBlocker(self.type_box):
            self.hop_box.clear()
            self.type_box.clear()
            self.hop_box.addItem("All hops", None)
            self.type_box.addItem("All types", None)
            if timeline is not None:
                for h in timeline.session.hops:
                    self.hop_box.addItem(f"{h.position + 1}. {h.label}", h.id)
                types = sorted({e.type for e in timeline.events})
                families = sorted(
                    {t.split(".")[0] for t in types if "." in t}
                    - {t for t in types if "." not in t}
                )
                for family in families:
                    if sum(t.startswith(family + ".") for t in types) > 1:
                        self.type_box.addItem(f"{family}.*", family + ".")
                for t in types:
                    self.type_box.addItem(t, t)
            self.hop_box.setCurrentIndex(max(0, self.hop_box.findData(hop)))
            self.type_box.setCurrentIndex(max(0, self.type_box.findData(kind)))
        if timeline is None:
            self.summary.setText("No upgrade session: its events appear here once one starts.")
        else:
            s = timeline.session.session
            self.summary.setText(
                f"Session {s.id}: {profile_label(timeline.session)} {s.from_version} → "
                f"{s.to_version} · {s.state} · {len(timeline.events)} events"
            )
        self.apply_filters()
        self.sig_loaded.emit(timeline)

    # -- filtering --------------------------------------------------------------

    def set_filters(
        self, hop_id: int | None = None, kind: str | None = None, text: str = ""
    ) -> None:
        """Choose the hop (its id), the type (or a family "hop.") and the search text."""
        with QSignalBlocker(self.hop_box), QSignalBlocker(self.type_box):
            self.hop_box.setCurrentIndex(max(0, self.hop_box.findData(hop_id)))
            self.type_box.setCurrentIndex(max(0, self.type_box.findData(kind)))
        with QSignalBlocker(self.search):
            self.search.setText(text)
        self.apply_filters()

    def apply_filters(self) -> None:
        timeline = self.timeline
        events = timeline.events if timeline else []
        hop_id = self.hop_box.currentData()
        if timeline is not None and hop_id is not None:
            events = timeline.of_hop(timeline.session.hop(hop_id))
        kind = self.type_box.currentData()
        if kind:
            family = kind.endswith(".")
            events = [e for e in events if (e.type.startswith(kind) if family else e.type == kind)]
        text = self.search.text().strip().lower()
        if text:
            events = [
                e
                for e in events
                if text in " ".join((e.type, e.user or "", e.node or "", e.message or "")).lower()
            ]
        self.visible = events
        self._fill(events)

    def _fill(self, events: list[Event]) -> None:
        self.table.setUpdatesEnabled(False)
        self.table.setRowCount(len(events))
        for row, event in enumerate(events):
            values = (
                event.ts[:19].replace("T", " "),
                event.user or "",
                event.type,
                event.node or "",
                event.message or "",
            )
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column == len(values) - 1:  # elided when long: the tip has it, and its data
                    data = json.dumps(event.data, indent=1, sort_keys=True)[:2000]
                    item.setToolTip(f"{value}\n{data}" if event.data else value)
                self.table.setItem(row, column, item)
        self.table.setUpdatesEnabled(True)
