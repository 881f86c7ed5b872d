"""Live metrics: plot redraw, a 48 h cluster view, the sampler's CPU and the exposition parser.

Each figure is printed beside a reference measured in the same run, with the ratio ours /
reference (of frame times for plots, CPU for the sampler, samples/s for the parser):
  plot redraw, 1 M points   `make_plot` + `add_line` (peak downsampling, clip-to-view) vs the
                            same plot without `make_fast`; a frame is `setData` (view auto-
                            ranged to the data), a synchronous repaint and the events that
                            follow it, so all path generation and painting is in the time.
                            Target (DESIGN.md § 6) < 30 ms; the pan to a 1 h window likewise.
  10 series × 48 h at 1 s   one plot, 10 lines of 172,800 points (1.7 M): a frame after
                            `setXRange` to the whole range, to the last 15 min, and a new
                            sample on every line with the view following the last 15 min.
                            Target < 50 ms per frame (the event-loop stall limit), well under
                            the 100 ms at which panning stops feeling interactive.
  sampler CPU               `Recorder` with 5 `NodeSampler`s (3 era-A nodes 1.2.0, 2 era-B
                            1.8.0 in two `demo-server` child processes) at 1 Hz into a real
                            journal: this process' CPU time over the window, as % of one core.
                            Reference: the same HTTP GETs (same URLs, same count, same pacing)
                            with plain httpx, nothing parsed or stored. Target < 2 % of a core.
  parser                    `exposition.parse` vs `prometheus_client`'s parser consumed fully,
                            on a 2,000-sample page shaped like ThemisDB's. DESIGN.md sets no
                            target; ours: >= 0.8x the reference's samples/s, and >= 0.5x when
                            one malformed line makes `parse` read on around it (fallback).
Plots are drawn offscreen (QT_QPA_PLATFORM=offscreen) in a 1200×700 `GraphicsLayoutWidget`.
`--profile` adds a cProfile of 50 sequential samples + journal writes (the sampler's work).

Run: .venv/bin/python bench/metrics.py [--quick] [--only plot,series,sampler,parser] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import os
import pstats
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from _table import Row, print_table  # bench/ is the script's folder
from prometheus_client.parser import text_string_to_metric_families

from themis_desktop.core.journal.store import Journal
from themis_desktop.core.metrics import store as metrics_store
from themis_desktop.core.metrics.exposition import parse
from themis_desktop.core.metrics.sampler import Recorder
from themis_desktop.core.metrics.sampling import NodeSampler
from themis_desktop.core.server.client import ThemisClient
from themis_desktop.demo.launcher import DemoLauncher

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported (in _qt)

PLOT_MS, SERIES_MS, CPU_PCT = 30.0, 50.0, 2.0
PARSE_MIN, MALFORMED_MIN = 0.8, 0.5
SIZE = (1200, 700)
POINTS = 1_000_000
SERIES, SERIES_POINTS = 10, 48 * 3600
START = 1_767_225_600.0  # 2026-01-01 00:00 UTC
PAGE_SAMPLES = 2000
MALFORMED = 'vccdb_threadpool_state{pool="io"} running'
MODES = ("fast", "plain")  # see make_rig
ERAS = (("a", 3, "1.2.0"), ("b", 2, "1.8.0"))  # (name prefix, nodes, version)


def ms(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ms (best {min(values):.1f})"


# ---------------------------------------------------------------------------- data


def noisy_series(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """1 s samples from START: a daily wave, skewed noise, rare spikes, a gap every ~2 h."""
    rng = np.random.default_rng(seed)
    x = START + np.arange(n, dtype=float)
    y = 5.0 + 1.5 * np.sin(2 * np.pi * np.arange(n) / 86400 + seed) + rng.gamma(2.0, 0.4, n)
    y[rng.random(n) < 0.001] *= 6
    for begin in rng.integers(0, n - 600, max(1, n // 7200)):
        y[begin : begin + rng.integers(5, 600)] = np.nan
    return x, y


def exposition_page(samples: int = PAGE_SAMPLES) -> str:
    """A page like an era-A node's: typed counters and gauges, untyped `le` histograms
    without HELP/TYPE, `rocksdb_files_level{level=...}`; per-route series up to `samples`."""
    lines = [
        "# HELP process_uptime_seconds Process uptime in seconds",
        "# TYPE process_uptime_seconds gauge",
        "process_uptime_seconds 86400",
        "# HELP vccdb_requests_total Total HTTP requests handled",
        "# TYPE vccdb_requests_total counter",
        "vccdb_requests_total 91234567",
        "# HELP vccdb_errors_total Total HTTP errors returned",
        "# TYPE vccdb_errors_total counter",
        "vccdb_errors_total 812",
        "# HELP vccdb_qps Queries per second (approx)",
        "# TYPE vccdb_qps gauge",
        "vccdb_qps 1234.500000",
        "# HELP rocksdb_block_cache_usage_bytes RocksDB block cache usage in bytes",
        "# TYPE rocksdb_block_cache_usage_bytes gauge",
        "rocksdb_block_cache_usage_bytes 402653184",
        *(f'rocksdb_files_level{{level="L{level}"}} {4 * level + 1}' for level in range(7)),
    ]
    bounds = (50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, "+Inf")
    lines += [
        f'vccdb_latency_bucket_microseconds{{le="{b}"}} {100 * i}' for i, b in enumerate(bounds)
    ]
    lines += [
        "# HELP vccdb_latency_sum_microseconds Total request latency in microseconds",
        "# TYPE vccdb_latency_sum_microseconds counter",
        "vccdb_latency_sum_microseconds 987654321",
    ]
    route = 0
    while True:
        block = [f'vccdb_route_requests_total{{route="/r{route}",method="GET"}} {route * 37}']
        block += [
            f'vccdb_route_latency_bucket_microseconds{{route="/r{route}",le="{b}"}} {route + i}'
            for i, b in enumerate(bounds)
        ]
        block += [
            f'rocksdb_cf_files_level{{cf="cf{route}",level="L{level}"}} {level}'
            for level in range(7)
        ]
        block.append(f'vccdb_route_inflight{{route="/r{route}"}} {route % 5}.000000')
        have = sum(1 for line in lines if not line.startswith("#"))
        if have + len(block) >= samples:
            lines += block[: samples - have]
            break
        if route == 0:
            lines += [
                "# HELP vccdb_route_requests_total Requests per route",
                "# TYPE vccdb_route_requests_total counter",
            ]
        lines += block
        route += 1
    return "\n".join(lines) + "\n"


def with_malformed_line(page: str) -> str:
    """The page with one line no parser accepts, before a family in the middle."""
    lines = page.splitlines()
    middle = len(lines) // 2
    at = next(i for i in range(middle, len(lines)) if lines[i].startswith("vccdb_route_req"))
    return "\n".join([*lines[:at], MALFORMED, *lines[at:]]) + "\n"


# ---------------------------------------------------------------------------- parser


def reference_parse(text: str) -> int:
    return sum(len(family.samples) for family in text_string_to_metric_families(text))


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def parser_section(runs: int) -> list[Row]:
    page = exposition_page()
    bad = with_malformed_line(page)
    clean, broken = parse(page), parse(bad)
    counted = reference_parse(page)
    assert len(clean.samples) == counted == PAGE_SAMPLES, (len(clean.samples), counted)
    assert len(broken.samples) == PAGE_SAMPLES and broken.skipped_lines == 1
    ours: list[float] = []
    ref: list[float] = []
    fallback: list[float] = []
    for _ in range(runs):  # interleaved, so a noisy moment hits all three alike
        ours.append(timed(lambda: parse(page)))
        ref.append(timed(lambda: reference_parse(page)))
        fallback.append(timed(lambda: parse(bad)))
    print(
        f"parser: {len(page) / 1024:.0f} KiB page, {PAGE_SAMPLES} samples; the malformed "
        f"line ({MALFORMED!r}) is line {bad.splitlines().index(MALFORMED) + 1} of "
        f"{len(bad.splitlines())}; {runs} runs each"
    )

    def rate(values: list[float]) -> float:
        return PAGE_SAMPLES / (statistics.median(values) / 1000)

    ratio, fallback_ratio = rate(ours) / rate(ref), rate(fallback) / rate(ref)
    ref_text = f"{rate(ref) / 1000:.0f} k samples/s, {ms(ref)}"
    return [
        Row(
            f"parse, {PAGE_SAMPLES} samples",
            f"{rate(ours) / 1000:.0f} k samples/s, {ms(ours)}",
            ref_text,
            f"{ratio:.2f}x",
            f">= {PARSE_MIN}x",
            ratio >= PARSE_MIN,
        ),
        Row(
            "parse, 1 malformed line (fallback)",
            f"{rate(fallback) / 1000:.0f} k samples/s, {ms(fallback)}",
            ref_text + " (clean)",
            f"{fallback_ratio:.2f}x",
            f">= {MALFORMED_MIN}x",
            fallback_ratio >= MALFORMED_MIN,
        ),
    ]


# ---------------------------------------------------------------------------- sampler


@dataclass
class Node:
    name: str
    url: str
    version: str
    requests: list[tuple[float, str]] = field(default_factory=list)  # (monotonic, URL)
    ticks: list[float] = field(default_factory=list)  # monotonic time of each sample


def start_nodes(base: Path) -> tuple[list[DemoLauncher], list[Node]]:
    launchers: list[DemoLauncher] = []
    nodes: list[Node] = []
    try:
        for prefix, count, version in ERAS:
            args = ("--no-workload", "--data-size-mb", "1")
            launcher = DemoLauncher(base / f"era-{prefix}", count, version, *args)
            launchers.append(launcher)
            nodes += [Node(f"{prefix}-{n.name}", n.url, n.version) for n in launcher.start()]
    except BaseException:
        for launcher in launchers:
            launcher.stop()
        raise
    return launchers, nodes


def replay(node: Node, plan: list[list[str]], ready: threading.Barrier) -> None:
    """The reference: the sampler's GETs of one node, tick by tick at 1 Hz, bodies read and
    dropped."""
    with httpx.Client(timeout=5.0) as client:
        client.get(node.url + "/stats")  # connect before the measured window
        ready.wait()
        next_at = time.monotonic()
        for urls in plan:
            for url in urls:
                client.get(url)
            next_at += 1.0
            time.sleep(max(0.0, next_at - time.monotonic()))


def sampler_section(seconds: float, warmup: float) -> list[Row]:
    base = Path(tempfile.mkdtemp(prefix="themis-bench-metrics-"))
    launchers: list[DemoLauncher] = []
    try:
        launchers, nodes = start_nodes(base)
        journal_path = base / "journal.sqlite"
        Journal(journal_path).close()  # schema created before the window
        by_name = {node.name: node for node in nodes}
        samplers = []
        for node in nodes:
            client = ThemisClient(node.url)
            client._http.event_hooks["response"].append(  # counts every request (redirects)
                lambda r, log=node.requests: log.append((time.monotonic(), str(r.request.url)))
            )
            samplers.append(NodeSampler(client, node.name))
        recorder = Recorder(
            "bench",
            samplers,
            interval=1.0,
            journal_path=journal_path,
            on_sample=lambda s: by_name[s.node].ticks.append(time.monotonic()),
        )
        recorder.start()
        time.sleep(warmup)  # first samples: connections, version detection, journal opened
        cpu0, t0 = time.process_time(), time.monotonic()
        time.sleep(seconds)
        cpu1, t1 = time.process_time(), time.monotonic()
        recorder.stop()
        for sampler in samplers:
            sampler.client.close()
        ours_pct = 100 * (cpu1 - cpu0) / (t1 - t0)
        journal = Journal(journal_path)
        stored = journal.db.execute("SELECT count(*) FROM samples").fetchone()[0]
        journal.close()

        plans: dict[str, list[list[str]]] = {}
        for node in nodes:
            urls = [url for at, url in node.requests if t0 <= at < t1]
            ticks = max(1, sum(1 for at in node.ticks if t0 <= at < t1))
            step = len(urls) / ticks
            plans[node.name] = [urls[round(k * step) : round((k + 1) * step)] for k in range(ticks)]
        requests = sum(len(urls) for plan in plans.values() for urls in plan)
        ticks_total = sum(len(plan) for plan in plans.values())
        ready = threading.Barrier(len(nodes) + 1)
        threads = [
            threading.Thread(target=replay, args=(node, plans[node.name], ready), daemon=True)
            for node in nodes
        ]
        for thread in threads:
            thread.start()
        ready.wait()
        cpu2, t2 = time.process_time(), time.monotonic()
        for thread in threads:
            thread.join()
        cpu3, t3 = time.process_time(), time.monotonic()
        ref_pct = 100 * (cpu3 - cpu2) / (t3 - t2)
    finally:
        for launcher in launchers:
            launcher.stop()
        shutil.rmtree(base, ignore_errors=True)
    eras = ", ".join(f"{node.name} {node.version}" for node in nodes)
    print(
        f"sampler: {eras}; window {t1 - t0:.1f} s after {warmup:g} s warm-up: {ticks_total} "
        f"samples, {requests} requests ({requests / ticks_total:.1f} per sample), "
        f"{stored} rows in the journal; ours {1000 * (cpu1 - cpu0) / ticks_total:.2f} ms CPU "
        f"per sample, httpx alone {1000 * (cpu3 - cpu2) / ticks_total:.2f} ms per sample's GETs"
    )
    return [
        Row(
            f"sampler CPU, {len(nodes)} nodes at 1 Hz",
            f"{ours_pct:.2f} % of a core",
            f"{ref_pct:.2f} % (same GETs, httpx only)",
            f"{ours_pct / ref_pct:.2f}x",
            f"< {CPU_PCT:g} % of a core",
            ours_pct < CPU_PCT,
        )
    ]


def profile_sampler(samples: int = 50) -> None:
    """cProfile of the sampler's work, sequential in this thread: sample + journal insert."""
    base = Path(tempfile.mkdtemp(prefix="themis-bench-metrics-"))
    launchers: list[DemoLauncher] = []
    try:
        launchers, nodes = start_nodes(base)
        journal = Journal(base / "journal.sqlite")
        samplers = [NodeSampler(ThemisClient(node.url), node.name) for node in nodes]
        for sampler in samplers:  # connections and version detection outside the profile
            sampler.sample()
        profiler = cProfile.Profile(time.process_time)  # CPU, not waiting for the node
        profiler.enable()
        for k in range(samples):
            sampler = samplers[k % len(samplers)]
            metrics_store.insert_samples(journal, "bench", [sampler.sample()])
        profiler.disable()
        journal.close()
    finally:
        for launcher in launchers:
            launcher.stop()
        shutil.rmtree(base, ignore_errors=True)
    print(f"\nprofile: {samples} samples + journal inserts, sequential, CPU time (top 30)")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


