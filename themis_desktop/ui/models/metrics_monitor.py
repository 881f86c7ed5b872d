"""The live metrics of the connected profile: samplers, the in-memory series, the chosen
baseline, the periodic verdict (held steady: `metrics_verdict.VerdictHold`) and the
rollback trigger it raises."""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from PySide6.QtCore import QObject, QTimer, Signal

from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.journal.store import Journal, parse_utc
from themis_desktop.core.metrics import store as metrics_store
from themis_desktop.core.metrics import verdict as metrics_verdict
from themis_desktop.core.metrics.comparison import statistics_loaded, warm_statistics
from themis_desktop.core.metrics.sampler import Recorder
from themis_desktop.core.metrics.sampling import NodeSampler, Sample
from themis_desktop.core.metrics.store import Baseline
from themis_desktop.core.metrics.verdict import Evaluation, VerdictHold
from themis_desktop.core.upgrade import session_store
from themis_desktop.core.util.changes import Changes, Topic
from themis_desktop.ui.tasks import TaskManager

if TYPE_CHECKING:  # httpx and numpy: not on the window's first-paint path
    from themis_desktop.core.metrics.live import LiveStore
    from themis_desktop.core.server.client import ThemisClient

SAMPLE_INTERVAL_S = 1.0
SAMPLE_TIMEOUT_S = 2.0
EVALUATE_EVERY_MS = 5000
STATISTICS_POLL_MS = 50  # a verdict asked for while scipy is still being imported waits so
HISTORY_S = 48 * 3600  # loaded at start; "All" loads the rest
COMPARE_MINUTES = 15.0
RECORD_VERDICT_EVERY_S = 600.0
MARKER_TYPES = (
    "hop.started",
    "hop.finished",
    "rollback.started",
    "rollback.finished",
    "rollback.trigger",
    "node.restarted",
    "metrics.baseline",
)


