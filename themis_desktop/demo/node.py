"""One demo ThemisDB node: its folder, database, HTTP server and workload thread."""

from __future__ import annotations

import dataclasses
import json
import shutil
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from themis_desktop.demo import config, era_a_issues, versions
from themis_desktop.demo.app import App
from themis_desktop.demo.auth import ROLE_ENV, Auth
from themis_desktop.demo.handlers import NodeContext
from themis_desktop.demo.httpserver import DemoHTTPServer
from themis_desktop.demo.serverlog import ServerLog
from themis_desktop.demo.side_service import SideService
from themis_desktop.demo.state import NodeState
from themis_desktop.demo.storage import RocksStore, StorageError
from themis_desktop.demo.workload import Workload

VECTOR_COUNT = 256


@dataclass
class NodeOptions:
    """How to run a node. `latency_factors`/`error_rates` set the profile of given versions
    (key "1.8.0" or a whole line "1.8"); `latency_factor`/`error_rate` apply on top/instead."""

    version: str = "1.7.0"
    data_dir: Path | None = None  # None: a temporary folder, deleted again by stop()
    host: str = "127.0.0.1"
    port: int = 0
    name: str = "node-1"
    tokens: dict[str, str] = field(default_factory=dict)  # role -> token; empty: auth off
    data_size_mb: float = 16
    workload: bool = True
    latency_factor: float = 1.0
    error_rate: float | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    latency_factors: dict[str, float] = field(default_factory=dict)
    error_rates: dict[str, float] = field(default_factory=dict)
    latency_sigma: float | None = None  # spread of the lognormal latency; None: the version's
    known_issues: bool = True  # a 1.0.x node behaves like the real one (era_a_issues)


