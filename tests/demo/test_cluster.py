"""DemoCluster: N nodes on N ports, restart as another version with the data kept."""

from __future__ import annotations

import httpx

from themis_desktop.demo import DemoCluster


def test_three_nodes_on_distinct_ports(tmp_path):
    with DemoCluster(tmp_path, nodes=3, version="1.7.3", data_size_mb=1, workload=False) as cl:
        ports = [node.port for node in cl.nodes]
        assert len(set(ports)) == 3
        assert [node.options.name for node in cl.nodes] == ["node-1", "node-2", "node-3"]
        for i, url in enumerate(cl.urls, start=1):
            assert url == f"http://127.0.0.1:{ports[i - 1]}"
            assert httpx.get(url + "/version").json()["version"] == "1.7.3"
            assert (tmp_path / f"node-{i}" / "data" / "CURRENT").is_file()
            assert (tmp_path / f"node-{i}" / "config.yaml").is_file()


def test_restart_node_as_another_version_keeps_data_and_port(tmp_path):
    with DemoCluster(tmp_path, nodes=2, version="1.7.3", data_size_mb=1, workload=False) as cl:
        old = cl.nodes[1]
        port = old.port
        (old.data_path / "MARKER").write_text("kept")
        tables = sorted(p.name for p in old.data_path.glob("*.sst"))
        with httpx.Client(base_url=old.url) as c:
            for _ in range(3):
                c.get("/health")
            assert c.get("/stats").json()["server"]["total_requests"] >= 3

        new = cl.restart_node(1, version="1.8.0")
        assert cl.nodes[1] is new
        assert new.port == port
        assert new.data_dir == old.data_dir
        assert (new.data_path / "MARKER").read_text() == "kept"
        assert sorted(p.name for p in new.data_path.glob("*.sst")) == tables
        with httpx.Client(base_url=new.url) as c:
            assert c.get("/api/updates").status_code == 301  # 1.8 redirects API paths …
            assert c.get("/version").json()["version"] == "1.8.0"  # … but not these
            server = c.get("/stats").json()["server"]
            assert server["total_requests"] <= 3  # counters restarted with the process
            assert server["uptime_seconds"] <= 1
        log = (new.data_dir / "themis_server.log").read_text()
        assert "Data directory was last used by v1.7.3; now running v1.8.0" in log
        assert httpx.get(cl.urls[0] + "/version").json()["version"] == "1.7.3"
        same = cl.restart_node(0)
        assert same.version == "1.7.3"


def test_fixed_base_port(tmp_path):
    probe = DemoCluster(tmp_path / "probe", nodes=1, data_size_mb=1, workload=False)
    with probe:
        base = probe.nodes[0].port  # a port that was just free
    with DemoCluster(tmp_path / "c", nodes=2, port=base, data_size_mb=1, workload=False) as cl:
        assert [n.port for n in cl.nodes] == [base, base + 1]


def test_version_profiles_show_a_regression_after_restart(tmp_path):
    def median_probe(url: str) -> float:
        with httpx.Client(base_url=url) as c:
            times = sorted(c.get("/entities/user:1").elapsed.total_seconds() for _ in range(5))
        return times[2]

    cluster = DemoCluster(
        tmp_path, nodes=1, version="1.7.3", data_size_mb=1, workload=False,
        latency_factors={"1.8": 25.0}, error_rates={"1.8.0": 0.0},
    )  # fmt: skip
    with cluster:
        before = median_probe(cluster.urls[0])
        node = cluster.restart_node(0, version="1.8.0")
        after = median_probe(node.url)  # /entities is never redirected
        assert after > 0.02
        assert after > 3 * before
        node.set_profile(latency_factor=1.0)
        assert median_probe(node.url) < after / 3
