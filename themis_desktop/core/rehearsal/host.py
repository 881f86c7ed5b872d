"""Where a dress rehearsal's copy runs: a rehearsal host starts the hop's target version on
a copy of a node's data (a scratch folder) and stops it again. Production is never touched.

- `DemoHost`: the demo instance's control API (`POST /rehearsals`, `POST
  /rehearsals/<port>/stop`, see themis_desktop/demo/control.py): one extra demo node with
  the options of the node it copies (so a misbehaving version misbehaves on the copy too).
- `CommandsHost`: the profile's service config names a rehearsal start and stop command
  (`rehearsal_start`, `rehearsal_stop`) with `{data_dir}` (the restored data folder),
  `{version}`, `{port}` (a free port on this computer), `{node}` and `{folder}` (the copy's
  scratch folder, for its pid and log files); the copy is reached at `rehearsal_url`
  (default `http://127.0.0.1:{port}`) and its log, if any, is `{folder}/themis_server.log`.
- systemd and manual control without rehearsal commands: `host_for` says what to set.
"""

from __future__ import annotations

import re
import shlex
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx

from themis_desktop.core.connection.profiles import NodeEndpoint
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.service.control import run_command
from themis_desktop.core.service.errors import ServiceError
from themis_desktop.core.upgrade.session import SessionError

START_TIMEOUT_S = 120.0


class RehearsalError(SessionError):
    """A rehearsal cannot run (no backup, no rehearsal host, a copy that does not start);
    the message says what happened and what to do."""


@dataclass
class Copy:
    """A running copy: where it answers, its scratch folder, its log file (if known)."""

    node: str  # the production node it copies
    url: str
    port: int
    folder: Path
    log: Path | None = None
    handle: dict[str, str] = field(default_factory=dict)  # what the host needs to stop it


class RehearsalHost(Protocol):
    kind: str

    def start(self, node: NodeEndpoint, folder: Path, data_dir: Path, version: str) -> Copy: ...
    def stop(self, copy: Copy) -> None: ...


class DemoHost:
    """The demo instance's control API."""

    kind = "demo"

    def __init__(self, control_url: str, timeout: float = 60.0) -> None:
        self.control_url = control_url.rstrip("/")
        self.timeout = timeout

    def _post(self, path: str, body: dict | None = None) -> dict:
        url = f"{self.control_url}{path}"
        try:
            with httpx.Client(timeout=httpx.Timeout(self.timeout, connect=5.0)) as client:
                response = client.post(url, json=body or {})
        except httpx.HTTPError as exc:
            raise RehearsalError(
                f"The demo instance's control API at {self.control_url} does not answer "
                f"({type(exc).__name__}). Restart the demo instance, then rehearse again."
            ) from None
        try:
            data = response.json()
        except ValueError:
            data = {"error": response.text[:300]}
        if response.is_error:
            raise RehearsalError(
                f"The demo instance refused POST {path}: {data.get('error', data)} "
                f"(HTTP {response.status_code}). Connect to the demo instance again (the "
                "profile's nodes may belong to another one), then rehearse again."
            )
        return data if isinstance(data, dict) else {}

    def start(self, node: NodeEndpoint, folder: Path, data_dir: Path, version: str) -> Copy:
        port = httpx.URL(node.url).port or 80
        if data_dir != folder / "data":
            raise RehearsalError(f"The demo keeps a node's data in <folder>/data, not {data_dir}.")
        answer = self._post(
            "/rehearsals", {"data_dir": str(folder), "version": version, "like": port}
        )
        return Copy(
            node.name,
            str(answer["url"]),
            int(answer["port"]),
            folder,
            folder / "themis_server.log",
            {"port": str(answer["port"])},
        )

    def stop(self, copy: Copy) -> None:
        self._post(f"/rehearsals/{copy.handle['port']}/stop")


_PLACEHOLDER = re.compile(r"\{(data_dir|version|port|node|folder)\}")


def fill(template: str, values: dict[str, str]) -> str:
    """`template` with {data_dir} {version} {port} {node} {folder} shell-quoted."""
    return _PLACEHOLDER.sub(lambda m: shlex.quote(values[m[1]]), template)


def free_port() -> int:
    """A free TCP port on loopback (the copy binds it soon after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CommandsHost:
    """The profile's rehearsal start and stop commands (module docstring)."""

    kind = "commands"

    def __init__(self, config: ServiceConfig, timeout: float = START_TIMEOUT_S) -> None:
        self.start_template = config.rehearsal_start
        self.stop_template = config.rehearsal_stop
        self.url_template = config.rehearsal_url or "http://127.0.0.1:{port}"
        self.timeout = timeout

    def start(self, node: NodeEndpoint, folder: Path, data_dir: Path, version: str) -> Copy:
        port = free_port()
        values = {
            "data_dir": str(data_dir),
            "version": version,
            "port": str(port),
            "node": node.name,
            "folder": str(folder),
        }
        command = fill(self.start_template, values)
        try:
            run_command(["/bin/sh", "-c", command], command, node, "rehearsal start", self.timeout)
        except ServiceError as exc:
            raise RehearsalError(
                f"The rehearsal start command failed for the copy of {node.name}: {exc}"
            ) from None
        url = self.url_template.replace("{port}", str(port))
        return Copy(node.name, url, port, folder, folder / "themis_server.log", values)

    def stop(self, copy: Copy) -> None:
        command = fill(self.stop_template, copy.handle)
        node = NodeEndpoint(copy.url, name=f"{copy.node} (copy)")
        try:
            run_command(["/bin/sh", "-c", command], command, node, "rehearsal stop", self.timeout)
        except ServiceError as exc:
            raise RehearsalError(
                f"The rehearsal stop command failed for the copy of {copy.node}: {exc} Stop "
                f"the copy on port {copy.port} by hand."
            ) from None


def host_for(config: ServiceConfig) -> RehearsalHost:
    """The rehearsal host of a profile's service config; RehearsalError saying what to set
    when it has none."""
    if config.rehearsal_start and config.rehearsal_stop:
        return CommandsHost(config)
    config = config.controlled()
    if config.kind == "demo":
        return DemoHost(config.control_url)
    what = {
        "systemd": "systemd control has no second unit for rehearsals yet",
        "manual": "manual control cannot start a copy by itself",
        "commands": "the profile's commands have no rehearsal start and stop command",
    }.get(config.kind, "this service control has no rehearsal host")
    raise RehearsalError(
        f"There is nowhere to rehearse: {what}. Set a rehearsal start and stop command in the "
        "profile's service control (with {data_dir}, {version} and {port}, e.g. a container "
        "or a second themis_server on this computer), or override the rehearsal gate with a "
        "note."
    )
