"""The GUI's side of an upgrade session: loads the connected profile's open session, runs
its steps in the background with a live log, asks the user for manual steps, and keeps the
session's one health state (`core.health_state`) up to date from the journal, the live
metrics verdict and the log counts. Each step runs as a change-reporting operation
(`TaskManager.run_op`): the workspace announces what it changed, and the model reloads
when the session's topics are touched (`on_changed`), whoever changed them."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.connection.secrets import TokenStore
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import decide_by, health_state, hop_runner, preflight
from themis_desktop.core.upgrade.hop_runner import hop_context
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.core.util.changes import Changes, Topic
from themis_desktop.core.versions.upgrade_path import Plan
from themis_desktop.ui.tasks import CancelFlag, GuiCallCancelled, TaskManager

SHOWN = (Topic.SESSIONS, Topic.EVENTS)  # what the session and its health are read from
STEPS = ("pre-checks", "backup", "upgrade", "validate", "rollback")
REASSESS_MS = 5000  # the rollback window moves on with time


class UpgradeModel(QObject):
    """Signals fire in the GUI thread."""

    sig_session = Signal(object)  # UpgradeSession | None
    sig_log = Signal(str)
    sig_progress = Signal(int, int)
    sig_busy = Signal(str)  # the running step, "" when idle
    sig_step_done = Signal(str, object)  # step, its result
    sig_step_failed = Signal(str, str)  # step, what went wrong and what to do
    sig_confirm = Signal(str)  # a manual step: show it, then call answer()
    sig_health = Signal(object)  # SessionHealth | None: the one health state, when it changes
    sig_preflight = Signal(object)  # Preflight | None: the current hop's latest, when loaded

    def __init__(self, tasks: TaskManager, tokens: TokenStore, backup_dir, parent=None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.tokens = tokens
        self.backup_dir = backup_dir  # a callable: the Backups page's folder
        self.profile: Profile | None = None
        self.session: UpgradeSession | None = None
        self.pinned: int | None = None  # a review shows this session, its profile deleted or not
        self.busy = ""
        self._stopped = False  # the window closed: late answers of the journal are dropped
        self._answer: Future[bool] | None = None  # the manual step shown (GUI thread only)
        self._cancel = CancelFlag()  # the running step's: cancel() sets it
        self.evidence: health_state.Evidence | None = None
        self.preflight: preflight.Preflight | None = None  # the current hop's latest
        self.verdict_record: dict | None = None  # the newest since a hop finished (decide-by)
        self.health: health_state.SessionHealth | None = None
        self.metrics = None  # MetricsMonitor, once attached
        self.logs = None  # LogMonitor, once attached
        self._recorded_metric_triggers: set[tuple[int, int, str]] = set()
        self._reassess_timer = QTimer(self)
        self._reassess_timer.setInterval(REASSESS_MS)
        self._reassess_timer.timeout.connect(self.reassess)

    def attach(self, metrics, logs) -> None:
        """Judge the session with the live metrics verdict and log counts too."""
        self.metrics, self.logs = metrics, logs
        metrics.sig_evaluation.connect(lambda _: self.reassess())
        metrics.sig_trigger.connect(self._on_metrics_trigger)
        logs.sig_counts.connect(lambda _: self.reassess())

    # -- loading ---------------------------------------------------------------

    def set_profile(self, profile: Profile | None) -> None:
        self.profile = profile
        self.reload()

    def on_changed(self, changes: Changes, initiator: object) -> None:
        """A change notice: reload the session when its topics changed."""
        if not self._stopped and changes.touches(*SHOWN):
            self.reload()

    def reload(self) -> None:
        profile, pinned = self.profile, self.pinned

        def load(journal: Journal):
            if pinned is not None:
                session = UpgradeSession.load(journal, pinned)
            else:
                session = UpgradeSession.latest_for(journal, profile.name) if profile else None
            evidence = health_state.gather(journal, session) if session else None
            hop = session.current if session else None
            latest = preflight.latest(journal, session, hop) if session and hop else None
            record = decide_by.recorded_verdict(journal, session) if session else None
            return session, evidence, latest, record

        def done(result) -> None:
            if profile is self.profile and not self._stopped:
                self.session, self.evidence, self.preflight, self.verdict_record = result
                self.sig_session.emit(self.session)
                self.sig_preflight.emit(self.preflight)
                self.reassess()

        if profile is None and pinned is None:
            done((None, None, None, None))
        else:
            self.tasks.run_journal(load, on_done=done)

    def reassess(self) -> None:
        """Derive the health state again; `sig_health` when it changed."""
        session, evidence = self.session, self.evidence
        if session is None or evidence is None:
            health = None
            self._reassess_timer.stop()
        else:
            evaluation = self.metrics.evaluation if self.metrics is not None else None
            live = health_state.seen(evaluation)
            if live is not None and self.metrics is not None:
                live = health_state.VerdictSeen(
                    live.overall, live.at, live.summary, self.metrics.hold.since
                )
            counts = dict(self.logs.counts) if self.logs is not None else None
            health = health_state.assess(session, evidence, live=live, log_counts=counts)
            if not self._reassess_timer.isActive():
                self._reassess_timer.start()
        if health != self.health:
            self.health = health
            self.sig_health.emit(health)

    def start_session(self, plan: Plan) -> None:
        """A new session for the connected profile along `plan`."""
        profile = self.profile
        if profile is None:
            return

        def create(journal: Journal) -> UpgradeSession:
            if UpgradeSession.open_for(journal, profile.name):
                raise hop_runner.SessionError(
                    f"{profile.name} has an open session already: finish or roll it back first."
                )
            return UpgradeSession.create(journal, profile, plan)

        self._begin("start")
        self.tasks.run_op(
            create,
            journal=True,
            changes=Changes.of(Topic.SESSIONS, Topic.EVENTS),
            initiator=self,
            on_done=lambda s: self._finished("start", s),
            on_failed=lambda exc: self._failed("start", exc),
        )

    # -- steps -----------------------------------------------------------------

    def run_preflight(self, names: list[str] | None = None) -> None:
        """Run the current hop's pre-flight checks `names` (all by default); each result is
        journaled, and the reload that follows shows the latest of each (`sig_preflight`)."""
        session, profile = self.session, self.profile
        hop = session.current if session else None
        if session is None or profile is None or hop is None or self.busy:
            return
        context = hop_context(
            profile,
            self.tokens.get(profile.name),
            journal_path=self.tasks.journal_path,
            backup_dir=Path(self.backup_dir()),
        )
        self._begin("pre-flight")
        self.tasks.run_op(
            preflight.run_preflight,
            context,
            session,
            hop,
            names,
            changes=Changes.of(Topic.SESSIONS, Topic.EVENTS),
            initiator=self,
            on_done=lambda result: self._finished("pre-flight", result),
            on_failed=lambda exc: self._failed("pre-flight", exc),
        )

    def run_step(self, step: str, note: str = "") -> None:
        """Run `step` of the current hop (the last upgraded hop for "rollback"). A step that
        may not run now is refused with core's reason (`sig_step_failed`, the page's usual
        message): here for what the page shows, in the step itself for the journal's state."""
        session, profile = self.session, self.profile
        if session is None or profile is None or self.busy:
            return
        hop = hop_runner.rollback_hop(session) if step == "rollback" else session.current
        if step == "rollback":
            why = hop_runner.nothing_to_roll_back(session) if hop is None else None
        else:
            why = hop_runner.refusal(session, hop, step)
        if why is not None or hop is None:
            self._failed(step, hop_runner.SessionError(why or f"{step} cannot run now."))
            return
        # the worker's own copy: its transitions must not change what the GUI shows under it
        session = UpgradeSession(session.session, list(session.hops), session.profile)
        self._cancel.clear()
        context = hop_context(
            profile,
            self.tokens.get(profile.name),
            journal_path=self.tasks.journal_path,
            backup_dir=Path(self.backup_dir()),
            confirm=self._confirm,
            log=self.tasks.to_gui(self.sig_log.emit),  # called in the step's worker
            cancelled=self._cancel,
        )
        from themis_desktop.core.fleet import ansible_run  # ansible-runner: not at start

        ansible_run.attach(context)  # an `ansible` profile's upgrade/rollback: its plays
        work = {
            "pre-checks": lambda: hop_runner.pre_checks(context, session, hop),
            "backup": lambda: hop_runner.back_up(context, session, hop),
            "upgrade": lambda: hop_runner.upgrade(context, session, hop),
            "validate": lambda: hop_runner.validate(context, session, hop),
            "rollback": lambda: hop_runner.rollback(context, session, hop, note),
        }[step]
        self._begin(step)
        self.sig_log.emit(f"— {step} of hop {hop.label} —")
        # closing the window cancels it (and the manual step it may be waiting on)
        unregister = self.tasks.register_service(f"upgrade step {step}", lambda _t: self.cancel())
        task = self.tasks.run_op(
            work,
            changes=context.changed,  # filled by the step as its writes land
            initiator=self,
            on_done=lambda result: self._finished(step, result),
            on_failed=lambda exc: self._failed(step, exc, bool(context.changed)),
        )
        task.sig_finished.connect(unregister)

    def raise_trigger(
        self, kind: str, note: str, evidence: dict | None = None, user: str | None = None
    ) -> None:
        """Record a trigger on the session (by the user, or by `user`: "metrics verdict")."""
        session = self.session
        if session is None:
            return

        def write(journal: Journal) -> Any:
            return session.raise_trigger(journal, kind, note, evidence=evidence, user=user)

        self.tasks.run_op(
            write,
            journal=True,
            changes=Changes.of(Topic.SESSIONS, Topic.EVENTS),
            initiator=self,
            on_failed=lambda exc: self.sig_step_failed.emit("trigger", str(exc)),
        )

    def acknowledge(self, trigger_id: int, note: str) -> None:
        """The admin saw trigger `trigger_id` and says what they decided (journaled)."""
        session = self.session
        if session is None:
            return

        def write(journal: Journal) -> Any:
            return session.acknowledge(journal, trigger_id, note)

        self.tasks.run_op(
            write,
            journal=True,
            changes=Changes.of(Topic.SESSIONS, Topic.EVENTS),
            initiator=self,
            on_failed=lambda exc: self.sig_step_failed.emit("acknowledge", str(exc)),
        )

    def _on_metrics_trigger(self, trigger) -> None:
        """A failing verdict (held steady) is a performance trigger of the hop it judges,
        recorded once per hop and metric (also across restarts of the app)."""
        session, evidence = self.session, self.evidence
        hop = session.judged_hop if session else None
        if session is None or hop is None or hop.finished_at is None:
            return  # nothing upgraded yet: a verdict before the upgrade judges no hop
        key = (session.id, hop.id, trigger.metric)
        known = {
            (session.id, t.hop, (t.evidence or {}).get("metric"))
            for t in (evidence.triggers if evidence else [])
            if t.kind == "performance"
        }
        if key in self._recorded_metric_triggers or key in known:
            return
        self._recorded_metric_triggers.add(key)
        self.raise_trigger(
            "performance", trigger.summary, dict(trigger.evidence), user="metrics verdict"
        )

    def cancel(self) -> None:
        self._cancel.set()
        self.answer(False)

    def answer(self, done: bool) -> None:
        """The user's answer to a manual step (True: it is done)."""
        pending, self._answer = self._answer, None
        if pending is not None and not pending.done():
            pending.set_result(done)

    # -- plumbing ----------------------------------------------------------------

    def _confirm(self, text: str) -> bool:  # in the worker thread
        """Show a manual step and wait for the admin's answer; False once it is cancelled."""
        try:
            answer = self.tasks.call_in_gui(self._ask, text, cancelled=self._cancel)
        except GuiCallCancelled:
            return False
        return answer.result()  # cancel() answers False

    def _ask(self, text: str) -> Future[bool]:  # in the GUI thread, as cancel() and answer()
        answer: Future[bool] = Future()
        if self._cancel.is_set():
            answer.set_result(False)
            return answer
        self.answer(False)  # an earlier question no one answered (not expected)
        self._answer = answer
        self.sig_confirm.emit(text)
        return answer

    def _begin(self, step: str) -> None:
        self.busy = step
        self.sig_busy.emit(step)

    def _finished(self, step: str, result: object) -> None:
        """The step's change notice came first and reloads the session (`on_changed`)."""
        if self._stopped:
            return
        self.busy = ""
        self.sig_busy.emit("")
        self.sig_step_done.emit(step, result)

    def _failed(self, step: str, exc: Exception, announced: bool = False) -> None:
        if self._stopped:
            return
        self.busy = ""
        self.sig_busy.emit("")
        self.sig_log.emit(f"✗ {exc}")
        self.sig_step_failed.emit(step, str(exc))
        if not announced:  # refused, maybe on a stale session: show what the journal holds
            self.reload()

    @property
    def stopped(self) -> bool:
        return self._stopped

    def stop(self) -> None:
        self._stopped = True
        self._reassess_timer.stop()
        self.cancel()