class MetricsMonitor(QObject):
    """Samples every node in the background; its public signals fire in the GUI thread."""

    sig_samples = Signal()  # the series grew (at most once per sampling round)
    sig_reloaded = Signal()  # the series were replaced (new profile, "All" history)
    sig_evaluation = Signal(object)  # Evaluation | None: the verdict shown (held steady)
    sig_trigger = Signal(object)  # Trigger: a rollback trigger was raised
    sig_baselines = Signal(list)  # list[Baseline], newest first
    sig_markers = Signal(list)  # [(unix time, type, message)]
    sig_verdicts = Signal(list)  # the verdict history: [(unix time, overall, message)]
    sig_message = Signal(str)
    sig_action_failed = Signal(str)  # a baseline the user asked for could not be taken

    def __init__(
        self,
        tasks: TaskManager,
        interval_s: float = SAMPLE_INTERVAL_S,
        evaluate_every_ms: int = EVALUATE_EVERY_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.interval_s = interval_s
        self.profile: Profile | None = None
        self.baselines: list[Baseline] = []
        self.baseline: Baseline | None = None
        self.evaluation: Evaluation | None = None  # the one shown: `hold.shown`
        self.latest: Evaluation | None = None  # the newest, which may disagree for a while
        self.hold = VerdictHold()
        self.compare_minutes = COMPARE_MINUTES
        self.markers: list[tuple[float, str, str]] = []
        self.verdicts: list[tuple[float, str, str]] = []
        self._recorder: Recorder | None = None
        self._unregister: Callable[[], None] = lambda: None  # the recorder's service entry
        self._clients: list[ThemisClient] = []
        self._generation = 0
        self._pending_redraw = False
        self._last_recorded: tuple[str, float] = ("", 0.0)
        self._stopped = False
        self._eval_timer = QTimer(self)
        self._eval_timer.setInterval(evaluate_every_ms)
        self._eval_timer.timeout.connect(self.evaluate_now)
        self._redraw_timer = QTimer(self, singleShot=True)
        self._redraw_timer.setInterval(max(50, int(interval_s * 500)))
        self._redraw_timer.timeout.connect(self._flush)

    # -- life cycle ---------------------------------------------------------------

    @functools.cached_property
    def store(self) -> LiveStore:
        """The live samples (numpy arrays): built at first use, off the first paint."""
        from themis_desktop.core.metrics.live import LiveStore

        return LiveStore()

    def set_profile(self, profile: Profile | None, token: str | None) -> None:
        """Stop sampling the old profile; load the new one's history, then sample it."""
        self._stop_recorder()
        self._generation += 1
        self.profile, self.baseline, self.evaluation, self.latest = profile, None, None, None
        self.hold.reset()
        self.store.clear()
        self.sig_reloaded.emit()
        self.sig_evaluation.emit(None)
        if profile is None or self._stopped:
            self._eval_timer.stop()
            return
        generation = self._generation
        since = 0.0 if self.tasks.read_only else time.time() - HISTORY_S  # a review: all of it

        def load(journal: Journal):
            series = metrics_store.load_series(journal, profile.name, since)
            return series, metrics_store.baselines(journal, profile.name)

        self.tasks.run_journal(
            load, on_done=lambda result: self._on_loaded(generation, profile, token, result)
        )

    def _on_loaded(self, generation: int, profile: Profile, token: str | None, result) -> None:
        if generation != self._generation or self._stopped:
            return
        series, baselines = result
        self.store.load(series)
        self.sig_reloaded.emit()
        self._set_baselines(baselines)
        if self.tasks.read_only:  # a review shows the history only: no sampling
            self.refresh_markers()
            self.evaluate_now()
            return
        self._clients = [profile.client(n, token, timeout=SAMPLE_TIMEOUT_S) for n in profile.nodes]
        samplers = [
            NodeSampler(c, n.name, version_override=n.version_override)
            for c, n in zip(self._clients, profile.nodes, strict=True)
        ]
        self._recorder = Recorder(
            profile.name,
            samplers,
            interval=self.interval_s,
            journal_path=self.tasks.journal_path,
            on_sample=self.tasks.to_gui(self._on_sample),  # called in the sampler threads
            on_event=self.tasks.to_gui(self._on_event),
        )
        self._recorder.start()
        self._unregister = self.tasks.register_service("metrics recorder", self._stop_recorder)
        self._eval_timer.start()
        self.refresh_markers()

    def load_all_history(self) -> None:
        """Replace the series by everything the journal holds (aged samples included)."""
        if not self.profile:
            return
        profile, generation = self.profile, self._generation

        def load(journal: Journal):
            return metrics_store.load_series(journal, profile.name, 0.0)

        def done(series) -> None:
            if generation != self._generation or self._stopped:
                return
            self.store.clear()  # the journal holds every live sample too
            self.store.load(series)
            self.sig_reloaded.emit()

        self.tasks.run_journal(load, on_done=done)

    def stop(self) -> None:
        self._stopped = True
        self._eval_timer.stop()
        self._stop_recorder()

    def _stop_recorder(self, timeout: float = 10.0) -> None:
        """Stop sampling (waiting at most `timeout` seconds for the threads); the service
        the recorder registered ends with it."""
        self._unregister()
        if self._recorder is not None:
            self._recorder.stop(timeout)
            self._recorder = None
        for client in self._clients:
            client.close()
        self._clients = []

    @property
    def sampling(self) -> bool:
        return self._recorder is not None and self._recorder.running

    # -- samples --------------------------------------------------------------------

    def _on_sample(self, sample: Sample) -> None:
        if not self.profile or self._stopped:
            return
        if self.profile and sample.node not in {n.name for n in self.profile.nodes}:
            return  # a late sample of a profile we left
        self.store.append(sample)
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()  # one redraw for the samples of a round

    def _flush(self) -> None:
        self.sig_samples.emit()

    def _on_event(self, kind: str, node: str, message: str) -> None:
        if self._stopped:
            return  # an event of the last round before the window closed
        self.sig_message.emit(message)
        if kind in MARKER_TYPES:
            self.markers.append((time.time(), kind, message))
            self.sig_markers.emit(list(self.markers))

    # -- baselines --------------------------------------------------------------------

    def capture_baseline(self, minutes: float, label: str = "") -> None:
        """The last `minutes` as the hop baseline; the first one is the path baseline too."""
        if not self.profile or self._refused("Capturing a baseline"):
            return
        end = time.time()
        start = end - minutes * 60
        profile = self.profile.name
        label = label or f"last {minutes:g} min before {datetime.now():%H:%M}"

        def capture(journal: Journal) -> list[Baseline]:
            first = metrics_store.path_baseline(journal, profile) is None
            metrics_store.capture_baseline(journal, profile, start, end, kind="hop", label=label)
            if first:
                metrics_store.capture_baseline(
                    journal, profile, start, end, kind="path", label=f"path: {label}"
                )
            journal.add_event(
                "metrics.baseline",
                f"baseline captured: {label}",
                data={"profile": profile, "start": start, "end": end},
            )
            return metrics_store.baselines(journal, profile)

        self.tasks.run_op(
            capture,
            journal=True,
            changes=Changes.of(Topic.BASELINES, Topic.EVENTS),
            initiator=self,
            on_done=self._on_captured,
        )

    def baseline_from_prometheus(self, url: str, minutes: float) -> None:
        """The last `minutes` from a Prometheus server that scrapes the nodes (history from
        before the app was started). Each node is looked up by its `host:port` instance."""
        if not self.profile or self._refused("Taking a baseline from Prometheus"):
            return
        from themis_desktop.core.metrics.prometheus_source import PrometheusSource

        profile = self.profile
        end = time.time()
        start = end - minutes * 60
        instances = {n.name: urlsplit(n.url).netloc for n in profile.nodes}
        label = f"Prometheus, {minutes:g} min before {datetime.now():%H:%M}"

        def fetch() -> Baseline:
            with PrometheusSource(url) as source:
                return source.baseline(profile.name, instances, start, end, label=label)

        def save(baseline: Baseline) -> None:
            def write(journal: Journal) -> list[Baseline]:
                first = metrics_store.path_baseline(journal, profile.name) is None
                metrics_store.save_baseline(journal, baseline)
                if first:
                    metrics_store.save_baseline(
                        journal, dataclasses.replace(baseline, kind="path", label=f"path: {label}")
                    )
                return metrics_store.baselines(journal, profile.name)

            self.tasks.run_op(
                write,
                journal=True,
                changes=Changes.of(Topic.BASELINES),
                initiator=self,
                on_done=self._on_captured,
            )

        self.tasks.run(
            fetch,
            on_done=save,
            on_failed=lambda exc: self.sig_action_failed.emit(
                f"No baseline could be taken from Prometheus at {url}.\n\n{exc}"
            ),
        )

    def _refused(self, action: str) -> bool:
        if self.tasks.read_only:
            self.sig_action_failed.emit(f"{action} is not possible in a read-only review.")
        return self.tasks.read_only

    def _on_captured(self, baselines: list[Baseline]) -> None:
        if self._stopped:
            return  # the window closed meanwhile
        self._set_baselines(baselines, select_newest=True)
        self.refresh_markers()
        self.evaluate_now()

    def _set_baselines(self, baselines: list[Baseline], select_newest: bool = False) -> None:
        self.baselines = baselines
        hops = [b for b in baselines if b.kind != "path"]
        before = self.baseline.id if self.baseline else None
        if select_newest or self.baseline is None:
            self.baseline = hops[0] if hops else (baselines[0] if baselines else None)
        if (self.baseline.id if self.baseline else None) != before:
            self.hold.reset()  # another baseline asks another question
        self.sig_baselines.emit(baselines)

    def select_baseline(self, baseline_id: int | None) -> None:
        before = self.baseline.id if self.baseline else None
        self.baseline = next((b for b in self.baselines if b.id == baseline_id), None)
        if baseline_id != before:
            self.hold.reset()
        self.evaluate_now()

    @property
    def path_baseline(self) -> Baseline | None:
        return next((b for b in self.baselines if b.kind == "path"), None)

    # -- verdict -----------------------------------------------------------------------

    def after_window(self) -> tuple[float, float]:
        """What is compared with the baseline: the last minutes, never before it ended."""
        end = self.store.latest or time.time()
        start = end - self.compare_minutes * 60
        if self.baseline is not None:
            start = max(start, self.baseline.end)
        return start, end

    def evaluate_now(self) -> None:
        baseline = self.baseline
        if baseline is None or self.profile is None:
            self.evaluation = self.latest = None
            self.hold.reset()
            self.sig_evaluation.emit(None)
            return
        if not statistics_loaded():  # scipy is imported in its own thread, not in this one
            warm_statistics()
            QTimer.singleShot(STATISTICS_POLL_MS, self.evaluate_now)  # again once it is there
            return
        start, end = self.after_window()
        window = self.store.window(start, end)
        # served requests are judged against the offered load: the probes of each window
        from themis_desktop.core.metrics.retrospective import offered_load

        load = offered_load(baseline.data, (baseline.start, baseline.end), window, (start, end))
        path = self.path_baseline
        path_values = metrics_verdict.pooled(path.data) if path and path.id != baseline.id else None
        generation = self._generation
        self.tasks.run(
            functools.partial(  # the evidence the hold asks for, and the window for its rate
                metrics_verdict.evaluate,
                min_samples=self.hold.min_samples,
                load=load,
                window=(start, end),
            ),
            metrics_verdict.pooled(baseline.data),
            metrics_verdict.pooled(window),
            path_values,
            on_done=lambda ev: self._on_evaluated(generation, ev),
        )

    def _on_evaluated(self, generation: int, evaluation: Evaluation) -> None:
        """Show the verdict the hold allows (one evaluation that disagrees changes nothing);
        raise the trigger and record the verdict from what is shown, never from a flap."""
        if generation != self._generation or self.profile is None or self._stopped:
            return
        previous = self.evaluation
        self.latest = evaluation
        self.hold.feed(evaluation, time.time())
        evaluation = self.hold.shown or evaluation
        self.evaluation = evaluation
        self.sig_evaluation.emit(evaluation)
        if self.tasks.read_only:
            return  # a review: the verdict is shown, never journalled nor raised as a trigger
        trigger = evaluation.trigger
        was = previous.trigger if previous else None
        if trigger and (was is None or was.metric != trigger.metric):
            self.sig_trigger.emit(trigger)
            self._journal_trigger(trigger)
        last_overall, last_at = self._last_recorded
        if evaluation.overall != last_overall or time.time() - last_at > RECORD_VERDICT_EVERY_S:
            self._last_recorded = (evaluation.overall, time.time())
            profile = self.profile.name
            self.tasks.run_op(
                metrics_verdict.record,
                profile,
                evaluation,
                journal=True,
                changes=Changes.of(Topic.EVENTS),
                initiator=self,
                on_done=lambda _: self.refresh_markers(),
            )

    def _journal_trigger(self, trigger) -> None:
        profile = self.profile.name if self.profile else ""
        data = {"profile": profile, "kind": "performance degradation", **trigger.evidence}

        def write(journal: Journal) -> int:
            return journal.add_event("rollback.trigger", trigger.summary, data=data)

        self.tasks.run_op(
            write,
            journal=True,
            changes=Changes.of(Topic.EVENTS),
            initiator=self,
            on_done=lambda _: self.refresh_markers(),
        )

    # -- markers -------------------------------------------------------------------------

    def on_changed(self, changes: Changes, initiator: object) -> None:
        """A change notice: another's write added events (a hop's steps are markers)."""
        if initiator is not self and Topic.EVENTS in changes and self.profile is not None:
            self.refresh_markers()

    def refresh_markers(self) -> None:
        """Reload the upgrade events shown as markers and the verdict history."""
        if self._stopped:
            return
        profile = self.profile.name if self.profile else None

        def load(journal: Journal):
            saved = profile_store.get(journal, profile) if profile else None
            sessions = (
                session_store.ids_of_profile(journal, saved.id) if saved and saved.id else set()
            )
            markers = [  # this profile's only: another cluster's hops are not ours
                (_epoch(e.ts), e.type, e.message)
                for e in journal.events(types=MARKER_TYPES)
                if e.session_id in sessions or (e.data or {}).get("profile") == profile
            ]
            verdicts = [
                (_epoch(e.ts), e.data.get("overall", "?"), e.message)
                for e in journal.events(types=["metrics.verdict"])
                if e.data and e.data.get("profile") == profile
            ]
            return markers, verdicts

        def done(result) -> None:
            if self._stopped:
                return  # the window closed meanwhile: nothing to show it on
            self.markers, verdicts = result
            self.verdicts = verdicts
            self.sig_markers.emit(list(self.markers))
            self.sig_verdicts.emit(verdicts)

        self.tasks.run_journal(load, on_done=done)

    def watch_started(self) -> float | None:
        """When the 48 h watch began: the last hop's end, else the chosen baseline's end."""
        finished = [at for at, kind, _ in self.markers if kind == "hop.finished"]
        if finished:
            return max(finished)
        return self.baseline.end if self.baseline else None


def _epoch(iso: str) -> float:
    return parse_utc(iso).timestamp()
