"""Traffic routers per profile: demo (real load balancer), manual, commands and none."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import wait_until
from themis_desktop.core.connection.profiles import NodeEndpoint
from themis_desktop.core.rollout.traffic import RouterConfig, TrafficError, describe, router_for


def _requests(http: httpx.Client, url: str) -> float:
    return http.get(f"{url}/stats").json()["server"]["total_requests"]


def test_the_demo_router_sends_traffic_by_weight(controlled_cluster):
    cluster, control, profile = controlled_cluster(
        nodes=3, control_options={"router": True, "router_rate": 300.0}
    )
    router = router_for(profile.router, nodes=profile.nodes)
    urls = [n.url for n in profile.nodes]
    done = router.set_weights({"n1": 1.0, "n2": 0.0, urls[2]: 0.0})  # names or URLs
    assert done == "demo load balancer: n1 100 %, n2 0 %, n3 0 %"
    last: list = []

    def old_requests_ended() -> bool:
        """n2's and n3's counts the same twice, 0.2 s apart: what was in flight ended."""
        served = router.served()
        now = [served[u].get("sent", 0) for u in urls[1:]]
        was, last[:] = list(last), [now]
        return was == [now]

    wait_until(
        old_requests_ended, interval=0.2, what="requests in flight under the old weights end"
    )
    with httpx.Client(follow_redirects=True) as http:
        before = [_requests(http, u) for u in urls]
        polls = [0]

        def n1_grown() -> float:  # by the router's requests: our polls left out
            polls[0] += 1
            return _requests(http, urls[0]) - before[0] - polls[0]

        wait_until(lambda: n1_grown() > 60, timeout=30, what="n1 serves 60 of its requests")
        grown = [_requests(http, u) - b for u, b in zip(urls[1:], before[1:], strict=True)]
    assert grown[0] <= 2 and grown[1] <= 2, grown  # (our own /stats reads)

    served = router.served()
    assert list(served) == urls
    assert served[urls[0]]["weight"] == 1.0 and served[urls[1]]["weight"] == 0.0
    assert served[urls[0]]["ok"] > 60 and served[urls[1]]["sent"] < served[urls[0]]["sent"]
    assert list(router_for(profile.router).served()) == urls  # the control API names them

    with pytest.raises(TrafficError, match=r"refused.*weight above 0"):
        router.set_weights({"n1": 0.0, "n2": 0.0, "n3": 0.0})
    with pytest.raises(TrafficError, match="not a node of this profile"):
        router.set_weights({"n9": 1.0})
    stranger = router_for(profile.router).set_weights
    with pytest.raises(TrafficError, match="do not belong to this demo instance"):
        stranger({"http://127.0.0.1:1": 1.0})
    control.stop()
    with pytest.raises(TrafficError, match="does not answer"):
        router.set_weights({"n1": 1.0})
    assert cluster.nodes[0].running


def test_a_demo_server_without_router(controlled_cluster):
    _, _, profile = controlled_cluster(nodes=1)
    router = router_for(profile.router)
    with pytest.raises(TrafficError, match="without --no-router"):
        router.set_weights({profile.nodes[0].url: 1.0})


WEIGHTS = {"http://10.0.0.1:8765": 0.05, "http://10.0.0.2:8765": 0.95}
NODES = (NodeEndpoint("http://10.0.0.1:8765", "node-1"), NodeEndpoint("10.0.0.2:8765", "node-2"))


def test_manual_asks_and_waits_for_the_confirmation():
    asked: list[str] = []
    manual = router_for(RouterConfig("manual"), confirm=lambda t: asked.append(t) or True)
    assert (
        manual.set_weights(WEIGHTS) == "weights set by hand: 10.0.0.1:8765 5 %, 10.0.0.2:8765 95 %"
    )
    named = router_for(
        RouterConfig("manual"), confirm=lambda t: asked.append(t) or True, nodes=NODES
    )
    assert named.describe(WEIGHTS) == "node-1 5 %, node-2 95 %"
    named.set_weights({"node-1": 0.05, "node-2": 0.95})
    assert asked[-1] == "Set the load balancer's weights to: node-1 5 %, node-2 95 %, then confirm."
    refused = router_for(RouterConfig("manual"), confirm=lambda t: False)
    with pytest.raises(TrafficError, match="not confirmed"):
        refused.set_weights(WEIGHTS)
    with pytest.raises(TrafficError, match="nobody can confirm"):
        router_for(RouterConfig("manual")).set_weights(WEIGHTS)


def test_commands_get_the_weights_shell_quoted(tmp_path):
    out = tmp_path / "lb args.txt"
    template = f"printf '%s\\n' {{weights}} {{json}} > '{out}'; echo applied"
    router = router_for(RouterConfig("commands", command=template), nodes=NODES)
    done = router.set_weights(WEIGHTS)
    assert done.endswith("(exit 0): node-1 5 %, node-2 95 %")
    pairs, document = out.read_text().splitlines()  # one argument each: quoted
    assert pairs == "node-1=5,node-2=95"
    assert json.loads(document) == {"node-1": 5.0, "node-2": 95.0}

    by_host = router_for(RouterConfig("commands", command=template))
    by_host.set_weights({"http://10.0.0.1:8765": 1 / 3, "http://10.0.0.2:8765": 2 / 3})
    assert out.read_text().splitlines()[0] == "10.0.0.1:8765=33.33,10.0.0.2:8765=66.67"

    weird = NodeEndpoint("http://10.0.0.3:8765", "a b;$(touch x)")
    router_for(RouterConfig("commands", command=template), nodes=[weird]).set_weights(
        {weird.url: 1.0}
    )
    assert out.read_text().splitlines()[0] == "a b;$(touch x)=100"
    assert not (tmp_path / "x").exists()

    failing = router_for(RouterConfig("commands", command="echo no such pool >&2; exit 3"))
    with pytest.raises(TrafficError, match=r"(?s)not applied.*exit code 3.*no such pool"):
        failing.set_weights(WEIGHTS)


def test_none_explains_that_rollouts_need_a_router():
    with pytest.raises(TrafficError, match=r"no traffic router.*canary and blue-green"):
        router_for(RouterConfig()).set_weights(WEIGHTS)
    assert router_for(RouterConfig()).served() == {}


def test_router_config_round_trips_and_checks_itself():
    for config in (
        RouterConfig(),
        RouterConfig("demo", control_url="http://127.0.0.1:9000"),
        RouterConfig("manual"),
        RouterConfig("commands", command="lb-set {weights}"),
    ):
        assert RouterConfig.from_json(config.to_json()) == config
    assert RouterConfig.from_json(None) == RouterConfig()
    assert RouterConfig.from_json('{"kind": "manual", "later": 1}') == RouterConfig("manual")
    with pytest.raises(ValueError, match="needs a command"):
        RouterConfig("commands")
    with pytest.raises(ValueError, match="control URL"):
        RouterConfig("demo")
    with pytest.raises(ValueError, match="unknown traffic router"):
        RouterConfig("nginx")  # type: ignore[arg-type]
    assert describe({"http://h:1": 0.5, "n2": 0.5}) == "h:1 50 %, n2 50 %"
