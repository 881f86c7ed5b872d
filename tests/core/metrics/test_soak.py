"""`metrics.soak`: named nodes sampled side by side on real demo nodes, for a time, on for
missing evidence up to a limit, cancelled by an event; their values, the seconds sampled
and the soak's own requests."""

from __future__ import annotations

import threading

from themis_desktop.core.metrics.soak import close_clients, enough_samples, open_clients, soak
from themis_desktop.core.server.client import ThemisClient


def test_two_nodes_side_by_side_with_progress(start_demo_node):
    a, b = start_demo_node("1.7.0"), start_demo_node("1.8.0")
    clients = open_clients({"a": a.url, "b": b.url}, lambda url: ThemisClient(url, timeout=2.0))
    left: list[float] = []
    try:
        result = soak(clients, 0.6, interval=0.1, progress=left.append)
    finally:
        close_clients(clients)
    assert result.rounds >= 3 and 0.5 <= result.seconds < 5
    assert set(result.values) == {"a", "b"}
    assert result.up == {"a": result.rounds, "b": result.rounds}
    assert len(result.values["a"]["probe_ms"]) == result.rounds
    assert result.versions == {"a": "1.7.0", "b": "1.8.0"}
    assert all(n >= result.rounds for n in result.own_requests.values())  # a probe a round
    assert result.probes_per_s(["a"]) > 0 and left[-1] == 0 and left == sorted(left, reverse=True)
    assert len(result.pooled()["probe_ms"]) == 2 * result.rounds
    assert not result.cancelled


def test_it_goes_on_for_evidence_up_to_the_limit_and_stops_when_cancelled(start_demo_node):
    node = start_demo_node()
    with ThemisClient(node.url, timeout=2.0) as client:
        longer = soak({"n": client}, 0.1, interval=0.05, enough=enough_samples(8), limit_s=10)
        assert len(longer.values["n"]["probe_ms"]) >= 8 and longer.seconds >= 0.1
        capped = soak({"n": client}, 0.1, interval=0.05, enough=lambda r: False, limit_s=0.4)
        assert 0.35 <= capped.seconds < 3
        cancel = threading.Event()
        stopped = soak(
            {"n": client}, 30, interval=0.05, cancel=cancel, progress=lambda _: cancel.set()
        )
        assert stopped.cancelled and stopped.rounds == 1 and stopped.seconds < 5


def test_a_node_that_does_not_answer_is_counted_down_with_its_reason():
    with ThemisClient("http://127.0.0.1:9", timeout=0.5) as client:
        result = soak({"gone": client}, 0.0)
    assert result.rounds == 1 and result.up == {"gone": 0} and result.errors["gone"]
