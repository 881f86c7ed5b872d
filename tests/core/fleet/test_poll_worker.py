"""The Fleet page's poller as a child process (`core/fleet/poll_worker.py`): a request on
stdin, one JSON line per poll on stdout, gone when stdin closes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.fleet.poll_worker import (
    parse_line,
    parse_request,
    request_json,
    worker_command,
)


def test_the_worker_polls_at_its_interval_and_exits_when_stdin_closes(start_demo_node):
    up, gone = start_demo_node("1.7.0"), start_demo_node("1.7.0")
    gone.stop()
    profile = Profile("p", (NodeEndpoint(up.url, "n1"), NodeEndpoint(gone.url, "n2")))
    child = subprocess.Popen(
        worker_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert child.stdin and child.stdout
        child.stdin.write(
            request_json([profile], {"p": "secret"}, interval=0.2, timeout=1.0).encode()
        )
        child.stdin.flush()
        first, second = parse_line(child.stdout.readline()), parse_line(child.stdout.readline())
        assert (first.seq, second.seq) == (1, 2) and second.polled_at >= first.polled_at
        (n1, n2) = second.nodes["p"]
        assert (n1.name, n1.state, n1.version) == ("n1", "up", "1.7.0")
        assert n2.state == "down" and n2.error
        assert b"secret" not in b" ".join(a.encode() for a in worker_command())
        child.stdin.close()
        assert child.wait(timeout=10) == 0
        assert child.stderr and child.stderr.read() == b""  # no traceback
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


PACKAGED_COMMAND = [sys.executable, "-m", "themis_desktop", "fleet", "poll-worker"]


@pytest.mark.parametrize("command", ["module", "packaged app's command"])
def test_a_bad_request_is_answered_and_the_worker_goes_on(start_demo_node, command):
    """Also as `themis-desktop fleet poll-worker`: how the packaged app starts its child."""
    node = start_demo_node("1.7.0")
    argv = worker_command() if command == "module" else PACKAGED_COMMAND
    child = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert child.stdin and child.stdout
        child.stdin.write(b"{not json\n")
        child.stdin.flush()
        with pytest.raises(ValueError, match="not a request"):
            parse_line(child.stdout.readline())
        profile = Profile("p", (NodeEndpoint(node.url, "n1"),))
        child.stdin.write(request_json([profile], interval=0.2).encode())
        child.stdin.flush()
        assert parse_line(child.stdout.readline()).nodes["p"][0].state == "up"
        child.stdin.close()
        assert child.wait(timeout=10) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"garbage",
        b"[]",
        b'{"nodes": {"p": [{"state": "sleepy"}]}, "seq": 1, "polled_at": 1, "seconds": 0}',
        b'{"nodes": {"p": "x"}, "seq": 1, "polled_at": 1, "seconds": 0}',
        b'{"nodes": {}, "seq": "1", "polled_at": 1, "seconds": 0}',
    ],
)
def test_garbage_is_a_value_error(line):
    with pytest.raises(ValueError):
        parse_line(line)


def test_a_request_round_trips_with_tokens_from_the_environment_side():
    profile = Profile("p", (NodeEndpoint("http://127.0.0.1:9", "n1", version_override="1.7.0"),))
    request = parse_request(
        request_json([profile], {"p": None}, interval=2.0, max_workers=3),
        json.dumps({"p": "from-env", "q": "other"}),
    )
    assert request.profiles[0].nodes[0].version_override == "1.7.0"
    assert request.tokens == {"p": None, "q": "other"}  # the request's own word wins
    assert (request.interval, request.max_workers) == (2.0, 3)
    with pytest.raises(ValueError):
        parse_request(b'{"profiles": [], "interval": 0}')
