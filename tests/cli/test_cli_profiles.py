"""`themis-desktop profiles add` sets up everything the Connection dialog can, and
`profiles show` prints it back: every setting, whether a token is stored, never the token."""

from __future__ import annotations

import json

import keyring
import pytest
from keyring.backend import KeyringBackend

from themis_desktop.cli import main
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal

TOKEN = "s3cret-admin-token-42"


class DictKeyring(KeyringBackend):
    """A real keyring backend kept in a dict (no OS keyring on CI)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        self.store.pop((service, username), None)


@pytest.fixture
def os_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(DictKeyring())
    yield
    keyring.set_keyring(previous)


def test_a_profile_made_only_on_the_command_line_passes_the_session_pre_checks(
    capsys, controlled_cluster
):
    """Names, data dirs and config files from the command line (`{node}` is the name
    given with --name): the session's pre-checks find every node and its data dir."""
    cluster, control, _ = controlled_cluster(nodes=2)
    base = cluster.base_dir
    assert [node.data_path for node in cluster.nodes] == [
        base / "node-1" / "data",
        base / "node-2" / "data",
    ]
    command = ["profiles", "add", "cli-lab", *cluster.urls]
    command += ["--name", "node-1", "--name", "node-2"]
    command += ["--data-dir", f"{base}/{{node}}/data", "--config", f"{base}/{{node}}/config.yaml"]
    command += ["--service", "demo", "--control-url", control.url]
    assert main(command) == 0
    assert "saved profile 'cli-lab' with 2 node(s)" in capsys.readouterr().out

    assert main(["session", "start", "--profile", "cli-lab", "--to", "1.8"]) == 0
    assert "1.7.0 → 1.8" in capsys.readouterr().out
    assert main(["session", "run", "pre-checks", "--profile", "cli-lab"]) == 0
    with Journal() as journal:
        checks = journal.events(types=["hop.check"])
    failed = [e.message for e in checks if not e.data["ok"]]
    assert not failed, failed
    assert {e.node for e in checks} == {"node-1", "node-2"}


def test_profiles_show_prints_every_setting_the_dialog_has(capsys, tmp_path, monkeypatch):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("LAB_TOKEN", TOKEN)
    command = ["profiles", "add", "lab", "https://db1:8765", "https://db2:8765"]
    command += ["--name", "db1", "--name", "db2", "--version-override", "1.2.0"]
    command += ["--data-dir", "/srv/{node}/data", "--config", "/etc/themisdb/{node}.yaml"]
    command += ["--log", "journald:themisdb", "--ca-file", str(ca), "--token-env", "LAB_TOKEN"]
    command += ["--service", "systemd", "--unit", "themis", "--install-cmd", "apt {version}"]
    command += ["--binary", "/opt/{node}/themis_server"]
    command += ["--check-cmd", "./check {url}", "--router", "commands", "--router-cmd", "./lb"]
    command += ["--rehearsal-start-cmd", "./copy {data_dir} {version} {port}"]
    command += ["--rehearsal-stop-cmd", "./uncopy {port}"]
    assert main(command) == 0
    capsys.readouterr()

    assert main(["profiles", "show", "lab", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["nodes"] == [
        {
            "name": name,
            "url": f"https://{name}:8765",
            "data_dir": f"/srv/{name}/data",
            "config": f"/etc/themisdb/{name}.yaml",
            "version_override": "1.2.0",
            "log_source": "journald:themisdb",
        }
        for name in ("db1", "db2")
    ]
    assert shown["tls"] == {"verify": True, "ca_file": str(ca)}
    assert shown["service"] == {
        "kind": "systemd",
        "unit": "themis",
        "stop": "",
        "start": "",
        "install": "apt {version}",
        "reload": "",
        "control_url": "",
        "check": "./check {url}",
        "binary": "/opt/{node}/themis_server",
        "pid_file": "",
        "stop_timeout": 30.0,
        "write_check": False,
        "rehearsal_start": "./copy {data_dir} {version} {port}",
        "rehearsal_stop": "./uncopy {port}",
        "rehearsal_url": "",
        "ansible_control": "",  # --service ansible only
        "ansible_dir": "",
        "ansible_soak": 60.0,
        "ansible_interval": 1.0,
        "ansible_min_samples": 0,
    }
    assert shown["router"] == {"kind": "commands", "control_url": "", "command": "./lb"}
    assert shown["uses_auth"] is True and shown["token_stored"] is False  # no OS keyring here

    assert main(["profiles", "show", "lab"]) == 0
    text = capsys.readouterr().out
    for expected in (
        "node db2: https://db2:8765",
        "data dir:  /srv/db2/data",
        "config:    /etc/themisdb/db2.yaml",
        "version:   1.2.0 (set in the profile)",
        "log:       journald:themisdb",
        f"TLS: certificates verified with the CA file {ca}",
        "token: needed, none stored here",
        "service control: systemd",
        "unit: themis",
        "check: ./check {url}",
        "binary: /opt/{node}/themis_server",
        "traffic router: commands ./lb",
    ):
        assert expected in text, expected


def test_profiles_show_says_a_token_is_stored_and_never_prints_it(capsys, monkeypatch, os_keyring):
    monkeypatch.setenv("LAB_TOKEN", TOKEN)
    assert main(["profiles", "add", "lab", "http://db1:8765", "--token-env", "LAB_TOKEN"]) == 0
    monkeypatch.delenv("LAB_TOKEN")
    for extra in ([], ["--json"]):
        assert main(["profiles", "show", "lab", *extra]) == 0
        out = capsys.readouterr().out
        assert TOKEN not in out and "s3cret" not in out
    assert json.loads(out)["token_stored"] is True
    assert main(["profiles", "show", "lab"]) == 0
    assert "token: stored on this computer" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--name", "a", "--name", "b", "--name", "c"], "--name: give one for every node or one"),
        (["--name", "same"], "two nodes have the same name"),
        (["--name", "same", "--name", "same"], "two nodes have the same name"),
        (["--name", " ", "--name", "b"], "--name of 10.0.0.1:8765: a node's name cannot be empty"),
        (["--version-override", "latest"], "'latest' is not a version number"),
        (["--ca-file", "/nonexistent/ca.pem"], "the CA file /nonexistent/ca.pem does not exist"),
    ],
)
def test_profiles_add_refuses_what_the_dialog_refuses(capsys, options, message):
    urls = ["http://10.0.0.1:8765", "http://10.0.0.2:8765"]
    assert main(["profiles", "add", "bad", *urls, *options]) == 2
    assert message in capsys.readouterr().err
    with Journal() as journal:
        assert profile_store.get(journal, "bad") is None


def test_profiles_show_of_a_missing_profile_exits_1(capsys):
    assert main(["profiles", "show", "nowhere"]) == 1
    assert "no profile named 'nowhere'" in capsys.readouterr().err
