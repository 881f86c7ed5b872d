"""Sample every node of a profile in the background: one thread per node, at a set
interval, each sample stored in the journal and handed to a listener.

A node that stops answering gives gap samples and one `metrics.gap` event; when it answers
again, a `metrics.resumed` event; a restart (uptime or counters went down) a
`node.restarted` event with the version it came back as.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from themis_desktop.core.journal.store import Journal
from themis_desktop.core.metrics import store as metrics_store
from themis_desktop.core.metrics.sampling import NodeSampler, Sample

DEFAULT_INTERVAL_S = 1.0
DOWNSAMPLE_EVERY_S = 300.0

SampleListener = Callable[[Sample], None]
EventListener = Callable[[str, str, str], None]  # type, node, message


class Recorder:
    """Runs one sampler thread per node until `stop()`."""

    def __init__(
        self,
        profile: str,
        samplers: list[NodeSampler],
        *,
        interval: float = DEFAULT_INTERVAL_S,
        journal_path: Path | None = None,
        session_id: int | None = None,
        on_sample: SampleListener | None = None,
        on_event: EventListener | None = None,
    ) -> None:
        self.profile = profile
        self.samplers = samplers
        self.interval = interval
        self.journal_path = journal_path
        self.session_id = session_id
        self.on_sample = on_sample
        self.on_event = on_event
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for index, sampler in enumerate(self.samplers):
            thread = threading.Thread(
                target=self._run,
                args=(sampler, index == 0),
                name=f"sampler-{sampler.node}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop sampling and wait for the threads (a sample in flight finishes first)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def _run(self, sampler: NodeSampler, housekeeper: bool) -> None:
        journal = Journal(self.journal_path, durable=False) if self.journal_path else None
        was_up: bool | None = None
        last_downsample = time.monotonic()
        next_at = time.monotonic()
        try:
            while not self._stop.is_set():
                sample = self._take(sampler)
                try:
                    if journal is not None:
                        metrics_store.insert_samples(journal, self.profile, [sample])
                    self._health(journal, sample, was_up)
                    due = time.monotonic() - last_downsample > DOWNSAMPLE_EVERY_S
                    if housekeeper and journal and due:
                        last_downsample = time.monotonic()
                        metrics_store.downsample(journal)
                except Exception as exc:  # e.g. the journal stayed locked: say so, go on
                    if self.on_event:
                        message = f"A sample of {sampler.node} could not be stored: {exc}"
                        self.on_event("metrics.store-failed", sampler.node, message)
                was_up = sample.up
                if self.on_sample:
                    self.on_sample(sample)
                next_at = max(next_at + self.interval, time.monotonic())
                self._stop.wait(next_at - time.monotonic())
        finally:
            if journal is not None:
                journal.close()

    def _take(self, sampler: NodeSampler) -> Sample:
        try:
            return sampler.sample()
        except Exception as exc:  # a bug must not end the sampling: it becomes a gap
            return Sample(sampler.node, time.time(), False, error=f"internal error: {exc!r}")

    def _health(self, journal: Journal | None, sample: Sample, was_up: bool | None) -> None:
        events: list[tuple[str, str]] = []
        if sample.up is False and was_up is not False:
            events.append(("metrics.gap", f"{sample.node} does not answer: {sample.error}"))
        elif sample.up and was_up is False:
            events.append(("metrics.resumed", f"{sample.node} answers again"))
        if sample.restarted:
            events.append(
                ("node.restarted", f"{sample.node} restarted (now {sample.version or '?'})")
            )
        for kind, message in events:
            if journal is not None:
                journal.add_event(
                    kind,
                    message,
                    session_id=self.session_id,
                    node=sample.node,
                    data={"profile": self.profile, "version": sample.version, "at": sample.at},
                )
            if self.on_event:
                self.on_event(kind, sample.node, message)
