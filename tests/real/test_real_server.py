"""The harness: each test's real server is its own, and it is stopped even though it hangs
on SIGTERM."""

from __future__ import annotations

import signal
import time

import httpx

from tests.real.conftest import CLOSED, TERM_WAIT_S


def test_each_real_node_has_its_own_folder_data_and_port(real_node):
    first, second = real_node(), real_node()
    assert first.port != second.port and first.workdir != second.workdir
    for node in (first, second):
        assert (node.data_dir / "CURRENT").is_file()  # its database, in its own folder
        assert httpx.get(node.url + "/health").json()["status"] == "healthy"


def test_the_real_server_hangs_on_sigterm_so_it_is_killed(real_node):
    node = real_node()
    started = time.monotonic()
    node.stop()
    assert node.process.returncode == -signal.SIGKILL  # SIGTERM alone never ended it
    assert time.monotonic() - started < TERM_WAIT_S + 5
    assert CLOSED in node.output  # it did close its database, then hung
