"""On the real 1.0.x server: a failed `POST /admin/restore` leaves `/health` saying
"healthy" over a closed database; the app's data check and server restore see through it."""

from __future__ import annotations

from themis_desktop.core.backup.server_restore import restore_through_server
from themis_desktop.core.server.client import ThemisClient
from themis_desktop.core.server.data_check import check_data


def test_a_running_real_node_passes_the_data_check_with_a_test_key_read_back(real_node):
    node = real_node()
    with ThemisClient(node.url, timeout=10) as client:
        result = check_data(client, "real-1", write=True)
        reads_only = check_data(client, "real-1", write=False)
    assert result.ok, result.detail
    assert "written and read back" in result.detail
    assert reads_only.ok and "no test write" in reads_only.detail


def test_a_failed_admin_restore_with_a_healthy_health_is_reported_as_a_failure(real_node, tmp_path):
    node = real_node()
    checkpoint = tmp_path / "checkpoint"
    with ThemisClient(node.url, timeout=30) as client:
        client.put_entity("user:1", "kept")
        client.admin_backup(str(checkpoint))
        outcome = restore_through_server(client, "real-1", str(checkpoint), write_check=True)
        health = client.health()
        after = check_data(client, "real-1", write=False)
    assert health.healthy, "the real server keeps saying healthy: the premise of this test"
    assert not outcome.ok
    assert "POST /admin/restore failed" in outcome.message
    assert "Failed to restore from checkpoint" in outcome.message  # the server's own words
    assert "“healthy”" in outcome.message and "Database not open" in outcome.message
    assert not after.ok and "not open" in after.detail
