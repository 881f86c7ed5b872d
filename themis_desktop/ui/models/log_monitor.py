"""The live logs of the connected profile: the watch thread, a bounded ring of recent
lines, the counts per hop phase and the log trigger."""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QObject, QTimer, Signal

from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.logs.line_format import LogLine
from themis_desktop.core.logs.watch import LogSource, LogWatch, phase_counts
from themis_desktop.ui.tasks import TaskManager

RING_LINES = 20_000
FLUSH_MS = 200
COUNTS_EVERY_MS = 2000


class LogMonitor(QObject):
    """Signals fire in the GUI thread."""

    sig_lines = Signal(list)  # new LogLines (batched), after they entered the ring
    sig_reset = Signal()  # another profile: the ring was emptied
    sig_problem = Signal(str, str)  # node, message ("" once its source reads again)
    sig_burst = Signal(object)  # Burst: the log watch raised the failed-validation trigger
    sig_counts = Signal(object)  # {hop id: {phase: {level: count}}} of the session shown

    _sig_batch = Signal(list)
    _sig_problem = Signal(str, str)
    _sig_burst = Signal(object)

    def __init__(
        self, tasks: TaskManager, ring_lines: int = RING_LINES, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.ring: deque[LogLine] = deque(maxlen=ring_lines)
        self.profile: Profile | None = None
        self.problems: dict[str, str] = {}
        self.sources: dict[str, LogSource] = {}
        self.counts: dict[int, dict[str, dict[str, int]]] = {}
        self.session_id: int | None = None
        self._watch: LogWatch | None = None
        self._pending: list[LogLine] = []
        self._stopped = False
        self._sig_batch.connect(self._on_batch)
        self._sig_problem.connect(self._on_problem)
        self._sig_burst.connect(self.sig_burst)
        self._flush_timer = QTimer(self, singleShot=True)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush)
        self._counts_timer = QTimer(self)
        self._counts_timer.setInterval(COUNTS_EVERY_MS)
        self._counts_timer.timeout.connect(self.refresh_counts)

    def set_profile(self, profile: Profile | None) -> None:
        """Stop following the old profile's logs and follow the new one's."""
        self._stop_watch()
        self.profile = profile
        self.ring.clear()
        self.problems.clear()
        self._pending.clear()
        self.sources = {}
        for node in profile.nodes if profile else ():
            try:
                self.sources[node.name] = LogSource.parse(node.log_source)
            except ValueError as exc:
                self.sources[node.name] = LogSource()
                self.problems[node.name] = f"its log source “{node.log_source}” is not valid: {exc}"
        followed = [(name, s) for name, s in self.sources.items() if s.kind != "none"]
        if profile is None or self._stopped:
            self._counts_timer.stop()
        else:
            self._counts_timer.start()
            if followed and not self.tasks.read_only:  # a review shows the journal only
                self._watch = LogWatch(
                    profile.name,
                    followed,
                    journal_path=self.tasks.journal_path,
                    on_lines=self._sig_batch.emit,
                    on_problem=self._sig_problem.emit,
                    on_burst=self._sig_burst.emit,
                )
                self._watch.start()
        self.sig_reset.emit()

    def set_session(self, session_id: int | None) -> None:
        self.session_id = session_id
        self.counts = {}
        self.refresh_counts()

    def refresh_counts(self) -> None:
        session_id = self.session_id
        if session_id is None:
            self.sig_counts.emit({})
            return

        def load(journal: Journal) -> dict:
            return phase_counts(journal, session_id)

        def done(counts: dict) -> None:
            if session_id == self.session_id and counts != self.counts:
                self.counts = counts
                self.sig_counts.emit(counts)

        self.tasks.run_journal(load, on_done=done)

    @property
    def following(self) -> bool:
        return self._watch is not None

    # -- from the watch thread --------------------------------------------------------

    def _on_batch(self, lines: list[LogLine]) -> None:
        self._pending += lines
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _flush(self) -> None:
        lines, self._pending = self._pending, []
        if not lines:
            return
        self.ring.extend(lines)  # the oldest lines leave it; the page caps its rows itself
        self.sig_lines.emit(lines[-(self.ring.maxlen or len(lines)) :])

    def _on_problem(self, node: str, message: str) -> None:
        if message:
            self.problems[node] = message
        else:
            self.problems.pop(node, None)
        self.sig_problem.emit(node, message)

    def _stop_watch(self) -> None:
        if self._watch is not None:
            self._watch.stop()
            self._watch = None

    def stop(self) -> None:
        self._stopped = True
        self._counts_timer.stop()
        self._flush_timer.stop()
        self._stop_watch()
