"""The node's folder on disk: config.yaml, RocksDB-like files, log, vector index."""

from __future__ import annotations

import re

import numpy as np
import yaml
import zstandard

from themis_desktop.demo import DemoNode, NodeOptions, sstgen

LOG_LINE = re.compile(
    r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] \[themis\] "
    r"\[(info|warning|error)\] \[thread \d+\] \S"
)


def test_node_folder_layout(make_node):
    node = make_node("1.4.0", data_size_mb=4)
    folder = node.data_dir
    assert {p.name for p in folder.iterdir()} >= {
        "config.yaml",
        "data",
        "vector_index",
        "themis_server.log",
    }
    data = {p.name for p in node.data_path.iterdir()}
    manifest = (node.data_path / "CURRENT").read_text().strip()
    assert re.fullmatch(r"MANIFEST-\d{6}", manifest) and manifest in data
    assert {"IDENTITY", "LOCK", "LOG"} <= data
    assert len([n for n in data if re.fullmatch(r"OPTIONS-\d{6}", n)]) == 1
    assert len([n for n in data if re.fullmatch(r"\d{6}\.log", n)]) == 1  # the WAL
    sst = list(node.data_path.glob("*.sst"))
    assert all(re.fullmatch(r"\d{6}\.sst", p.name) for p in sst)
    total = sum(p.stat().st_size for p in sst)
    assert 3.6 * 2**20 < total < 4.4 * 2**20
    assert any(p.stat().st_size > 0 for p in (folder / "vector_index").iterdir())


def test_config_yaml_keys(make_node):
    old, new = make_node("1.4.2"), make_node("1.5.0")
    for node, memtable in ((old, 128), (new, 512)):
        cfg = yaml.safe_load(node.config_path.read_text())
        storage = cfg["storage"]
        assert storage["rocksdb_path"] == str(node.data_path)
        assert storage["memtable_size_mb"] == memtable
        assert storage["block_cache_size_mb"] > 0
        assert set(storage["compression"]) == {"default", "bottommost"}
        assert cfg["server"]["host"] == "127.0.0.1"
        assert cfg["server"]["port"] == node.port
        assert cfg["server"]["worker_threads"] > 0
        assert cfg["vector_index"]["save_path"] == str(node.data_dir / "vector_index")
        assert isinstance(cfg["features"], dict) and isinstance(cfg["tracing"], dict)


def test_server_log_format(make_node):
    node = make_node("1.7.3")
    lines = (node.data_dir / "themis_server.log").read_text().splitlines()
    assert lines and all(LOG_LINE.match(line) for line in lines)
    text = "\n".join(lines)
    assert f"Server listening on 127.0.0.1:{node.port}" in text
    assert "Version: 1.7.3" in text  # era B logs its real version (era A a fixed 0.1.0)
    assert "ThemisDB server v1.7.3 starting" in text
    assert "Auth disabled" in text


def test_synthetic_data_compresses_like_real_data():
    data = sstgen.records(0, 32768, 1, np.random.default_rng(7))  # 4 MiB
    ratio = len(data) / len(zstandard.ZstdCompressor(level=3).compress(data))
    assert 2.0 < ratio < 4.0
    keys = {data[i * 128 + 3 : i * 128 + 29] for i in range(1000)}
    assert len(keys) == 1000  # varied keys


def test_generation_writes_the_requested_size(tmp_path):
    # speed is not asserted here (noisy machines): 64 MiB take ~0.1 s, 1 GiB a few seconds
    sstgen.write_sst(tmp_path / "000001.sst", 64 << 20, 0, 1, np.random.default_rng())
    assert (tmp_path / "000001.sst").stat().st_size >= 64 << 20


def test_restart_keeps_data_and_the_files_own_config(tmp_path):
    options = NodeOptions(version="1.4.2", data_dir=tmp_path / "n", data_size_mb=1, workload=False)
    with DemoNode(options) as first:
        tables = sorted(p.name for p in first.data_path.glob("*.sst"))
        identity = first.data_path.joinpath("IDENTITY").read_text()
    assert not first.data_path.joinpath("LOCK").exists()  # released on stop
    options.version = "1.5.0"
    with DemoNode(options) as second:
        cfg = yaml.safe_load(second.config_path.read_text())
        assert cfg["storage"]["memtable_size_mb"] == 128  # explicit value survives the upgrade
        assert sorted(p.name for p in second.data_path.glob("*.sst")) == tables
        assert second.data_path.joinpath("IDENTITY").read_text() == identity
        assert second.data_path.joinpath("LOCK").exists()


def test_temporary_node_folder_is_removed():
    node = DemoNode(NodeOptions(data_size_mb=1, workload=False))
    with node:
        folder = node.data_dir
        assert (folder / "data" / "CURRENT").is_file()
    assert not folder.exists()
