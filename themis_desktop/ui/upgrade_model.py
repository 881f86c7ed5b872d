"""The GUI's side of an upgrade session: loads the connected profile's open session, runs
its steps in the background with a live log, and asks the user for manual steps."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from themis_desktop.core import hop_runner
from themis_desktop.core.hop_runner import HopContext
from themis_desktop.core.journal import Journal
from themis_desktop.core.profiles import Profile
from themis_desktop.core.secrets import TokenStore
from themis_desktop.core.service_control import controller_for
from themis_desktop.core.session import UpgradeSession
from themis_desktop.core.upgrade_path import Plan
from themis_desktop.ui.tasks import TaskManager

STEPS = ("pre-checks", "backup", "upgrade", "validate", "rollback")


class UpgradeModel(QObject):
    """Signals fire in the GUI thread."""

    sig_session = Signal(object)  # UpgradeSession | None
    sig_log = Signal(str)
    sig_progress = Signal(int, int)
    sig_busy = Signal(str)  # the running step, "" when idle
    sig_step_done = Signal(str, object)  # step, its result
    sig_step_failed = Signal(str, str)  # step, what went wrong and what to do
    sig_confirm = Signal(str)  # a manual step: show it, then call answer()

    _sig_log = Signal(str)
    _sig_confirm = Signal(str)

    def __init__(self, tasks: TaskManager, tokens: TokenStore, backup_dir, parent=None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.tokens = tokens
        self.backup_dir = backup_dir  # a callable: the Backups page's folder
        self.profile: Profile | None = None
        self.session: UpgradeSession | None = None
        self.busy = ""
        self._answer = threading.Event()
        self._answer_value = False
        self._cancel = threading.Event()
        self._sig_log.connect(self.sig_log)
        self._sig_confirm.connect(self.sig_confirm)

    # -- loading ---------------------------------------------------------------

    def set_profile(self, profile: Profile | None) -> None:
        self.profile = profile
        self.reload()

    def reload(self) -> None:
        profile = self.profile

        def load(journal: Journal) -> UpgradeSession | None:
            return UpgradeSession.latest_for(journal, profile.name) if profile else None

        def done(session: UpgradeSession | None) -> None:
            if profile is self.profile:
                self.session = session
                self.sig_session.emit(session)

        if profile is None:
            done(None)
        else:
            self.tasks.run_journal(load, on_done=done)

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
        self.tasks.run_journal(
            create,
            on_done=lambda s: self._finished("start", s),
            on_failed=lambda exc: self._failed("start", exc),
        )

    # -- steps -----------------------------------------------------------------

    def run_step(self, step: str, note: str = "") -> None:
        """Run `step` of the current hop (the last upgraded hop for "rollback")."""
        session, profile = self.session, self.profile
        if session is None or profile is None or self.busy:
            return
        hop = hop_runner.rollback_hop(session) if step == "rollback" else session.current
        if hop is None:
            return
        # the worker's own copy: its transitions must not change what the GUI shows under it
        session = UpgradeSession(session.session, list(session.hops), session.profile)
        self._cancel.clear()
        context = HopContext(
            profile,
            self.tokens.get(profile.name),
            controller_for(profile.service, confirm=self._confirm),
            self.tasks.journal_path,
            Path(self.backup_dir()),
            self._sig_log.emit,
            cancelled=self._cancel,
        )
        work = {
            "pre-checks": lambda: hop_runner.pre_checks(context, session, hop),
            "backup": lambda: hop_runner.back_up(context, session, hop),
            "upgrade": lambda: hop_runner.upgrade(context, session, hop),
            "validate": lambda: hop_runner.validate(context, session, hop),
            "rollback": lambda: hop_runner.rollback(context, session, hop, note),
        }[step]
        self._begin(step)
        self.sig_log.emit(f"— {step} of hop {hop.label} —")
        self.tasks.run(
            work,
            on_done=lambda result: self._finished(step, result),
            on_failed=lambda exc: self._failed(step, exc),
        )

    def raise_trigger(self, kind: str, note: str) -> None:
        session = self.session
        if session is None:
            return

        def write(journal: Journal) -> Any:
            return session.raise_trigger(journal, kind, note)

        self.tasks.run_journal(
            write,
            on_done=lambda _: self.reload(),
            on_failed=lambda exc: self.sig_step_failed.emit("trigger", str(exc)),
        )

    def cancel(self) -> None:
        self._cancel.set()
        self.answer(False)

    def answer(self, done: bool) -> None:
        """The user's answer to a manual step (True: it is done)."""
        self._answer_value = done
        self._answer.set()

    # -- plumbing ----------------------------------------------------------------

    def _confirm(self, text: str) -> bool:  # in the worker thread
        self._answer.clear()
        self._sig_confirm.emit(text)
        while not self._answer.wait(0.2):
            if self._cancel.is_set():
                return False
        return self._answer_value

    def _begin(self, step: str) -> None:
        self.busy = step
        self.sig_busy.emit(step)

    def _finished(self, step: str, result: object) -> None:
        self.busy = ""
        self.sig_busy.emit("")
        self.sig_step_done.emit(step, result)
        self.reload()

    def _failed(self, step: str, exc: Exception) -> None:
        self.busy = ""
        self.sig_busy.emit("")
        self.sig_log.emit(f"✗ {exc}")
        self.sig_step_failed.emit(step, str(exc))
        self.reload()

    def stop(self) -> None:
        self.cancel()
