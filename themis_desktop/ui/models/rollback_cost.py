"""The GUI's side of the rollback cost (`core.upgrade.rollback_cost`): while the connected
profile has a session, every few seconds a worker reads each node's write counter, stores
the readings and works out each hop's mode (binary swap / restore only), the writes at risk
and whether the session is half done; the page's panel and the header countdown show it. In
a review nothing is polled: the journal's readings are shown as they are.

One monitor per `UpgradeModel` (`RollbackCostMonitor.of`), shared by the session page and
the header. Settings (QSettings): `rollback_cost/half_done_hours` (default 2),
`rollback_cost/poll_seconds` (default `POLL_S`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import rollback_cost
from themis_desktop.core.upgrade.rollback_cost import RollbackCost
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.ui.models.upgrade import UpgradeModel
from themis_desktop.ui.settings import settings
from themis_desktop.ui.tasks import Task

HALF_DONE_KEY = "rollback_cost/half_done_hours"
POLL_KEY = "rollback_cost/poll_seconds"
POLL_S = 5.0


def _setting(key: str, default: float) -> float:
    try:
        value = float(settings().value(key, default))
    except (TypeError, ValueError):
        return default
    return value if value >= 0 else default


def half_done_hours() -> float:
    """After how many hours a half-done session warns (the setting, default 2)."""
    return _setting(HALF_DONE_KEY, rollback_cost.HALF_DONE_AFTER_S / 3600)


def set_half_done_hours(hours: float) -> None:
    settings().setValue(HALF_DONE_KEY, float(hours))


def _work(
    journal_path: Path | None,
    session: UpgradeSession,
    profile: Profile,
    token: str | None,
    now: datetime,
    threshold_s: float,
    *,
    progress: object = None,
    cancelled: threading.Event | None = None,
) -> RollbackCost:
    """In a worker: read the counters, store the readings, assess (one journal here)."""
    with Journal(journal_path) as journal:
        return rollback_cost.poll_and_assess(
            journal, session, profile, token, now, threshold_s, cancelled
        )


class RollbackCostMonitor(QObject):
    """Signals fire in the GUI thread."""

    sig_cost = Signal(object)  # RollbackCost | None
    sig_half_done = Signal(str)  # the warning, once per half-done stretch of a session

    @classmethod
    def of(cls, upgrade: UpgradeModel) -> RollbackCostMonitor:
        """The one monitor of `upgrade` (made on first use, owned by it)."""
        found = getattr(upgrade, "_rollback_cost_monitor", None)
        if found is None:
            found = cls(upgrade)
            upgrade._rollback_cost_monitor = found  # type: ignore[attr-defined]
        return found

    def __init__(self, upgrade: UpgradeModel) -> None:
        super().__init__(upgrade)
        self.upgrade = upgrade
        self.tasks = upgrade.tasks
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.cost: RollbackCost | None = None
        self.session: UpgradeSession | None = None
        self._task: Task | None = None
        self._again = False
        self._warned: set[tuple[int, str]] = set()
        self._stopped = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._unregister = self.tasks.register_service("rollback cost meter", self.stop)
        upgrade.sig_session.connect(self._on_session)
        self._on_session(upgrade.session)

    @property
    def threshold_s(self) -> float:
        return half_done_hours() * 3600

    def _on_session(self, session: UpgradeSession | None) -> None:
        self.session = session
        if session is None or self._stopped:
            self._timer.stop()
            self.cost = None
            self.sig_cost.emit(None)
            return
        if not self.tasks.read_only and not session.ended:
            self._timer.setInterval(max(200, int(_setting(POLL_KEY, POLL_S) * 1000)))
            self._timer.start()
        else:
            self._timer.stop()
        self.refresh()

    def refresh(self) -> None:
        """Read the counters (not in a review) and assess again, in the background."""
        session, profile = self.session, self.upgrade.profile
        if session is None or profile is None or self._stopped:
            return
        if self._task is not None:
            self._again = True  # the answer on its way is stale: ask again after it
            return
        now, threshold = self.clock(), self.threshold_s
        if self.tasks.read_only or session.ended:

            def assess(journal: Journal) -> RollbackCost:
                return rollback_cost.assess(journal, session, profile, now, threshold)

            self._task = self.tasks.run_journal(
                assess, on_done=self._on_done, on_failed=self._on_failed
            )
            return
        token = self.upgrade.tokens.get(profile.name)
        self._task = self.tasks.run(
            _work,
            self.tasks.journal_path,
            session,
            profile,
            token,
            now,
            threshold,
            on_done=self._on_done,
            on_failed=self._on_failed,
            with_progress=True,  # its cancel flag: stopping skips the nodes not read yet
        )

    def _on_done(self, cost: RollbackCost) -> None:
        self._task = None
        if self._stopped:
            return
        self.cost = cost
        self.sig_cost.emit(cost)
        half = cost.half_done
        if half is not None and half.warning and self.session is not None:
            key = (self.session.id, half.since)
            if key not in self._warned:
                self._warned.add(key)
                self.sig_half_done.emit(f"Session {self.session.id}: {half.text}")
        if self._again:
            self._again = False
            self.refresh()

    def _on_failed(self, exc: Exception) -> None:
        self._task = None
        if self._again and not self._stopped:
            self._again = False
            self.refresh()

    def stop(self, _timeout: float = 0.0) -> None:
        """The window closes: no more polls (an answer on its way is dropped)."""
        self._stopped = True
        self._timer.stop()
        if self._task is not None:
            self._task.cancel()
        self._unregister()
