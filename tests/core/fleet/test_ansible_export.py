"""The Ansible export as data: inventory groups, batches, the steps of each play, the service
controls, and what it refuses; the playbooks pass `ansible-playbook --syntax-check`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.fleet.ansible_export import (
    ExportOptions,
    export_files,
    host_name,
    write_files,
)
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade


def ansible_playbook() -> str | None:
    """ansible-playbook beside this interpreter (the venv's, `.[ansible]`), else on PATH."""
    beside = Path(sys.executable).with_name("ansible-playbook")
    return str(beside) if beside.is_file() else shutil.which("ansible-playbook")


needs_ansible = pytest.mark.skipif(
    ansible_playbook() is None,
    reason="ansible-playbook is not installed (pip install -e '.[ansible]'; CI has it)",
)


def _profile(service: ServiceConfig, nodes: int = 3) -> Profile:
    return Profile(
        "prod",
        tuple(
            NodeEndpoint(
                f"http://10.0.0.{i}:8765",
                data_dir="/var/lib/themisdb",
                config_path="/etc/themisdb/config.yaml",
            )
            for i in range(1, nodes + 1)
        ),
        service=service,
    )


DEMO = ServiceConfig(kind="demo", control_url="http://127.0.0.1:9000")
SYSTEMD = ServiceConfig(kind="systemd", unit="themisdb")
COMMANDS = ServiceConfig(
    kind="commands",
    stop="ssh {node} sudo systemctl stop themisdb",
    start="ssh {node} sudo systemctl start themisdb",
    install="ssh {node} sudo apt-get install -y themisdb={version}",
)


def _files(service: ServiceConfig, to: str = "1.9", **options) -> dict[str, object]:
    plan = plan_upgrade(load_catalogue(), "1.7.0", to)
    texts = export_files(_profile(service), plan, ExportOptions(**options))
    return {name: yaml.safe_load(text) for name, text in texts.items()}


def _tasks(play: dict) -> list[dict]:
    """The play's tasks with its blocks' tasks and rescues in order."""
    found = []
    for task in play["tasks"]:
        found.append(task)
        found += task.get("block", []) + task.get("rescue", [])
    return found


def test_a_playbook_per_hop_and_an_inventory_grouped_by_role():
    files = _files(DEMO)
    assert list(files) == ["inventory.yml", "upgrade-1.7.0-1.8.2.yml", "upgrade-1.8.2-1.9.1.yml"]
    inventory = files["inventory.yml"]["all"]
    hosts = inventory["children"]["themisdb"]["children"]["nodes"]["hosts"]
    assert list(hosts) == ["10.0.0.1_8765", "10.0.0.2_8765", "10.0.0.3_8765"]
    assert hosts["10.0.0.1_8765"]["themis_url"] == "http://10.0.0.1:8765"
    assert hosts["10.0.0.1_8765"]["themis_port"] == 8765
    assert inventory["vars"]["ansible_connection"] == "local"  # the demo's nodes run here
    assert inventory["vars"]["themis_control_url"] == "http://127.0.0.1:9000"

    canary = _files(DEMO, strategy="canary", canary_steps=(10, 50, 100))
    groups = canary["inventory.yml"]["all"]["children"]["themisdb"]["children"]
    assert list(groups["canary"]["hosts"]) == ["10.0.0.1_8765"]
    assert list(groups["stable"]["hosts"]) == ["10.0.0.2_8765", "10.0.0.3_8765"]
    assert canary["upgrade-1.7.0-1.8.2.yml"][0]["serial"] == ["10%", "50%", "100%"]


def test_the_upgrade_play_follows_the_session_rules_in_order():
    upgrade, rollback = _files(DEMO)["upgrade-1.7.0-1.8.2.yml"]
    assert upgrade["serial"] == 1 and upgrade["max_fail_percentage"] == 0
    assert upgrade["vars"]["themis_from"] == "1.7.0" and upgrade["vars"]["themis_to"] == "1.8.2"
    names = [t["name"] for t in _tasks(upgrade)]
    order = [
        "baseline",
        "Back up",
        "Verify the archive",
        "Stop",
        "Install",
        "Start",
        "/health/ready",
    ]
    order += ["/version", "Soak and gate", "Rollback 1/6", "Rollback 6/6", "Stop the rollout"]
    positions = [next(i for i, n in enumerate(names) if word in n) for word in order]
    assert positions == sorted(positions), names
    gate = next(t for t in _tasks(upgrade) if t["name"].startswith("Soak and gate"))
    assert "metrics watch" in gate["ansible.builtin.command"]["cmd"]
    steps = [n for n in names if n.startswith("Rollback")]
    assert steps[0].startswith("Rollback 1/6") and steps[-1].startswith("Rollback 6/6")
    assert {s.split(":")[0] for s in steps} == {f"Rollback {i}/6" for i in range(1, 7)}
    assert rollback["tags"] == ["never", "rollback"]  # only --tags rollback runs it
    restore = next(t for t in _tasks(rollback) if "restore the backup" in t["name"])
    assert "--binary-version {{ themis_from }} --yes" in restore["ansible.builtin.command"]["cmd"]


def test_service_controls_become_their_modules():
    demo = _tasks(_files(DEMO)["upgrade-1.7.0-1.8.2.yml"][0])
    stop = next(t for t in demo if t["name"].startswith("Stop the service"))
    assert stop["ansible.builtin.uri"]["url"].endswith("/nodes/{{ themis_port }}/stop")

    systemd = _tasks(_files(SYSTEMD)["upgrade-1.7.0-1.8.2.yml"][0])
    stop = next(t for t in systemd if t["name"].startswith("Stop the service"))
    assert stop["ansible.builtin.systemd"] == {"name": "themisdb", "state": "stopped"}
    install = next(t for t in systemd if t["name"].startswith("Install"))
    assert install["ansible.builtin.package"]["name"] == "{{ themis_package }}={{ themis_to }}"

    commands = _tasks(_files(COMMANDS)["upgrade-1.7.0-1.8.2.yml"][0])
    install = next(t for t in commands if t["name"].startswith("Install"))
    assert install["ansible.builtin.shell"] == (
        "ssh {{ themis_node }} sudo apt-get install -y themisdb={{ themis_to }}"
    )
    manual = _tasks(_files(ServiceConfig())["upgrade-1.7.0-1.8.2.yml"][0])
    assert "ansible.builtin.pause" in next(t for t in manual if t["name"].startswith("Start"))


def test_gate_options_reach_the_watch_command():
    upgrade = _files(DEMO, soak=6, interval=0.5, min_samples=12, thresholds=(("probe_ms", 10.0),))[
        "upgrade-1.7.0-1.8.2.yml"
    ][0]
    gate = next(t for t in _tasks(upgrade) if t["name"].startswith("Soak and gate"))
    cmd = gate["ansible.builtin.command"]["cmd"]
    assert "--min-samples 12" in cmd and "--threshold probe_ms=10" in cmd
    assert upgrade["vars"]["themis_soak_seconds"] == 6
    assert upgrade["vars"]["themis_gate_interval"] == 0.5


def test_what_an_export_refuses():
    with pytest.raises(ValueError, match="the gate needs 50"):
        ExportOptions(soak=10, interval=1)  # 10 samples a side
    with pytest.raises(ValueError, match="blue-green"):
        ExportOptions(strategy="blue-green")  # type: ignore[arg-type]
    plan = plan_upgrade(load_catalogue(), "1.7.0", "1.8")
    no_data = Profile("p", (NodeEndpoint("http://db1:8765"),), service=DEMO)
    with pytest.raises(ValueError, match="no data dir"):
        export_files(no_data, plan, ExportOptions())
    assert host_name(NodeEndpoint("http://db1:8765")) == "db1_8765"


@needs_ansible
@pytest.mark.parametrize("service", [DEMO, SYSTEMD, COMMANDS], ids=["demo", "systemd", "commands"])
def test_every_playbook_passes_the_syntax_check(tmp_path, service):
    plan = plan_upgrade(load_catalogue(), "1.7.0", "1.9")
    files = export_files(_profile(service), plan, ExportOptions(strategy="canary"))
    write_files(tmp_path, files)
    for name in files:
        if name == "inventory.yml":
            continue
        result = subprocess.run(
            [ansible_playbook(), "--syntax-check", "-i", "inventory.yml", name],
            cwd=tmp_path,
            env=ansible_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def ansible_env(tmp_path: Path) -> dict[str, str]:
    """The environment for ansible-playbook: a UTF-8 locale (ansible-core needs one), its
    temporary files and settings under `tmp_path`, no colours."""
    import os

    return {
        **os.environ,
        "LC_ALL": "C.UTF-8",
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "PYTHONWARNINGS": "ignore",
    }
