"""The fleet at a glance (issue 24): every saved profile polled over real HTTP, its
sessions read from the journal."""

from __future__ import annotations

from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.fleet.status import FleetPoller, poll_fleet
from themis_desktop.core.journal.store import Journal, utc_now
from themis_desktop.core.server import strict_json
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade


def make_fleet(start_demo_node):
    """Three saved profiles: `current` (2 nodes at the newest release), `old` (2 nodes at
    1.7.0, one stopped), `moving` (1 node at 1.7.0, a session 1.7.0 → 1.8 whose hop has
    just finished). Returns the catalogue's newest release."""
    latest = load_catalogue().newest.text
    a1, a2 = start_demo_node(latest), start_demo_node(latest)
    b1, b2 = start_demo_node("1.7.0"), start_demo_node("1.7.0")
    c1 = start_demo_node("1.7.0")
    b2.stop()
    with Journal() as journal:
        for name, nodes in (("current", (a1, a2)), ("old", (b1, b2)), ("moving", (c1,))):
            endpoints = tuple(NodeEndpoint(n.url, f"{name}-{i}") for i, n in enumerate(nodes, 1))
            saved = profile_store.save(journal, Profile(name, endpoints))
        plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
        session = UpgradeSession.create(journal, saved, plan)
        hop = session.hops[0]
        for state in ("pre-checks", "backed-up", "upgrading", "validating"):
            extra = {"finished_at": utc_now()} if state == "validating" else {}
            hop = session.transition(journal, hop, state, **extra)
    return latest


def test_every_profile_is_polled_with_its_session_and_where_it_stands(start_demo_node):
    latest = make_fleet(start_demo_node)
    with Journal() as journal:
        profiles = profile_store.load_all(journal)
        fleet = poll_fleet(profiles, {}, journal, max_workers=4, timeout=2.0)
    by_name = {c.profile: c for c in fleet.clusters}
    assert sorted(by_name) == ["current", "moving", "old"]
    assert fleet.latest == latest and not fleet.all_up

    current = by_name["current"]
    assert current.health == "up" and current.versions == (latest,)
    assert current.behind is False and current.session is None

    old = by_name["old"]
    assert [n.state for n in old.nodes] == ["up", "down"]  # the stopped node: a state
    assert old.nodes[1].error and old.health == "degraded" and old.up_count == 1
    assert old.versions == ("1.7.0",) and old.behind is True

    moving = by_name["moving"]
    session = moving.session
    assert session is not None and session.in_progress
    assert session.state == "in-progress" and session.to_version.startswith("1.8")
    assert session.hop_state == "validating" and "validating" in session.text
    assert session.health in ("healthy", "watch", "degraded", "failing")
    assert session.band == "easy" and session.band_hop
    data = strict_json.loads(strict_json.dumps(fleet.as_json()))
    (moving_json,) = [c for c in data["clusters"] if c["profile"] == "moving"]
    assert moving_json["session"]["rollback_window"]["band"] == "easy"
    assert moving_json["behind_latest"] is True


def test_a_poller_reuses_its_clients_and_a_review_asks_no_server(start_demo_node):
    node = start_demo_node("1.7.0")
    profile = Profile("p", (NodeEndpoint(node.url, "n1"),))
    with Journal() as journal, FleetPoller({}, max_workers=2, timeout=2.0) as poller:
        first = poll_fleet([profile], None, journal, poller=poller)
        clients = dict(poller._clients)
        second = poll_fleet([profile], None, journal, poller=poller)
        assert poller._clients == clients  # the same client, its connection kept
        review = poll_fleet([profile], None, journal, poll_nodes=False)
    assert first.clusters[0].health == second.clusters[0].health == "up"
    assert review.clusters[0].health == "not polled" and not review.all_up


def test_a_node_that_does_not_answer_in_time_is_down_and_not_asked_twice():
    """A listener that accepts and never answers: past the node's deadline it is down, and
    the next poll does not pile a second request on it."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    profile = Profile("slow", (NodeEndpoint(url, "s1"),))
    try:
        with FleetPoller(None, timeout=1.0, node_deadline=0.3) as poller:
            (state,) = poller.poll([profile])["slow"]
            assert state.state == "down" and "no answer within" in (state.error or "")
            (again,) = poller.poll([profile])["slow"]
            assert again.state == "down" and "still waiting" in (again.error or "")
    finally:
        listener.close()