# ---------------------------------------------------------------------------- plots


def _qt():
    """QApplication and pyqtgraph, imported only when a plot is measured."""
    import pyqtgraph as pg
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    class PaintCounter(QObject):
        """Counts the paint events of the viewport it filters."""

        count = 0

        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint:
                self.count += 1
            return False

    return QApplication.instance() or QApplication([]), pg, PaintCounter


@dataclass
class Rig:
    widget: object
    plot: object
    lines: list
    paints: object  # PaintCounter on the viewport

    def frame(self, app, change: Callable[[], object]) -> float:
        """ms of `change()`, a synchronous repaint and the events it leaves (pyqtgraph's
        deferred auto-range queues a second paint)."""
        self.settle(app)
        started = time.perf_counter()
        change()
        self.widget.viewport().repaint()
        self.settle(app)
        return (time.perf_counter() - started) * 1000

    def settle(self, app) -> None:
        """Process events until one round paints nothing more."""
        for _ in range(10):
            before = self.paints.count
            app.processEvents()
            if self.paints.count == before:
                return


def make_rig(app, pg, counter_class, mode: str, lines: int, title: str) -> Rig:
    """`mode` "fast": the app's plot; "plain": the same without make_fast."""
    from themis_desktop.ui.widgets.metric_plot_style import add_line, make_plot

    widget = pg.GraphicsLayoutWidget()
    widget.resize(*SIZE)
    if mode == "fast":
        plot = make_plot(title, "ms")
    else:  # make_plot without make_fast (kept in step with metric_plot_style.make_plot)
        plot = pg.PlotItem(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        plot.setTitle(title, size="9pt", color="#1f2a37")
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.setLabel("left", "ms")
        plot.setMenuEnabled(False)
        plot.getViewBox().setMouseEnabled(x=True, y=False)
    widget.addItem(plot)
    items = [add_line(plot, i, f"node-{i + 1}") for i in range(lines)]
    counter = counter_class()
    widget.viewport().installEventFilter(counter)
    widget.show()
    app.processEvents()
    return Rig(widget, plot, items, counter)


def set_all(rig: Rig, x: np.ndarray, ys: list[np.ndarray], window: slice) -> None:
    for line, y in zip(rig.lines, ys, strict=True):
        line.setData(x[window], y[window])


def plot_section(runs: int, plain_runs: int) -> list[Row]:
    app, pg, counter_class = _qt()
    x, y = noisy_series(POINTS, seed=1)
    ys = (y, y + 0.001)  # a new array every frame: nothing cached from the previous one
    rigs = {mode: make_rig(app, pg, counter_class, mode, 1, "1 M points") for mode in MODES}
    full: dict[str, list[float]] = {"fast": [], "plain": []}
    pan: dict[str, list[float]] = {"fast": [], "plain": []}
    shown: dict[str, tuple[int, int]] = {}
    paints: dict[str, int] = {}
    for i in range(runs):
        for mode, rig in rigs.items():
            if mode == "plain" and i >= plain_runs:
                continue
            rig.plot.enableAutoRange()
            rig.frame(app, lambda: None)  # settle the range before the timed frame
            rig.paints.count = 0
            full[mode].append(rig.frame(app, functools.partial(rig.lines[0].setData, x, ys[i % 2])))
            paints[mode] = rig.paints.count
            drawn_full = len(rig.lines[0].curve.xData)
            end = x[-1] - (i % 6) * 600  # another 1 h window every run
            change = functools.partial(rig.plot.setXRange, end - 3600, end, padding=0)
            pan[mode].append(rig.frame(app, change))
            shown[mode] = (drawn_full, len(rig.lines[0].curve.xData))
    for rig in rigs.values():
        rig.widget.close()
    gaps = int(np.isnan(y).sum())
    print(
        f"plot: {POINTS:,} points over {POINTS / 86400:.1f} days, {gaps:,} NaN in gaps, "
        f"{SIZE[0]}×{SIZE[1]} offscreen; points handed to Qt (full view / 1 h): fast "
        f"{shown['fast'][0]:,} / {shown['fast'][1]:,}, plain {shown['plain'][0]:,} / "
        f"{shown['plain'][1]:,}; paints per setData: fast {paints['fast']}, plain "
        f"{paints['plain']}; runs: fast {runs}, plain {plain_runs}"
    )
    f_full, p_full = statistics.median(full["fast"]), statistics.median(full["plain"])
    f_pan, p_pan = statistics.median(pan["fast"]), statistics.median(pan["plain"])
    return [
        Row(
            "plot redraw, 1 M points, full view",
            f"fast {ms(full['fast'])}",
            f"plain {ms(full['plain'])}",
            f"{f_full / p_full:.3f}x",
            f"< {PLOT_MS:g} ms",
            f_full < PLOT_MS,
        ),
        Row(
            "plot pan to 1 h, 1 M points",
            f"fast {ms(pan['fast'])}",
            f"plain {ms(pan['plain'])}",
            f"{f_pan / p_pan:.3f}x",
            f"< {PLOT_MS:g} ms",
            f_pan < PLOT_MS,
        ),
    ]


def series_section(runs: int, plain_runs: int) -> list[Row]:
    app, pg, counter_class = _qt()
    n = SERIES_POINTS
    ys = [noisy_series(n + runs + 1, seed=10 + k)[1] for k in range(SERIES)]
    x = START + np.arange(n + runs + 1, dtype=float)
    frames: dict[str, dict[str, list[float]]] = {}
    for mode in MODES:
        rig = make_rig(app, pg, counter_class, mode, SERIES, "10 nodes, 48 h")
        set_all(rig, x, ys, slice(0, n))
        rig.frame(app, lambda: None)
        times: dict[str, list[float]] = {"full": [], "last": [], "live": []}
        for i in range(plain_runs if mode == "plain" else runs):
            end = x[n - 1] - i  # shifted every run, so nothing is reused
            view = functools.partial(rig.plot.setXRange, end - n + 1, end, padding=0)
            times["full"].append(rig.frame(app, view))
            view = functools.partial(rig.plot.setXRange, end - 900, end, padding=0)
            times["last"].append(rig.frame(app, view))

            def new_sample(rig: Rig = rig, i: int = i) -> None:  # the 48 h window slides by 1
                set_all(rig, x, ys, slice(i + 1, n + i + 1))
                rig.plot.setXRange(x[n + i] - 900, x[n + i], padding=0)

            times["live"].append(rig.frame(app, new_sample))
        rig.widget.close()
        frames[mode] = times
    print(
        f"series: {SERIES} lines × {n:,} points = {SERIES * n:,} in one {SIZE[0]}×{SIZE[1]} "
        f"plot; runs: fast {runs}, plain {plain_runs}"
    )
    rows = []
    for key, label in (
        ("full", "10×48 h: setXRange to all 48 h"),
        ("last", "10×48 h: setXRange to last 15 min"),
        ("live", "10×48 h: new sample, last 15 min"),
    ):
        ours, ref = frames["fast"][key], frames["plain"][key]
        median = statistics.median(ours)
        rows.append(
            Row(
                label,
                f"fast {ms(ours)}",
                f"plain {ms(ref)}",
                f"{median / statistics.median(ref):.3f}x",
                f"< {SERIES_MS:g} ms/frame",
                median < SERIES_MS,
            )
        )
    return rows


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (about 30 s)")
    parser.add_argument(
        "--only",
        default="parser,sampler,plot,series",
        help="comma-separated sections: parser, sampler, plot, series",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the sampler's work")
    args = parser.parse_args()
    only = {part.strip() for part in args.only.split(",")}
    quick = args.quick
    rows: list[Row] = []
    if "parser" in only:
        rows += parser_section(runs=10 if quick else 40)
    if "sampler" in only:
        rows += sampler_section(seconds=5.0 if quick else 20.0, warmup=1.5 if quick else 2.0)
    if "plot" in only:
        rows += plot_section(runs=3 if quick else 9, plain_runs=1 if quick else 5)
    if "series" in only:
        rows += series_section(runs=2 if quick else 7, plain_runs=1 if quick else 2)
    print()
    print_table(rows)
    if args.profile:
        profile_sampler()


if __name__ == "__main__":
    main()
