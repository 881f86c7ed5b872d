"""`themis-desktop session …` walks a hop and rolls it back on a real demo node."""

from __future__ import annotations

import json

from themis_desktop.cli import main
from themis_desktop.core.journal import Journal
from themis_desktop.core.profiles import NodeEndpoint, Profile
from themis_desktop.core.server import ThemisClient
from themis_desktop.core.service_config import ServiceConfig
from themis_desktop.demo.cluster import DemoCluster
from themis_desktop.demo.control import DemoControl


def test_start_run_every_step_status_and_rollback(capsys, tmp_path):
    cluster = DemoCluster(tmp_path / "c", nodes=1, version="1.7.0", data_size_mb=1, workload=False)
    cluster.start()
    control = DemoControl(cluster)
    control.start()
    try:
        node = cluster.nodes[0]
        with Journal() as journal:  # a profile as the Connection dialog saves it
            journal.save_profile(
                Profile(
                    "lab",
                    (
                        NodeEndpoint(
                            node.url,
                            "n1",
                            data_dir=str(node.data_path),
                            config_path=str(node.config_path),
                        ),
                    ),
                    service=ServiceConfig(kind="demo", control_url=control.url),
                )
            )
        assert main(["session", "start", "--profile", "lab", "--to", "1.8"]) == 0
        assert "1.7.0 → 1.8" in capsys.readouterr().out
        assert main(["session", "start", "--profile", "lab", "--to", "1.8"]) == 1
        assert "has an open session" in capsys.readouterr().err
        assert main(["session", "run", "upgrade", "--profile", "lab"]) == 1
        assert "No verified backup of n1" in capsys.readouterr().err
        backups = ["--backup-dir", str(tmp_path / "b")]
        for step in ("pre-checks", "backup", "upgrade", "validate"):
            assert main(["session", "run", step, "--profile", "lab", *backups]) == 0, step
        capsys.readouterr()
        assert main(["session", "status", "--profile", "lab", "--json"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert status["hops"][0]["state"] == "done" and status["state"] == "done"
        assert status["rollback_window"]["band"] == "easy"
        assert main(["session", "rollback", "--profile", "lab", "--note", "slow"]) == 1
        assert "Add --yes" in capsys.readouterr().out
        assert main(["session", "rollback", "--profile", "lab", "--note", "slow", "--yes"]) == 0
        assert "rolled back to 1.7.0" in capsys.readouterr().out
        with ThemisClient(node.url) as client:
            assert client.version(refresh=True).version == "1.7.0"
        assert main(["session", "status", "--profile", "lab"]) == 0
        assert "rolled-back" in capsys.readouterr().out
    finally:
        control.stop()
        cluster.stop()
