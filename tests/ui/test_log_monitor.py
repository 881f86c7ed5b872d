"""The live log model keeps up with its watch: lines the watch read while the GUI thread
was busy are shown as soon as it is free, and a burst (or a count) is never announced
before the lines it comes from are held. A real watch follows a real file; the test holds
the GUI thread by waiting without running the event loop."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from PySide6.QtCore import QCoreApplication

from tests.conftest import wait_until
from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal, utc_now
from themis_desktop.core.logs import store as log_store
from themis_desktop.core.upgrade import session_store
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade
from themis_desktop.ui.models.log_monitor import FLUSH_MS, LogMonitor
from themis_desktop.ui.tasks import TaskManager


def _write(log, level: str, messages: list[str]) -> None:
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    with log.open("a", encoding="utf-8") as f:
        f.writelines(f"[{stamp}] [themis] [{level}] [thread 7] {m}\n" for m in messages)


@pytest.fixture
def validating(tmp_path, qtbot):
    """A profile whose one node logs to a file, its hop validating the new version, and a
    monitor following it: (monitor, log, journal path, session id, hop id)."""
    log = tmp_path / "themis_server.log"
    log.write_text("")
    journal_path = tmp_path / "journal.sqlite"
    node = NodeEndpoint("http://127.0.0.1:1", "n1", log_source=f"file:{log}")
    with Journal(journal_path) as journal:
        profile = profile_store.save(journal, Profile("lab", (node,)))
        plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
        session = UpgradeSession.create(journal, profile, plan)
        hop = session.hops[0]  # the new version answered: errors now count against it
        session_store.update_hop(journal, hop.id, {"state": "validating", "finished_at": utc_now()})
    tasks = TaskManager(journal_path)
    monitor = LogMonitor(tasks)
    try:
        monitor.set_profile(profile)
        with qtbot.waitSignal(monitor.sig_lines, timeout=10_000):  # the watch has the file
            _write(log, "info", ["watched from here"])
        yield monitor, log, journal_path, session.id, hop.id
    finally:
        monitor.stop()
        tasks.shutdown()


def _counted(journal_path, session_id: int, hop_id: int, level: str) -> int:
    with Journal(journal_path, read_only=True) as journal:
        counts = log_store.phase_counts(journal, session_id).get(hop_id, {})
    return counts.get("validating", {}).get(level, 0)


def test_lines_read_while_the_gui_thread_was_busy_are_shown_when_it_is_free(validating):
    monitor, log, journal_path, session_id, hop_id = validating
    _write(log, "info", [f"request {i}" for i in range(5)])
    # the GUI thread is busy (no event loop) while the watch reads and counts the lines …
    wait_until(lambda: _counted(journal_path, session_id, hop_id, "info") >= 5, timeout=10)
    counted_at = time.monotonic()
    wait_until(lambda: time.monotonic() - counted_at > FLUSH_MS / 1000, interval=0.02)
    QCoreApplication.processEvents()  # … and free again: what waited is shown at once
    assert [x.message for x in monitor.ring][-5:] == [f"request {i}" for i in range(5)]


def test_a_burst_is_announced_after_the_lines_that_raised_it_are_held(validating, qtbot):
    monitor, log, journal_path, session_id, _ = validating
    held_at_burst: list[str] = []
    monitor.sig_burst.connect(lambda _: held_at_burst.extend(x.message for x in monitor.ring))
    errors = [f"PUT /entities/{i} failed with 500" for i in range(12)]
    _write(log, "error", errors)

    def raised() -> bool:
        with Journal(journal_path, read_only=True) as journal:
            return bool(journal.events(session_id=session_id, types=["trigger.raised"]))

    wait_until(raised, timeout=10)  # the GUI thread busy meanwhile: both wait for it
    with qtbot.waitSignal(monitor.sig_burst, timeout=10_000):
        pass
    assert set(errors) <= set(held_at_burst)
