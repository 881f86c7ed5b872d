"""Shared fixtures: an isolated home for every test, and no thread left behind."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
import time

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
    while True:
        threads = [
            t
            for t in threading.enumerate()
            if t not in before_threads
            and t.is_alive()
            and not isinstance(t, threading._DummyThread)  # pool threads: counted below
        ]
        if not threads or time.monotonic() > deadline:
            break
        time.sleep(0.02)
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


@pytest.fixture(autouse=True)
def no_thread_left_running():
    """Fail a test that leaves a Python thread or a QThreadPool job (a TaskManager task)
    running after it ends."""
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
    from themis_desktop.core.rollout.traffic import RouterConfig
    from themis_desktop.core.service.config import ServiceConfig
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
