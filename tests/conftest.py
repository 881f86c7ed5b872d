"""Shared fixtures and helpers: an isolated home for every test, no thread, thread-pool job,
QThread or QTimer left behind, and `wait_until` for every wait on a condition."""

from __future__ import annotations

import contextlib
import gc
import inspect
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

pytest_plugins = ["pytester"]  # tests of the test harness itself (tests/ui/test_harness.py)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Each test gets its own journal/data folder and no real keyring."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("THEMIS_DESKTOP_HOME", str(home))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    for name in ("THEMIS_TOKEN_ADMIN", "THEMIS_TOKEN_READONLY", "THEMIS_TOKEN_ANALYST"):
        monkeypatch.delenv(name, raising=False)
    return home


def poll(predicate: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """Call `predicate` every `interval` seconds until it is true or `timeout` seconds have
    passed; whether it became true. The one place the tests sleep to wait for something."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return bool(predicate())  # one last look: the wait may have been cut short
        time.sleep(interval)  # noqa: TID251 - the poll of wait_until itself
    return True


def alive(pid: int) -> bool:
    """Whether `pid` is a process that is not a zombie (killed orphans wait to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def processes_with(*needles: str) -> set[int]:
    """The live processes each of whose command lines has every one of `needles` as an
    argument."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if all(n.encode() in argv for n in needles) and alive(int(entry.name)):
                found.add(int(entry.name))
    return found


def _awaited(predicate: Callable[[], object]) -> str:
    """What `predicate` checks, for a failure message: a lambda's source, else its name."""
    if getattr(predicate, "__name__", "") == "<lambda>":
        with contextlib.suppress(OSError, TypeError):
            source = " ".join(line.strip() for line in inspect.getsourcelines(predicate)[0])
            return source if len(source) <= 300 else source[:297] + "..."
    return getattr(predicate, "__qualname__", None) or repr(predicate)


def wait_until(
    predicate: Callable[[], object],
    timeout: float = 5.0,
    interval: float = 0.05,
    what: str | Callable[[], str] | None = None,
) -> None:
    """Wait until `predicate()` is true, polling every `interval` seconds; after `timeout`
    seconds raise an AssertionError naming what was awaited: `what` (a callable: asked then,
    to tell the state reached), else the predicate's source. An exception the predicate
    raises ends the wait. For Qt tests, `qtbot.waitUntil` does the same while running the
    event loop."""
    if not poll(predicate, timeout, interval):
        awaited = (what() if callable(what) else what) or _awaited(predicate)
        raise AssertionError(f"not true within {timeout} s: {awaited}")


THREAD_GRACE_S = 5.0  # how long a test's threads and pool jobs get to finish after it ends


def _thread_pools() -> list[tuple[str, object]]:
    """Each QThreadPool a job may run in, with a name: Qt's global pool and both pools of
    every live TaskManager (none when Qt was never imported)."""
    if "PySide6.QtCore" not in sys.modules:
        return []
    import shiboken6
    from PySide6.QtCore import QThreadPool

    pools: list[tuple[str, object]] = [("the global QThreadPool", QThreadPool.globalInstance())]
    tasks = sys.modules.get("themis_desktop.ui.tasks")
    for manager in list(tasks.TaskManager.instances) if tasks else []:
        worker, journal = manager.pools()
        pools += [("a TaskManager's pool", worker), ("a TaskManager's journal pool", journal)]
    # a pool Qt deleted is not running anything: its destructor waited for its jobs
    return [(name, pool) for name, pool in pools if shiboken6.isValid(pool)]


def _busy(pool) -> int:
    """The pool's running jobs."""
    try:
        return pool.activeThreadCount()
    except RuntimeError:  # deleted meanwhile
        return 0


def _key(pool) -> int:
    """The pool's identity (its C++ object: a Python wrapper may be made anew)."""
    import shiboken6

    return shiboken6.getCppPointer(pool)[0]


def left_running(before_threads: set, before_pools: set[int], grace_s: float) -> list[str]:
    """What a test left running: Python threads started since `before_threads` and jobs in
    thread pools that were idle before (`before_pools`: `_key`s of the busy ones), each given
    up to `grace_s` seconds in all to finish."""
    deadline = time.monotonic() + grace_s
    pools = [(name, pool) for name, pool in _thread_pools() if _key(pool) not in before_pools]
    for _name, pool in pools:
        if _busy(pool):
            with contextlib.suppress(RuntimeError):
                pool.waitForDone(max(0, int((deadline - time.monotonic()) * 1000)))

    def new_threads() -> list[threading.Thread]:
        return [
            t
            for t in threading.enumerate()
            if t not in before_threads
            and t.is_alive()
            and not isinstance(t, threading._DummyThread)  # pool threads: counted below
        ]

    poll(lambda: not new_threads(), max(0.0, deadline - time.monotonic()), interval=0.02)
    threads = new_threads()
    jobs = [f"{n} job(s) in {name}" for name, pool in pools if (n := _busy(pool))]
    return [f"thread {t.name}" for t in threads] + jobs


@pytest.fixture(autouse=True, scope="session")
def garbage_collected_between_tests():
    """No automatic collection during the run (it may start in any thread, workers'
    included, and destroy Qt objects there): `no_thread_left_running` collects after each
    test, in the main thread, as the app's GUI-thread timer does (ui/app.py)."""
    gc.disable()
    yield
    gc.enable()


def _qt_app():
    """The QApplication (or core application), or None: Qt is never imported here."""
    core = sys.modules.get("PySide6.QtCore")
    return core.QCoreApplication.instance() if core else None


class _QtStarts:
    """Records each QTimer and QThread started from Python during a test (with where it was
    started), so that a parentless one, which no walk of the object tree finds, is seen too."""

    def __init__(self) -> None:
        from PySide6.QtCore import QThread, QTimer

        # weak: a record must not keep a timer alive that garbage collection would delete
        self.started: dict[int, tuple[weakref.ref, str]] = {}
        self.patched = [(QTimer, "start", QTimer.start), (QThread, "start", QThread.start)]
        for cls, name, original in self.patched:
            setattr(cls, name, self._recording(original))

    def _recording(self, original):
        starts = self.started

        def start(obj, *args, **kwargs):
            frame = sys._getframe(1)
            starts[_key(obj)] = (weakref.ref(obj), f"{frame.f_code.co_filename}:{frame.f_lineno}")
            return original(obj, *args, **kwargs)

        return start

    def restore(self) -> None:
        for cls, name, original in self.patched:
            setattr(cls, name, original)

    def alive(self, but: dict) -> dict[int, tuple[object, str]]:
        """The recorded objects still alive, save those in `but`."""
        return {
            k: (obj, where)
            for k, (ref, where) in self.started.items()
            if k not in but and (obj := ref()) is not None
        }


def _qt_running(kind, started: dict[int, tuple[object, str]]) -> dict[int, tuple[object, str]]:
    """The live `kind` objects (QTimer or QThread) that are active or running, by `_key`, each
    with where it was started if known: those under the application object and under every
    top-level widget, and those `started` from Python."""
    import shiboken6

    app = _qt_app()
    roots = [app]
    widgets = sys.modules.get("PySide6.QtWidgets")
    if widgets and isinstance(app, widgets.QApplication):
        roots += widgets.QApplication.topLevelWidgets()
    found = {_key(o): (o, "") for root in roots for o in root.findChildren(kind)}
    found.update({k: v for k, v in started.items() if isinstance(v[0], kind)})
    gc_timer = getattr(getattr(app, "_themis_gc", None), "timer", None)  # ui/app.py's own
    allowed = {_key(app.thread())} | ({_key(gc_timer)} if gc_timer is not None else set())

    def running(obj) -> bool:
        if not shiboken6.isValid(obj):  # deleted since
            return False
        with contextlib.suppress(RuntimeError):
            return obj.isActive() if hasattr(obj, "isActive") else obj.isRunning()
        return False

    return {k: v for k, v in found.items() if k not in allowed and running(v[0])}


def _describe_qt(obj, where: str) -> str:
    parent = obj.parent()
    owner = f" of a {type(parent).__name__}" if parent is not None else " without parent"
    name = f" {obj.objectName()!r}" if obj.objectName() else ""
    if hasattr(obj, "isActive"):
        kind = f"an active {type(obj).__name__}{name} ({obj.interval()} ms"
        kind += ", single shot)" if obj.isSingleShot() else ")"
    else:
        kind = f"a running {type(obj).__name__}{name}"
    return kind + owner + (f", started at {where}" if where else "")


@pytest.fixture(autouse=True)
def no_qt_timer_or_thread_left_running():
    """Fail a test that leaves a QTimer active or a QThread running after it ends (and after
    pytest-qt closed and deleted its widgets, and the test's garbage was collected): a timer
    that outlives its test fires in the next one. Only while a Qt application exists; the
    app's own garbage-collection timer (`app._themis_gc`) may run."""
    if "PySide6.QtCore" not in sys.modules:
        yield
        return
    from PySide6.QtCore import QCoreApplication, QEvent, QThread, QTimer

    before = {**_qt_running(QTimer, {}), **_qt_running(QThread, {})} if _qt_app() else {}
    starts = _QtStarts()
    try:
        yield
    finally:
        starts.restore()
    if _qt_app() is None:
        return

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # closed windows go
    started = starts.alive(but=before)
    threads = {k: v for k, v in _qt_running(QThread, started).items() if k not in before}
    poll(lambda: not any(t.isRunning() for t, _ in threads.values()), THREAD_GRACE_S)
    leftovers = [
        _describe_qt(obj, where)
        for kind in (QTimer, QThread)
        for k, (obj, where) in _qt_running(kind, started).items()
        if k not in before
    ]
    assert not leftovers, (
        f"left running after the test: {'; '.join(leftovers)} (stop the timer, wait for the "
        "thread, or close and delete the window that owns them, e.g. with qtbot.addWidget)"
    )


@pytest.fixture(autouse=True)
def no_thread_left_running(no_qt_timer_or_thread_left_running):
    """Fail a test that leaves a Python thread or a QThreadPool job (a TaskManager task)
    running after it ends. (It ends before the QTimer/QThread check, whose objects its
    garbage collection may delete.)"""
    before_threads = set(threading.enumerate())
    before_pools = {_key(pool) for _name, pool in _thread_pools() if _busy(pool)}
    yield
    leftovers = left_running(before_threads, before_pools, THREAD_GRACE_S)
    # Collect the test's garbage now, while nothing else runs: a collection that finalizes
    # the last test's Qt objects in the middle of the next test, with its workers running,
    # once hung the run (main thread "Garbage-collecting" in MainWindow's constructor).
    gc.collect()
    assert not leftovers, (
        f"left running after the test: {', '.join(leftovers)} (wait for the task to finish, "
        "e.g. with qtbot.waitSignal(task.sig_finished), or shut its TaskManager down)"
    )


@pytest.fixture
def start_demo_node(tmp_path):
    """Start real demo nodes on loopback: `start_demo_node(version="1.7.3", tokens=...)`."""
    from themis_desktop.demo.node import DemoNode, NodeOptions

    started = []

    def start(version: str = "1.7.3", **options):
        options.setdefault("data_size_mb", 1)
        options.setdefault("workload", False)
        node = DemoNode(
            NodeOptions(version=version, data_dir=tmp_path / f"node-{len(started) + 1}", **options)
        )
        node.start()
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


@pytest.fixture
def controlled_cluster(tmp_path):
    """Demo clusters behind their control endpoint, as a profile whose service control is
    that endpoint: `cluster, control, profile = controlled_cluster(nodes=3, **options)`.
    Each node's log source is its `themis_server.log`.
    Nodes are named n1, n2, …; `options` are DemoCluster/NodeOptions fields."""
    from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
    from themis_desktop.core.connection.service_config import ServiceConfig
    from themis_desktop.core.rollout.traffic import RouterConfig
    from themis_desktop.demo.cluster import DemoCluster
    from themis_desktop.demo.control import DemoControl

    made = []

    def make(nodes: int = 1, version: str = "1.7.0", control_options=None, **options):
        options.setdefault("data_size_mb", 1)
        options.setdefault("workload", False)
        cluster = DemoCluster(
            tmp_path / f"cluster-{len(made)}", nodes=nodes, version=version, **options
        )
        cluster.start()
        control = DemoControl(cluster, **(control_options or {}))
        made.append((cluster, control))
        control.start()
        profile = Profile(
            "lab",
            tuple(
                NodeEndpoint(
                    n.url,
                    f"n{i}",
                    data_dir=str(n.data_path),
                    config_path=str(n.config_path),
                    log_source=f"file:{n.data_dir / 'themis_server.log'}",
                )
                for i, n in enumerate(cluster.nodes, start=1)
            ),
            service=ServiceConfig(kind="demo", control_url=control.url),
            router=RouterConfig(kind="demo", control_url=control.url),
        )
        return cluster, control, profile

    yield make
    for cluster, control in made:
        control.stop()
        cluster.stop()
