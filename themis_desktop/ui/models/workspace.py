"""The GUI's model: the connected profile and the live status of its nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from themis_desktop.core.backup import swap as restore_swap
from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.connection.secrets import TokenStore
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.server.node_status import NodeStatus, poll_node
from themis_desktop.core.util.changes import Changes, Topic
from themis_desktop.core.versions.upgrade_path import Plan
from themis_desktop.ui.models.log_monitor import LogMonitor
from themis_desktop.ui.models.metrics_monitor import SAMPLE_INTERVAL_S, MetricsMonitor
from themis_desktop.ui.models.rollout import RolloutModel
from themis_desktop.ui.models.upgrade import UpgradeModel
from themis_desktop.ui.settings import backup_folder
from themis_desktop.ui.tasks import TaskManager

if TYPE_CHECKING:
    from themis_desktop.core.server.client import ThemisClient

POLL_INTERVAL_MS = 2000
POLL_TIMEOUT_S = 2.0


class Workspace(QObject):
    """Polls every node of the connected profile in the background; never blocks the GUI."""

    sig_profile_changed = Signal(object)  # Profile | None
    sig_node_status = Signal(int, object)  # node index, NodeStatus
    sig_message = Signal(str)  # routine: shown for a few seconds
    sig_notice = Signal(str)  # must be read (work done on the user's files, a trigger)
    sig_plan_changed = Signal(object)  # Plan | None: the upgrade path being prepared
    sig_session_changed = Signal(object)  # int | None: the upgrade session's journal id
    sig_connecting = Signal(str)  # what a connection on its way is doing ("" when none is)
    # a change notice: (Changes, initiator), once per operation that wrote (`tasks.run_op`);
    # views reload when a topic they show is in it, never by calling each other's reload
    sig_changed = Signal(object, object)

    def __init__(
        self,
        tasks: TaskManager,
        tokens: TokenStore,
        poll_interval_ms: int = POLL_INTERVAL_MS,
        parent: QObject | None = None,
        sample_interval_s: float = SAMPLE_INTERVAL_S,
    ) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.read_only = tasks.read_only  # a review: nothing may change a server or the journal
        tasks.sig_refused.connect(self.sig_message)
        tasks.sig_changed.connect(self.sig_changed)  # the one place change notices come from
        self.metrics = MetricsMonitor(tasks, interval_s=sample_interval_s, parent=self)
        self.metrics.sig_message.connect(self.sig_message)
        self.upgrade = UpgradeModel(tasks, tokens, backup_folder, parent=self)
        self.rollouts = RolloutModel(
            tasks, tokens, backup_folder, interval=sample_interval_s, parent=self
        )
        self.logs = LogMonitor(tasks, parent=self)
        self.logs.sig_burst.connect(self._on_log_burst)
        self.upgrade.attach(self.metrics, self.logs)  # the session's health judges by them too
        self.upgrade.sig_session.connect(self._on_upgrade_session)
        self.sig_changed.connect(self.upgrade.on_changed)
        self.sig_changed.connect(self.rollouts.on_changed)
        self.sig_changed.connect(self.metrics.on_changed)
        self.sig_changed.connect(self._on_changed)
        self.tokens = tokens
        self.profile: Profile | None = None
        self.plan: Plan | None = None
        self.session_id: int | None = None
        self.connecting = ""  # e.g. "Starting the demo instance…": shown instead of "Not connected"
        self.statuses: list[NodeStatus | None] = []
        self._clients: list[ThemisClient] = []
        self._retired: dict[int, list[ThemisClient]] = {}  # by generation, until idle
        self._in_flight: set[tuple[int, int]] = set()  # (generation, node index)
        self._generation = 0
        self._stopped = False
        self._timer = QTimer(self)
        self._timer.setInterval(poll_interval_ms)
        self._timer.timeout.connect(self.poll_now)

    def connect_profile(self, profile: Profile | None) -> None:
        """Switch to `profile` (None disconnects) and poll it at once."""
        if self._stopped:
            return  # the window is closing (e.g. the demo answered too late)
        token = self.tokens.get(profile.name) if profile and not self.read_only else None
        clients = (
            [profile.client(n, token, timeout=POLL_TIMEOUT_S) for n in profile.nodes]
            if profile and not self.read_only
            else []
        )
        if self.connecting:
            self.set_connecting("")
        self._retired[self._generation] = self._clients
        self._close_idle(self._generation)
        self._generation += 1
        self._clients = clients
        self.profile = profile
        self.statuses = [None] * len(clients)
        self.metrics.set_profile(profile, token)
        self.upgrade.set_profile(profile)
        self.rollouts.set_profile(profile)
        self.logs.set_profile(profile)
        if profile and not self.read_only:
            self._timer.start()
            self.poll_now()
            self.tasks.run(  # a restore killed mid-swap is finished before anything else
                restore_swap.recover_profiles,
                [profile],
                on_done=self._on_recovered,
                on_failed=lambda exc: self.sig_message.emit(
                    f"Checking for interrupted work: {exc}"
                ),
            )
        else:
            self._timer.stop()
        self.sig_profile_changed.emit(profile)

    def set_connecting(self, text: str) -> None:
        """Say what is being done to connect (or why it failed) until a profile connects."""
        self.connecting = text
        self.sig_connecting.emit(text)

    def _on_recovered(self, lines: list[str]) -> None:
        if lines:
            self.sig_notice.emit(" ".join(lines))

    @property
    def polls_in_flight(self) -> int:
        """Polls of the connected profile still waiting for their answer."""
        return sum(g == self._generation for g, _ in self._in_flight)

    def set_plan(self, plan: Plan | None) -> None:
        """The upgrade path other pages (guides, checklist) follow."""
        self.plan = plan
        self.sig_plan_changed.emit(plan)

    def set_session(self, session_id: int | None) -> None:
        """The upgrade session whose checklist and events the pages show."""
        if session_id != self.session_id:
            self.session_id = session_id
            self.logs.set_session(session_id)
            self.sig_session_changed.emit(session_id)

    def _on_upgrade_session(self, session) -> None:
        """The session loaded for the profile is the one the pages follow (its checklist,
        events and log lines), whichever page is shown or built."""
        if session is not None:
            self.set_session(session.id)

    def _on_changed(self, changes: Changes, initiator: object) -> None:
        """Profiles changed (the Connection dialog): poll the connected one as it is now."""
        current = self.profile
        if Topic.PROFILES not in changes or current is None or current.demo or self.read_only:
            return

        def load(journal: Journal) -> Profile | None:
            return profile_store.get(journal, current.name)

        def done(fresh: Profile | None) -> None:
            if fresh is not None and self.profile is current and fresh != current:
                self.connect_profile(fresh)

        self.tasks.run_journal(load, on_done=done)

    def _on_log_burst(self, burst) -> None:
        """The log watch raised the failed-validation trigger: show it on the session."""
        # the watch wrote the trigger itself (in its thread): announce it like any write
        self.sig_changed.emit(Changes.of(Topic.SESSIONS, Topic.EVENTS), self.logs)
        self.sig_notice.emit(f"Log watch raised a rollback trigger on {burst.node}: see Ctrl+6")

    def refuse(self, action: str) -> bool:
        """True, with a message, when `action` must not run because this is a review."""
        if self.read_only:
            self.sig_message.emit(f"{action}: not possible in a read-only review.")
        return self.read_only

    def poll_now(self) -> None:
        if not self.profile or self._stopped or self.read_only:
            return
        generation = self._generation
        for index, (node, client) in enumerate(zip(self.profile.nodes, self._clients, strict=True)):
            if (generation, index) in self._in_flight:
                continue  # the previous poll of this node is still waiting for an answer
            self._in_flight.add((generation, index))
            self.tasks.run(
                poll_node,
                client,
                node.name,
                node.version_override,
                on_done=lambda status, i=index, g=generation: self._on_poll_done(i, g, status),
                on_failed=lambda exc, i=index, g=generation: self._on_poll_failed(i, g, exc),
            )

    def _on_poll_done(self, index: int, generation: int, status: NodeStatus) -> None:
        self._in_flight.discard((generation, index))
        if generation != self._generation:
            self._close_idle(generation)
            return  # an answer for a profile we have left
        previous = self.statuses[index]
        self.statuses[index] = status
        if previous is None or previous.up != status.up:
            self._journal_transition(status, first=previous is None)
        self.sig_node_status.emit(index, status)

    def _on_poll_failed(self, index: int, generation: int, exc: Exception) -> None:
        self._in_flight.discard((generation, index))
        if generation != self._generation:
            self._close_idle(generation)
            return
        self.sig_message.emit(
            f"Polling {self.profile.nodes[index].name if self.profile else 'a node'} failed "
            f"because of an internal error ({exc!r}); polling goes on. Please report it."
        )

    def _close_idle(self, generation: int) -> None:
        """Close a left profile's clients once none of their polls is in flight."""
        if any(g == generation for g, _ in self._in_flight):
            return
        for client in self._retired.pop(generation, []):
            client.close()

    def _journal_transition(self, status: NodeStatus, first: bool) -> None:
        if first and status.up:
            return
        kind = "node.up" if status.up else "node.down"
        message = status.error or f"{status.name} answers again"
        data = {"url": status.url, "error_kind": status.error_kind}

        def write(journal: Journal) -> int:
            return journal.add_event(kind, message, node=status.name, data=data)

        self.tasks.run_op(write, journal=True, changes=Changes.of(Topic.EVENTS), initiator=self)
        self.sig_message.emit(f"{status.name}: {'up' if status.up else 'down'}")

    def stop(self) -> None:
        """The window closes: stop the long-lived services (the metrics recorder, the log
        watch, a running rollout or step) in the task manager's one loop, then the models'
        timers, then every task (their late answers are dropped)."""
        self._stopped = True
        self._timer.stop()
        self.tasks.stop_services()
        for model in (self.metrics, self.upgrade, self.rollouts, self.logs):
            model.stop()
        self._generation += 1
        self.tasks.shutdown()
        for client in self._clients + [c for group in self._retired.values() for c in group]:
            client.close()
        self._clients, self._retired = [], {}
        self._in_flight.clear()
