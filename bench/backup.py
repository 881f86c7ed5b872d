"""Backup, verify and restore of a generated ThemisDB-like node against `tar` + `zstd`.

Targets (DESIGN.md § 6), each measured as a ratio in one run on the same data:
  backup   `backup_files`  vs `tar -cf - DIR | zstd -T0 -3`   >= 0.9x throughput, size <= 1.05x
  verify   `verify`        vs `zstd -dc X | sha256sum`         >= 0.9x throughput
  restore  `restore`       vs `zstd -dc X | tar -xf - -C DIR`  >= 0.8x throughput
  peak RSS of each of ours < 200 MiB, flat as data grows (`--sizes 1G,4G`), and for verify
           and restore of a decompression bomb (1 GiB of zeros in ~100 KiB, `--bomb`)
  event-loop stall (10 ms Qt timer) while a backup runs in a QThreadPool worker < 50 ms
Whole commands, as a user runs them (process start, imports, journal included), same data:
  `backup --stopped --no-verify`  vs `tar -cf - | zstd -T0 -3`  >= 0.9x, size <= 1.05x
  `backup --stopped` (verify)     vs that, then `zstd -dc | openssl sha256`  >= 0.9x
  `restore --other-node --yes`    vs `zstd -dc | tar -x`  >= 0.8x
  their peak RSS (GNU time) < 200 MiB; with `--sizes`, also by data size (flat)
Each of our operations runs in a fresh child process, as the CLI runs it: its time is taken
there around the call (imports excluded), its peak RSS is the child's VmHWM, its CPU time and
minor page faults come from getrusage; the reference pipelines run under GNU time (peak RSS of
their largest process, CPU, faults). Best of `--repeat` rounds, the order of ours and the
reference swapped every round; `sync` before every timed step. The page cache is warm unless
`--cold` (caches dropped before every timed step; needs root). The stall is measured in one
more child with QT_QPA_PLATFORM=offscreen, the work in a `ui.tasks.TaskManager` worker.
`--profile` adds a cProfile of each of ours (main thread) after the table.

Run: .venv/bin/python bench/backup.py [--size 768M] [--sizes 1G,2G,4G] [--repeat 3] [--cold]
     [--profile] [--keep] [--dir TMP] [--commands-only]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NODE, VERSION = "bench", "1.8.0"
MB = 1_000_000  # throughput in decimal MB/s, as DESIGN.md § 5 quotes it
MIB = 1 << 20
BACKUP_MIN, SIZE_MAX, VERIFY_MIN, RESTORE_MIN = 0.9, 1.05, 0.9, 0.8
RSS_MAX_MIB, STALL_MAX_MS, TICK_MS = 200, 50, 10
FLAT_SLACK_MIB = 16  # "flat": the peak grows by at most this much from the smallest size


class BenchError(Exception):
    """A step failed (a pipeline's exit code, a failed verify): the figures would be wrong."""


# ---------------------------------------------------------------------------- measuring


@dataclass
class Run:
    seconds: float  # ours: around the call in the child; reference: the whole pipeline
    peak_kib: int  # ours: VmHWM of the child; reference: GNU time's %M (0: unknown)
    result: dict = field(default_factory=dict)  # what our child reported
    faults: int = -1  # minor page faults during the step (-1: unknown)
    cpu: float = -1.0  # user + system CPU seconds, all threads and processes (-1: unknown)


def measure(argv: list[str], what: str, env: dict[str, str] | None = None) -> Run:
    """Run `argv` to completion: its wall time, stdout, and stderr when it fails.

    (Not `wait4`'s ru_maxrss: a child's maximum includes the image it was forked from, i.e.
    this process's, until it execs; our children report VmHWM themselves, the reference is
    measured by GNU time, whose fork is small.)"""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        code = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=REPO).wait()
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if code != 0:
        tail = "\n".join((stderr or stdout).strip().splitlines()[-15:])
        raise BenchError(f"{what} failed (exit {code}):\n{tail}")
    return Run(seconds, 0, {"stdout": stdout})


CLI = Path(sys.executable).with_name("themis-desktop")  # the installed command
GNU_TIME = shutil.which("time", path="/usr/bin:/bin")  # the program, not the bash keyword


