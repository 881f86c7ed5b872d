"""The demo load balancer sends real requests by weight: the nodes' own counters show it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import wait_until
from themis_desktop.demo import DemoCluster
from themis_desktop.demo.control import DemoControl
from themis_desktop.demo.router import DemoRouter

from .test_main import stop

ROOT = Path(__file__).resolve().parents[2]
REQUESTS = re.compile(r"^vccdb_requests_total(?:\{[^}]*\})? (\S+)$", re.MULTILINE)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[DemoCluster]:
    """Three quiet 1.7.3 nodes (no synthetic workload: only real requests count)."""
    with DemoCluster(tmp_path, nodes=3, version="1.7.3", data_size_mb=1, workload=False) as c:
        yield c


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """One client for the test's own reads (a new client per call costs ~0.1 s)."""
    with httpx.Client(timeout=10.0) as client:
        yield client


def served_by_metrics(http: httpx.Client, url: str) -> float:
    """The node's `vccdb_requests_total` from its Prometheus exposition."""
    (value,) = REQUESTS.findall(http.get(f"{url}/metrics").text)
    return float(value)


def served_by_stats(http: httpx.Client, url: str) -> float:
    return http.get(f"{url}/stats").json()["server"]["total_requests"]


def grown(http: httpx.Client, urls: list[str], first: int) -> list[float]:
    """How many requests each node served while the first served `first` of the router's
    (our polls of the first left out; each other node's count has our reads in it)."""
    before = [served_by_metrics(http, u) for u in urls]
    polls = [0]

    def first_grown() -> float:
        polls[0] += 1
        return served_by_metrics(http, urls[0]) - before[0] - polls[0]

    wait_until(
        lambda: first_grown() >= first, timeout=30, what=f"{urls[0]} serves {first} requests"
    )
    return [
        first_grown(),
        *(served_by_metrics(http, u) - b for u, b in zip(urls[1:], before[1:], strict=True)),
    ]


def wait_settled(read: Callable[[], object], what: str) -> None:
    """Wait until `read()` gives the same twice, 0.2 s apart: the requests in flight under
    the old weights have ended (the router counts a request once it ends)."""
    last: list = []

    def same() -> bool:
        now = read()
        was, last[:] = list(last), [now]
        return was == [now]

    wait_until(same, interval=0.2, what=what)


def test_weights_decide_which_node_serves(cluster, http):
    urls = cluster.urls
    with DemoRouter(urls, rate=400.0) as router:
        assert router.weights() == pytest.approx(dict.fromkeys(urls, 1 / 3))
        assert router.set_weights({urls[0]: 1.0, urls[1]: 0.0, urls[2]: 0}) == {
            urls[0]: 1.0,
            urls[1]: 0.0,
            urls[2]: 0.0,
        }
        wait_settled(
            lambda: [router.stats()["nodes"][u]["sent"] for u in urls[1:]],
            "requests sent under the old weights end",
        )
        only_first = grown(http, urls, 100)
        assert only_first[0] >= 100 and only_first[1] <= 2 and only_first[2] <= 2, only_first

        router.set_weights({urls[0]: 5, urls[1]: 95})  # normalised; node 3 left out: 0
        assert router.weights() == pytest.approx({urls[0]: 0.05, urls[1]: 0.95, urls[2]: 0})
        # the new weights are in effect: node 2 (0 % before) has had two requests per worker
        # (8 workers at 400/s), so each worker's request sent under the old ones has ended
        sent = router.stats()["nodes"][urls[1]]["sent"]
        wait_until(lambda: router.stats()["nodes"][urls[1]]["sent"] >= sent + 16)
        before = [served_by_stats(http, u) for u in urls]
        ended = sum(n["ok"] + n["failed"] for n in router.stats()["nodes"].values())
        wait_until(  # the router's own counts: reading the nodes' would add to their split
            lambda: (
                sum(n["ok"] + n["failed"] for n in router.stats()["nodes"].values()) >= ended + 400
            ),
            timeout=30,
            what="the router sends 400 requests",
        )
        split = [served_by_stats(http, u) - b for u, b in zip(urls, before, strict=True)]
        stats = router.stats()
    assert not router.running
    share = split[0] / (split[0] + split[1])
    assert split[0] + split[1] > 200 and 0.01 < share < 0.15 and split[2] <= 2, split
    nodes = stats["nodes"]
    assert nodes[urls[0]]["ok"] > nodes[urls[2]]["ok"]
    assert nodes[urls[0]]["failed"] <= 5  # the version's own error rate (~0.1 %)
    assert all(n["sent"] == n["ok"] + n["failed"] for n in nodes.values())
    assert stats["ok_per_second"] > 100 and max(stats["served_per_second"]) > 100
    assert stats["served_per_second"] == router.served_per_second()


def test_bad_weights_are_refused(cluster):
    router = DemoRouter(cluster.urls)  # not started: weights work without traffic
    for bad in (
        {cluster.urls[0]: -1},
        {cluster.urls[0]: "1"},
        {cluster.urls[0]: True},
        {cluster.urls[0]: float("nan")},
        {"http://127.0.0.1:1": 1.0},
        dict.fromkeys(cluster.urls, 0.0),
    ):
        with pytest.raises(ValueError):
            router.set_weights(bad)
    assert router.weights() == pytest.approx(dict.fromkeys(cluster.urls, 1 / 3))
    assert router.served_per_second() == [] and router.stats()["ok_per_second"] == 0.0


