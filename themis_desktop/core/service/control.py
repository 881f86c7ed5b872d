"""Stop, start and install a node's ThemisDB service, as its profile's `ServiceConfig` says.

`controller_for(config, confirm=...)` gives a `ServiceController`; each step returns a
`StepOutput` (the captured output, never printed) or raises `ServiceError` with a message
for users. Steps a person does (manual control, installing without an install command) go
through `confirm(text) -> bool`, which the GUI shows as a dialog and the CLI as a prompt.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from themis_desktop.core.connection.profiles import NodeEndpoint
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.service import pid_stop
from themis_desktop.core.service.errors import ServiceError as ServiceError  # re-exported
from themis_desktop.core.service.installed_version import VersionReading as VersionReading
from themis_desktop.core.service.installed_version import installed_version as installed_version

Action = Literal["stop", "start", "install", "reload"]
Confirm = Callable[[str], bool]
logger = logging.getLogger(__name__)
OUTPUT_LIMIT = 64 * 1024  # bytes of output kept (the tail)
DEFAULT_TIMEOUT = 600.0
_PLACEHOLDER = re.compile(r"\{(node|version|data_dir|config|url)\}")
_RETRY = "Check the node, fix the cause, then retry the step or roll back."


@dataclass(frozen=True)
class StepOutput:
    """What one step ran, how it ended, its output (stdout+stderr, the last 64 KiB)."""

    command: str
    returncode: int
    output: str
    seconds: float


def label(node: NodeEndpoint) -> str:
    """`node-1 (http://db1:8765)`, or just the URL's host:port when that is its name."""
    return node.url if node.url.endswith("://" + node.name) else f"{node.name} ({node.url})"


_LOGGED_STEPS = ("stop", "start", "install", "reload")


def _logged(action: str, step: Callable[..., StepOutput]) -> Callable[..., StepOutput]:
    """`step` (a controller's stop, start, install or reload) with its start and its end
    in the app's log file."""

    @functools.wraps(step)
    def logged(self: ServiceController, node: NodeEndpoint, *args: Any) -> StepOutput:
        what = f"{action} {args[0]}" if args else action
        logger.info("Service %s on %s (%s control) …", what, label(node), self.kind or "?")
        try:
            out = step(self, node, *args)
        except Exception as exc:
            logger.warning("Service %s on %s failed: %s", what, label(node), exc)
            raise
        logger.info(
            "Service %s on %s done in %.1f s: %s (exit %s)",
            what,
            label(node),
            out.seconds,
            out.command,
            out.returncode,
        )
        return out

    logged._themis_logged = True  # type: ignore[attr-defined]
    return logged


