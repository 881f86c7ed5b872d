"""The GUI's side of the check after a rollback (`core.upgrade.rollback_check`): when the
session's rollback step is done, the restored cluster is sampled in the background for the
configured time and judged against the hop's pre-upgrade reference; the newest check of
the session is loaded from the journal whenever the session is (after a restart too).

Settings (QSettings): `rollback_check/seconds` (default `DEFAULT_SECONDS`; 0 skips the
check, journaled), `rollback_check/min_samples` (default `MIN_SAMPLES`),
`rollback_check/interval` (seconds between samples, default 1)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from themis_desktop.core.journal.store import Journal
from themis_desktop.core.metrics.comparison import MIN_SAMPLES
from themis_desktop.core.upgrade import rollback_check
from themis_desktop.core.upgrade.hop_runner import hop_context
from themis_desktop.core.upgrade.rollback_check import RollbackCheck
from themis_desktop.core.upgrade.session import Hop, UpgradeSession
from themis_desktop.ui.models.upgrade import UpgradeModel
from themis_desktop.ui.settings import settings
from themis_desktop.ui.tasks import Task

SECONDS_KEY = "rollback_check/seconds"
MIN_SAMPLES_KEY = "rollback_check/min_samples"
INTERVAL_KEY = "rollback_check/interval"
TENTHS = 10  # progress travels as whole numbers: tenths of a second


def _setting(key: str, default: float) -> float:
    try:
        value = float(settings().value(key, default))
    except (TypeError, ValueError):
        return default
    return value if value >= 0 else default


class RollbackCheckModel(QObject):
    """Signals fire in the GUI thread."""

    sig_running = Signal(float)  # the seconds it samples (a check started)
    sig_progress = Signal(float, float)  # seconds sampled, seconds planned
    sig_outcome = Signal(object)  # RollbackCheck | None: the session's newest check
    sig_failed = Signal(str)  # the check could not run: what happened, what to do

    def __init__(self, upgrade: UpgradeModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.upgrade = upgrade
        self.tasks = upgrade.tasks
        self.check: RollbackCheck | None = None
        self.hop: Hop | None = None  # the rolled-back hop it checks
        self.running = False
        self._task: Task | None = None
        upgrade.sig_step_done.connect(self._on_upgrade_step_done)
        upgrade.sig_session.connect(self._on_upgrade_session)

    # -- settings --------------------------------------------------------------------

    @property
    def seconds(self) -> float:
        return _setting(SECONDS_KEY, rollback_check.DEFAULT_SECONDS)

    @property
    def min_samples(self) -> int:
        return max(1, int(_setting(MIN_SAMPLES_KEY, MIN_SAMPLES)))

    @property
    def interval(self) -> float:
        return _setting(INTERVAL_KEY, rollback_check.SAMPLE_INTERVAL_S) or 1.0

    # -- running ---------------------------------------------------------------------

    def start(self, hop: Hop | None = None) -> None:
        """Check the restored cluster of `hop` (the session's rolled-back hop by default)."""
        session, profile = self.upgrade.session, self.upgrade.profile
        hop = hop or (session.rolled_back if session else None)
        if session is None or profile is None or hop is None or self.running:
            return
        self.hop, self.running = hop, True
        seconds, min_samples, interval = self.seconds, self.min_samples, self.interval
        context = hop_context(
            profile,
            self.upgrade.tokens.get(profile.name),
            journal_path=self.tasks.journal_path,
            log=self.tasks.to_gui(self.upgrade.sig_log.emit),
        )
        copy = UpgradeSession(session.session, list(session.hops), session.profile)

        def work(progress, cancelled) -> RollbackCheck:  # in a worker
            return rollback_check.verify_rollback(
                context,
                copy,
                hop,
                seconds=seconds,
                min_samples=min_samples,
                interval=interval,
                progress=lambda done, total: progress(int(done * TENTHS), int(total * TENTHS)),
                cancelled=cancelled,
            )

        self.sig_running.emit(seconds)
        unregister = self.tasks.register_service(
            "the check after the rollback", lambda _timeout: self.cancel()
        )
        task = self.tasks.run_op(
            work,
            changes=context.changed,
            initiator=self,
            on_done=self._on_done,
            on_failed=self._on_failed,
            with_progress=True,
        )
        task.sig_progress.connect(
            lambda done, total: self.sig_progress.emit(done / TENTHS, total / TENTHS)
        )
        task.sig_finished.connect(unregister)
        self._task = task

    def cancel(self) -> None:
        """Stop sampling: what was sampled is judged, and the check says it was cancelled."""
        if self._task is not None:
            self._task.cancel()

    def _on_done(self, check: RollbackCheck) -> None:
        self.running, self._task = False, None
        if not self.upgrade.stopped:
            self.check = check
            self.sig_outcome.emit(check)

    def _on_failed(self, exc: Exception) -> None:
        self.running, self._task = False, None
        if not self.upgrade.stopped:
            self.sig_failed.emit(str(exc))

    # -- following the session ---------------------------------------------------------

    def _on_upgrade_step_done(self, step: str, result: object) -> None:
        if step == "rollback" and isinstance(result, Hop) and result.state == "rolled-back":
            self.start(result)

    def _on_upgrade_session(self, session: UpgradeSession | None) -> None:
        """Show the session's newest check (none: nothing shown) unless one runs."""
        if self.running:
            return
        if session is None:
            self._loaded(None, None)
            return

        def load(journal: Journal) -> RollbackCheck | None:
            return rollback_check.latest(journal, session)

        self.tasks.run_journal(load, on_done=lambda found: self._loaded(session, found))

    def _loaded(self, session: UpgradeSession | None, found: RollbackCheck | None) -> None:
        if self.running or self.upgrade.stopped:
            return
        shown = self.upgrade.session
        if session is not None and shown is not None and shown.id != session.id:
            return  # another session was loaded meanwhile
        if found != self.check:
            self.check = found
            self.sig_outcome.emit(found)