def test_failover_keeps_serving_and_a_restarted_node_serves_again(cluster):
    urls = cluster.urls
    with DemoRouter(urls, rate=150.0) as router:
        wait_until(lambda: router.stats()["nodes"][urls[0]]["ok"] > 0)
        cluster.stop_node(0)
        # the rate of the two whole seconds after the stop is what is checked: they must pass
        time.sleep(2.2)  # noqa: TID251 - the span the failover's rate is measured over
        served = router.served_per_second()
        down = router.stats()["nodes"][urls[0]]
        assert down["failed"] > 0
        assert len(served) >= 2 and min(served[-2:]) > 40, served

        cluster.start_node(0)  # same URL: the router sends to it again
        ok = down["ok"]
        wait_until(lambda: router.stats()["nodes"][urls[0]]["ok"] > ok + 5)


def test_without_failover_a_stopped_node_fails_its_share(cluster):
    urls = cluster.urls
    cluster.stop_node(2)
    with DemoRouter(urls, rate=100.0, failover=False) as router:
        router.set_weights({urls[1]: 1, urls[2]: 1})
        wait_until(lambda: router.stats()["nodes"][urls[2]]["failed"] > 5)
        nodes = router.stats()["nodes"]
    assert nodes[urls[2]]["ok"] == 0 and nodes[urls[1]]["ok"] > 0
    assert nodes[urls[0]]["sent"] == 0  # weight 0: nothing, even as a fallback


def test_the_control_api_sets_and_checks_weights(cluster):
    ports = [str(node.port) for node in cluster.nodes]
    with DemoControl(cluster, router=True, router_rate=100.0) as control:
        api = httpx.Client(base_url=control.url)
        state = api.get("/router").json()
        assert state["weights"] == pytest.approx(dict.fromkeys(ports, 1 / 3))
        assert state["urls"] == dict(zip(ports, cluster.urls, strict=True))

        answer = api.put("/router/weights", json={"weights": {ports[0]: 0.05, ports[1]: 0.95}})
        assert answer.status_code == 200
        assert answer.json()["weights"] == pytest.approx(
            {ports[0]: 0.05, ports[1]: 0.95, ports[2]: 0.0}
        )
        for body in (
            {"weights": {ports[0]: -0.5}},
            {"weights": {ports[0]: "half"}},
            {"weights": {ports[0]: None}},
            {"weights": {"1": 1.0}},
            {"weights": dict.fromkeys(ports, 0)},
            {"weights": {}},
            {"weights": [1, 2]},
            {"shares": {ports[0]: 1}},
        ):
            bad = api.put("/router/weights", json=body)
            assert bad.status_code == 400 and bad.json()["error"], body
        assert api.put("/router/weights", content=b"{not json").status_code == 400
        assert "port 1" in api.put("/router/weights", json={"weights": {"1": 1}}).text
        assert api.get("/router/weights").status_code == 405
        assert api.put("/router").status_code == 405
        assert api.get("/router").json()["weights"][ports[1]] == pytest.approx(0.95)

        # a node stopped and started through the control API serves again (same URL)
        api.put("/router/weights", json={"weights": {ports[0]: 1}})
        assert api.post(f"/nodes/{ports[0]}/stop").json()["running"] is False
        failed = api.get("/router").json()["stats"]["nodes"][ports[0]]["failed"]
        wait_until(lambda: api.get("/router").json()["stats"]["nodes"][ports[0]]["failed"] > failed)
        assert api.post(f"/nodes/{ports[0]}/start").json()["running"] is True
        ok = api.get("/router").json()["stats"]["nodes"][ports[0]]["ok"]
        wait_until(lambda: api.get("/router").json()["stats"]["nodes"][ports[0]]["ok"] > ok + 5)
        api.close()
    assert control.router is None


def test_a_control_server_without_router_says_so(cluster, http):
    with DemoControl(cluster) as control:
        answer = http.get(control.url + "/router")
        assert answer.status_code == 404 and "without a router" in answer.json()["error"]


def start_demo_server(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    """`python -m themis_desktop.demo` with 2 quiet nodes; returns it and its control URL."""
    options = ["--port", "0", "--nodes", "2", "--no-workload", "--data-size-mb", "1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "themis_desktop.demo", *options, "--data-dir", str(tmp_path), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    control = ""
    for line in proc.stdout:
        if line.startswith("control "):
            control = line.split()[1]
        if line.strip() == "ready":
            return proc, control
    stop(proc)
    pytest.fail("demo-server printed no 'ready' line")


def test_demo_server_runs_its_router_by_default(tmp_path, http):
    proc, control = start_demo_server(tmp_path / "a", "--router-rate", "100")
    try:
        assert control.startswith("http://127.0.0.1:")
        state = http.get(control + "/router").json()
        assert list(state["weights"].values()) == pytest.approx([0.5, 0.5])
        wait_until(
            lambda: all(
                n["ok"] > 0 for n in http.get(control + "/router").json()["stats"]["nodes"].values()
            )
        )
    finally:
        assert stop(proc) == 0
    quiet, control = start_demo_server(tmp_path / "b", "--no-router")
    try:
        assert http.get(control + "/router").status_code == 404
    finally:
        assert stop(quiet) == 0
