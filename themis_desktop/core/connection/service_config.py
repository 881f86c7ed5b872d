"""How the app stops, starts and installs a profile's ThemisDB service (per profile).

- `demo`: the demo-server's control endpoint stops/starts nodes and swaps their version.
- `systemd`: `systemctl stop|start UNIT` on this host; installing a version is a command
  (`install`) or the user's job.
- `commands`: user-configured shell commands; `{node}`, `{url}`, `{version}`, `{data_dir}` and
  `{config}` are filled in.
- `manual`: the app shows each step and waits for the user to confirm it is done.
Any kind may add a `check` command, run for each node when a hop is validated (a read of
known keys, a smoke test); a non-zero exit fails the validation. systemd and commands may
name the installed `binary`: its `--version` is read before a node starts on a new version
(core/service/installed_version.py). A `commands` profile may name the server's `pid_file`: the
stop then makes sure the process ends (SIGTERM, SIGKILL after `stop_timeout` s; the real
1.0.x server never exits on SIGTERM). `write_check` lets readiness and validation write and
read back a test key (core/server/data_check.py); without it they only read.
Any kind may name a rehearsal host (`rehearsal_start`/`rehearsal_stop` commands with
{data_dir}, {version}, {port}; core/rehearsal/host.py); the demo has its own.
- `ansible`: the session's upgrade and rollback steps run as ansible-runner jobs of the hop's
  exported playbook (core/fleet/ansible_run.py); its tasks stop, start and install through
  `ansible_control` (one of the kinds above, with that kind's settings), which the app's own
  steps (a restore, a readiness wait) use too (`controlled()`). `ansible_dir` holds the runs
  (default: the data folder's `ansible/`); `ansible_soak`, `ansible_interval` and
  `ansible_min_samples` are each node's gate in the play.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Literal, Self

Kind = Literal["demo", "systemd", "commands", "manual", "ansible"]
KINDS: tuple[Kind, ...] = ("manual", "systemd", "commands", "demo")  # the app's own controls
ALL_KINDS: tuple[Kind, ...] = (*KINDS, "ansible")  # and the executor that runs one of them


class StoredConfig:
    """A profile's settings dataclass as the journal stores it: JSON, unknown keys ignored
    (a newer app may have added some), missing ones at their defaults."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)  # type: ignore[call-overload]

    @classmethod
    def from_json(cls, text: str | None) -> Self:
        if not text:
            return cls()
        data = json.loads(text)
        fields = cls.__dataclass_fields__  # type: ignore[attr-defined]
        return cls(**{k: v for k, v in data.items() if k in fields})


@dataclass(frozen=True)
class ServiceConfig(StoredConfig):
    kind: Kind = "manual"
    unit: str = "themisdb"  # systemd
    stop: str = ""  # commands (and systemd's install)
    start: str = ""
    install: str = ""
    reload: str = ""  # commands: SIGHUP to the server (1.8+ re-reads TLS certificates)
    control_url: str = ""  # demo
    binary: str = ""  # systemd/commands: installed themis_server ({node} allowed): --version
    check: str = ""  # any kind: run per node after an upgrade (e.g. a read of known keys)
    pid_file: str = ""  # commands: the server's pid ({node} allowed): stop ends it for sure
    stop_timeout: float = 30.0  # commands: seconds after SIGTERM before SIGKILL (pid_file)
    write_check: bool = False  # readiness/validation may write and read back a test key
    # a dress rehearsal's host (core/rehearsal/host.py): shell commands that start and stop
    # the hop's target on a copy ({data_dir} {version} {port} {node} {folder}), and its URL
    rehearsal_start: str = ""
    rehearsal_stop: str = ""
    rehearsal_url: str = ""  # default http://127.0.0.1:{port}
    # ansible: the control of the playbook's stop/install/start tasks, where runs are kept,
    # and each node's gate in the play (0 samples: the watch's own minimum)
    ansible_control: str = ""
    ansible_dir: str = ""
    ansible_soak: float = 60.0
    ansible_interval: float = 1.0
    ansible_min_samples: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ALL_KINDS:
            raise ValueError(
                f"unknown service control {self.kind!r} (one of {', '.join(ALL_KINDS)})"
            )
        if self.kind == "ansible":
            if self.ansible_control not in KINDS:
                raise ValueError(
                    "service control 'ansible' needs the control its tasks use (one of "
                    f"{', '.join(KINDS)}), not {self.ansible_control or 'none'!r}"
                )
            if not 0 < self.ansible_interval <= self.ansible_soak <= 86400:
                raise ValueError("the Ansible gate's soak is above 0 s and its interval up to it")
            self.controlled()  # that control's own settings are checked too
        if self.kind == "commands" and not ((self.stop or self.pid_file) and self.start):
            raise ValueError(
                "service control 'commands' needs a start command, and a stop command or a pid file"
            )
        if not 0 < self.stop_timeout <= 3600:
            raise ValueError("the stop timeout is between 0 and 3600 seconds")
        if self.kind == "demo" and not self.control_url:
            raise ValueError("service control 'demo' needs the demo-server's control URL")

    @property
    def executor(self) -> str:
        """Who runs the upgrade and rollback steps: "ansible", or "app" (this program)."""
        return "ansible" if self.kind == "ansible" else "app"

    def controlled(self) -> ServiceConfig:
        """The control that stops, starts and installs: itself, or an `ansible` profile's
        `ansible_control` with the same settings."""
        if self.kind != "ansible":
            return self
        return replace(self, kind=self.ansible_control)  # type: ignore[arg-type]
