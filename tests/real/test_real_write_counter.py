"""The writes-at-risk meter reads the real server's own write counter: RocksDB's
"Cumulative writes" line in `/stats` `storage.raw_stats` (`rocksdb.stats`), which grows with
each real write."""

from __future__ import annotations

from themis_desktop.core.server.client import ThemisClient
from themis_desktop.core.server.write_counter import read_counter


def test_the_real_server_counts_its_writes_in_raw_stats(real_node):
    node = real_node()
    with ThemisClient(node.url) as client:
        before = read_counter(client.stats())
        assert before.source == "rocksdb" and before.writes is not None, client.stats().raw_stats
        for i in range(3):
            client.put_entity(f"meter:{i}", "v")
        after = read_counter(client.stats())
    assert after.source == "rocksdb" and after.writes is not None
    assert after.writes - before.writes >= 3
    assert after.uptime_s >= before.uptime_s
