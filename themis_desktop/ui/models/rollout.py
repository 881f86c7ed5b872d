"""The GUI's side of a rollout: the connected profile's latest rollout, run in the
background; pause, resume, abort and switch back; events re-emitted in the GUI thread.
After an abort or a failure, the cluster's state and next steps (core.rollout.next_steps)
and the steps themselves. Its writes run as change-reporting operations (`run_op`); it
reloads when another's write touches the rollouts (`on_changed`)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.connection.secrets import TokenStore
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.metrics.comparison import MIN_SAMPLES, load_statistics
from themis_desktop.core.util.changes import Changes, Topic
from themis_desktop.ui.tasks import TaskManager

if TYPE_CHECKING:
    from themis_desktop.core.rollout.next_steps import ClusterState, NextStep
    from themis_desktop.core.rollout.runner import Rollout, RolloutRunner


def _rollouts() -> ModuleType:
    """core.rollout.runner, imported when a rollout is first asked for: it reaches the HTTP
    client and the hop runner, which the window's first paint does without."""
    from themis_desktop.core.rollout import runner

    return runner


class RolloutModel(QObject):
    sig_rollout = Signal(object)  # Rollout | None
    sig_event = Signal(dict)
    sig_running = Signal(bool)
    sig_failed = Signal(str)
    sig_state = Signal(object)  # ClusterState | None: after an abort or a failure

    def __init__(
        self,
        tasks: TaskManager,
        tokens: TokenStore,
        backup_dir,
        interval: float = 1.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.tokens = tokens
        self.backup_dir = backup_dir
        self.interval = interval
        self.min_samples = MIN_SAMPLES  # a gate's evidence on each side (core/rollout/runner)
        self.evidence_timeout_s: float | None = None  # then it pauses (None: core's default)
        self.profile: Profile | None = None
        self.rollout: Rollout | None = None
        self.runner: RolloutRunner | None = None
        self.state: ClusterState | None = None
        self.confirm = None  # set by the page: manual steps ask the user

    @property
    def running(self) -> bool:
        return self.runner is not None

    def set_profile(self, profile: Profile | None) -> None:
        self.profile = profile
        self.reload()

    def on_changed(self, changes: Changes, initiator: object) -> None:
        """A change notice: another's write touched the rollouts (this model's own
        operations show their outcome themselves)."""
        if initiator is not self and Topic.ROLLOUTS in changes and not self.running:
            self.reload()

    def reload(self) -> None:
        profile = self.profile

        def load(journal: Journal) -> Rollout | None:
            return _rollouts().latest(journal, profile.name) if profile else None

        def done(rollout: Rollout | None) -> None:
            if profile is self.profile and not self.running:
                self.rollout = rollout
                self.sig_rollout.emit(rollout)
                self.assess()

        if profile is None:
            done(None)
        else:
            self.tasks.run_journal(load, on_done=done)

    def plan(self, strategy: str, from_version: str, to_version: str, **options) -> Rollout:
        """The rollout of the hop, planned (RolloutError, with the reason, if it cannot be)."""
        if self.profile is None:
            raise _rollouts().RolloutError("Connect to a cluster first.")
        return _rollouts().plan(self.profile, strategy, from_version, to_version, **options)

    def run_planned(self, rollout: Rollout) -> None:
        """Save a planned rollout and run it."""
        if self.profile is None or self.running:
            return
        self.tasks.run_op(
            _rollouts().save,
            rollout,
            journal=True,
            changes=Changes.of(Topic.ROLLOUTS),
            initiator=self,
            on_done=self._run,
            on_failed=lambda exc: self.sig_failed.emit(str(exc)),
        )

    def resume(self, note: str = "") -> None:
        """Go on; at a gate without a verdict, past it as the admin's decision (journaled,
        with `note`)."""
        if self.rollout is not None and not self.running and self.rollout.resumable:
            self._run(self.rollout, note)

    def pause(self) -> None:
        if self.runner:
            self.runner.pause()

    def abort(self) -> None:
        """Stop and return traffic to the stable version (restoring an upgraded canary)."""
        if self.runner:
            self.runner.abort()
        elif self.rollout is not None and self.rollout.resumable:
            runner = self._runner(self.rollout)
            runner.abort()
            self._start(runner)

    def take(self, step: NextStep) -> None:
        """Run a next step after an abort or a failure (not "start": the page asks for it)."""
        rollout = self.rollout
        if rollout is None or self.running or self.profile is None:
            return
        if step.action == "resume" and rollout.continuable:
            self._run(rollout)
        elif step.action == "roll-back":
            runner = self._runner(rollout)
            self._start(runner, lambda: runner.roll_back(list(step.nodes)))
        elif step.action == "return-traffic":
            runner = self._runner(rollout)
            self._start(runner, lambda: runner.return_traffic(list(step.nodes)))

    def assess(self) -> None:
        """Look at the cluster after an abort or a failure (one poll of each node) and
        decide the next steps; `sig_state` has them. Anything else clears the state."""
        rollout, profile = self.rollout, self.profile
        if (
            rollout is None
            or profile is None
            or self.running
            or self.tasks.read_only
            or rollout.status not in ("aborted", "failed")
        ):
            self._set_state(None)
            return

        def done(state: ClusterState) -> None:
            if rollout is self.rollout and not self.running:
                self._set_state(state)

        from themis_desktop.core.rollout import next_steps

        self.tasks.run(
            next_steps.assess,
            rollout,
            profile,
            self.tokens.get(profile.name),
            self.tasks.journal_path,
            on_done=done,
            on_failed=lambda exc: self.sig_failed.emit(
                f"The cluster's state could not be read after the rollout: {exc}"
            ),
        )

    def _set_state(self, state: ClusterState | None) -> None:
        if state is None and self.state is None:
            return
        self.state = state
        self.sig_state.emit(state)

    def switch_back(self) -> None:
        rollout, profile = self.rollout, self.profile
        if rollout is None or profile is None or self.running:
            return
        from themis_desktop.core.rollout.traffic import router_for

        router = router_for(profile.router, confirm=self.confirm)
        self.tasks.run_op(
            _rollouts().switch_back,
            self.tasks.journal_path,
            rollout,
            router,
            profile,
            changes=Changes.of(Topic.ROLLOUTS, Topic.EVENTS),
            initiator=self,
            on_done=lambda _: self.reload(),
            on_failed=lambda exc: self.sig_failed.emit(str(exc)),
        )

    def stop(self) -> None:
        if self.runner:
            self.runner.pause()

    # -- plumbing ----------------------------------------------------------------------

    def _runner(self, rollout: Rollout, note: str = "") -> RolloutRunner:
        from themis_desktop.core.rollout.traffic import router_for
        from themis_desktop.core.upgrade.hop_runner import hop_context

        profile = self.profile
        assert profile is not None
        context = hop_context(
            profile,
            self.tokens.get(profile.name),
            journal_path=self.tasks.journal_path,
            backup_dir=Path(self.backup_dir()),
            confirm=self.confirm,
        )
        runner = _rollouts()
        timeout = self.evidence_timeout_s
        return runner.RolloutRunner(
            rollout,
            context,
            router_for(profile.router, confirm=self.confirm),
            interval=self.interval,
            min_samples=self.min_samples,
            evidence_timeout_s=runner.EVIDENCE_TIMEOUT_S if timeout is None else timeout,
            note=note,
            on_event=self.tasks.to_gui(self._on_event),  # called in the runner's worker
        )

    def _run(self, rollout: Rollout, note: str = "") -> None:
        self.rollout = rollout
        self._start(self._runner(rollout, note))

    def _start(self, runner: RolloutRunner, call=None) -> None:
        """Run `call` (default: the rollout's remaining steps) with `runner` in a worker."""
        load_statistics()  # the gates compare: import scipy here, not in the worker
        self.runner = runner
        self._set_state(None)
        self.sig_running.emit(True)
        self.sig_rollout.emit(runner.rollout)
        # closing the window pauses it (the journal has where it stopped: it can resume)
        unregister = self.tasks.register_service("rollout", lambda _timeout: runner.pause())
        task = self.tasks.run_op(
            call or runner.run,
            changes=runner.ctx.changed,  # the runner reports its writes as they land
            initiator=self,
            on_done=self._finished,
            on_failed=self._failed,
        )
        task.sig_finished.connect(unregister)

    def _on_event(self, event: dict) -> None:
        self.sig_event.emit(event)
        if self.runner is not None:
            self.sig_rollout.emit(self.runner.rollout)

    def _finished(self, rollout: Rollout) -> None:
        self.runner = None
        self.rollout = rollout
        self.sig_running.emit(False)
        self.sig_rollout.emit(rollout)
        self.assess()

    def _failed(self, exc: Exception) -> None:
        self.runner = None
        self.sig_running.emit(False)
        self.sig_failed.emit(str(exc))
        self.reload()
