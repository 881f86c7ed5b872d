"""The one background helper: runs core callables in a thread pool, reports via signals.

Callables get plain data, never widgets. Journal work runs on its own single thread,
each call with a fresh connection (one SQLite connection per thread).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from themis_desktop.core.journal import Journal, JournalError

Callback = Callable[[Any], None] | None
PROGRESS_INTERVAL_S = 0.05


class Task(QObject):
    """Handle of one background call. Its public signals fire in the GUI thread.

    The worker emits the private `_sig_*` signals; since this object lives in the GUI
    thread, Qt queues them to its slots, which re-emit the public ones there.
    """

    sig_progress = Signal(int, int)
    sig_done = Signal(object)
    sig_failed = Signal(object)
    sig_finished = Signal()

    _sig_progress = Signal(int, int)
    _sig_done = Signal(object)
    _sig_failed = Signal(object)
    _sig_finished = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.cancelled = threading.Event()
        self._sig_progress.connect(self._on_worker_progress)
        self._sig_done.connect(self._on_worker_done)
        self._sig_failed.connect(self._on_worker_failed)
        self._sig_finished.connect(self._on_worker_finished)

    def cancel(self) -> None:
        self.cancelled.set()

    def _on_worker_progress(self, done: int, total: int) -> None:
        self.sig_progress.emit(done, total)

    def _on_worker_done(self, result: object) -> None:
        self.sig_done.emit(result)

    def _on_worker_failed(self, error: object) -> None:
        self.sig_failed.emit(error)

    def _on_worker_finished(self) -> None:
        self.sig_finished.emit()


class _Runnable(QRunnable):
    def __init__(self, task: Task, call: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._task = task
        self._call = call

    def run(self) -> None:
        try:
            result = self._call()
        except Exception as exc:  # delivered to the GUI thread, never swallowed
            self._task._sig_failed.emit(exc)
        else:
            self._task._sig_done.emit(result)
        finally:
            self._task._sig_finished.emit()


class ReadOnlyJournalError(JournalError):
    """A write to a journal opened for a read-only review."""


class TaskManager(QObject):
    """Runs callables off the GUI thread; keeps their handles alive until they finish.

    With `read_only` (a review), journal work opens the journal read-only: a write fails
    with `ReadOnlyJournalError`, also announced by `sig_refused` when no one else hears it.
    """

    sig_refused = Signal(str)
    instances: ClassVar[weakref.WeakSet[TaskManager]] = weakref.WeakSet()  # tests check pools

    def __init__(
        self,
        journal_path: Path | None = None,
        parent: QObject | None = None,
        *,
        read_only: bool = False,
    ) -> None:
        super().__init__(parent)
        self.journal_path = journal_path
        self.read_only = read_only
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(4, QThreadPool.globalInstance().maxThreadCount()))
        self._journal_pool = QThreadPool(self)
        self._journal_pool.setMaxThreadCount(1)
        self._live: set[Task] = set()
        TaskManager.instances.add(self)

    def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callback = None,
        on_failed: Callback = None,
        with_progress: bool = False,
    ) -> Task:
        """Run `fn(*args)`; with `with_progress`, also `progress=` and `cancelled=` keywords."""
        task = Task()
        if with_progress:
            last = [0.0]

            def progress(done: int, total: int) -> None:
                # at most 20 updates a second reach the GUI thread, and always the last one
                now = time.monotonic()
                if done >= total or now - last[0] >= PROGRESS_INTERVAL_S:
                    last[0] = now
                    task._sig_progress.emit(done, total)

            def call() -> Any:
                return fn(*args, progress=progress, cancelled=task.cancelled)
        else:

            def call() -> Any:
                return fn(*args)

        return self._start(self._pool, task, call, on_done, on_failed)

    def run_journal(
        self, fn: Callable[[Journal], Any], on_done: Callback = None, on_failed: Callback = None
    ) -> Task:
        """Run `fn(journal)` on the journal thread."""
        path, read_only = self.journal_path, self.read_only

        def call() -> Any:
            with Journal(path, read_only=read_only) as journal:
                try:
                    return fn(journal)
                except sqlite3.OperationalError as exc:
                    if read_only and "readonly" in str(exc):
                        raise ReadOnlyJournalError(
                            f"read-only review: the journal cannot be changed ({exc})."
                        ) from exc
                    raise

        if read_only and on_failed is None:
            on_failed = self._on_unheard_failure
        return self._start(self._journal_pool, Task(), call, on_done, on_failed)

    def _on_unheard_failure(self, exc: Exception) -> None:
        if isinstance(exc, ReadOnlyJournalError):
            self.sig_refused.emit(str(exc))

    def _start(
        self,
        pool: QThreadPool,
        task: Task,
        call: Callable[[], Any],
        on_done: Callback,
        on_failed: Callback,
    ) -> Task:
        if on_done:
            task.sig_done.connect(on_done)
        if on_failed:
            task.sig_failed.connect(on_failed)
        self._live.add(task)
        task.sig_finished.connect(lambda: self._live.discard(task))
        pool.start(_Runnable(task, call))
        return task

    def pools(self) -> tuple[QThreadPool, QThreadPool]:
        """The worker pool and the journal's single-thread pool."""
        return self._pool, self._journal_pool

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel everything and wait for the threads; True when all finished."""
        for task in list(self._live):
            task.cancel()
        finished = self._pool.waitForDone(timeout_ms)
        return self._journal_pool.waitForDone(timeout_ms) and finished