class ServiceController(ABC):
    """Stops, starts and installs nodes; `describe` says what a step will do. Every
    controller's stop, start, install and reload is logged (`__init_subclass__`)."""

    kind: str = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for action in _LOGGED_STEPS:
            step = cls.__dict__.get(action)
            if callable(step) and not getattr(step, "_themis_logged", False):
                setattr(cls, action, _logged(action, step))

    def __init__(self, confirm: Confirm | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.confirm = confirm
        self.timeout = timeout

    @abstractmethod
    def describe(self, action: Action, node: NodeEndpoint, version: str | None = None) -> str:
        """What `action` will do on `node`, e.g. "systemctl stop themisdb"."""

    @abstractmethod
    def stop(self, node: NodeEndpoint) -> StepOutput: ...

    @abstractmethod
    def start(self, node: NodeEndpoint) -> StepOutput: ...

    @abstractmethod
    def install(self, node: NodeEndpoint, version: str) -> StepOutput: ...

    def reload(self, node: NodeEndpoint) -> StepOutput:
        """SIGHUP to the node's process (1.8+ re-reads its TLS certificates); by hand here."""
        return self._by_hand(
            f"Send SIGHUP to ThemisDB on {label(node)} (systemctl reload themisdb, or "
            "kill -HUP <pid>), then confirm."
        )

    def run(self, action: Action, node: NodeEndpoint, version: str | None = None) -> StepOutput:
        """`stop`, `start` or `install` by name (`install` needs `version`)."""
        if action == "install":
            if not version:
                raise ValueError("install needs a version")
            return self.install(node, version)
        if action == "reload":
            return self.reload(node)
        return self.stop(node) if action == "stop" else self.start(node)

    def _by_hand(self, text: str) -> StepOutput:
        """Ask the user to do `text` and confirm; raise ServiceError if nobody can or does."""
        if self.confirm is None:
            raise ServiceError(
                f"This step is done by hand: {text} Nobody can confirm it here, so the app "
                "cannot go on. Run it from the GUI, confirm the steps (--yes) on the command "
                "line, or configure commands for the profile's service control."
            )
        started = time.monotonic()
        if not self.confirm(text):
            raise ServiceError(
                f"Cancelled: “{text}” was not confirmed. The step stopped here; the node is "
                f"as it was left. {_RETRY}"
            )
        return StepOutput(f"by hand: {text}", 0, "confirmed", time.monotonic() - started)


# -- manual -------------------------------------------------------------------------


class ManualController(ServiceController):
    """Every step is the user's: the app says what to do and waits for a confirmation."""

    kind = "manual"

    def describe(self, action: Action, node: NodeEndpoint, version: str | None = None) -> str:
        if action == "install":
            return f"Install ThemisDB {version} on {label(node)}, then confirm."
        return f"{action.capitalize()} the ThemisDB service on {label(node)}, then confirm."

    def stop(self, node: NodeEndpoint) -> StepOutput:
        return self._by_hand(self.describe("stop", node))

    def start(self, node: NodeEndpoint) -> StepOutput:
        return self._by_hand(self.describe("start", node))

    def install(self, node: NodeEndpoint, version: str) -> StepOutput:
        return self._by_hand(self.describe("install", node, version))


# -- commands -----------------------------------------------------------------------


def fill(template: str, node: NodeEndpoint, version: str | None, strict: bool = True) -> str:
    """`template` with {node} {version} {data_dir} {config} {url} shell-quoted.

    A placeholder without a value raises ServiceError (`strict`) or stays as it is.
    """
    values = {
        "node": node.name,
        "version": version,
        "data_dir": node.data_dir,
        "config": node.config_path,
        "url": node.url,
    }

    def value(match: re.Match[str]) -> str:
        text = values[match[1]]
        if text:
            return shlex.quote(text)
        if not strict:
            return match[0]
        if match[1] == "version":
            raise ServiceError(
                f"The command “{template}” uses {{version}}, which only the install step has. "
                "Take it out of the stop and start commands in the profile's service control."
            )
        what = "data dir" if match[1] == "data_dir" else "config file"
        raise ServiceError(
            f"The command “{template}” uses {match[0]}, but {label(node)} has no {what} in "
            f"the profile. Fill in the node's {what}, or take the placeholder out of the command."
        )

    return _PLACEHOLDER.sub(value, template)


class CommandsController(ServiceController):
    """The profile's own shell commands, run with `/bin/sh -c` on this host."""

    kind = "commands"

    def __init__(
        self,
        config: ServiceConfig,
        confirm: Confirm | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(confirm, timeout)
        self.config = config

    def _template(self, action: Action) -> str:
        return {
            "stop": self.config.stop,
            "start": self.config.start,
            "reload": self.config.reload,
        }.get(action, self.config.install)

    def describe(self, action: Action, node: NodeEndpoint, version: str | None = None) -> str:
        template = self._template(action)
        if action == "install" and not template:
            return ManualController().describe("install", node, version)
        if action == "stop" and self.config.pid_file:
            path = self.config.pid_file.replace("{node}", node.name)
            ends = f"SIGKILL after {self.config.stop_timeout:g} s if still running ({path})"
            first = fill(template, node, version, strict=False) if template else "SIGTERM"
            return f"{first}, then {ends}"
        return fill(template, node, version, strict=False)

    def _shell(self, action: Action, node: NodeEndpoint, version: str | None) -> StepOutput:
        command = fill(self._template(action), node, version)
        return run_command(["/bin/sh", "-c", command], command, node, action, self.timeout)

    def stop(self, node: NodeEndpoint) -> StepOutput:
        """The stop command; with a pid file, the process is then made to end (SIGTERM,
        SIGKILL after the profile's stop timeout)."""
        started = time.monotonic()
        out = self._shell("stop", node, None) if self.config.stop else None
        if not self.config.pid_file:
            assert out is not None  # ServiceConfig requires a stop command or a pid file
            return out
        path = Path(self.config.pid_file.replace("{node}", node.name))
        try:
            ended = pid_stop.end_process(
                path, self.config.stop_timeout, terminate=not self.config.stop
            )
        except pid_stop.PidFileError as exc:
            raise ServiceError(f"{label(node)}: {exc}", command=f"stop via {path}") from None
        command = out.command if out else f"kill -TERM $(cat {shlex.quote(str(path))})"
        output = (out.output + "\n" if out and out.output else "") + ended.text
        return StepOutput(command, 0, output, time.monotonic() - started)

    def start(self, node: NodeEndpoint) -> StepOutput:
        return self._shell("start", node, None)

    def install(self, node: NodeEndpoint, version: str) -> StepOutput:
        if not self.config.install:
            return self._by_hand(f"Install ThemisDB {version} on {label(node)}, then confirm.")
        return self._shell("install", node, version)

    def reload(self, node: NodeEndpoint) -> StepOutput:
        if not self.config.reload:
            return super().reload(node)
        return self._shell("reload", node, None)


# -- systemd ------------------------------------------------------------------------


class SystemdController(CommandsController):
    """`systemctl stop|start UNIT`; installing is the `install` command or the user's job."""

    kind = "systemd"

    def describe(self, action: Action, node: NodeEndpoint, version: str | None = None) -> str:
        if action == "install":
            return super().describe(action, node, version)
        return f"systemctl {action} {self.config.unit}"

    def _systemctl(self, action: Action, node: NodeEndpoint) -> StepOutput:
        unit = self.config.unit.strip()
        if not unit or unit.startswith("-") or any(c.isspace() for c in unit):
            raise ServiceError(
                f"“{self.config.unit}” is not a systemd unit name. Set the unit (e.g. themisdb) "
                "in the profile's service control."
            )
        systemctl = shutil.which("systemctl")
        if systemctl is None:
            raise ServiceError(
                "systemctl was not found on this computer's PATH: this host has no systemd, "
                "so the service cannot be controlled with it. Choose commands or manual "
                "control in the profile."
            )
        argv = [systemctl, action, unit]
        return run_command(argv, f"systemctl {action} {unit}", node, action, self.timeout)

    def stop(self, node: NodeEndpoint) -> StepOutput:
        return self._systemctl("stop", node)

    def start(self, node: NodeEndpoint) -> StepOutput:
        return self._systemctl("start", node)

    def reload(self, node: NodeEndpoint) -> StepOutput:
        # upstream's deploy/systemd/themisdb.service: ExecReload=/bin/kill -HUP $MAINPID
        return self._systemctl("reload", node)


# -- demo ---------------------------------------------------------------------------


class DemoController(ServiceController):
    """The demo-server's control API; a node is found by its URL's port."""

    kind = "demo"

    def __init__(self, control_url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(None, timeout)
        self.control_url = control_url.rstrip("/")

    @staticmethod
    def port(node: NodeEndpoint) -> int:
        import httpx  # not on the window's first-paint path

        url = httpx.URL(node.url)
        return url.port or (443 if url.scheme == "https" else 80)

    def _request_url(self, action: Action, node: NodeEndpoint) -> str:
        return f"{self.control_url}/nodes/{self.port(node)}/{action}"

    def describe(self, action: Action, node: NodeEndpoint, version: str | None = None) -> str:
        what = f"install {version} on" if action == "install" else action
        return f"demo instance: {what} the node on port {self.port(node)} ({node.name})"

    def _post(self, action: Action, node: NodeEndpoint, body: dict | None = None) -> StepOutput:
        url = self._request_url(action, node)
        shown = f"POST {url}"
        started = time.monotonic()
        import httpx

        try:
            with httpx.Client(timeout=httpx.Timeout(self.timeout, connect=5.0)) as client:
                response = client.post(url, json=body or {})
        except httpx.HTTPError as exc:
            raise ServiceError(
                f"The demo instance's control API at {self.control_url} does not answer "
                f"({type(exc).__name__}: {exc}). The demo-server has probably exited, so "
                f"{label(node)} cannot be {'stopped' if action == 'stop' else 'changed'}. "
                "Restart the demo instance and connect to it again.",
                command=shown,
            ) from None
        seconds = time.monotonic() - started
        if response.is_error:
            try:
                reason = str(response.json().get("error"))
            except (ValueError, AttributeError):
                reason = response.text[:500]
            hint = (
                "The profile's nodes do not belong to this demo instance: connect to the demo "
                "instance again."
                if response.status_code == 404
                else _RETRY
            )
            what = f"install {body['version']} on" if body else action
            raise ServiceError(
                f"The demo instance refused to {what} {label(node)}: {reason} "
                f"(HTTP {response.status_code}). {hint}",
                output=response.text,
                command=shown,
            )
        return StepOutput(shown, 0, response.text, seconds)

    def stop(self, node: NodeEndpoint) -> StepOutput:
        return self._post("stop", node)

    def start(self, node: NodeEndpoint) -> StepOutput:
        return self._post("start", node)

    def install(self, node: NodeEndpoint, version: str) -> StepOutput:
        return self._post("install", node, {"version": version})

    def reload(self, node: NodeEndpoint) -> StepOutput:
        return self._post("reload", node)


# -- running a program --------------------------------------------------------------


def run_command(
    argv: list[str], shown: str, node: NodeEndpoint, action: str, timeout: float
) -> StepOutput:
    """Run `argv` (stdin /dev/null, output to a file), wait up to `timeout` seconds.

    Output goes to a file, not a pipe: a start command that leaves a daemon behind neither
    blocks us nor gets SIGPIPE later. On timeout the command's whole process group is ended.
    """
    started = time.monotonic()
    fd, name = tempfile.mkstemp(prefix="themis-step-", suffix=".log")
    os.close(fd)
    try:
        with open(name, "ab") as sink, open(name, "rb") as source:
            try:
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    start_new_session=os.name == "posix",
                )
            except OSError as exc:
                raise ServiceError(
                    f"“{shown}” could not be run on this computer ({exc.strerror or exc}). "
                    f"{label(node)} was not touched. Check the command in the profile's "
                    "service control.",
                    command=shown,
                ) from None
            try:
                code = process.wait(timeout)
            except subprocess.TimeoutExpired:
                end_process(process)
                output = _tail(source)
                raise ServiceError(
                    f"“{shown}” did not finish within {timeout:g} s on {label(node)} and was "
                    f"ended. The {action} step may be half done. {_RETRY}\n{_last_lines(output)}",
                    output=output,
                    command=shown,
                ) from None
            output = _tail(source)
    finally:
        Path(name).unlink(missing_ok=True)
    if code != 0:
        how = f"was killed by signal {-code}" if code < 0 else f"failed with exit code {code}"
        raise ServiceError(
            f"“{shown}” {how} on {label(node)}: the {action} step did not complete and the "
            f"service may be in between states. {_RETRY} Running the command in a terminal "
            f"shows its whole output.\n{_last_lines(output)}",
            output=output,
            command=shown,
        )
    return StepOutput(shown, code, output, time.monotonic() - started)


def end_process(process: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    """SIGTERM the command's process group, then SIGKILL whatever is left after `grace` s."""
    _signal_group(process, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(grace)
    _signal_group(process, signal.SIGKILL)  # children that outlived the shell, too
    process.wait()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        if os.name == "posix":
            os.killpg(process.pid, sig)
        elif process.poll() is None:
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass


def _tail(source: BinaryIO) -> str:
    """The last OUTPUT_LIMIT bytes of the output file, as text."""
    size = os.fstat(source.fileno()).st_size
    source.seek(max(0, size - OUTPUT_LIMIT))
    data = source.read(OUTPUT_LIMIT)
    text = data.decode("utf-8", errors="replace")
    return text.lstrip("\ufffd") if size > OUTPUT_LIMIT else text


def _last_lines(output: str, count: int = 10) -> str:
    lines = output.rstrip().splitlines()[-count:]
    return "Last output:\n" + "\n".join(f"  {line}" for line in lines) if lines else "No output."


def controller_for(
    config: ServiceConfig,
    *,
    confirm: Confirm | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> ServiceController:
    """The controller for a profile's service control (an `ansible` profile's
    `ansible_control`: the app's own steps outside the playbook use it)."""
    config = config.controlled()
    if config.kind == "demo":
        return DemoController(config.control_url, timeout)
    if config.kind == "systemd":
        return SystemdController(config, confirm, timeout)
    if config.kind == "commands":
        return CommandsController(config, confirm, timeout)
    return ManualController(confirm, timeout)
