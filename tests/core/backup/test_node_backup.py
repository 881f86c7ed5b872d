"""Whole-node backups against the demo instance, and the catalogue with its retention."""

from __future__ import annotations

import pytest

from themis_desktop.core.backup import catalog as backup_catalog
from themis_desktop.core.backup.node import InconsistentBackupRefused, backup_node
from themis_desktop.core.backup.restore import verify
from themis_desktop.core.connection.profiles import NodeEndpoint
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.server.client import ThemisClient
from themis_desktop.core.upgrade import session_store


def _endpoint(node):
    return NodeEndpoint(
        node.url, "n1", data_dir=str(node.data_path), config_path=str(node.config_path)
    )


def test_a_running_node_is_backed_up_from_a_server_checkpoint(start_demo_node, tmp_path):
    node = start_demo_node("1.7.3", tokens={"admin": "adm"})
    with ThemisClient(node.url, "adm") as client:
        result = backup_node(_endpoint(node), tmp_path / "out", client, "1.7.3")
    manifest = result.manifest
    assert manifest.checkpoint and manifest.consistent
    assert manifest.sources["data"] == str(node.data_path)  # not the removed checkpoint
    paths = {f.path for f in manifest.files}
    assert "data/CURRENT" in paths and "config/config.yaml" in paths
    assert any(p.startswith("vector_index/") for p in paths)
    assert not list(node.data_path.parent.glob(".themis-checkpoint-*"))  # cleaned up
    assert verify(result.archive).ok


def test_a_running_node_without_a_checkpoint_is_refused_unless_accepted(start_demo_node, tmp_path):
    node = start_demo_node("1.7.3", tokens={"admin": "adm"})
    with ThemisClient(node.url) as client:  # no token: the checkpoint is refused (401)
        with pytest.raises(InconsistentBackupRefused, match="refused a checkpoint"):
            backup_node(_endpoint(node), tmp_path / "out", client, "1.7.3")
        result = backup_node(
            _endpoint(node), tmp_path / "out", client, "1.7.3", accept_inconsistent=True
        )
    assert not result.manifest.consistent and not result.manifest.checkpoint


def test_a_stopped_node_is_backed_up_from_its_files(start_demo_node, tmp_path):
    node = start_demo_node("1.7.3")
    endpoint = _endpoint(node)
    node.stop()
    with ThemisClient(endpoint.url, timeout=1) as client:
        result = backup_node(endpoint, tmp_path / "out", client, "1.7.3")
    assert result.manifest.consistent and not result.manifest.checkpoint
    assert verify(result.archive).ok


def test_the_catalogue_keeps_the_newest_verified_and_session_backups(start_demo_node, tmp_path):
    node = start_demo_node("1.7.3")
    node.stop()
    endpoint = _endpoint(node)
    with Journal(tmp_path / "j.sqlite") as journal:
        session = session_store.start(journal, None, "1.7.0", "1.8.2")
        records = []
        for i in range(5):
            result = backup_node(endpoint, tmp_path / f"out{i}", None, "1.7.3")
            records.append(
                backup_catalog.record(
                    journal, result, verified=(i == 0), session_id=session.id if i == 1 else None
                )
            )
        listed = backup_catalog.backups(journal, "n1")
        assert [r.id for r in listed] == [r.id for r in reversed(records)]
        victims = {r.id for r in backup_catalog.retention_victims(journal, keep_last=2)}
        # newest two kept; #0 is the newest verified one; #1 belongs to an open session
        assert victims == {records[2].id}
        backup_catalog.mark_verified(journal, records[3].id)
        assert backup_catalog.get(journal, records[3].id).verified
        assert [e.type for e in journal.events(types=["backup.created"])].count(
            "backup.created"
        ) == 5


def test_a_node_that_answers_401_is_running_not_stopped(start_demo_node, tmp_path):
    from tests.core.loopback import canned_http

    node = start_demo_node("1.7.3")
    endpoint = _endpoint(node)
    body = b'{"error":"missing_authorization","message":"Missing Authorization header"}'
    with canned_http(401, body) as url, ThemisClient(url) as client:
        with pytest.raises(InconsistentBackupRefused):
            backup_node(endpoint, tmp_path / "out", client, "1.7.3")


def test_retention_keeps_each_installations_node_1_apart(start_demo_node, tmp_path):
    node = start_demo_node("1.7.3")
    node.stop()
    endpoint = _endpoint(node)
    with Journal(tmp_path / "j.sqlite") as journal:
        production = backup_catalog.record(
            journal,
            backup_node(endpoint, tmp_path / "p", None, "1.7.3"),
            profile="prod",
            verified=True,
        )
        for i in range(3):
            backup_catalog.record(
                journal,
                backup_node(endpoint, tmp_path / f"d{i}", None, "1.7.3"),
                profile="demo",
                verified=True,
            )
        victims = backup_catalog.retention_victims(journal, keep_last=1)
        assert production.id not in {v.id for v in victims}
        assert len(victims) == 2  # demo: all but its newest (which is also its newest verified)


def test_a_stopped_node_s_vector_index_inside_its_data_dir_is_archived_once(tmp_path):
    data = tmp_path / "node" / "data"
    (data / "vector_index").mkdir(parents=True)
    (data / "CURRENT").write_text("MANIFEST-1\n")
    (data / "vector_index" / "shard.bin").write_bytes(b"v" * 100)
    config = tmp_path / "node" / "config.yaml"
    config.write_text("vector_index:\n  save_path: data/vector_index\n")
    node = NodeEndpoint("http://127.0.0.1:1", "n1", data_dir=str(data), config_path=str(config))
    result = backup_node(node, tmp_path / "out", None, "1.8.0")
    paths = {f.path for f in result.manifest.files}
    assert "data/vector_index/shard.bin" in paths
    assert not any(p.startswith("vector_index/") for p in paths)  # not a second copy
    assert verify(result.archive).ok
