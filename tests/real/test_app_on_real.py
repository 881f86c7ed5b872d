"""The app against the real ThemisDB 1.0.x server: version, metrics, backup and restore,
tokens, and that watching a node does not change what is watched."""

from __future__ import annotations

import filecmp
import json
import shutil
import threading
from pathlib import Path

import httpx
import pytest

from tests.real.conftest import TOKENS
from themis_desktop.cli import main
from themis_desktop.core.backup.node import backup_node
from themis_desktop.core.backup.restore import restore, verify
from themis_desktop.core.connection.profiles import NodeEndpoint
from themis_desktop.core.metrics.exposition import LATENCY_BUCKETS, parse
from themis_desktop.core.metrics.sampler import Recorder
from themis_desktop.core.metrics.sampling import NodeSampler
from themis_desktop.core.server import errors
from themis_desktop.core.server.client import ThemisClient
from themis_desktop.core.server.node_status import poll_node

IDLE_SAMPLES = 60
FAST_INTERVAL_S = 0.05


def server_counters(url: str) -> tuple[int, int]:
    """(requests, errors) as the server itself counts them (`/stats` is public in era A)."""
    server = httpx.get(url + "/stats", timeout=10).json()["server"]
    return int(server["total_requests"]), int(server["total_errors"])


def report(capsys, text: str) -> None:
    with capsys.disabled():
        print("\n" + text)


# -- version -------------------------------------------------------------------------------


def test_a_real_1_0_node_is_known_as_1_0_from_its_capabilities_never_as_its_health_0_1_0(
    real_node, capsys
):
    node = real_node()
    assert httpx.get(node.url + "/health").json()["version"] == "0.1.0"  # what not to believe
    with ThemisClient(node.url) as client:
        info = client.version()
        assert (info.version, info.source, info.exact) == ("1.0.0", "capabilities", False)
        assert client.era == "A"  # it has no /version
        status = poll_node(client, "real")
    assert status.state == "up" and status.version.version == "1.0.0"
    assert any("release before 1.3" in note for note in status.notes)

    assert main(["status", node.url]) == 0
    shown = capsys.readouterr().out
    assert "v1.0.0" in shown and "0.1.0" not in shown
    assert main(["metrics", "snapshot", "--server", node.url, "--interval", "0.2"]) == 0
    shown = capsys.readouterr().out
    assert "v1.0.x" in shown.splitlines()[0] and "0.1.0" not in shown


# -- the app does not disturb what it measures -----------------------------------------------


def test_polling_a_real_1_0_node_asks_the_routes_it_lacks_once(real_node):
    """Era A counts each 404 as an error: /version and /health/ready are asked once, then
    not again until the node restarts."""
    node = real_node()
    with ThemisClient(node.url) as client:
        poll_node(client, "real")
        _, errors_after_first = server_counters(node.url)
        for _ in range(5):
            assert poll_node(client, "real").state == "up"
        _, errors_after_more = server_counters(node.url)
    assert errors_after_first >= 1  # /health/ready answered 404 once
    assert errors_after_more == errors_after_first


def test_an_idle_real_node_shows_an_error_rate_of_zero_over_60_samples(real_node, capsys):
    """The sampler's probe reads a key that does not exist: the real server counts each of
    those 404s as an error, which once showed an idle node at 50 % errors. The sampler takes
    its own counted requests out."""
    node = real_node()
    samples = []
    enough = threading.Event()

    def collect(sample):
        samples.append(sample)
        if len(samples) > IDLE_SAMPLES:
            enough.set()

    requests_before, errors_before = server_counters(node.url)
    with ThemisClient(node.url) as client:
        sampler = NodeSampler(client, "real")
        recorder = Recorder("real", [sampler], interval=FAST_INTERVAL_S, on_sample=collect)
        recorder.start()
        try:
            assert enough.wait(60), f"only {len(samples)} samples within 60 s"
        finally:
            recorder.stop()
        own = client.own_errors
    requests_after, errors_after = server_counters(node.url)
    rates = [s.values["error_rate"] for s in samples[1 : IDLE_SAMPLES + 1]]
    naive = (errors_after - errors_before) / (requests_after - requests_before)
    report(
        capsys,
        f"idle real node, {IDLE_SAMPLES} samples every {FAST_INTERVAL_S} s: the server counted "
        f"{errors_after - errors_before} errors in {requests_after - requests_before} requests "
        f"(a naive error rate of {naive:.0%}); {own} of them were the sampler's own; the "
        f"sampler's error rate: max {max(rates):.0%}",
    )
    assert all(s.up for s in samples)
    assert rates == [0.0] * IDLE_SAMPLES
    assert errors_after - errors_before >= IDLE_SAMPLES  # the probes' 404s were counted
    assert naive > 0.3  # what the app used to show


# -- metrics ---------------------------------------------------------------------------------


def test_latency_quantiles_come_from_the_real_servers_buckets(real_node):
    node = real_node()
    with ThemisClient(node.url) as client, httpx.Client(base_url=node.url) as load:
        sampler = NodeSampler(client, "real")
        first = sampler.sample()
        for _ in range(50):
            load.get("/health")
        second = sampler.sample()
        scrape = parse(client.metrics_text(), only=(LATENCY_BUCKETS, "rocksdb_"))
    assert first.up and second.up
    p50, p95, p99 = (second.values[k] for k in ("server_p50_ms", "server_p95_ms", "server_p99_ms"))
    assert None not in (p50, p95, p99)
    assert 0 < p50 <= p95 <= p99 <= 1000.0  # within the real buckets' bounds (up to 1 s)
    bounds = [le for le, _ in scrape.buckets(LATENCY_BUCKETS)]
    assert bounds[:4] == [100.0, 500.0, 1000.0, 5000.0] and bounds[-1] == float("inf")
    assert second.values["request_rate"] > 0
    keys = scrape.value("rocksdb_estimate_num_keys")
    assert keys is not None and second.values["estimated_keys"] == keys


