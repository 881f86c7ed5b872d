"""The Fleet page at scale (issue 24): 200 demo nodes in 20 profiles polled at 1 Hz.

Starts `--servers` `demo-server` child processes (1.7.0, no workload, no load balancer:
they stand in for remote nodes) serving 200 nodes, saves 20 profiles of 10 nodes in a
temporary data folder, and shows the main window offscreen on the Fleet page, which polls
every second through its child process (`core/fleet/poll_worker.py`, started by
`ui/models/fleet.py`). For `--seconds` it measures:

- the UI stall: the largest gap between ticks of a 10 ms QTimer in the GUI thread, beyond
  its 10 ms (target < 50 ms, DESIGN.md § 4). The reference is the same window and timer
  on the Overview page (the Fleet page hidden: no poll, no child) for as long, in the same
  run.
- the sampler's CPU: the poller child's CPU time per wall second (`/proc/<pid>/stat` utime
  + stime), and the GUI process's own (reading and merging the lines, the model's
  updates, the window), against the idle window's.
- how long each poll of the 200 nodes took (median, max) and the rows updated per poll.

Run: .venv/bin/python bench/fleet.py [--seconds 20] [--profiles 20] [--nodes 10] [--servers 4]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _table import Row, print_table  # bench/ is the script's folder

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

STALL_MS = 50.0
TIMER_MS = 10


def start_servers(base: Path, servers: int, nodes: int):
    """`servers` demo-server child processes of `nodes` nodes each."""
    from themis_desktop.demo.launcher import DemoLauncher

    launchers = []
    try:
        for n in range(servers):
            launcher = DemoLauncher(
                base / f"server-{n:02d}",
                nodes,
                "1.7.0",
                "--no-workload",
                "--no-router",  # its 40 requests/s cost ~8 % of a core per server
                "--data-size-mb",
                "1",
            )
            launcher.start(timeout=120)
            launchers.append(launcher)
    except BaseException:
        for launcher in launchers:
            launcher.stop()
        raise
    return launchers


def save_profiles(launchers, profiles: int) -> int:
    """The servers' nodes as `profiles` profiles of equal size; returns the node count."""
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
    from themis_desktop.core.journal.store import Journal

    nodes = [node for launcher in launchers for node in launcher.nodes]
    size = len(nodes) // profiles
    with Journal() as journal:
        for n in range(profiles):
            mine = nodes[n * size : (n + 1) * size]
            endpoints = tuple(
                NodeEndpoint(node.url, f"c{n:02d}-{i}") for i, node in enumerate(mine)
            )
            profile_store.save(journal, Profile(f"cluster-{n:02d}", endpoints))
    return size * profiles


