"""The demo control API's rehearsal nodes: one extra node like a cluster node (its error
rates too) on a copy's folder, started and stopped over real loopback HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from themis_desktop.demo import DemoCluster
from themis_desktop.demo.control import DemoControl


def test_a_rehearsal_node_runs_like_its_model_on_another_folder(tmp_path: Path):
    cluster = DemoCluster(
        tmp_path / "cluster",
        nodes=1,
        version="1.8.0",
        data_size_mb=1,
        workload=False,
        error_rates={"1.9": 1.0},
    )
    with cluster, DemoControl(cluster) as control, httpx.Client(base_url=control.url) as api:
        like = cluster.nodes[0]
        copy_dir = tmp_path / "copy"
        shutil.copytree(like.data_path, copy_dir / "data")
        body = {"data_dir": str(copy_dir), "version": "1.9.0", "like": like.port}
        started = api.post("/rehearsals", json=body)
        assert started.status_code == 201, started.text
        copy = started.json()
        assert copy["port"] != like.port and copy["version"] == "1.9.0"
        assert copy["like"] == like.port and Path(copy["data_dir"]) == copy_dir.resolve()
        assert api.get("/rehearsals").json()[0]["running"]
        assert httpx.get(copy["url"] + "/entities/probe:0").status_code == 500  # misbehaves
        assert httpx.get(like.url + "/entities/probe:0").status_code == 404  # 1.8 does not
        assert api.get("/nodes").json()[0]["port"] == like.port  # not one of the nodes
        # never on a node's own data, nor for a node that is not there
        own = {**body, "data_dir": str(like.data_dir)}
        assert api.post("/rehearsals", json=own).status_code == 400
        inside = {**body, "data_dir": str(like.data_dir / "sub")}
        assert "overlaps" in api.post("/rehearsals", json=inside).json()["error"]
        assert api.post("/rehearsals", json={**body, "like": 1}).status_code == 404
        assert api.post("/rehearsals", json={**body, "version": "x"}).status_code == 400
        assert api.post("/rehearsals", json={**body, "data_dir": "rel"}).status_code == 400
        stopped = api.post(f"/rehearsals/{copy['port']}/stop")
        assert stopped.status_code == 200 and not stopped.json()["running"]
        assert api.get("/rehearsals").json() == []
        assert api.delete(f"/rehearsals/{copy['port']}").status_code == 404  # gone already
        again = api.post("/rehearsals", json=body).json()
        assert api.delete(f"/rehearsals/{again['port']}").status_code == 200
        last = api.post("/rehearsals", json=body).json()  # left running: stop() ends it
    assert not control.running and control.handle("GET", "/rehearsals", b"")[1] == []
    assert last["port"]
