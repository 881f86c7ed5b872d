"""The real ThemisDB server (an era-A 1.0.x build of upstream's code) for the tests here.

The binary is `<repo>/../shared/themisdb-real/bin/themis_server`, or the one under
`$THEMISDB_REAL_DIR`. If it cannot run on this machine, it is built once per test run with
that folder's `build/build.sh` into a temporary folder (about 5 minutes). A server that
cannot be started fails the tests: they are never skipped.

`real_node()` starts one server in its own empty working folder, with its own data dir and
port, and waits until it answers; it is stopped with SIGTERM and, since it hangs after
closing its database, SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import poll

REPO = Path(__file__).resolve().parents[2]
TOKEN_ENV = ("THEMIS_TOKEN_ADMIN", "THEMIS_TOKEN_READONLY", "THEMIS_TOKEN_ANALYST")
ROLE_ENV = dict(zip(("admin", "readonly", "analyst"), TOKEN_ENV, strict=True))
TOKENS = {"admin": "real-admin-token", "readonly": "real-ro-token", "analyst": "real-an-token"}
READY_TIMEOUT_S = 20.0  # it answers in under a second; a loaded CI machine gets more
TERM_WAIT_S = 5.0  # it drains for 2 s, closes RocksDB, then hangs joining a thread
CLOSED = "RocksDB closed cleanly"  # what it logs once its database is closed
BUILD_TIMEOUT_S = 1800.0
WORKPLACE_COPY = Path("/work/shared/themisdb-real")


def real_dir() -> Path:
    """Where the real server's folder is: `$THEMISDB_REAL_DIR`, else beside the repository."""
    env = os.environ.get("THEMISDB_REAL_DIR")
    if env:
        return Path(env)
    beside = REPO.parent / "shared" / "themisdb-real"
    # a clone made elsewhere (e.g. a CI check-out in /tmp) finds the workplace's copy
    return beside if beside.is_dir() or not WORKPLACE_COPY.is_dir() else WORKPLACE_COPY


def _output_file(workdir: Path) -> Path:
    """Where a server's output goes: beside its working folder, which stays its own."""
    return workdir.with_name(workdir.name + ".out")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RealNode:
    """One running real server."""

    url: str
    port: int
    workdir: Path  # its own, empty at start: it writes its log and default backups here
    data_dir: Path  # its RocksDB directory (`--db`)
    tokens: dict[str, str]
    process: subprocess.Popen = field(repr=False)

    @property
    def output(self) -> str:
        """What it printed (its log)."""
        try:
            return _output_file(self.workdir).read_text(errors="replace")
        except OSError:
            return ""

    def terminate(self) -> None:
        """Ask it to stop (SIGTERM), as its service manager would."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL once it has closed its database (it logs that, then hangs
        instead of exiting) or after `TERM_WAIT_S`."""
        self.terminate()
        poll(lambda: self.process.poll() is not None or CLOSED in self.output, TERM_WAIT_S)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


def _launch(binary: Path, workdir: Path, tokens: dict[str, str]) -> RealNode | None:
    """Start the binary in `workdir` on a free port and wait until it answers; None if it
    never does (its output stays in `_output_file(workdir)`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in TOKEN_ENV}
    env.update({ROLE_ENV[role]: token for role, token in tokens.items()})
    for _attempt in range(3):  # another process may take the free port first
        port = free_port()
        data_dir = workdir / "db"
        with open(_output_file(workdir), "wb") as out:
            process = subprocess.Popen(
                [str(binary), "--host", "127.0.0.1", "--port", str(port), "--db", str(data_dir)],
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        node = RealNode(f"http://127.0.0.1:{port}", port, workdir, data_dir, tokens, process)
        if _wait_ready(node):
            return node
        node.stop()
    return None


def answers(url: str) -> bool:
    """Whether the server at `url` answers its health check."""
    try:
        return httpx.get(url + "/health", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_ready(node: RealNode) -> bool:
    """Whether it answers within READY_TIMEOUT_S (False at once if it exits)."""
    up: list[bool] = []

    def up_or_ended() -> bool:
        up[:] = [node.process.poll() is None and answers(node.url)]
        return up[0] or node.process.poll() is not None

    poll(up_or_ended, READY_TIMEOUT_S)
    return bool(up and up[0])


def _runs(binary: Path, scratch: Path) -> bool:
    """Whether the binary starts and answers here (its libraries installed, its CPU fine)."""
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        return False
    try:
        node = _launch(binary, scratch, {})
    except OSError:
        return False
    if node is None:
        return False
    node.stop()
    return True


def _build(folder: Path, out: Path) -> Path:
    """Build the server with the folder's own build script (the fallback: ~5 min)."""
    script = folder / "build" / "build.sh"
    if not script.is_file():
        pytest.fail(f"the real ThemisDB server cannot run and {script} is missing")
    log = out.parent / "build-output.txt"
    with open(log, "wb") as sink:
        done = subprocess.run(
            ["bash", str(script), str(out)],
            stdout=subprocess.PIPE,
            stderr=sink,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    binary = Path(lines[-1]) if lines else Path()
    if done.returncode != 0 or not binary.is_file():
        tail = log.read_text(errors="replace")[-3000:]
        pytest.fail(f"building the real ThemisDB server failed ({done.returncode}):\n{tail}")
    return binary


@pytest.fixture(scope="session")
def real_binary(tmp_path_factory) -> Path:
    """The real server's binary: the shipped one if it runs here, else one built now."""
    folder = real_dir()
    shipped = folder / "bin" / "themis_server"
    if _runs(shipped, tmp_path_factory.mktemp("real-check")):
        return shipped
    built = _build(folder, tmp_path_factory.mktemp("real-build") / "out")
    if not _runs(built, tmp_path_factory.mktemp("real-check-built")):
        pytest.fail(f"the real ThemisDB server built at {built} does not start either")
    return built


@pytest.fixture
def real_node(real_binary, tmp_path) -> Iterator[Callable[..., RealNode]]:
    """`real_node(tokens={"admin": ...})`: a fresh real server (auth off without tokens)."""
    started: list[RealNode] = []

    def start(tokens: dict[str, str] | None = None) -> RealNode:
        workdir = tmp_path / f"real-{len(started) + 1}"
        node = _launch(real_binary, workdir, dict(tokens or {}))
        if node is None:
            output = _output_file(workdir).read_text(errors="replace")[-3000:]
            pytest.fail(f"the real ThemisDB server ({real_binary}) did not start:\n{output}")
        started.append(node)
        return node

    yield start
    for node in started:  # all drain at once
        node.terminate()
    for node in started:
        node.stop()