def shell(command: str, what: str) -> Run:
    """`command` under bash with pipefail; peak RSS of its largest process via GNU time."""
    argv = ["bash", "-c", f"set -euo pipefail; {command}"]
    if not GNU_TIME:
        return measure(argv, what)
    with tempfile.NamedTemporaryFile("r") as peak:
        run = measure([GNU_TIME, "-f", "%M %R %U %S", "-o", peak.name, *argv], what)
        fields = (peak.read().strip().splitlines() or [""])[-1].split()
    try:
        run.peak_kib, run.faults = int(fields[0]), int(fields[1])
        run.cpu = float(fields[2]) + float(fields[3])
    except (IndexError, ValueError):
        pass  # unknown: shown as n/a
    return run


def ours(op: str, what: str, env: dict[str, str] | None = None, **params: object) -> Run:
    """Our operation `op` in a fresh interpreter (see `child`); its own timing is used."""
    run = measure(
        [sys.executable, str(Path(__file__).resolve()), "--child", op, json.dumps(params)],
        what,
        env,
    )
    lines = run.result["stdout"].strip().splitlines()
    if not lines:
        raise BenchError(f"{what}: the child printed no result")
    result = json.loads(lines[-1])
    return Run(
        result.get("seconds", run.seconds),
        result.get("peak_kib", 0),
        result,
        result.get("faults", -1),
        result.get("cpu", -1.0),
    )


def settle(cold: bool) -> None:
    """Before a timed step: flush dirty pages (and drop the page cache with `--cold`)."""
    os.sync()
    if cold:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")


def tree_totals(*roots: Path) -> tuple[int, int]:
    """(regular files, bytes) under `roots` (a root may be a single file)."""
    files = size = 0
    for root in roots:
        if root.is_file():
            files, size = files + 1, size + root.stat().st_size
            continue
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder, name)
                if path.is_file() and not path.is_symlink():
                    files, size = files + 1, size + path.stat().st_size
    return files, size


# ------------------------------------------------------------------------- the child side


def _peak_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _profiled(call, enabled: bool):
    """`call()` and, when `enabled`, the top of its cProfile (main thread) as text."""
    if not enabled:
        return call(), ""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    value = profiler.runcall(call)
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(14)
    return value, text.getvalue()


def child(op: str, params: dict) -> None:
    """One of our operations, timed around the call; prints one JSON line."""
    if op == "stall":
        print(json.dumps(child_stall(params)))
        return
    from themis_desktop.core.backup.create import backup_files
    from themis_desktop.core.backup.restore import restore, verify

    base = _peak_kib()
    before = resource.getrusage(resource.RUSAGE_SELF)
    profile = bool(params.get("profile"))
    started = time.perf_counter()
    result: dict = {}
    if op == "backup":
        done, text = _profiled(
            lambda: backup_files(
                Path(params["out"]), NODE, VERSION, Path(params["data"]), [Path(params["config"])]
            ),
            profile,
        )
        result = {"archive": str(done.archive), "size": done.size}
    elif op == "verify":
        report, text = _profiled(lambda: verify(Path(params["archive"])), profile)
        if not report.ok:
            raise SystemExit(f"verify failed: {report.problems[:5]}")
        result = {"files": report.files_checked, "bytes": report.bytes_checked}
    elif op == "restore":
        done, text = _profiled(
            lambda: restore(
                Path(params["archive"]),
                Path(params["data"]),
                Path(params["config_dir"]),
                other_node=True,  # a fresh folder, not the node's own data dir
            ),
            profile,
        )
        result = {"data": str(done.data_dir)}
    else:
        raise SystemExit(f"unknown child operation {op!r}")
    seconds = time.perf_counter() - started
    peak = _peak_kib()
    after = resource.getrusage(resource.RUSAGE_SELF)
    faults = after.ru_minflt - before.ru_minflt
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(
        json.dumps(
            {
                **result,
                "seconds": seconds,
                "base_kib": base,
                "peak_kib": peak,
                "faults": faults,
                "cpu": cpu,
                "profile": text,
            }
        )
    )


