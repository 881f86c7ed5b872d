"""What the header's rollback countdown follows: the profile's upgrade session or its latest
rollout, whichever changed the cluster's version last (`rollback_countdown.newest_change`).

It listens to the two models, not to change notices: the models are the views of the
journal that reload on `Workspace.sig_changed`, and a running rollout reports its progress
through its model long before its one notice at the end. A rollout's times are read from
the journal when its state (status, step, restored nodes) moves on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

from themis_desktop.core.journal.store import utc_now
from themis_desktop.ui.widgets.rollback_countdown import (
    RollbackCountdown,
    RolloutTimes,
    newest_change,
    rollout_times,
)

if TYPE_CHECKING:
    from themis_desktop.ui.models.rollout import RolloutModel
    from themis_desktop.ui.models.upgrade import UpgradeModel
    from themis_desktop.ui.tasks import TaskManager


class CountdownFollower(QObject):
    def __init__(
        self,
        countdown: RollbackCountdown,
        upgrade: UpgradeModel,
        rollouts: RolloutModel,
        tasks: TaskManager,
    ) -> None:
        super().__init__(countdown)
        self.countdown = countdown
        self.rollouts = rollouts
        self.tasks = tasks
        self.session: Any = None  # UpgradeSession | None
        self.rollout: Any = None  # Rollout | None
        self.times: RolloutTimes | None = None  # of that rollout, read from the journal
        self._key: tuple | None = None
        upgrade.sig_session.connect(self._on_session)
        rollouts.sig_rollout.connect(self._on_rollout)
        # the session hop's mode (binary swap / restore only) after the time left; a session
        # left half done too long is announced like a band change (notification, status bar)
        from themis_desktop.ui.models.rollback_cost import RollbackCostMonitor

        self.cost: Any = None  # RollbackCost | None
        self.cost_monitor = RollbackCostMonitor.of(upgrade)
        self.cost_monitor.sig_cost.connect(self._on_cost)
        self.cost_monitor.sig_half_done.connect(
            lambda text: countdown.sig_band_changed.emit("half-done", text)
        )

    def _on_session(self, session: Any) -> None:
        """The session's last upgraded hop, or a rollout of the profile started after it."""
        self.session = session
        self._follow()

    def _on_rollout(self, rollout: Any) -> None:
        """The profile's latest rollout changed (it runs, or was loaded): read its times."""
        rollouts = self.rollouts
        if rollout is not None and (
            rollouts.profile is None or rollout.profile != rollouts.profile.name
        ):
            rollout = None  # another profile's, from before a switch
        key = (
            None
            if rollout is None
            else (rollout.id, rollout.status, rollout.position, tuple(rollout.restored))
        )
        self.rollout = rollout
        if key == self._key:
            self._follow()
            return
        previous = self.times
        if rollout is None or previous is None or previous.rollout_id != rollout.id:
            # a rollout running now started after anything else shown, until the journal says
            self.times = (
                RolloutTimes(rollout.id, utc_now(), None)
                if rollout is not None and rollouts.running
                else None
            )
        self._key = key
        self._follow()
        if rollout is None or rollout.id is None:
            return

        def done(times: RolloutTimes | None) -> None:
            if self._key == key:  # not overtaken by a newer state
                self.times = times
                self._follow()

        self.tasks.run_journal(lambda journal: rollout_times(journal, rollout), on_done=done)

    def _follow(self) -> None:
        session, rollout = self.session, self.rollout
        if session is not None and rollout is not None and rollout.profile != session.profile:
            rollout = None
        follow = newest_change(session, rollout, self.times)
        self.countdown.follow(follow.finished_at, follow.label, follow.rolled_back)
        self._show_mode()

    def _on_cost(self, cost: Any) -> None:
        self.cost = cost
        self._show_mode()

    def _show_mode(self) -> None:
        """The mode of the session's hop the countdown follows (none for a rollout's)."""
        mode = self.cost.mode if self.cost is not None else None
        countdown = self.countdown
        if mode is None or countdown.rolled_back or countdown.hop_label != mode.label:
            countdown.set_mode("")
            return
        detail = f"Rollback by {mode.mode}: {mode.reason}."
        meter = self.cost.meter_text()
        countdown.set_mode(mode.mode, f"{detail}\nWrites at risk:\n{meter}" if meter else detail)
