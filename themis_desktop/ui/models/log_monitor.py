"""The live logs of the connected profile: the watch thread, a bounded ring of recent
lines, the counts per hop phase and the log trigger.

Lines reach the ring in batches at most `FLUSH_MS` after the watch read them: a batch
that arrives later (the GUI thread was busy, e.g. importing scipy for a verdict) goes in at
once, and a burst or new counts are announced only after the lines they come from."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.logs.line_format import LogLine
from themis_desktop.core.logs.store import phase_counts
from themis_desktop.core.logs.watch import LogSource, LogWatch
from themis_desktop.core.upgrade import log_phase
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
        self._unregister: Callable[[], None] = lambda: None  # the watch's service entry
        self._pending: list[LogLine] = []
        self._pending_since = 0.0  # when the watch read the oldest pending line (monotonic)
        self._stopped = False
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
                post_lines = self.tasks.to_gui(self._on_batch)
                self._watch = LogWatch(
                    profile.name,
                    followed,
                    phase_of=log_phase.current_phase,
                    raise_trigger=log_phase.raise_burst_trigger,
                    journal_path=self.tasks.journal_path,
                    # called in the watch thread, with when it read the lines
                    on_lines=lambda lines: post_lines(lines, time.monotonic()),
                    on_problem=self.tasks.to_gui(self._on_problem),
                    on_burst=self.tasks.to_gui(self._on_burst),
                )
                self._watch.start()
                self._unregister = self.tasks.register_service("log watch", self._stop_watch)
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
                self._flush()  # the lines counted are shown before their counts
                self.counts = counts
                self.sig_counts.emit(counts)

        self.tasks.run_journal(load, on_done=done)

    @property
    def following(self) -> bool:
        return self._watch is not None

    # -- from the watch thread --------------------------------------------------------

    def _on_batch(self, lines: list[LogLine], read_at: float) -> None:
        """Lines the watch read at `read_at` (monotonic): into the ring within `FLUSH_MS`
        of that, batched with the others read meanwhile."""
        if self._stopped:
            return  # a batch read just before the window closed
        if not self._pending:
            self._pending_since = read_at
        self._pending += lines
        left_ms = FLUSH_MS - (time.monotonic() - self._pending_since) * 1000
        if left_ms <= 0:
            self._flush()  # late already: the GUI thread was busy while the watch read on
        elif not self._flush_timer.isActive():
            self._flush_timer.start(int(left_ms))

    def _on_burst(self, burst: object) -> None:
        self._flush()  # the lines that raised it are shown when it is announced
        self.sig_burst.emit(burst)

    def _flush(self) -> None:
        self._flush_timer.stop()
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

    def _stop_watch(self, timeout: float = 10.0) -> None:
        """Stop following (waiting at most `timeout` seconds for the thread); the service
        the watch registered ends with it."""
        self._unregister()
        if self._watch is not None:
            self._watch.stop(timeout)
            self._watch = None

    def stop(self) -> None:
        self._stopped = True
        self._counts_timer.stop()
        self._flush_timer.stop()
        self._stop_watch()