class GapMeter:
    """The largest gap between ticks of a 10 ms timer in the GUI thread."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer(interval=TIMER_MS)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._last = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last:
            self.gaps.append((now - self._last) * 1000 - TIMER_MS)
        self._last = now

    def run(self, app, seconds: float, child=None) -> tuple[float, float, float, float]:
        """(max stall ms, 99th percentile ms, CPU seconds per wall second of this process
        and of the process `child()` names) over `seconds`."""
        self.gaps, self._last = [], 0.0
        pid = child() if child else None
        child0 = cpu_seconds(pid)
        cpu0, wall0 = time.process_time(), time.monotonic()
        self.timer.start()
        while time.monotonic() - wall0 < seconds:
            app.processEvents()
            time.sleep(0.001)
        self.timer.stop()
        wall = time.monotonic() - wall0
        cpu = (time.process_time() - cpu0) / wall
        if pid and child and child() != pid:
            raise RuntimeError("the poller child was restarted while measuring")
        child_cpu = (cpu_seconds(pid) - child0) / wall if pid else 0.0
        gaps = sorted(self.gaps)
        p99 = gaps[int(len(gaps) * 0.99)] if gaps else 0.0
        return max(gaps or [0.0]), p99, cpu, child_cpu


def cpu_seconds(pid: int | None) -> float:
    """A process's user + system CPU seconds (`/proc/<pid>/stat`), 0 without one."""
    if not pid:
        return 0.0
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--profiles", type=int, default=20)
    parser.add_argument("--nodes", type=int, default=10, help="nodes per profile")
    parser.add_argument(
        "--servers",
        type=int,
        default=4,
        help="demo-server processes serving the nodes (default 4, 50 nodes each: what a "
        "2-core machine carries beside the app; they answer ~400 requests/s in all)",
    )
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="themis-bench-fleet-"))
    os.environ["THEMIS_DESKTOP_HOME"] = str(base / "home")
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    launchers = []
    try:
        started = time.monotonic()
        per_server = -(-args.profiles * args.nodes // args.servers)  # rounded up
        launchers = start_servers(base / "servers", args.servers, per_server)
        total = save_profiles(launchers, args.profiles)
        print(
            f"{len(launchers)} demo servers, {total} nodes in {args.profiles} profiles, "
            f"started in {time.monotonic() - started:.1f} s",
            file=sys.stderr,
        )
        print(f"fleet bench: {total} nodes in {args.profiles} profiles, {args.servers} servers")

        from PySide6.QtCore import QSettings

        from themis_desktop.ui.app import application, build_main_window

        app = application()
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(base / "qs"))
        window = build_main_window()
        window.resize(1180, 760)
        window.show()
        meter = GapMeter()
        # warm up: the window painted, the Fleet page built and its first poll made
        window.show_page("fleet")
        page = window.pages["fleet"]
        deadline = time.monotonic() + 60
        while page.monitor.polls < 2 and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.005)
        up = sum(c.up_count for c in page.model.fleet.clusters) if page.model.fleet else 0
        print(f"first polls done; {up}/{total} nodes up", file=sys.stderr)

        polls0, changed0 = page.monitor.polls, page.model.rows_changed
        durations: list[float] = []
        page.monitor.sig_polled.connect(
            lambda f: f.seconds > 0 and durations.append(page.monitor.last_poll_s)
        )
        fleet_max, fleet_p99, fleet_cpu, child_cpu = meter.run(
            app, args.seconds, lambda: page.monitor.child_pid
        )
        polls = page.monitor.polls - polls0
        changed = page.model.rows_changed - changed0
        restarts = page.monitor.restarts

        pid = page.monitor.child_pid
        window.show_page("overview")  # the Fleet page hidden: no poll, the child ends
        settle = time.monotonic() + 5
        while pid and os.path.exists(f"/proc/{pid}") and time.monotonic() < settle:
            app.processEvents()
            time.sleep(0.005)
        idle_max, idle_p99, idle_cpu, _ = meter.run(app, args.seconds)
        window.close()
        app.processEvents()
    finally:
        for launcher in launchers:
            launcher.stop()
        shutil.rmtree(base, ignore_errors=True)

    rate = polls / args.seconds
    print(
        f"\n{total} nodes in {args.profiles} profiles ({len(launchers)} demo-server "
        f"processes), {args.seconds:g} s at 1 Hz: {polls} polls "
        f"({rate:.2f}/s), poll time median {statistics.median(durations or [0]) * 1000:.0f} ms, "
        f"max {max(durations or [0]) * 1000:.0f} ms; rows updated {changed} "
        f"(dataChanged, {page.model.resets} reset(s) in all); child restarts {restarts}; "
        f"UI stall 99th percentile {fleet_p99:.1f} ms (idle {idle_p99:.1f} ms)\n"
    )
    print_table(
        [
            Row(
                "UI stall (max 10 ms timer gap)",
                f"{fleet_max:.1f} ms",
                f"{idle_max:.1f} ms idle",
                f"{fleet_max / idle_max:.1f}×" if idle_max > 0 else "—",
                f"< {STALL_MS:g} ms",
                fleet_max < STALL_MS,
            ),
            Row(
                "sampler CPU (poller child, per wall s)",
                f"{child_cpu * 100:.1f} % of a core",
                "0 % idle (no child)",
                "—",
                "reported",
                None,
            ),
            Row(
                "GUI process CPU (per wall s)",
                f"{fleet_cpu * 100:.1f} % of a core",
                f"{idle_cpu * 100:.1f} % idle",
                f"{fleet_cpu / idle_cpu:.1f}×" if idle_cpu > 0 else "—",
                "reported",
                None,
            ),
            Row(
                "polls per second",
                f"{rate:.2f}",
                "1.00",
                f"{rate:.2f}×",
                "≥ 0.9",
                rate >= 0.9,
            ),
        ]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
