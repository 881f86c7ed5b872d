"""Snapshot tags and point-in-time-restore routes (1.5+), over real HTTP, as upstream's
snapshot_api_handler.cpp and pitr_api_handler.cpp answer them."""

from __future__ import annotations

import pytest

TAGS = "/api/v1/snapshots/tags"
SNAPSHOT_KEYS = {"tag_name", "sequence_number", "timestamp_ms", "description", "created_by"}
ROUTES = [
    ("POST", TAGS),
    ("GET", TAGS),
    ("GET", f"{TAGS}/x"),
    ("DELETE", f"{TAGS}/x"),
    ("GET", "/api/v1/snapshots/stats"),
    ("POST", "/api/v1/restore/preview"),
    ("POST", "/api/v1/restore/pitr"),
    ("GET", "/api/v1/restore/progress"),
]


def _write(c, n: int) -> None:
    for i in range(n):
        assert c.put(f"/entities/orders:{i}").status_code == 201


@pytest.mark.parametrize("version", ["1.5.0", "1.8.0"])
def test_a_tag_is_made_listed_read_and_deleted(make_node, client, version):
    c = client(make_node(version))
    r = c.post(TAGS, json={"tag_name": "before-1", "description": "pre hop"})
    assert r.status_code == 201
    made = r.json()
    assert set(made) == SNAPSHOT_KEYS
    assert made["created_by"] == "system"  # upstream's default
    assert made["sequence_number"] > 0 and made["timestamp_ms"] > 0
    assert r.text.startswith("{\n  ")  # upstream dumps with an indent of 2
    c.post(TAGS, json={"tag_name": "before-2", "description": "d", "created_by": "ann"})

    listed = c.get(TAGS).json()
    assert {t["tag_name"] for t in listed} == {"before-1", "before-2"}
    times = [t["timestamp_ms"] for t in listed]
    assert times == sorted(times, reverse=True)  # newest first by default
    assert [t["tag_name"] for t in c.get(f"{TAGS}?sort_by=name&ascending=true").json()] == [
        "before-1",
        "before-2",
    ]
    assert len(c.get(f"{TAGS}?limit=1").json()) == 1
    assert c.get(f"{TAGS}/before-1").json() == made

    stats = c.get("/api/v1/snapshots/stats").json()
    assert stats["total_snapshots"] == 2
    assert stats["oldest_sequence"] == made["sequence_number"]

    r = c.delete(f"{TAGS}/before-1")
    assert r.json() == {"status": "success", "message": "Tag 'before-1' deleted successfully"}
    assert c.get(f"{TAGS}/before-1").status_code == 404
    assert c.delete(f"{TAGS}/before-1").json() == {
        "error": "Tag 'before-1' not found",
        "status": 404,
    }


def test_tag_errors_are_upstreams(make_node, client):
    c = client(make_node("1.5.0"))
    r = c.post(TAGS, json={"tag_name": "t"})
    assert (r.status_code, r.json()) == (
        400,
        {"error": "Missing required fields: tag_name and description", "status": 400},
    )
    assert c.post(TAGS, json={"tag_name": "t", "description": "d"}).status_code == 201
    for name in ("t", "has space", "x" * 129, ""):  # duplicate, then invalid names
        r = c.post(TAGS, json={"tag_name": name, "description": "d"})
        assert r.status_code == 409
        assert r.json()["error"] == (
            f"Failed to create tag '{name}'. Tag may already exist or name is invalid."
        )
    r = c.post(TAGS, content=b"{nope")
    assert r.status_code == 400 and r.json()["error"].startswith("Invalid JSON: ")
    assert c.get(f"{TAGS}?limit=abc").json() == {"error": "Invalid limit parameter", "status": 400}


def test_the_preview_counts_the_writes_since_the_tag(make_node, client):
    c = client(make_node("1.8.0"))
    _write(c, 3)
    tag = c.post(TAGS, json={"tag_name": "pre", "description": "d"}).json()
    _write(c, 7)
    r = c.post("/api/v1/restore/preview", json={"restore_type": "tag", "target": "pre"})
    assert r.status_code == 200
    body = r.json()
    assert body["target_sequence"] == tag["sequence_number"]
    assert body["events_to_replay"] == 7
    assert body["current_sequence"] == tag["sequence_number"] + 7
    assert set(body) == {
        "target_sequence",
        "current_sequence",
        "events_to_replay",
        "affected_tables",
        "affected_keys",
        "estimated_duration_sec",
        "estimated_size_bytes",
    }
    by_sequence = {"restore_type": "sequence", "target": str(tag["sequence_number"] + 2)}
    assert c.post("/api/v1/restore/preview", json=by_sequence).json()["events_to_replay"] == 5


def test_preview_and_restore_errors(make_node, client):
    c = client(make_node("1.5.0"))
    preview, pitr = "/api/v1/restore/preview", "/api/v1/restore/pitr"
    r = c.post(preview, json={"restore_type": "tag", "target": "nope"})
    assert (r.status_code, r.json()) == (404, {"error": "Tag 'nope' not found", "status": 404})
    for path in (preview, pitr):
        r = c.post(path, json={"target": "x"})
        assert r.json() == {
            "error": "Missing required fields: restore_type and target",
            "status": 400,
        }
    assert c.post(preview, json={"restore_type": "when", "target": "1"}).status_code == 400
    assert c.post(preview, json={"restore_type": "sequence", "target": "x"}).status_code == 400
    # the demo cannot replay: it says so, in upstream's {"ok","message"} with a 500
    c.post(TAGS, json={"tag_name": "t", "description": "d"})
    r = c.post(pitr, json={"restore_type": "tag", "target": "t"})
    assert r.status_code == 500
    assert r.json()["ok"] is False and r.json()["message"]
    r = c.post(pitr, json={"restore_type": "tag", "target": "gone"})
    assert r.json() == {"ok": False, "message": "Tag not found: gone"}
    assert c.get("/api/v1/restore/progress").json() == {"in_progress": False}


def test_tags_survive_a_restart_of_the_node(make_node, client):
    node = make_node("1.5.0")
    c = client(node)
    c.post(TAGS, json={"tag_name": "kept", "description": "d"})
    node.stop()
    node.start()
    assert client(node).get(f"{TAGS}/kept").json()["tag_name"] == "kept"


@pytest.mark.parametrize("version", ["1.0.0", "1.4.2"])
def test_versions_before_1_5_have_no_such_routes(make_node, client, version):
    c = client(make_node(version))
    for method, path in ROUTES:
        r = c.request(method, path, json={"tag_name": "t", "description": "d"})
        assert r.status_code == 404, (method, path)
        assert r.json()["message"] == "Endpoint not found"
