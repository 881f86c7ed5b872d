"""Start the demo instance as a separate server process, like a real deployment."""

from __future__ import annotations

import os
import queue
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path


class DemoLaunchError(RuntimeError):
    """The demo instance did not come up."""


@dataclass(frozen=True)
class LaunchedNode:
    name: str
    url: str
    version: str
    data_dir: Path


def demo_command(*args: str) -> list[str]:
    """The command line of `themis-desktop demo-server ARGS`, also inside a frozen build."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "demo-server", *args]
    return [sys.executable, "-m", "themis_desktop", "demo-server", *args]


def parse_node_line(line: str) -> LaunchedNode:
    """`node-1 http://127.0.0.1:43121 version 1.7.3 data /tmp/x/node-1` → LaunchedNode."""
    parts = line.split(maxsplit=5)
    if len(parts) != 6 or parts[2] != "version" or parts[4] != "data":
        raise ValueError(f"not a demo node line: {line!r}")
    return LaunchedNode(parts[0], parts[1], parts[3], Path(parts[5]))


class DemoLauncher:
    """Runs `demo-server` in a child process; `start()` blocks until its nodes listen.

    After `start()`, `control_url` is the demo-server's control API (stop/start/install
    nodes, see `themis_desktop.demo.control`), or None from a server without one.
    """

    def __init__(
        self,
        data_dir: Path,
        nodes: int = 3,
        version: str = "1.7.3",
        *extra_args: str,
        env: dict[str, str] | None = None,
    ) -> None:
        """`env` adds variables to the child's environment (e.g. THEMIS_TOKEN_ADMIN)."""
        self.data_dir = Path(data_dir)
        self.env = {**os.environ, **(env or {})}
        self.args = [
            "--port",
            "0",
            "--nodes",
            str(nodes),
            "--version",
            version,
            "--data-dir",
            str(self.data_dir),
            "--stop-on-stdin-eof",
            *extra_args,
        ]
        self.process: subprocess.Popen[str] | None = None
        self.nodes: list[LaunchedNode] = []
        self.control_url: str | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader: threading.Thread | None = None

    def spawn(self) -> None:
        """Start the demo-server process without waiting for it (`start` waits); once is
        enough: a spawned launcher is not spawned again."""
        if self.process is not None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._stderr = (self.data_dir / "demo-server.stderr.log").open("w+", encoding="utf-8")
        self.process = subprocess.Popen(
            demo_command(*self.args),
            stdout=subprocess.PIPE,
            stderr=self._stderr,  # a file, not a pipe: nobody must drain it
            stdin=subprocess.PIPE,  # never written: its end closing tells the child to stop
            text=True,
            env=self.env,
        )
        self._reader = threading.Thread(target=self._read, name="demo-launcher", daemon=True)
        self._reader.start()

    def start(self, timeout: float = 60.0) -> list[LaunchedNode]:
        """Spawn the demo-server (unless `spawn` did) and wait until its nodes answer."""
        self.spawn()
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise DemoLaunchError(
                    f"the demo instance did not start within {timeout:g} s"
                ) from None
            if line is None:
                self.process.wait()
                self._stderr.seek(0)
                lines = self._stderr.read().strip().splitlines() or ["no message"]
                self.stop()
                raise DemoLaunchError(f"the demo instance exited at start: {lines[-1][-500:]}")
            if line.strip() == "ready":
                return self.nodes
            if line.startswith("control "):
                self.control_url = line.split(maxsplit=1)[1].strip()
                continue
            try:
                self.nodes.append(parse_node_line(line.strip()))
            except ValueError as exc:
                self.stop()
                raise DemoLaunchError(
                    f"the demo instance said something unexpected: {exc}"
                ) from None

    def _read(self) -> None:
        assert self.process and self.process.stdout
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (what systemd sends), then kill if it does not exit in time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._reader:
            self._reader.join(timeout)  # the child has exited: its stdout is at EOF
        for stream in (self.process.stdin, self.process.stdout, self._stderr):
            if stream:
                stream.close()
        self.process = None

    def discard(self) -> None:
        """`stop`, then remove the data dir: a cluster nobody will use again."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


TOKEN_VARIABLE = "THEMIS_TOKEN_ADMIN"  # the demo-server's admin token
MISBEHAVING_ERROR_RATE = 0.05  # of the demo's 1.9 requests fail (and are logged as errors)


def app_demo_launcher(
    version: str = "1.7.0", nodes: int = 3, data_size_mb: float = 64
) -> DemoLauncher:
    """The launcher of `themis-desktop --demo`'s cluster, in a temporary data dir with a
    fresh admin token. The command line spawns it before it imports the GUI, so that the
    cluster gets ready while the window is built."""
    return DemoLauncher(
        Path(tempfile.mkdtemp(prefix="themis-demo-")),
        nodes,
        version,
        "--data-size-mb",
        str(data_size_mb),
        "--error-rate",  # a misbehaving version: its hop shows the log watch and triggers
        f"1.9={MISBEHAVING_ERROR_RATE}",
        env={TOKEN_VARIABLE: secrets.token_urlsafe(24)},
    )
