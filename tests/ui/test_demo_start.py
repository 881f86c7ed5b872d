"""`themis-desktop --demo` as a user starts it: the demo cluster starts before the window
is built, the window connects to it, and closing the app stops the cluster and removes its
temporary data."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import alive, processes_with, wait_until
from themis_desktop.core.util.logging_setup import log_path

STARTED = re.compile(r"Demo instance started: 3 nodes, data in (\S+)")


def test_the_demo_starts_with_the_window_and_goes_with_it(tmp_path, isolated_home):
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "TMPDIR": str(temp),  # the demo's data dir is made here
        "XDG_CONFIG_HOME": str(tmp_path / "config"),  # the window's settings
    }
    app = subprocess.Popen(
        [sys.executable, "-m", "themis_desktop", "--demo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        log = log_path()

        def started() -> re.Match[str] | None:
            assert app.poll() is None, app.stderr.read().decode() if app.stderr else ""
            return STARTED.search(log.read_text()) if log.exists() else None

        wait_until(started, timeout=60)
        match = started()
        assert match is not None
        data = Path(match[1])
        assert data.parent == temp and data.is_dir()
        nodes = [p for p in data.iterdir() if p.name.startswith("node-")]
        assert len(nodes) == 3
        demo_server = processes_with(str(data), "demo-server")
        assert demo_server, "no demo-server process serves the data dir"
    finally:
        app.send_signal(signal.SIGTERM)  # what a logout sends: the window closes cleanly
        code = app.wait(30)
    assert code == 0
    assert not data.exists(), "the demo's temporary data was left behind"
    wait_until(lambda: not any(alive(pid) for pid in demo_server), timeout=10)
    assert "Themis Desktop starts (window)" in log.read_text()