def child_stall(params: dict) -> dict:
    """Largest gap between ticks of a 10 ms Qt timer: idle, while the reference pipeline runs
    in a worker, and while our backup (then restore) runs in one, as the GUI runs them."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from themis_desktop.core.backup.create import backup_files
    from themis_desktop.core.backup.restore import restore
    from themis_desktop.ui.tasks import TaskManager

    app = QApplication.instance() or QApplication([])
    tasks = TaskManager()
    state: dict = {"last": None, "gaps": [], "progress": 0, "error": None}

    def tick() -> None:
        now = time.perf_counter()
        if state["last"] is not None:
            state["gaps"].append(now - state["last"])
        state["last"] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)

    def on_progress(done: int, total: int) -> None:  # what a progress bar's slot receives
        state["progress"] += 1

    def phase(fn, *args, progress: bool = False, idle_ms: int = 0) -> dict:
        state.update(last=None, gaps=[], progress=0, error=None)
        loop = QEventLoop()
        timer.start()
        started = time.perf_counter()
        if fn is None:
            QTimer.singleShot(idle_ms, loop.quit)
        else:
            task = tasks.run(fn, *args, with_progress=progress)
            task.sig_progress.connect(on_progress)
            task.sig_failed.connect(lambda exc: state.update(error=repr(exc)))
            task.sig_finished.connect(loop.quit)
        loop.exec()
        seconds = time.perf_counter() - started
        timer.stop()
        if state["error"]:
            raise SystemExit(f"stall phase failed: {state['error']}")
        gaps = state["gaps"]
        return {
            "max_ms": max(gaps, default=0) * 1000,
            "ticks": len(gaps),
            "seconds": seconds,
            "progress_signals": state["progress"],
        }

    def pipeline() -> None:
        command = (
            f"set -euo pipefail; rm -f {shlex.quote(params['ref_out'])}; "
            f"tar -cf - -C {shlex.quote(params['root'])} data config.yaml "
            f"| zstd -T0 -3 -q -o {shlex.quote(params['ref_out'])}"
        )
        subprocess.run(["bash", "-c", command], check=True)

    idle = phase(None, idle_ms=1000)
    reference = phase(pipeline)
    backup = phase(
        backup_files,
        Path(params["out"]),
        NODE,
        VERSION,
        Path(params["data"]),
        [Path(params["config"])],
        progress=True,
    )
    archives = sorted(Path(params["out"]).glob("*.tar.zst"))
    restored = phase(
        functools.partial(restore, other_node=True),  # a fresh folder, not the node's own
        archives[-1],
        Path(params["restore"]) / "data",
        Path(params["restore"]) / "config",
        progress=True,
    )
    del app
    return {"idle": idle, "reference": reference, "backup": backup, "restore": restored}


# -------------------------------------------------------------------------- the benchmark


@dataclass
class Best:
    """Best time and largest peak RSS over rounds."""

    seconds: float = float("inf")
    peak_kib: int = 0
    faults: int = -1  # of the best (fastest) run
    cpu: float = -1.0  # of the best run
    base_kib: int = 0
    profile: str = ""

    def add(self, run: Run) -> None:
        if run.seconds < self.seconds:
            self.seconds, self.faults, self.cpu = run.seconds, run.faults, run.cpu
        self.peak_kib = max(self.peak_kib, run.peak_kib)
        self.base_kib = max(self.base_kib, run.result.get("base_kib", 0))


def mbps(nbytes: int, seconds: float) -> float:
    return nbytes / MB / seconds


def kilo(count: int) -> str:
    return "n/a" if count < 0 else f"{count / 1000:.0f} k"


def secs(seconds: float) -> str:
    return "n/a" if seconds < 0 else f"{seconds:.2f} s"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


class Bench:
    def __init__(self, work: Path, node, cold: bool, profile: bool) -> None:  # node: _datagen
        self.work, self.node, self.cold, self.profile = work, node, cold, profile
        self.ref_archive = work / "ref.tar.zst"
        self.our_out = work / "ours"
        self.cmd_out = work / "ours-cmd"
        self.cmd_archive = Path()
        self.restore_dir = work / "restored"
        self.expected = tree_totals(node.data_dir, node.config)
        self.ref_fsync = float("inf")

    def _fresh_restore_dir(self) -> Path:
        shutil.rmtree(self.restore_dir, ignore_errors=True)
        self.restore_dir.mkdir()
        return self.restore_dir

    def _check_restored(self, *roots: Path, what: str) -> None:
        got = tree_totals(*roots)
        if got != self.expected:
            raise BenchError(f"{what}: restored {got} (files, bytes), expected {self.expected}")

    def ref_backup(self) -> Run:
        self.ref_archive.unlink(missing_ok=True)
        settle(self.cold)
        q = shlex.quote
        run = shell(
            f"tar -cf - -C {q(str(self.node.root))} data config.yaml "
            f"| zstd -T0 -3 -q -o {q(str(self.ref_archive))}",
            "reference backup (tar | zstd)",
        )
        # ours fsyncs its archive before renaming it, the reference does not: time that
        # fsync apart (informative; the target is against the plain pipeline)
        with open(self.ref_archive, "rb") as f:
            started = time.perf_counter()
            os.fsync(f.fileno())
            self.ref_fsync = min(self.ref_fsync, time.perf_counter() - started)
        return run

    def our_backup(self) -> Run:
        shutil.rmtree(self.our_out, ignore_errors=True)
        settle(self.cold)
        run = ours(
            "backup",
            "our backup",
            out=str(self.our_out),
            data=str(self.node.data_dir),
            config=str(self.node.config),
            profile=self.profile,
        )
        self.our_archive = Path(run.result["archive"])
        return run

    def ref_verify(self) -> Run:
        settle(self.cold)
        run = shell(
            f"zstd -dc {shlex.quote(str(self.ref_archive))} | sha256sum",
            "reference verify (zstd -dc | sha256sum)",
        )
        if len(run.result["stdout"].split()[0]) != 64:
            raise BenchError("reference verify: sha256sum printed no digest")
        return run

    def our_verify(self) -> Run:
        settle(self.cold)
        run = ours("verify", "our verify", archive=str(self.our_archive), profile=self.profile)
        if run.result["bytes"] != self.expected[1]:
            raise BenchError(f"our verify checked {run.result['bytes']} bytes, not all")
        return run

    def ref_restore(self) -> Run:
        target = self._fresh_restore_dir()
        settle(self.cold)
        run = shell(
            f"zstd -dc {shlex.quote(str(self.ref_archive))} "
            f"| tar -xf - -C {shlex.quote(str(target))}",
            "reference restore (zstd -dc | tar -x)",
        )
        self._check_restored(target, what="reference restore")
        shutil.rmtree(target)
        return run

    def our_restore(self) -> Run:
        target = self._fresh_restore_dir()
        settle(self.cold)
        run = ours(
            "restore",
            "our restore",
            archive=str(self.our_archive),
            data=str(target / "data"),
            config_dir=str(target / "config"),
            profile=self.profile,
        )
        self._check_restored(target, what="our restore")
        shutil.rmtree(target)
        return run

    # -- whole commands, as a user runs them (process start included) --------------------

    def _command(self, args: str) -> str:
        """`themis-desktop ARGS` with a private data folder (journal, log) for the bench."""
        home = self.work / "home"
        home.mkdir(exist_ok=True)
        return f"THEMIS_DESKTOP_HOME={shlex.quote(str(home))} {shlex.quote(str(CLI))} {args}"

    def ref_cmd_backup(self, verify: bool) -> Run:
        run = self.ref_backup()
        if verify:  # the reference's read-back: decompress and hash every byte
            settle(self.cold)
            check = shell(
                f"zstd -dc {shlex.quote(str(self.ref_archive))} | openssl sha256",
                "reference verify (zstd -dc | openssl sha256)",
            )
            run = Run(run.seconds + check.seconds, max(run.peak_kib, check.peak_kib))
        return run

    def our_cmd_backup(self, verify: bool) -> Run:
        shutil.rmtree(self.cmd_out, ignore_errors=True)
        settle(self.cold)
        q = shlex.quote
        run = shell(
            self._command(
                f"backup --stopped {'' if verify else '--no-verify '}"
                f"--data-dir {q(str(self.node.data_dir))} --config {q(str(self.node.config))} "
                f"--node {NODE} --themis-version {VERSION} -o {q(str(self.cmd_out))}"
            ),
            "our backup command",
        )
        lines = run.result["stdout"].strip().splitlines()
        if verify and "sha256" not in lines[0]:
            raise BenchError(f"our backup command did not verify: {lines[0]}")
        self.cmd_archive = Path(lines[-1])
        return run

    def ref_cmd_restore(self) -> Run:
        return self.ref_restore()

    def our_cmd_restore(self) -> Run:
        target = self._fresh_restore_dir()
        settle(self.cold)
        q = shlex.quote
        run = shell(
            self._command(
                f"restore {q(str(self.cmd_archive))} --data-dir {q(str(target / 'data'))} "
                f"--config-dir {q(str(target / 'config'))} --other-node --yes"
            ),
            "our restore command",
        )
        self._check_restored(target, what="our restore command")
        shutil.rmtree(target)
        return run

    def stall(self) -> dict:
        shutil.rmtree(self.our_out, ignore_errors=True)
        self._fresh_restore_dir()
        os.sync()
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        run = ours(
            "stall",
            "event-loop stall",
            env,
            root=str(self.node.root),
            data=str(self.node.data_dir),
            config=str(self.node.config),
            out=str(self.our_out),
            ref_out=str(self.work / "stall-ref.tar.zst"),
            restore=str(self.restore_dir),
        )
        (self.work / "stall-ref.tar.zst").unlink(missing_ok=True)
        shutil.rmtree(self.restore_dir, ignore_errors=True)
        return run.result


def row(what: str, ours_: str, ref: str, ratio: str, target: str, ok: bool | None) -> str:
    mark = "" if ok is None else verdict(ok)
    return f"{what:<24} {ours_:>14} {ref:>16} {ratio:>8}  {target:<10} {mark}"


def main_table(args, node, work: Path, gen_seconds: float) -> dict[str, Best]:
    bench = Bench(work, node, args.cold, profile=False)
    names = ["backup", "verify", "restore"]
    best = {f"{side} {name}": Best() for side in ("ours", "ref") for name in names}
    steps = {
        "backup": (bench.ref_backup, bench.our_backup),
        "verify": (bench.ref_verify, bench.our_verify),
        "restore": (bench.ref_restore, bench.our_restore),
    }
    started = time.perf_counter()
    for round_ in range(args.repeat):
        for name in names:
            ref_step, our_step = steps[name]
            order = [("ref", ref_step), ("ours", our_step)]
            for side, step in order if round_ % 2 == 0 else order[::-1]:
                best[f"{side} {name}"].add(step())
        print(f"  round {round_ + 1}/{args.repeat} done ({time.perf_counter() - started:.0f} s)")
    ref_size = bench.ref_archive.stat().st_size  # the last archives of both sides
    our_size = bench.our_archive.stat().st_size
    stall = bench.stall()

    data_bytes = node.bytes
    ratio = data_bytes / ref_size
    print(
        f"\ndata: {node.files} files, {data_bytes / MB:.0f} MB; zstd -3 ratio {ratio:.2f}x "
        f"(aim 2-3x{'' if 2 <= ratio <= 3 else ': OFF, the data is not representative'}); "
        f"generated in {gen_seconds:.1f} s; page cache {'cold' if args.cold else 'warm'}"
    )
    print(row("", "ours", "reference", "ratio", "target", None))
    for name, target in (("backup", BACKUP_MIN), ("verify", VERIFY_MIN), ("restore", RESTORE_MIN)):
        o, r = best[f"ours {name}"], best[f"ref {name}"]
        speed = r.seconds / o.seconds
        print(
            row(
                f"{name} throughput",
                f"{mbps(data_bytes, o.seconds):.0f} MB/s",
                f"{mbps(data_bytes, r.seconds):.0f} MB/s",
                f"{speed:.2f}x",
                f">= {target}x",
                speed >= target,
            )
        )
        if name == "backup":
            with_fsync = r.seconds + bench.ref_fsync
            print(
                row(
                    "  vs ref + fsync",
                    "",
                    f"{mbps(data_bytes, with_fsync):.0f} MB/s",
                    f"{with_fsync / o.seconds:.2f}x",
                    "(info)",
                    None,
                )
            )
            print(
                row(
                    "backup archive size",
                    f"{our_size / MB:.1f} MB",
                    f"{ref_size / MB:.1f} MB",
                    f"{our_size / ref_size:.3f}x",
                    f"<= {SIZE_MAX}x",
                    our_size / ref_size <= SIZE_MAX,
                )
            )
        print(row(f"  {name} time", f"{o.seconds:.2f} s", f"{r.seconds:.2f} s", "", "", None))
        print(row("  CPU (user + sys)", secs(o.cpu), secs(r.cpu), "", "", None))
        print(row("  minor page faults", kilo(o.faults), kilo(r.faults), "", "", None))
    for name in names:
        o, r = best[f"ours {name}"], best[f"ref {name}"]
        print(
            row(
                f"{name} peak RSS",
                f"{o.peak_kib / 1024:.0f} MiB",
                f"{r.peak_kib / 1024:.0f} MiB" if r.peak_kib else "n/a",
                f"{o.peak_kib / r.peak_kib:.1f}x" if r.peak_kib else "",
                f"< {RSS_MAX_MIB} MiB",
                o.peak_kib / 1024 < RSS_MAX_MIB,
            )
        )
    base = best["ours backup"].base_kib / 1024
    print(f"  (our peaks include the interpreter and its imports: {base:.0f} MiB before the call)")
    idle, ref = stall["idle"]["max_ms"], stall["reference"]["max_ms"]
    for name in ("backup", "restore"):
        phase = stall[name]
        print(
            row(
                f"{name} max tick gap",
                f"{phase['max_ms']:.1f} ms",
                f"{ref:.1f} ms",
                f"{phase['max_ms'] / ref:.1f}x",
                f"< {STALL_MAX_MS} ms",
                phase["max_ms"] < STALL_MAX_MS,
            )
        )
    print(
        f"  (timer {TICK_MS} ms; work in a QThreadPool worker of ui.tasks.TaskManager;\n"
        f"   reference: the tar | zstd pipeline run from the same worker; idle {idle:.1f} ms;\n"
        f"   {stall['backup']['progress_signals']} progress signals during the backup, "
        f"which took {stall['backup']['seconds']:.1f} s there)"
    )
    return best


def command_table(args, node, work: Path) -> None:
    """The whole commands as a user runs them, process start included, beside the pipelines:
    `backup --stopped --no-verify`, `backup --stopped` (its verify reads every byte back and
    checks every SHA-256) and `restore`; best of `--repeat`, the order swapped every round."""
    bench = Bench(work, node, args.cold, profile=False)
    steps = {
        "backup command (no verify)": (
            lambda: bench.ref_cmd_backup(False),
            lambda: bench.our_cmd_backup(False),
        ),
        "backup command + verify": (
            lambda: bench.ref_cmd_backup(True),
            lambda: bench.our_cmd_backup(True),
        ),
        "restore command": (bench.ref_cmd_restore, bench.our_cmd_restore),
    }
    best = {(side, name): Best() for side in ("ref", "ours") for name in steps}
    sizes: dict[str, int] = {}
    for round_ in range(args.repeat):
        for name, (ref_step, our_step) in steps.items():
            order = [("ref", ref_step), ("ours", our_step)]
            for side, step in order if round_ % 2 == 0 else order[::-1]:
                best[(side, name)].add(step())
            if name == "backup command (no verify)":
                sizes = {"ours": bench.cmd_archive.stat().st_size}
                sizes["ref"] = bench.ref_archive.stat().st_size
    print(
        f"\nwhole commands ({CLI.name}, process start included; references: "
        "tar -cf - | zstd -T0 -3 -q, then zstd -dc | openssl sha256; zstd -dc | tar -x)"
    )
    print(row("", "ours", "reference", "ratio", "target", None))
    targets = {
        "backup command (no verify)": BACKUP_MIN,
        "backup command + verify": VERIFY_MIN,
        "restore command": RESTORE_MIN,
    }
    for name, target in targets.items():
        o, r = best[("ours", name)], best[("ref", name)]
        speed = r.seconds / o.seconds
        print(
            row(
                name,
                f"{o.seconds:.2f} s",
                f"{r.seconds:.2f} s",
                f"{speed:.2f}x",
                f">= {target}x",
                speed >= target,
            )
        )
        if name == "backup command (no verify)":
            print(
                row(
                    "  command archive size",
                    f"{sizes['ours'] / MB:.1f} MB",
                    f"{sizes['ref'] / MB:.1f} MB",
                    f"{sizes['ours'] / sizes['ref']:.3f}x",
                    f"<= {SIZE_MAX}x",
                    sizes["ours"] / sizes["ref"] <= SIZE_MAX,
                )
            )
        print(
            row(
                "  peak RSS",
                f"{o.peak_kib / 1024:.0f} MiB",
                f"{r.peak_kib / 1024:.0f} MiB" if r.peak_kib else "n/a",
                "",
                f"< {RSS_MAX_MIB} MiB",
                0 < o.peak_kib / 1024 < RSS_MAX_MIB,
            )
        )
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end)")
    shutil.rmtree(bench.cmd_out, ignore_errors=True)


def memory_table(args, sizes: list[int], work: Path, datagen) -> None:
    """Peak RSS of each of ours at each size: it must not grow with the data."""
    print(f"\npeak RSS by data size (MiB; flat = grows by <= {FLAT_SLACK_MIB} MiB)")
    print(
        f"{'size':>10} {'backup':>8} {'verify':>8} {'restore':>8} {'command':>8} "
        f"{'cmd-restore':>11}   backup throughput"
    )
    print("  (command: `themis-desktop backup --stopped` with its verify; cmd-restore: `restore`)")
    peaks: dict[str, list[float]] = {
        "backup": [],
        "verify": [],
        "restore": [],
        "command": [],
        "cmd-restore": [],
    }
    for size in sizes:
        root = work / f"mem-{size}"
        node = datagen.generate(root, size)
        bench = Bench(work / f"mem-{size}", node, args.cold, profile=False)
        backup = bench.our_backup()
        verify = bench.our_verify()
        restore = bench.our_restore()
        command = bench.our_cmd_backup(True)  # the whole command, its verify included
        command_restore = bench.our_cmd_restore()
        for name, run in (
            ("backup", backup),
            ("verify", verify),
            ("restore", restore),
            ("command", command),
            ("cmd-restore", command_restore),
        ):
            peaks[name].append(run.peak_kib / 1024)
        print(
            f"{datagen.human(size):>10} {peaks['backup'][-1]:8.0f} {peaks['verify'][-1]:8.0f} "
            f"{peaks['restore'][-1]:8.0f} {peaks['command'][-1]:8.0f} "
            f"{peaks['cmd-restore'][-1]:11.0f}   {mbps(node.bytes, backup.seconds):.0f} MB/s"
        )
        shutil.rmtree(bench.cmd_out, ignore_errors=True)
        shutil.rmtree(root)
    for name, values in peaks.items():
        growth = values[-1] - values[0]
        flat = growth <= FLAT_SLACK_MIB and max(values) < RSS_MAX_MIB
        print(
            f"  {name:<8} {values[0]:.0f} -> {values[-1]:.0f} MiB ({growth:+.0f} MiB)  "
            f"flat and < {RSS_MAX_MIB} MiB: {verdict(flat)}"
        )


def make_zeros_bomb(path: Path, size: int) -> Path:
    """A valid archive of ours holding one file of `size` zero bytes: ~10 000x smaller than
    what it expands to, the shape of a decompression bomb."""
    import hashlib
    import io
    import tarfile

    import zstandard

    from themis_desktop.core.backup.archive_format import FileEntry, Manifest

    digest, block = hashlib.sha256(), bytes(MIB)
    for _ in range(size // MIB):
        digest.update(block)
    files = [
        FileEntry("data", 0, 0o755, 0, "", "dir"),
        FileEntry("data/zeros", size, 0o644, 0, digest.hexdigest()),
    ]
    body = Manifest("bomb", VERSION, "2026-01-01T00:00:00Z", "bench", {}, files).to_json()

    class Zeros(io.RawIOBase):
        def __init__(self) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            n = min(len(buffer), self.left)
            buffer[:n] = bytes(n)
            self.left -= n
            return n

    with open(path, "wb") as raw:
        writer = zstandard.ZstdCompressor(level=3).stream_writer(raw)
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.GNU_FORMAT) as tar:
            info = tarfile.TarInfo("MANIFEST.json")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body.encode()))
            info = tarfile.TarInfo("data")
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
            info = tarfile.TarInfo("data/zeros")
            info.size = size
            tar.addfile(info, Zeros())
        writer.flush(zstandard.FLUSH_FRAME)
    return path


def bomb_table(work: Path, size: int) -> None:
    """Peak RSS of verify and restore of a zeros bomb, beside `zstd -dc | sha256sum`'s."""
    archive = make_zeros_bomb(work / "bomb.tar.zst", size)
    label = f"{size / MIB:.0f} MiB of zeros in {archive.stat().st_size / 1024:.0f} KiB"
    print(f"\ndecompression bomb: {label}")
    ref = shell(f"zstd -dc {shlex.quote(str(archive))} | sha256sum >/dev/null", "bomb reference")
    runs = {
        "verify": ours("verify", "bomb verify", archive=str(archive)),
        "restore": ours(
            "restore",
            "bomb restore",
            archive=str(archive),
            data=str(work / "bomb-restored" / "data"),
            config_dir=str(work / "bomb-restored" / "config"),
        ),
    }
    for name, run in runs.items():
        print(
            row(
                f"bomb {name} peak RSS",
                f"{run.peak_kib / 1024:.0f} MiB",
                f"{ref.peak_kib / 1024:.0f} MiB" if ref.peak_kib else "n/a",
                f"{run.peak_kib / ref.peak_kib:.1f}x" if ref.peak_kib else "",
                f"< {RSS_MAX_MIB} MiB",
                run.peak_kib / 1024 < RSS_MAX_MIB,
            )
        )
    shutil.rmtree(work / "bomb-restored", ignore_errors=True)
    archive.unlink()


