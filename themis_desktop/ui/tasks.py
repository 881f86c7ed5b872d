"""The one background helper: runs core callables in a thread pool, reports via signals.

Callables get plain data, never widgets. Journal work runs on its own single thread,
each call with a fresh connection (one SQLite connection per thread).

A call's failure reaches `on_failed` (`sig_failed`) either way. A `ThemisDesktopError` (or an
`OSError`: a full disk, a refused permission) is what the operation says went wrong: the
page shows it as a message, and it is logged. Anything else is a bug: logged with its
traceback and shown in the error dialog (`excepthook.report_unexpected`) as well.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QRunnable, QThreadPool, Signal

from themis_desktop.core.errors import ThemisDesktopError
from themis_desktop.core.journal.store import Journal, JournalError
from themis_desktop.core.util.changes import ChangeLog, Changes
from themis_desktop.ui.excepthook import report_unexpected

Callback = Callable[[Any], None] | None
PROGRESS_INTERVAL_S = 0.05
EXPECTED_FAILURES = (ThemisDesktopError, OSError)  # said to the user; anything else is a bug
logger = logging.getLogger(__name__)


class Task(QObject):
    """Handle of one background call. Its signals fire in the GUI thread.

    The worker never touches this object (nor any other Qt object): it posts what happened
    to its TaskManager's mailbox, which the GUI thread drains and turns into these signals.
    A worker emitting Qt signals itself once deadlocked against a garbage collection in the
    GUI thread that was destroying Qt objects.
    """

    sig_progress = Signal(int, int)
    sig_done = Signal(object)
    sig_failed = Signal(object)
    sig_finished = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.cancelled = threading.Event()

    def cancel(self) -> None:
        self.cancelled.set()


Post = Callable[[str, Any], None]  # a worker's report: ("progress"|"done"|"failed"|"finished", …)


class _Mailbox(QObject):
    """Where workers leave their reports: a plain queue plus a bare wake-up event, both
    safe from any thread without the GIL-holding signal machinery."""

    def __init__(self, parent: QObject, finished: Callable[[Task], None]) -> None:
        super().__init__(parent)
        self._finished = finished
        self._queue: queue.SimpleQueue[tuple[Task, str, Any]] = queue.SimpleQueue()
        self._tasks: dict[int, Task] = {}

    def post_for(self, task: Task) -> Post:
        """A function the worker calls to report on `task` (it holds only an id)."""
        key = id(task)
        self._tasks[key] = task
        tasks, q, me = self._tasks, self._queue, self

        def post(kind: str, payload: Any = None) -> None:
            q.put((tasks[key], kind, payload))
            QCoreApplication.postEvent(me, QEvent(_WAKE))

        return post

    def event(self, event: QEvent) -> bool:
        if event.type() != _WAKE:
            return super().event(event)
        self.drain()
        return True

    def drain(self) -> None:
        """Deliver every waiting report as its task's signal (GUI thread only)."""
        while True:
            try:
                task, kind, payload = self._queue.get_nowait()
            except queue.Empty:
                return
            if kind == "progress":
                task.sig_progress.emit(*payload)
            elif kind == "done":
                task.sig_done.emit(payload)
            elif kind == "failed":
                _log_failure(payload)
                task.sig_failed.emit(payload)
            else:
                self._tasks.pop(id(task), None)
                self._finished(task)
                task.sig_finished.emit()


_WAKE = QEvent.Type(QEvent.registerEventType())


def _log_failure(error: BaseException) -> None:
    """A background call's failure: an expected one is logged as the message the page shows;
    a bug also goes to the error dialog with its traceback."""
    if isinstance(error, EXPECTED_FAILURES):
        logger.warning("Failed: %s", error)
    else:
        report_unexpected(error)


class _Runnable(QRunnable):
    """Runs one call on a pool thread and reports through `post`; holds no Qt object."""

    def __init__(self, post: Post, call: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._post = post
        self._call = call

    def run(self) -> None:
        try:
            result = self._call()
        except Exception as exc:  # delivered to the GUI thread, never swallowed
            self._post("failed", exc)
        else:
            self._post("done", result)
        finally:
            self._post("finished", None)


class ReadOnlyJournalError(JournalError):
    """A write to a journal opened for a read-only review."""


class TaskManager(QObject):
    """Runs callables off the GUI thread; keeps their handles alive until they finish.

    With `read_only` (a review), journal work opens the journal read-only: a write fails
    with `ReadOnlyJournalError`, also announced by `sig_refused` when no one else hears it.
    """

    sig_refused = Signal(str)
    sig_changed = Signal(object, object)  # Changes, initiator: once per `run_op` operation
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
        self._mailbox = _Mailbox(self, self._live.discard)
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
        post = self._mailbox.post_for(task)
        cancelled = task.cancelled
        if with_progress:
            last = [0.0]

            def progress(done: int, total: int) -> None:
                # at most 20 updates a second reach the GUI thread, and always the last one
                now = time.monotonic()
                if done >= total or now - last[0] >= PROGRESS_INTERVAL_S:
                    last[0] = now
                    post("progress", (done, total))

            def call() -> Any:
                return fn(*args, progress=progress, cancelled=cancelled)
        else:

            def call() -> Any:
                return fn(*args)

        return self._start(self._pool, task, post, call, on_done, on_failed)

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
        task = Task()
        return self._start(
            self._journal_pool, task, self._mailbox.post_for(task), call, on_done, on_failed
        )

    def run_op(
        self,
        fn: Callable[..., Any],
        *args: Any,
        changes: Changes | ChangeLog,
        initiator: object = None,
        journal: bool = False,
        on_done: Callback = None,
        on_failed: Callback = None,
        with_progress: bool = False,
    ) -> Task:
        """Run a core operation that writes (`journal`: `fn(journal, *args)` on the journal
        thread; otherwise as `run`), then announce what it changed with `sig_changed`
        exactly once, in the GUI thread, before `on_done`/`on_failed` hear of it.

        `changes` is what the operation declares it changes (announced when it succeeds),
        or a `ChangeLog` it fills as its writes land (announced also after a failure, when
        a write landed before it: e.g. one node's backup recorded, the other's failed).
        `initiator` is who asked (a page or a model), so it may skip a reload it did."""

        def announce(succeeded: bool) -> None:
            if isinstance(changes, ChangeLog):
                done = changes.changes()
            else:
                done = changes if succeeded else Changes()
            if done:
                self.sig_changed.emit(done, initiator)

        if journal:
            task = self.run_journal(
                (lambda j: fn(j, *args)) if args else fn,
                on_done=lambda _: announce(True),
                on_failed=lambda _: announce(False),
            )
        else:
            task = self.run(
                fn,
                *args,
                on_done=lambda _: announce(True),
                on_failed=lambda _: announce(False),
                with_progress=with_progress,
            )
        # connected after the announcement: slots run in the order they were connected
        if on_done:
            task.sig_done.connect(on_done)
        if on_failed:
            task.sig_failed.connect(on_failed)
        elif journal and self.read_only:
            task.sig_failed.connect(self._on_unheard_failure)
        return task

    def _on_unheard_failure(self, exc: Exception) -> None:
        if isinstance(exc, ReadOnlyJournalError):
            self.sig_refused.emit(str(exc))

    def _start(
        self,
        pool: QThreadPool,
        task: Task,
        post: Post,
        call: Callable[[], Any],
        on_done: Callback,
        on_failed: Callback,
    ) -> Task:
        if on_done:
            task.sig_done.connect(on_done)
        if on_failed:
            task.sig_failed.connect(on_failed)
        self._live.add(task)
        pool.start(_Runnable(post, call))
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
