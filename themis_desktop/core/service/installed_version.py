"""Which ThemisDB version a node's service would start as: `themis_server --version`.

Era B (1.3+) prints its version and exits 0 on `--version`/`-v` (upstream src/main_server.cpp
of makr-code/ThemisDB: `std::cout << THEMIS_VERSION_STRING`, or "unknown" without it).
Era A ignores unknown flags and STARTS A SERVER (0.0.0.0:8765, ./data): so the binary runs
in a fresh temporary working dir, for at most `VERSION_TIMEOUT_S`, and its whole process
group is killed (SIGKILL: era A hangs on SIGTERM) whatever happened, and `--host 127.0.0.1
--port <free>` keep a server it starts away from clients; only exactly one line
`X.Y.Z[-suffix]` on stdout counts. The demo instance says instead what `install` last set.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from themis_desktop.core.connection.profiles import NodeEndpoint
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.service.demo_nodes import DemoNodeUnknown, describe_node
from themis_desktop.core.versions.releases import VersionError, parse_version

VERSION_TIMEOUT_S = 5.0
OUTPUT_LIMIT = 4096  # bytes of stdout looked at: a version is one short line
_VERSION_LINE = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.+-]+)?")


@dataclass(frozen=True)
class VersionReading:
    """The installed version (`version`), or None with the reason it is not known."""

    version: str | None
    reason: str = ""

    @property
    def known(self) -> bool:
        return self.version is not None


def installed_version(
    config: ServiceConfig,
    node: NodeEndpoint,
    timeout: float = VERSION_TIMEOUT_S,
    expected: str | None = None,
) -> VersionReading:
    """The version `node`'s service would start as, as far as the profile lets us tell.

    With `expected` an era-A version, the binary is not run: it could not say, and would
    only start a server while the node is down."""
    config = config.controlled()
    if config.kind == "demo":
        try:
            entry = describe_node(config.control_url, node)
        except DemoNodeUnknown as exc:
            return VersionReading(None, str(exc))
        installed = entry.get("installed")
        if not isinstance(installed, str) or not _VERSION_LINE.fullmatch(installed):
            return VersionReading(None, "the demo instance did not say its installed version")
        return VersionReading(installed, "the demo instance's installed version")
    if config.kind == "manual":
        return VersionReading(None, "manual service control: the app runs nothing on the host")
    if not config.binary.strip():
        return VersionReading(None, "no binary set in the profile")
    if expected is not None and is_era_a(expected):
        return VersionReading(
            None, f"{expected} is era A (before 1.3): its binary has no --version to ask"
        )
    return binary_version(config.binary.strip().replace("{node}", node.name), timeout)


def binary_version(path: str, timeout: float = VERSION_TIMEOUT_S) -> VersionReading:
    """`path --version` in a temporary working dir, killed after `timeout` s at the latest."""
    workdir = Path(tempfile.mkdtemp(prefix="themis-version-"))
    try:
        return _run(path, workdir, timeout)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run(path: str, workdir: Path, timeout: float) -> VersionReading:
    shown = f"{path} --version"
    stdout_path = workdir / ".version-stdout"
    with open(stdout_path, "wb") as sink:
        try:
            process = subprocess.Popen(
                # era A ignores --version but honours the rest: a server it starts listens
                # on a free loopback port, not on 0.0.0.0:8765 where clients would find it
                [path, "--version", "--host", "127.0.0.1", "--port", str(_free_port())],
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, killed as a whole below
            )
        except OSError as exc:
            return VersionReading(None, f"cannot run {path}: {exc.strerror or exc}")
        try:
            code: int | None = process.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            _kill_group(process)
    if code is None:
        return VersionReading(
            None,
            f"{shown} did not print a version within {timeout:g} s: an era-A binary (before "
            "1.3) starts a server instead; stopped it",
        )
    if code != 0:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        return VersionReading(None, f"{shown} {how}")
    with open(stdout_path, "rb") as source:
        text = source.read(OUTPUT_LIMIT).decode("utf-8", errors="replace")
    lines = text.splitlines()
    if len(lines) == 1 and _VERSION_LINE.fullmatch(lines[0].strip()):
        return VersionReading(lines[0].strip(), f"{shown} printed it")
    shown_text = text.strip()[:60] or "nothing"
    return VersionReading(None, f"{shown} printed {shown_text!r}, not a version (X.Y.Z)")


def is_era_a(version: str) -> bool:
    """Whether `version` speaks era A (before 1.3); False for text that is no version."""
    try:
        parsed = parse_version(version)
    except VersionError:
        return False
    return (parsed.major, parsed.minor) < (1, 3)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the binary's process group (a server it started, its children) and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        elif process.poll() is None:
            process.kill()
    process.wait()