def profile_ours(work: Path, node) -> None:
    """One more run of each of ours under cProfile (main thread; not timed in the table)."""
    bench = Bench(work, node, cold=False, profile=True)
    for step in (bench.our_backup, bench.our_verify, bench.our_restore):
        run = step()
        print(
            f"\n--- cProfile of our {step.__name__.removeprefix('our_')} "
            f"({run.seconds:.2f} s with the profiler on) ---"
        )
        print("\n".join(run.result["profile"].strip().splitlines()[:30]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="768M", help="data size of the main table (768M)")
    parser.add_argument(
        "--commands-only", action="store_true", help="only the whole-command rows (and --sizes)"
    )
    parser.add_argument("--sizes", default="", help="sizes for the memory check, e.g. 1G,4G")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; best time is kept")
    parser.add_argument("--cold", action="store_true", help="drop the page cache each step")
    parser.add_argument("--profile", action="store_true", help="cProfile each of ours after")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--dir", default=None, help="where the temporary folder goes")
    parser.add_argument("--bomb", default="1G", help="size a zeros bomb expands to (1G)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], json.loads(args.child[1]))
        return 0

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _datagen as datagen

    size = datagen.parse_size(args.size)
    sizes = [datagen.parse_size(s) for s in args.sizes.split(",") if s.strip()]
    for tool in ("tar", "zstd", "sha256sum", "openssl", "bash"):
        if not shutil.which(tool):
            print(f"{tool} is missing (apt-get install zstd tar coreutils)", file=sys.stderr)
            return 2
    if args.cold and os.geteuid() != 0:
        print("--cold needs root (it writes /proc/sys/vm/drop_caches)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="themis-bench-backup-", dir=args.dir))
    needed = int(max([size, *sizes]) * 1.3) + size * 2 + (256 << 20)
    if shutil.disk_usage(work).free < needed:
        shutil.rmtree(work)
        print(
            f"not enough free space in {work.parent}: ~{needed >> 30} GiB needed", file=sys.stderr
        )
        return 2
    zstd_version = subprocess.run(
        ["zstd", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(
        f"bench/backup.py: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"{zstd_version.split(',')[0].strip('* ')}; in {work}"
    )
    try:
        started = time.perf_counter()
        node = datagen.generate(work / "node", size)
        gen_seconds = time.perf_counter() - started
        print(f"generated {datagen.human(node.bytes)} in {node.files} files: {gen_seconds:.1f} s")
        if not args.commands_only:
            main_table(args, node, work, gen_seconds)
        command_table(args, node, work)
        if not args.commands_only:
            bomb_table(work, datagen.parse_size(args.bomb))
        if args.profile:
            profile_ours(work, node)
        if sizes:
            memory_table(args, sizes, work, datagen)
        print(f"\ntotal {time.perf_counter() - started:.0f} s")
    except BenchError as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
