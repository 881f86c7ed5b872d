"""The demo's `themis_server.log` reads like a real server's: a healthy version logs a quiet
stream (info lines, a rare slow-request warning) and no errors, so pre-checks and the log
watch start from a clean baseline; only a version set to misbehave logs failures."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import wait_until
from themis_desktop.demo import versions
from themis_desktop.demo.serverlog import ServerLog
from themis_desktop.demo.state import NodeState
from themis_desktop.demo.storage import RocksStore
from themis_desktop.demo.workload import TICK_SECONDS, Workload

LINE = re.compile(r"^\[[^]]+\] \[themis\] \[(\w+)\] \[thread \d+\] (.*)$")
MISBEHAVING = {"1.9": 0.05}  # as the app's demo starts its cluster (ui/demo_mode.py)


def lines(path: Path, start: int = 0) -> list[tuple[str, str]]:
    """(level, message) of each line written to the log after byte `start`."""
    with path.open("rb") as f:
        f.seek(start)
        text = f.read().decode()
    return [m.groups() for m in map(LINE.match, text.splitlines()) if m]


def simulated_traffic(folder: Path, version: str, seconds: float) -> list[tuple[str, str]]:
    """What `seconds` of the workload's traffic on `version` write to the server's log: the
    workload's own ticks with the node's real store and log, run without waiting."""
    store = RocksStore(folder / "data", memtable_mb=512, block_cache_mb=256)
    store.create(1 << 20)
    with store.lock:
        store.open()
    log = ServerLog(folder / "themis_server.log")
    profile = versions.resolve_profile(version, error_rates=MISBEHAVING)
    workload = Workload(NodeState(), store, lambda: profile, log)
    try:
        for _ in range(round(seconds / TICK_SECONDS)):
            workload.tick()
    finally:
        with store.lock:
            store.close()
    return lines(log.path)


def test_ten_minutes_of_a_healthy_nodes_traffic_log_no_error(tmp_path):
    logged = simulated_traffic(tmp_path, "1.7.0", seconds=600)  # ~70 000 requests
    levels = Counter(level for level, _ in logged)
    assert levels["error"] == 0, [m for level, m in logged if level == "error"][:5]
    assert levels["info"] >= 20  # a summary every 30 s, flushes, index rebuilds
    assert levels["warning"] <= levels["info"] // 4  # an occasional slow request at most
    summaries = [m for level, m in logged if level == "info" and m.startswith("Served ")]
    assert len(summaries) == 20
    assert all("client errors" in m for m in summaries)  # its errors are its clients' (4xx)


def test_the_demos_misbehaving_version_logs_its_failures(tmp_path):
    logged = simulated_traffic(tmp_path, "1.9.0", seconds=30)
    failures = [m for level, m in logged if level == "error"]
    assert len(failures) > 50  # 5 % of ~3 500 requests
    assert all("failed with 500" in m for m in failures)


@pytest.mark.parametrize("version", ["1.7.0", "1.8.2"])
def test_a_running_healthy_node_logs_no_error_while_probed(make_node, client, version):
    """A few seconds of a real node: its workload thread and the app's probe reads."""
    node = make_node(version, workload=True, error_rates=MISBEHAVING)
    log = node.data_dir / "themis_server.log"
    start = log.stat().st_size
    c = client(node, follow_redirects=True)  # /entities is never redirected, even on 1.8
    for i in range(300):  # the probe route, on keys the node holds
        assert c.get(f"/entities/orders:{i}").status_code == 200
    served = c.get("/stats").json()["server"]["total_requests"]
    reads = [1]  # our own /stats reads, counted by the node too

    def workload_served(requests: int) -> bool:
        reads.append(1)
        now = c.get("/stats").json()["server"]["total_requests"]
        return now - served - len(reads) >= requests

    # ~3 s of the workload's own traffic (80-160 requests/s), however slowly it runs
    wait_until(lambda: workload_served(300), timeout=30, interval=0.2)
    assert [m for level, m in lines(log, start) if level == "error"] == []


def test_a_running_misbehaving_node_logs_errors_within_seconds(make_node, client):
    node = make_node("1.9.0", workload=True, error_rates=MISBEHAVING)
    log = node.data_dir / "themis_server.log"
    start = log.stat().st_size
    wait_until(
        lambda: any(level == "error" for level, _ in lines(log, start)), timeout=10, interval=0.2
    )
    c = client(node, follow_redirects=True)
    statuses = Counter(c.get(f"/entities/orders:{i}").status_code for i in range(200))
    assert statuses[500] > 0  # its probe reads fail too


@pytest.mark.parametrize(("version", "json_lines"), [("1.7.0", True), ("1.2.0", False)])
def test_the_json_log_format_is_taken_at_run_time_on_era_b_only(
    make_node, client, version, json_lines
):
    """POST /config {"logging": {"format": "json"}}: era B's logger writes JSON lines from
    then on (upstream logger.cpp, Logger::initJson); era A's has no such pattern. The app's
    log watch reads either with its level, time and thread."""
    from themis_desktop.core.logs.line_format import parse_plain

    node = make_node(version)
    log = node.data_dir / "themis_server.log"
    start = log.stat().st_size
    answer = client(node).post("/config", json={"logging": {"format": "json"}})
    assert answer.status_code == 200
    with log.open("rb") as f:
        f.seek(start)
        written = f.read().decode().splitlines()
    assert written and all(line.startswith('{"ts":') == json_lines for line in written)
    line = parse_plain("n1", written[-1], time.time())
    assert (line.level, line.source_ts, bool(line.thread)) == ("info", True, True)
    assert line.message.startswith("Configuration updated via API: logging.format")
