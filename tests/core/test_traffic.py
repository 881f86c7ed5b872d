"""Traffic routers: the demo load balancer really shifts requests; manual, commands, none."""

from __future__ import annotations

import time

import httpx
import pytest

from themis_desktop.core.traffic import RouterConfig, TrafficError, router_for
from themis_desktop.demo.router import DemoRouter


def _requests(url: str) -> float:
    with httpx.Client(follow_redirects=True) as client:
        return client.get(f"{url}/stats").json()["server"]["total_requests"]


def test_the_demo_router_sends_traffic_by_weight(controlled_cluster):
    _cluster, _control, profile = controlled_cluster(
        nodes=3, control_options={"router": True, "router_rate": 200.0}
    )
    router = router_for(profile.router)
    urls = [n.url for n in profile.nodes]
    router.set_weights({urls[0]: 1.0, urls[1]: 0.0, urls[2]: 0.0})
    time.sleep(0.3)  # requests in flight under the old weights finish
    before = [_requests(u) for u in urls]
    time.sleep(1.0)
    grown = [_requests(u) - b for u, b in zip(urls, before, strict=True)]
    assert grown[0] > 50 and grown[1] <= 2 and grown[2] <= 2  # (our own /stats reads)
    served = router.served()
    assert served["weights"][urls[0].rsplit(":", 1)[1]] == 1.0
    with pytest.raises(TrafficError, match="refused"):
        router.set_weights({urls[0]: 0.0, urls[1]: 0.0, urls[2]: 0.0})


def test_failover_keeps_serving_when_a_node_stops(controlled_cluster):
    cluster, _, profile = controlled_cluster(nodes=2)
    router = DemoRouter([n.url for n in profile.nodes], rate=100.0)
    router.start()
    try:
        cluster.stop_node(0)
        time.sleep(2.2)
        served = router.stats()["served_per_second"]
    finally:
        router.stop()
    assert served[-2:] and min(served[-2:]) > 0
    assert router.stats()["nodes"][profile.nodes[0].url]["failed"] > 0


def test_manual_commands_and_none(tmp_path):
    weights = {"http://10.0.0.1:8765": 0.05, "http://10.0.0.2:8765": 0.95}
    asked = []
    manual = router_for(RouterConfig("manual"), confirm=lambda text: asked.append(text) or True)
    assert "10.0.0.1:8765 5 %" in manual.set_weights(weights) and "95 %" in asked[0]
    with pytest.raises(TrafficError, match="not confirmed"):
        router_for(RouterConfig("manual"), confirm=lambda text: False).set_weights(weights)
    out = tmp_path / "lb.txt"
    command = f"printf '%s\\n' {{weights}} > {out}; echo done"
    router_for(RouterConfig("commands", command=command)).set_weights(weights)
    assert out.read_text() == "10.0.0.1:8765=5,10.0.0.2:8765=95\n"
    with pytest.raises(TrafficError, match="no traffic router"):
        router_for(RouterConfig()).set_weights(weights)
    with pytest.raises(ValueError, match="needs a command"):
        RouterConfig("commands")
