"""A `commands` profile with a pid file: the stop makes sure the server ends (SIGTERM, then
SIGKILL after the profile's timeout), as the real 1.0.x server needs."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from themis_desktop.core.connection.profiles import NodeEndpoint
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.service.control import controller_for
from themis_desktop.core.service.pid_stop import PidFileError, alive, end_process

# stand-in servers: each says "ready" once its SIGTERM handling is in place, then idles (its
# own time.sleep is the stand-in running, not a test waiting for a condition)
IGNORES_TERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
    " print('ready', flush=True); time.sleep(60)"
)
OBEYS_TERM = "import time; print('ready', flush=True); time.sleep(60)"


@pytest.fixture
def server(tmp_path):
    """Start a stand-in server (`code`) and write its pid file; killed at the end anyway."""
    started = []

    def start(code: str):
        process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        started.append(process)
        assert process.stdout.readline() == "ready\n"  # its handler is installed
        process.stdout.close()
        pid_file = tmp_path / "server.pid"
        pid_file.write_text(f"{process.pid}\n")
        return process, pid_file

    yield start
    for process in started:  # (`alive` may have reaped it already: then wait() says 0)
        process.kill()
        process.wait()


def test_a_server_that_ignores_sigterm_is_killed_after_the_timeout(server):
    process, pid_file = server(IGNORES_TERM)
    started = time.monotonic()
    ended = end_process(pid_file, 0.5)
    assert ended.killed and "within 0.5 s after SIGTERM: killed (SIGKILL)" in ended.text
    assert time.monotonic() - started >= 0.5
    assert not alive(process.pid)


def test_a_server_that_obeys_sigterm_is_not_killed(server):
    process, pid_file = server(OBEYS_TERM)
    ended = end_process(pid_file, 10)
    assert not ended.killed and "ended after SIGTERM" in ended.text
    assert not alive(process.pid)


def test_no_pid_file_means_nothing_runs_and_garbage_is_refused(tmp_path):
    assert "no process running" in end_process(tmp_path / "absent.pid", 1).text
    bad = tmp_path / "bad.pid"
    bad.write_text("not a pid")
    with pytest.raises(PidFileError, match="does not hold a process id"):
        end_process(bad, 1)


def test_the_commands_stop_runs_its_command_then_kills_what_is_left(server, tmp_path):
    process, pid_file = server(IGNORES_TERM)
    marker = tmp_path / "stop-ran"
    service = ServiceConfig(
        "commands",
        stop=f"touch {marker} && kill -TERM $(cat {pid_file})",
        start="true",
        pid_file=str(pid_file),
        stop_timeout=0.5,
    )
    controller = controller_for(service)
    node = NodeEndpoint("http://127.0.0.1:1", "n1")
    assert "then SIGKILL after 0.5 s if still running" in controller.describe("stop", node)
    out = controller.stop(node)
    assert marker.exists() and "killed (SIGKILL)" in out.output
    assert not alive(process.pid)


def test_a_pid_file_alone_is_enough_to_stop(server):
    _process, pid_file = server(OBEYS_TERM)
    service = ServiceConfig("commands", start="true", pid_file=str(pid_file))
    out = controller_for(service).stop(NodeEndpoint("http://127.0.0.1:1", "n1"))
    assert "ended after SIGTERM" in out.output and out.command.startswith("kill -TERM")