# -- backup and restore ----------------------------------------------------------------------


class CheckpointKeeper(ThemisClient):
    """A client that keeps a byte copy of each checkpoint the server writes (the backup
    removes the server's own once it is archived)."""

    def __init__(self, url: str, keep: Path) -> None:
        super().__init__(url, timeout=30.0)
        self.keep = keep

    def admin_backup(self, directory: str):
        result = super().admin_backup(directory)
        shutil.copytree(directory, self.keep)
        return result


def test_a_backup_through_the_real_checkpoint_restores_byte_identical_into_a_new_folder(
    real_node, tmp_path, capsys
):
    node = real_node()
    with httpx.Client(base_url=node.url) as c:
        for i in range(20):
            put = c.put(f"/entities/orders:{i}", json={"blob": json.dumps({"n": i})})
            assert put.status_code == 201
    endpoint = NodeEndpoint(node.url, "real-1", data_dir=str(node.data_dir))
    kept = tmp_path / "checkpoint-as-written"
    with CheckpointKeeper(node.url, kept) as client:
        result = backup_node(endpoint, tmp_path / "backups", client, "1.0.0")
    assert result.manifest.checkpoint and result.manifest.consistent
    assert not list(node.data_dir.parent.glob("*checkpoint*"))  # the server's copy is gone
    report_ = verify(result.archive)
    assert report_.ok, report_.problems

    target = tmp_path / "elsewhere" / "data"
    restored = restore(result.archive, target, other_node=True)
    assert restored.data_dir == target.resolve() and restored.kept is None
    names = sorted(p.name for p in kept.iterdir())
    assert names == sorted(p.name for p in target.iterdir())
    assert any(n.endswith(".sst") for n in names) and "CURRENT" in names
    _match, mismatch, failed = filecmp.cmpfiles(kept, target, names, shallow=False)
    assert (mismatch, failed) == ([], [])
    report(
        capsys,
        f"real checkpoint: {len(names)} files ({', '.join(names)}), archive "
        f"{result.size} bytes, restored byte-identical",
    )


# -- tokens ----------------------------------------------------------------------------------


def test_real_role_tokens_open_what_their_scopes_allow(real_node, tmp_path):
    node = real_node(tokens=TOKENS)
    with ThemisClient(node.url) as anonymous:
        with pytest.raises(errors.Unauthorized):
            anonymous.metrics_text()
        assert anonymous.version().version == "1.0.0"  # capabilities need no token
        assert anonymous.stats().total_requests > 0
    with ThemisClient(node.url, "not-a-token") as stranger, pytest.raises(errors.Forbidden):
        stranger.metrics_text()
    with ThemisClient(node.url, TOKENS["readonly"]) as readonly:
        assert "vccdb_requests_total" in readonly.metrics_text()
        assert "rocksdb" in readonly.config()
        with pytest.raises(errors.Forbidden, match="config:write"):
            readonly.post_config({"logging": {"level": "info"}})
    with ThemisClient(node.url, TOKENS["analyst"]) as analyst:
        assert "vccdb_errors_total" in analyst.metrics_text()
        with pytest.raises(errors.Forbidden, match="config:read"):
            analyst.config()
    with ThemisClient(node.url, TOKENS["admin"]) as admin:
        assert admin.post_config({"logging": {"level": "info"}})["server"]["threads"] >= 1
        done = admin.admin_backup(str(tmp_path / "admin-checkpoint"))
        assert Path(done.directory, "CURRENT").is_file()


def test_a_sampler_with_a_token_stays_within_era_as_per_role_rate_limit(real_node, capsys):
    """Era A lets each token's role make 100 requests a minute (a bucket of 100), loopback
    included. Public routes go without the token, and the probe is left out once four fifths
    of the minute's budget are spent: at one sample a second that is /metrics every second
    and a probe every third. Here 45 samples are taken at once: the first probe, the rest
    do not, and the server refuses none."""
    node = real_node(tokens=TOKENS)
    count = 45
    with ThemisClient(node.url, TOKENS["admin"]) as client:
        sampler = NodeSampler(client, "real")
        samples = [sampler.sample() for _ in range(count)]
        used = client.token_uses()
    probed = [s.values["probe_ms"] is not None for s in samples]
    with httpx.Client(base_url=node.url) as watcher:  # another role: its own budget
        text = watcher.get("/metrics", headers={"Authorization": f"Bearer {TOKENS['analyst']}"})
    rejected = parse(text.text).value("vccdb_rate_limit_rejected_total")
    report(
        capsys,
        f"{count} samples at once with the admin token: {used} requests carried it, "
        f"{sum(probed)} samples probed, {rejected:.0f} requests refused by the rate limit",
    )
    assert all(s.up and s.error is None for s in samples)
    assert rejected == 0 and used < 100
    assert probed[0] and not probed[-1]  # probes until the budget is spent, then metrics only
