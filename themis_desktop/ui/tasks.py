"""The one background helper: runs core callables in a thread pool, reports via signals.

Callables get plain data, never widgets. Journal work runs on its own single thread,
each call with a fresh connection (one SQLite connection per thread).

A call's failure reaches `on_failed` (`sig_failed`) either way. A `ThemisDesktopError` (or an
`OSError`: a full disk, a refused permission) is what the operation says went wrong: the
page shows it as a message, and it is logged. Anything else is a bug: logged with its
traceback and shown in the error dialog (`excepthook.report_unexpected`) as well.

It is also the one way back into the GUI thread (`to_gui`, `call_in_gui`) and the one list
of long-lived services (a metrics recorder, a log watch, a running rollout) that closing
the window stops in one loop (`register_service`, `stop_services`).
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
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


class CancelFlag(threading.Event):
    """A cancel flag (a `threading.Event`) that also wakes whoever waits for something
    else when it is set: `call_in_gui` waits on a future and this flag at once."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], object]] = []

    def set(self) -> None:
        super().set()
        with self._lock:
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_set(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Call `callback` once when the flag is set (at once if it is); returns a function
        that forgets it."""
        with self._lock:
            if not self.is_set():
                self._callbacks.append(callback)
                return lambda: self._forget(callback)
        callback()
        return lambda: None

    def _forget(self, callback: Callable[[], object]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)


class GuiCallCancelled(ThemisDesktopError):
    """A worker's call into the GUI thread was cancelled before it was answered."""


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
        self.cancelled = CancelFlag()

    def cancel(self) -> None:
        self.cancelled.set()


ServiceStop = Callable[[float], object]  # stops a service, waiting at most that many seconds
Post = Callable[[str, Any], None]  # a worker's report: ("progress"|"done"|"failed"|"finished", …)


class _Mailbox(QObject):
    """Where workers leave their reports: a plain queue plus a bare wake-up event, both
    safe from any thread without the GIL-holding signal machinery."""

    def __init__(self, parent: QObject, finished: Callable[[Task], None]) -> None:
        super().__init__(parent)
        self._finished = finished
        self._queue: queue.SimpleQueue[tuple[Task | None, str, Any]] = queue.SimpleQueue()
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

    def post_call(self, fn: Callable[..., object], args: tuple) -> None:
        """Queue `fn(*args)` for the GUI thread (any thread; touches no Qt object but the
        thread-safe `postEvent`)."""
        self._queue.put((None, "call", (fn, args)))
        QCoreApplication.postEvent(self, QEvent(_WAKE))

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
            if task is None:  # a call posted by `to_gui`/`call_in_gui`
                fn, args = payload
                try:
                    fn(*args)
                except Exception as exc:  # a bug in the GUI side: the others still run
                    report_unexpected(exc)
            elif kind == "progress":
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
        self._gui_thread = threading.get_ident()  # built in the GUI thread
        self._services: dict[int, tuple[str, ServiceStop]] = {}
        self._next_service = 0
        TaskManager.instances.add(self)

    # -- back into the GUI thread ---------------------------------------------------

    def to_gui(self, fn: Callable[..., object]) -> Callable[..., None]:
        """A function any thread may call with arguments: it queues `fn(*args)` to run in
        the GUI thread, in order, through the mailbox (the caller emits no Qt signal)."""
        post = self._mailbox.post_call

        def relay(*args: Any) -> None:
            post(fn, args)

        return relay

    def call_in_gui(
        self,
        fn: Callable[..., Any],
        *args: Any,
        cancelled: threading.Event | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Run `fn(*args)` in the GUI thread and return its value (or raise its exception);
        for a worker, which waits. `cancelled` (a `CancelFlag`, e.g. a task's) ends the wait
        with `GuiCallCancelled` when it is set, and `timeout` with `TimeoutError`; `fn` then
        does not run. From the GUI thread itself, `fn` runs at once."""
        if threading.get_ident() == self._gui_thread:
            return fn(*args)
        if cancelled is not None and not isinstance(cancelled, CancelFlag):
            raise TypeError("call_in_gui: `cancelled` must be a CancelFlag to wake the wait")
        future: Future[Any] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return  # the worker stopped waiting
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # the worker raises it
                future.set_exception(exc)

        forget = cancelled.on_set(future.cancel) if cancelled is not None else lambda: None
        try:
            self._mailbox.post_call(run, ())
            return future.result(timeout)
        except CancelledError:
            raise GuiCallCancelled(
                "Cancelled while waiting for the window: nothing was done."
            ) from None
        except TimeoutError:
            future.cancel()
            raise
        finally:
            forget()

    # -- long-lived services --------------------------------------------------------

    def register_service(self, name: str, stop: ServiceStop) -> Callable[[], None]:
        """Note a long-lived service (a thread that runs until stopped; GUI thread only);
        `stop(seconds)` stops it, waiting at most that long. Returns the function that
        forgets it again (when it ended on its own or was stopped by its owner); calling it
        twice is fine."""
        key = self._next_service
        self._next_service += 1
        self._services[key] = (name, stop)

        def unregister() -> None:
            self._services.pop(key, None)

        return unregister

    @property
    def services(self) -> list[str]:
        """The names of the services running now, oldest first."""
        return [name for name, _ in self._services.values()]

    def stop_services(self, timeout: float = 10.0) -> bool:
        """Stop every registered service in one loop, within `timeout` seconds in all; a
        stop that fails is logged and the others are still stopped. True when all stopped
        without an error."""
        deadline = time.monotonic() + timeout
        services, self._services = list(self._services.values()), {}
        ok = True
        for name, stop in services:
            try:
                stop(max(0.0, deadline - time.monotonic()))
            except Exception:
                ok = False
                logger.exception("Stopping the %s failed", name)
        return ok

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
        """Stop the services, cancel everything and wait for the threads; True when all
        finished."""
        self.stop_services(timeout_ms / 1000)
        for task in list(self._live):
            task.cancel()
        finished = self._pool.waitForDone(timeout_ms)
        return self._journal_pool.waitForDone(timeout_ms) and finished
