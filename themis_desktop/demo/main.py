"""`demo-server`: run a demo cluster in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

from themis_desktop.demo.auth import ROLE_ENV
from themis_desktop.demo.versions import parse_version


def _version_value(text: str) -> tuple[str, float]:
    """`VERSION=NUMBER` (VERSION is X.Y.Z or a whole line X.Y)."""
    version, sep, number = text.partition("=")
    try:
        if not sep or not version:
            raise ValueError
        if version.count(".") != 1:
            parse_version(version)
        return version, float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected VERSION=NUMBER, got {text!r}") from None


def _checked_version(text: str) -> str:
    try:
        return parse_version(text).text
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The demo-server options."""
    parser.add_argument(
        "--port",
        type=int,
        default=8765,
        help="port of node-1; node i gets PORT+i-1 (0: free ports; default 8765)",
    )
    parser.add_argument(
        "--version",
        type=_checked_version,
        default="1.7.0",
        help="ThemisDB version to speak, X.Y.Z[-suffix] (default 1.7.0, the last 1.7 release)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder for the nodes' folders (default: a fresh temporary folder, deleted on exit)",
    )
    parser.add_argument("--nodes", type=int, default=1, help="number of nodes (default 1)")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument(
        "--no-router",
        action="store_true",
        help="no demo load balancer (it sends real requests to the nodes by weight; "
        "GET/PUT /router on the control API)",
    )
    parser.add_argument(
        "--router-rate",
        type=float,
        default=40.0,
        metavar="R",
        help="requests/s the load balancer sends to all nodes together (default 40)",
    )
    parser.add_argument(
        "--control-port",
        type=int,
        default=0,
        metavar="P",
        help="loopback port of the control API that stops/starts/installs nodes (0: a free one)",
    )
    for role, env in ROLE_ENV.items():
        parser.add_argument(
            f"--token-{role}",
            metavar="T",
            default=None,
            help=f"{role} bearer token (default: ${env}; none: auth off)",
        )
    parser.add_argument(
        "--data-size-mb",
        type=float,
        default=16,
        help="initial database size of a new node (default 16)",
    )
    parser.add_argument(
        "--stop-on-stdin-eof",
        action="store_true",
        help="stop when standard input closes (a parent process that started us has exited)",
    )
    parser.add_argument(
        "--no-workload",
        action="store_true",
        help="no synthetic traffic (counters move only with real requests)",
    )
    parser.add_argument(
        "--latency-factor",
        type=_version_value,
        action="append",
        default=[],
        metavar="VERSION=F",
        help="multiply the latency of VERSION by F (repeatable)",
    )
    parser.add_argument(
        "--error-rate",
        type=_version_value,
        action="append",
        default=[],
        metavar="VERSION=R",
        help="VERSION misbehaves: a share R (0..1) of its requests fail with 500, each logged "
        "as an error (repeatable); other versions log no errors",
    )
    parser.add_argument(
        "--latency-sigma",
        type=float,
        default=None,
        metavar="S",
        help="spread of the lognormal latency (default 0.45; small values give steady timings)",
    )
    parser.add_argument(
        "--known-issues",
        choices=("on", "off"),
        default="on",
        help="on (default): a 1.0.x node behaves like the real 1.0.x server — it cannot "
        "reopen its data, its server-side restore fails, it hangs on stop (see "
        "resources/releases.yaml); off: it does none of this",
    )
    parser.add_argument(
        "--stop-timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds the control API waits after SIGTERM before it kills a node (default 5)",
    )
    parser.add_argument("--tls-cert", type=Path, default=None, help="PEM certificate: serve HTTPS")
    parser.add_argument("--tls-key", type=Path, default=None, help="PEM private key for --tls-cert")


def run(args: argparse.Namespace) -> int:
    from themis_desktop.demo.cluster import DemoCluster  # numpy & co.: only when serving
    from themis_desktop.demo.control import DemoControl
    from themis_desktop.demo.storage import StorageError

    """Start the cluster, its control API and load balancer (unless --no-router), print
    one line per node, `control URL` and "ready", serve until SIGINT/SIGTERM (or stdin's
    end with --stop-on-stdin-eof)."""
    if args.nodes < 1:
        print("demo-server: --nodes must be at least 1", file=sys.stderr)
        return 2
    if not args.stop_timeout >= 0:
        print("demo-server: --stop-timeout must be 0 or more", file=sys.stderr)
        return 2
    if not args.router_rate > 0:
        print("demo-server: --router-rate must be above 0", file=sys.stderr)
        return 2
    if bool(args.tls_cert) != bool(args.tls_key):
        print("demo-server: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    tokens = {}
    for role, env in ROLE_ENV.items():
        token = getattr(args, f"token_{role}") or os.environ.get(env)
        if token:
            tokens[role] = token
    temp = args.data_dir is None
    base = Path(tempfile.mkdtemp(prefix="themis-demo-")) if temp else args.data_dir
    cluster = DemoCluster(
        base,
        nodes=args.nodes,
        version=args.version,
        port=args.port,
        host=args.host,
        tokens=tokens,
        data_size_mb=args.data_size_mb,
        workload=not args.no_workload,
        latency_factors=dict(args.latency_factor),
        error_rates=dict(args.error_rate),
        latency_sigma=args.latency_sigma,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        known_issues=args.known_issues == "on",
    )
    control = DemoControl(
        cluster,
        port=args.control_port,
        router=not args.no_router,
        router_rate=args.router_rate,
        stop_timeout=args.stop_timeout,
    )
    stop = threading.Event()
    previous = _install_signal_handlers(stop)
    try:
        try:
            cluster.start()
            control.start()
        except (OSError, StorageError) as exc:  # a taken port, a data dir it cannot open
            print(f"demo-server: cannot start: {exc}", file=sys.stderr)
            return 1
        for node in cluster.nodes:
            line = f"{node.options.name} {node.url} version {node.version} data {node.data_dir}"
            print(line, flush=True)
        print(f"control {control.url}", flush=True)
        print("ready", flush=True)
        if args.stop_on_stdin_eof:
            _stop_when_stdin_closes(stop)
        while not stop.wait(0.5):
            pass
    finally:
        control.stop()
        cluster.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if temp:
            shutil.rmtree(base, ignore_errors=True)
    return 0


def _stop_when_stdin_closes(stop: threading.Event) -> None:
    """Stop when the parent's end of our stdin closes: the parent exited, even if killed."""

    def watch() -> None:
        while sys.stdin.buffer.read(4096):
            pass
        stop.set()

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


def _install_signal_handlers(stop: threading.Event) -> dict:
    """SIGINT/SIGTERM set `stop` (only possible from the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, lambda *_: stop.set())
    return previous


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m themis_desktop.demo",
        description="Run a ThemisDB-compatible demo instance in the foreground.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