class DemoNode:
    """A ThemisDB-compatible server speaking the API of `options.version`."""

    def __init__(self, options: NodeOptions):
        self.options = options
        self.info = versions.parse_version(options.version)
        self._owns_dir = options.data_dir is None
        if options.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix=f"themis-demo-{options.name}-"))
        else:
            self.data_dir = Path(options.data_dir).resolve()
        self.port = options.port
        self.profile = versions.resolve_profile(
            options.version,
            options.latency_factor,
            options.error_rate,
            options.latency_factors,
            options.error_rates,
        )
        if options.latency_sigma is not None:
            self.profile = dataclasses.replace(self.profile, sigma=options.latency_sigma)
        self._server: DemoHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._workload: Workload | None = None
        self._store: RocksStore | None = None
        self._side: SideService | None = None  # era B's health/error service, on loopback
        self._log = ServerLog(self.data_dir / "themis_server.log")
        self._auth = Auth(options.tokens)  # unknown roles fail here, before anything starts
        self.faithful = era_a_issues.applies(self.info, options.known_issues)
        self._hung = False  # terminated, logged a clean shutdown, never exits by itself

    # ---- public facts ---------------------------------------------------------

    @property
    def version(self) -> str:
        return self.info.text

    @property
    def data_path(self) -> Path:
        """The RocksDB directory."""
        return self.data_dir / "data"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "config.yaml"

    @property
    def url(self) -> str:
        scheme = "https" if self._tls else "http"
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(
            self.options.host, self.options.host
        )
        return (
            f"{scheme}://[{host}]:{self.port}" if ":" in host else f"{scheme}://{host}:{self.port}"
        )

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def side_port(self) -> int | None:
        """The loopback port of the node's health/error side service (era B, running)."""
        return self._side.port if self._side is not None else None

    @property
    def _tls(self) -> bool:
        return bool(self.options.tls_cert and self.options.tls_key)

    def set_profile(
        self, latency_factor: float | None = None, error_rate: float | None = None
    ) -> None:
        """Change the running node's profile (e.g. to stage a regression).

        `latency_factor` multiplies the version's default median latency; `error_rate` is
        the share (0..1) of probe requests and simulated requests that fail in the server
        (500, logged as errors).
        """
        if latency_factor is not None:
            median = versions.default_profile(self.version).median_ms * latency_factor
            self.profile = dataclasses.replace(self.profile, median_ms=median)
        if error_rate is not None:
            self.profile = dataclasses.replace(self.profile, error_rate=error_rate, faulty=True)

    # ---- life cycle -----------------------------------------------------------

    def start(self) -> None:
        """Open (or create) the database, bind, serve, start the workload; write config.yaml."""
        if self._server is not None:
            raise RuntimeError(f"{self.options.name} is already running")
        opts, log = self.options, self._log
        self.data_dir.mkdir(parents=True, exist_ok=True)
        previous = log.last_started_version()
        log.info("=== Themis Multi-Model Database API Server ===")
        log.info(f"Version: {self.version if self.info.era == 'B' else '0.1.0'}")
        log.info(
            f"ThemisDB server v{self.version} starting (build {versions.BUILD_TYPE}, "
            f"{versions.COMPILER} {versions.COMPILER_VERSION}, edition {versions.EDITION})"
        )
        if previous and previous != self.version:
            log.warning(f"Data directory was last used by v{previous}; now running v{self.version}")
        existing = config.load(self.config_path)
        log.info(
            f"Loading configuration from {self.config_path}"
            if existing
            else f"No configuration file found; writing defaults to {self.config_path}"
        )
        server = DemoHTTPServer((opts.host, opts.port), None, self._ssl_context())
        try:
            self.port = server.server_address[1]
            cfg = config.effective(self.info, self.data_dir, opts.host, self.port, existing)
            config.save(self.config_path, cfg)
            store = self._open_store(cfg, log)
            vector = self._vector_index(cfg)
        except BaseException:
            server.server_close()
            raise
        auth = self._auth
        for role in opts.tokens:
            log.info(f"Auth: {role.upper()} token configured ({ROLE_ENV[role]})")
        if not auth.enabled:
            log.warning("Auth disabled: no THEMIS_TOKEN_* configured, all endpoints are open")
        state = NodeState()
        ctx = NodeContext(
            self.info,
            self.data_dir,
            self.config_path,
            cfg,
            state,
            store,
            log,
            auth,
            profile=lambda: self.profile,
            vector=vector,
        )
        server.app = App(ctx)
        self._server, self._store = server, store
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"demo-{opts.name}-http",
            daemon=True,
        )
        self._thread.start()
        if opts.workload:
            self._workload = Workload(
                state, store, lambda: self.profile, log, f"demo-{opts.name}-load"
            )
            self._workload.start()
        if self.info.era == "B":  # upstream's main_server.cpp starts it beside the API
            self._side = SideService("127.0.0.1", 0)  # 9090 upstream: one port per demo node
            self._side.start()
            log.info(f"Health/Error service started on 127.0.0.1:{self._side.port}")
        if self.info.versioned_routing:
            log.info("API versioning: unversioned API paths answer 301 -> /v1/<path>")
        log.info(f"Server listening on {opts.host}:{self.port}" + (" (TLS)" if self._tls else ""))

    def stop(self) -> None:
        """Stop serving and the workload, join every thread, close the database (idempotent)."""
        if self._workload is not None:
            self._workload.stop()
            self._workload = None
        if self._side is not None:
            self._side.stop()
            self._side = None
        if self._server is not None:
            self._server.shutdown()
            if self._thread is not None:
                self._thread.join()
            self._server.close()
            self._server = self._thread = None
            if self._store is not None:
                with self._store.lock:
                    self._store.close()
            if not self._hung:  # a hung server is killed: it logs nothing more
                self._log.info("Server stopped")
        if self._owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def hangup(self) -> str:
        """What the server does on SIGHUP: "reloaded", "tls-off" or "ended".

        1.8+ re-reads the TLS certificate files for new connections (src/main_server.cpp,
        main loop → HttpServer::reloadTls; config.yaml is not read again). Before 1.8 there
        is no handler and SIGHUP's default action ends the process.
        """
        if (self.info.major, self.info.minor) < (1, 8):
            self.stop()
            return "ended"
        self._log.info("SIGHUP received - reloading TLS certificates...")
        if not self._tls or self._server is None:
            self._log.warning(
                "TLS hot-reload failed or TLS not enabled - continuing with current certificates"
            )
            return "tls-off"
        context = self._ssl_context()
        self._server.socket.context = context  # type: ignore[attr-defined]  # new handshakes
        self._log.info("TLS certificates hot-reloaded successfully")
        return "reloaded"

    def terminate(self, timeout: float) -> bool:
        """SIGTERM, as a service manager sends it: True when the node exits by itself. A
        1.0.x node with its known issues logs a clean shutdown, stops serving, then hangs:
        False after `timeout` seconds (the caller then kills it with `stop`)."""
        if not self.faithful or self._server is None:
            self.stop()
            return True
        era_a_issues.log_shutdown(self._log, self._store is not None and self._store.available)
        self._hung = True
        self.stop()
        time.sleep(max(0.0, timeout))  # it hangs joining a thread: only a kill ends it
        return False

    def __enter__(self) -> DemoNode:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- helpers --------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self._tls:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.options.tls_cert), str(self.options.tls_key))
        return context

    def _open_store(self, cfg: dict, log: ServerLog) -> RocksStore:
        storage = cfg["storage"]
        store = RocksStore(
            self.data_path, storage["memtable_size_mb"], storage["block_cache_size_mb"]
        )
        if not store.exists():
            log.info(
                f"Creating new database at {self.data_path} ({self.options.data_size_mb:g} MiB)"
            )
            store.create(int(self.options.data_size_mb * 1024 * 1024))
        comp = storage["compression"]
        log.info(
            f"Opening RocksDB at {self.data_path} (memtable {storage['memtable_size_mb']} MB, "
            f"block cache {storage['block_cache_size_mb']} MB, "
            f"compression {comp['default']}/{comp['bottommost']})"
        )
        store.opens_only = era_a_issues.OPENS_ONLY if self.faithful else None
        with store.lock:
            try:
                store.open()
            except StorageError as exc:
                if self.faithful:
                    era_a_issues.log_open_failure(log, str(exc))
                raise
            if era_a_issues.creates_prompt_cf(self.info):
                store.create_column_family(era_a_issues.PROMPT_CF)
            keys, size = store.num_keys(), store.live_bytes()
        log.info(
            f"RocksDB opened: {len(store.files)} table files, "
            f"{size / 1048576:.1f} MiB, ~{keys} keys"
        )
        if len(store.level_files(0)) >= 3:
            log.warning(f"{len(store.level_files(0))} L0 files pending compaction at start-up")
        return store

    def _vector_index(self, cfg: dict) -> tuple[int, int]:
        """Create the small vector index on first start; return (vectors, dimension)."""
        folder = self.data_dir / "vector_index"
        meta_path = folder / "index.meta.json"
        dim = int(cfg["vector_index"].get("dimension", 384))
        if not meta_path.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            vectors = np.random.default_rng().standard_normal((VECTOR_COUNT, dim), np.float32)
            (folder / "index.hnsw").write_bytes(vectors.tobytes())
            meta = {"dimension": dim, "count": VECTOR_COUNT, "metric": "cosine", "M": 16}
            meta_path.write_text(json.dumps(meta, indent=2))
        meta = json.loads(meta_path.read_text())
        self._log.info(
            f"Vector index loaded from {folder} ({meta['count']} vectors, dim {meta['dimension']})"
        )
        return int(meta["count"]), int(meta["dimension"])
