"""`themis-desktop session run upgrade` on a profile saved with `--service ansible`: the
upgrade step runs as a real ansible-runner job against a demo cluster on loopback, each
task printed as it ends and journaled."""

from __future__ import annotations

import pytest

from tests.core.fleet.test_ansible_export import needs_ansible
from tests.core.fleet.test_ansible_run import gated_options
from tests.rehearsal_override import override_rehearsals
from themis_desktop.cli import main
from themis_desktop.core.journal.store import Journal


@needs_ansible
@pytest.mark.slow
def test_the_upgrade_step_of_an_ansible_profile_runs_the_play(capsys, tmp_path, controlled_cluster):
    cluster, control, _demo = controlled_cluster(nodes=2, version="1.7.0", **gated_options())
    command = ["profiles", "add", "lab", *(n.url for n in cluster.nodes)]
    for i, node in enumerate(cluster.nodes, start=1):
        command += ["--name", f"n{i}", "--data-dir", str(node.data_path)]
        command += ["--config", str(node.config_path)]
    command += ["--service", "ansible", "--ansible-control", "demo", "--control-url", control.url]
    command += ["--ansible-dir", str(tmp_path / "runs"), "--ansible-soak", "3"]
    command += ["--ansible-interval", "0.2", "--ansible-min-samples", "10"]
    assert main(command) == 0
    assert main(["profiles", "list"]) == 0
    assert f"[service: ansible → demo {control.url}]" in capsys.readouterr().out
    # the options of another control are refused, and ansible needs its control
    refused = ["profiles", "add", "other", cluster.nodes[0].url, "--service", "ansible"]
    assert main([*refused, "--control-url", control.url]) == 2
    assert "--service ansible needs --ansible-control" in capsys.readouterr().err

    assert main(["session", "start", "--profile", "lab", "--to", "1.8"]) == 0
    backups = ["--backup-dir", str(tmp_path / "b")]
    for step in ("pre-checks", "backup"):
        assert main(["session", "run", step, "--profile", "lab", *backups]) == 0, step
    override_rehearsals()
    capsys.readouterr()
    upgrade = ["session", "run", "upgrade", "--profile", "lab", *backups, "--yes"]
    assert main(upgrade) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    for node in ("n1", "n2"):  # each task's line: node, task, status, duration
        assert f"✓ {node}: Stop the service of the node — changed, " in out, out[-3000:]
        assert f"✓ {node}: Start the service of the node — changed, " in out
    assert "Ansible upgrade play: successful" in out
    assert [(n["version"], n["running"]) for n in control.nodes()] == [("1.8.2", True)] * 2
    with Journal() as journal:
        tasks = journal.events(types=["ansible.task"])
    assert {e.node for e in tasks} == {"n1", "n2"}
    assert main(["session", "run", "validate", "--profile", "lab", *backups]) == 0
    assert main(["session", "status", "--profile", "lab"]) == 0
    assert "done" in capsys.readouterr().out
