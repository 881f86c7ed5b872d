"""Service control: the demo API over real HTTP, real shell commands, a fake systemctl, confirm."""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import wait_until
from tests.core.loopback import free_port
from themis_desktop.core.connection.profiles import NodeEndpoint
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.service.control import OUTPUT_LIMIT, ServiceError, controller_for
from themis_desktop.demo import DemoCluster
from themis_desktop.demo.control import DemoControl

NODE = NodeEndpoint("http://127.0.0.1:8765", name="node-1", data_dir="/srv/themis data")


def gone(pid: int) -> bool:
    """The process has exited (a zombie nobody reaped counts as exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


# -- demo ------------------------------------------------------------------------------


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[DemoCluster, DemoControl]]:
    cluster = DemoCluster(tmp_path, nodes=1, version="1.7.3", data_size_mb=1, workload=False)
    with cluster, DemoControl(cluster) as control:
        yield cluster, control


def test_demo_controller_stops_installs_and_starts_a_node_by_its_port(demo):
    cluster, control = demo
    node = NodeEndpoint(cluster.urls[0], name="db-a")  # the profile's name, not the cluster's
    service = controller_for(ServiceConfig("demo", control_url=control.url))
    port = cluster.nodes[0].port
    assert service.describe("install", node, "1.8.0") == (
        f"demo instance: install 1.8.0 on the node on port {port} (db-a)"
    )
    step = service.stop(node)
    assert step.returncode == 0 and step.command == f"POST {control.url}/nodes/{port}/stop"
    with pytest.raises(httpx.ConnectError):
        httpx.get(node.url + "/health")
    assert '"installed": "1.8.0"' in service.install(node, "1.8.0").output
    service.run("start", node)
    with httpx.Client(base_url=node.url, follow_redirects=True) as client:
        assert client.get("/version").json()["version"] == "1.8.0"


def test_demo_controller_errors_say_what_to_do(demo):
    cluster, control = demo
    service = controller_for(ServiceConfig("demo", control_url=control.url))
    stranger = NodeEndpoint(f"http://127.0.0.1:{free_port()}", name="db-x")
    with pytest.raises(ServiceError, match="do not belong to this demo instance") as info:
        service.stop(stranger)
    assert "HTTP 404" in str(info.value)
    with pytest.raises(ServiceError, match="not a server version"):
        service.install(NodeEndpoint(cluster.urls[0]), "latest")
    dead = controller_for(ServiceConfig("demo", control_url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(ServiceError, match=r"does not answer.*Restart the demo instance"):
        dead.stop(NodeEndpoint(cluster.urls[0]))
    assert cluster.nodes[0].running


# -- commands ------------------------------------------------------------------------


def test_commands_fill_in_quoted_placeholders_that_cannot_inject(tmp_path):
    log = tmp_path / "args.log"
    fields = "{node} {data_dir} {config} {url}"
    stop = f"echo stopping; printf '%s\\n' {fields} >> {log}"
    install = f"printf '%s\\n' {{version}} {fields} >> {log}"
    service = controller_for(ServiceConfig("commands", stop=stop, start="true", install=install))
    evil = NodeEndpoint(
        "http://127.0.0.1:8765",
        name=f"a b; touch {tmp_path}/PWNED",
        data_dir=str(tmp_path / "$(touch PWNED2)"),
        config_path="/etc/themisdb/config.yaml",
    )
    step = service.stop(evil)
    assert step.returncode == 0 and step.output == "stopping\n" and step.seconds < 10
    assert step.command.startswith("echo stopping; printf")
    service.install(evil, "1.8.0")
    assert not (tmp_path / "PWNED").exists() and not list(tmp_path.rglob("PWNED2"))
    lines = log.read_text().splitlines()
    assert lines == [
        evil.name,
        evil.data_dir,
        "/etc/themisdb/config.yaml",
        "http://127.0.0.1:8765",
        "1.8.0",
        evil.name,
        evil.data_dir,
        "/etc/themisdb/config.yaml",
        "http://127.0.0.1:8765",
    ]


def test_commands_describe_the_exact_command():
    service = controller_for(
        ServiceConfig("commands", stop="ssh {node} stop", start="x", install="pkg {version}")
    )
    assert service.describe("stop", NODE) == "ssh node-1 stop"
    assert service.describe("install", NODE, "1.8.0") == "pkg 1.8.0"
    assert service.describe("install", NodeEndpoint(NODE.url), None) == "pkg {version}"


def test_a_missing_placeholder_value_stops_before_running(tmp_path):
    marker = tmp_path / "ran"
    service = controller_for(
        ServiceConfig("commands", stop=f"touch {marker} {{config}}", start="true")
    )
    with pytest.raises(ServiceError, match="has no config file in the profile"):
        service.stop(NODE)
    assert not marker.exists()
    uses_version = controller_for(ServiceConfig("commands", stop="echo {version}", start="true"))
    with pytest.raises(ServiceError, match="only the install step has"):
        uses_version.stop(NODE)


def test_a_failing_command_reports_exit_code_and_output():
    service = controller_for(
        ServiceConfig(
            "commands", stop="echo to-stdout; echo to-stderr >&2; exit 3", start="kill -9 $$"
        )
    )
    with pytest.raises(ServiceError) as info:
        service.stop(NODE)
    message = str(info.value)
    assert "failed with exit code 3 on node-1 (http://127.0.0.1:8765)" in message
    assert "to-stdout" in message and "to-stderr" in message  # the last lines
    assert info.value.output == "to-stdout\nto-stderr\n"
    assert info.value.command.startswith("echo to-stdout")
    with pytest.raises(ServiceError, match="killed by signal 9"):
        service.start(NODE)


def test_a_command_that_hangs_is_ended_with_its_children(tmp_path):
    pid_file = tmp_path / "pid"
    service = controller_for(
        ServiceConfig(
            "commands", stop=f"echo waiting; sleep 60 & echo $! > {pid_file}; wait", start="true"
        ),
        timeout=0.5,
    )
    started = time.monotonic()
    with pytest.raises(ServiceError, match=r"did not finish within 0\.5 s") as info:
        service.stop(NODE)
    assert time.monotonic() - started < 5
    assert info.value.output == "waiting\n"
    pid = int(pid_file.read_text())
    wait_until(lambda: gone(pid), what=f"the stopped service's process {pid} ends")


def test_a_daemon_left_running_does_not_hold_up_the_step(tmp_path):
    pid_file = tmp_path / "pid"
    daemon = f"(sleep 30; echo late) & echo $! > {shlex.quote(str(pid_file))}; echo started"
    service = controller_for(ServiceConfig("commands", stop="true", start=daemon), timeout=20)
    try:
        step = service.start(NODE)
        assert step.output == "started\n" and step.seconds < 5
    finally:
        os.kill(int(pid_file.read_text()), 9)


def test_output_keeps_the_last_64_kib():
    chatty = "head -c 200000 /dev/zero | tr '\\0' x; echo; echo THE-END"
    step = controller_for(ServiceConfig("commands", stop=chatty, start="true")).stop(NODE)
    assert len(step.output.encode()) <= OUTPUT_LIMIT
    assert step.output.endswith("x\nTHE-END\n") and step.output.startswith("xxx")


def test_commands_without_an_install_command_ask_the_user():
    asked: list[str] = []
    service = controller_for(
        ServiceConfig("commands", stop="true", start="true"),
        confirm=lambda text: asked.append(text) or True,
    )
    assert service.install(NODE, "1.8.0").returncode == 0
    assert asked == ["Install ThemisDB 1.8.0 on node-1 (http://127.0.0.1:8765), then confirm."]


# -- systemd -------------------------------------------------------------------------


@pytest.fixture
def fake_systemctl(tmp_path: Path, monkeypatch) -> Path:
    """A `systemctl` on PATH that records its arguments and fails for the unit `broken`."""
    bin_dir, log = tmp_path / "bin", tmp_path / "systemctl.log"
    bin_dir.mkdir()
    script = bin_dir / "systemctl"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {shlex.quote(str(log))}\n'
        'if [ "$2" = broken ]; then echo "Job for broken.service failed." >&2; exit 5; fi\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_systemd_runs_systemctl_for_the_unit(fake_systemctl, tmp_path):
    service = controller_for(
        ServiceConfig("systemd", unit="themisdb", install=f"echo {{version}} > {tmp_path}/v")
    )
    assert service.describe("stop", NODE) == "systemctl stop themisdb"
    assert service.stop(NODE).command == "systemctl stop themisdb"
    service.install(NODE, "1.8.0")
    service.start(NODE)
    assert fake_systemctl.read_text().splitlines() == ["stop themisdb", "start themisdb"]
    assert (tmp_path / "v").read_text() == "1.8.0\n"


def test_systemd_failures_and_manual_install(fake_systemctl, monkeypatch):
    broken = controller_for(ServiceConfig("systemd", unit="broken"))
    with pytest.raises(ServiceError, match="failed with exit code 5") as info:
        broken.start(NODE)
    assert "Job for broken.service failed." in info.value.output
    with pytest.raises(ServiceError, match="Nobody can confirm it here"):
        broken.install(NODE, "1.8.0")
    answers: list[str] = []
    asks = controller_for(
        ServiceConfig("systemd"), confirm=lambda text: answers.append(text) or False
    )
    with pytest.raises(ServiceError, match="Cancelled"):
        asks.install(NODE, "1.8.0")
    assert answers == ["Install ThemisDB 1.8.0 on node-1 (http://127.0.0.1:8765), then confirm."]
    with pytest.raises(ServiceError, match="not a systemd unit name"):
        controller_for(ServiceConfig("systemd", unit="-H evil")).stop(NODE)
    monkeypatch.setenv("PATH", str(fake_systemctl.parent / "empty"))
    with pytest.raises(ServiceError, match="systemctl was not found"):
        controller_for(ServiceConfig("systemd")).stop(NODE)


# -- manual --------------------------------------------------------------------------


def test_manual_control_asks_for_each_step():
    asked: list[str] = []
    service = controller_for(ServiceConfig(), confirm=lambda text: asked.append(text) or True)
    for action in ("stop", "install", "start"):
        step = service.run(action, NODE, "1.8.0")
        assert step.returncode == 0 and step.command.startswith("by hand: ")
    assert asked == [
        "Stop the ThemisDB service on node-1 (http://127.0.0.1:8765), then confirm.",
        "Install ThemisDB 1.8.0 on node-1 (http://127.0.0.1:8765), then confirm.",
        "Start the ThemisDB service on node-1 (http://127.0.0.1:8765), then confirm.",
    ]
    assert service.describe("stop", NODE) == asked[0]


def test_manual_control_refused_or_without_anyone_to_ask():
    no = controller_for(ServiceConfig("manual"), confirm=lambda text: False)
    with pytest.raises(ServiceError, match=r"^Cancelled: “Stop the ThemisDB service"):
        no.stop(NODE)
    nobody = controller_for(ServiceConfig("manual"))
    with pytest.raises(ServiceError, match=r"confirm the steps \(--yes\)"):
        nobody.start(NODE)
