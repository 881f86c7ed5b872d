"""A dress rehearsal of a hop on a copy: before the hop's upgrade step, each node's latest
verified backup (the one the hop relies on, `hop_backups`) is restored into a scratch
folder, the hop's target version is started on that copy by the profile's rehearsal host
(`host.py`), the copy gets validation's checks and must answer as the target version, the
probe workload runs against the copies and production side by side for `duration_s`
(`metrics.soak`; probes are reads, production is otherwise untouched), and the copies are
judged against production with the metrics verdict (`verdict.evaluate`). The copy's log
errors are kept as evidence. Every step, its duration, the verdict and the errors are
recorded in the journal (`upgrade.rehearsal_store`), which is what the rehearsal gate
(`upgrade.rehearsal_gate`) asks. The scratch copy is removed afterwards unless `keep`.

Verdicts: pass; fail (the copy answers another version, a check fails, a metric fails or
is marginal, it does not start from the backup); inconclusive (too little evidence within
the limit); cancelled; error (a copy could not be made: restore or host failure).
`RehearsalError` (nothing recorded): the rehearsal cannot run at all (no verified backup,
no rehearsal host).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from themis_desktop.core.backup.archive_format import BackupError
from themis_desktop.core.backup.restore import restore
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal, utc_now
from themis_desktop.core.logs.line_format import parse_plain, parse_themis
from themis_desktop.core.metrics.comparison import MIN_SAMPLES
from themis_desktop.core.metrics.soak import SoakResult, close_clients, enough_samples, soak
from themis_desktop.core.metrics.verdict import Evaluation, describe, evaluate
from themis_desktop.core.rehearsal.host import Copy, RehearsalError, RehearsalHost, host_for
from themis_desktop.core.server import errors
from themis_desktop.core.upgrade import hop_runner, rehearsal_store
from themis_desktop.core.upgrade.hop_backups import hop_backups
from themis_desktop.core.upgrade.rehearsal_store import Rehearsal, RehearsalStep
from themis_desktop.core.upgrade.session import Hop, UpgradeSession
from themis_desktop.core.util.changes import ChangeLog, Topic

if TYPE_CHECKING:
    from themis_desktop.core.server.client import ThemisClient

DEFAULT_DURATION_S = 60.0
DEFAULT_INTERVAL_S = 1.0
READY_TIMEOUT_S = 60.0
# the metrics a copy is judged by: not the request rate (a copy gets no production traffic)
JUDGED = ("probe_ms", "error_rate", "server_p95_ms", "server_p99_ms")
MAX_LOG_ERRORS = 20
# progress: (what is happening, seconds left of the soak or None, fraction done 0..1)
Progress = Callable[[str, float | None, float], None]

__all__ = [
    "DEFAULT_DURATION_S",
    "RehearsalError",
    "RehearsalOptions",
    "rehearse",
]


@dataclass
class RehearsalOptions:
    """How long and how closely to rehearse; `min_samples` per side and metric (the
    verdict's evidence), `limit_s` how long the soak may go on for missing evidence."""

    duration_s: float = DEFAULT_DURATION_S
    interval_s: float = DEFAULT_INTERVAL_S
    min_samples: int = MIN_SAMPLES
    limit_s: float | None = None  # default: twice the duration, at least 30 s more
    keep: bool = False
    scratch_root: Path | None = None  # default: the system's temporary folder
    ready_timeout_s: float = READY_TIMEOUT_S

    @property
    def limit(self) -> float:
        if self.limit_s is not None:
            return max(self.limit_s, self.duration_s)
        return max(2 * self.duration_s, self.duration_s + 30.0)


@dataclass
class _Run:
    steps: list[RehearsalStep] = field(default_factory=list)
    verdict: str | None = None
    reason: str = ""
    evaluation: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def fail(self, verdict: str, reason: str) -> None:
        if self.verdict is None:  # the first failure is the reason
            self.verdict, self.reason = verdict, reason


def rehearse(
    profile: Profile,
    token: str | None,
    session: UpgradeSession,
    hop: Hop,
    *,
    journal_path: Path | None = None,
    options: RehearsalOptions | None = None,
    host: RehearsalHost | None = None,
    progress: Progress | None = None,
    cancelled: threading.Event | None = None,
    changed: ChangeLog | None = None,
    log: Callable[[str], None] | None = None,
) -> Rehearsal:
    """Rehearse `hop` of `session` on copies of `profile`'s nodes (module docstring) and
    record it; returns the recorded rehearsal. RehearsalError when it cannot run."""
    options = options or RehearsalOptions()
    cancel = cancelled if cancelled is not None else threading.Event()
    say = log or (lambda line: None)
    tell = progress or (lambda text, left, done: None)
    with Journal(journal_path) as journal:
        session = session.reload(journal)
        hop = session.hop(hop.id)
        if hop.started_at is not None:
            raise RehearsalError(
                f"Hop {hop.label} is upgraded already: a rehearsal is for before its upgrade "
                "step. Validate the hop, or roll it back."
            )
        found = hop_backups(journal, session, hop, profile)
    missing = [n for n, r in found.items() if r is None]
    if missing:
        raise RehearsalError(
            f"No verified backup of {', '.join(missing)} for hop {hop.label}: back up now "
            "first; the rehearsal runs on a copy of the latest verified backup."
        )
    host = host or host_for(profile.service)
    backups = {n: r for n, r in found.items() if r is not None}
    started_at = utc_now()
    scratch = Path(tempfile.mkdtemp(prefix=f"themis-rehearsal-{hop.id}-", dir=options.scratch_root))
    run = _Run()
    copies: list[Copy] = []
    say(f"Rehearsing hop {hop.label} on a copy in {scratch}")

    def step(name: str, began: float, ok: bool, detail: str = "") -> None:
        seconds = round(time.monotonic() - began, 3)
        run.steps.append(RehearsalStep(name, seconds, ok, detail))
        say(f"{'✓' if ok else '✗'} {name} ({seconds:.1f} s){': ' + detail if detail else ''}")

    try:
        for node in profile.nodes:
            if cancel.is_set():
                break
            record = backups[node.name]
            folder = scratch / _safe(node.name)
            data_dir = folder / "data"
            tell(f"Restoring the backup of {node.name} into a scratch folder", None, 0.05)
            began = time.monotonic()
            try:
                restore(Path(record.path), data_dir, node=node.name, cancelled=cancel)
            except BackupError as exc:
                step(f"restore {node.name}'s backup #{record.id}", began, False, str(exc))
                run.fail("error", f"The backup of {node.name} could not be restored: {exc}")
                break
            step(f"restore {node.name}'s backup #{record.id}", began, True, str(data_dir))
            tell(f"Starting {hop.to_version} on the copy of {node.name}", None, 0.15)
            began = time.monotonic()
            try:
                copy = host.start(node, folder, data_dir, hop.to_version)
            except RehearsalError as exc:
                step(f"start {hop.to_version} on the copy of {node.name}", began, False, str(exc))
                run.fail("error", str(exc))
                break
            copies.append(copy)
            ready, detail = _wait_ready(profile, token, copy, options.ready_timeout_s, cancel)
            step(f"start {hop.to_version} on the copy of {node.name}", began, ready, detail)
            if not ready:
                run.fail(
                    "fail",
                    f"{hop.to_version} did not come up on the copy of {node.name}: {detail}",
                )
                break
        if run.verdict is None and not cancel.is_set():
            _checks(profile, token, hop, copies, run, step)
        result: SoakResult | None = None
        if run.verdict is None and not cancel.is_set():
            result = _soak(profile, token, copies, options, cancel, tell, step)
        if result is not None and not result.cancelled:
            _judge(profile, copies, result, options, run, step)
        for copy in copies:
            run.errors.extend(_log_errors(copy))
        if run.errors:
            say(f"… {len(run.errors)} error line(s) in the copies' logs")
    finally:
        tell("Stopping the copies", None, 0.95)
        began = time.monotonic()
        stop_problems = []
        for copy in copies:
            try:
                host.stop(copy)
            except RehearsalError as exc:
                stop_problems.append(str(exc))
        if copies:
            step("stop the copies", began, not stop_problems, "; ".join(stop_problems))
        if not options.keep:
            began = time.monotonic()
            shutil.rmtree(scratch, ignore_errors=True)
            step("remove the scratch copy", began, not scratch.exists(), str(scratch))
        else:
            say(f"The scratch copy is kept in {scratch}")
    if cancel.is_set() and run.verdict is None:
        run.fail("cancelled", "The rehearsal was cancelled before it had a verdict.")
    if run.verdict is None:
        run.fail("pass", "The copies ran the target version and matched production.")
    with Journal(journal_path) as journal, journal.transaction():
        row = rehearsal_store.add(
            journal,
            session_id=session.id,
            hop_id=hop.id,
            profile=profile.name,
            from_version=hop.from_version,
            to_version=hop.to_version,
            started_at=started_at,
            verdict=run.verdict or "error",
            reason=run.reason,
            host=host.kind,
            scratch_dir=str(scratch),
            kept=options.keep,
            backups={n: r.id for n, r in backups.items()},
            steps=run.steps,
            evaluation=run.evaluation,
            errors=run.errors[:MAX_LOG_ERRORS],
        )
        session.log(
            journal,
            "rehearsal.done",
            f"Rehearsal of hop {hop.label} on a copy: {row.verdict} — {row.reason}",
            data={
                "hop": hop.id,
                "rehearsal": row.id,
                "verdict": row.verdict,
                "reason": row.reason,
                "steps": [st.to_dict() for st in row.steps],
                "failing": [r for r in row.evaluation if r["verdict"] in ("fail", "marginal")],
                "errors": row.errors[:5],
                "host": row.host,
            },
        )
    if changed is not None:
        changed.add(Topic.REHEARSALS, Topic.EVENTS)
    tell(f"Rehearsal: {row.verdict}", 0.0, 1.0)
    return row


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "node"


def _copy_endpoint(copy: Copy) -> NodeEndpoint:
    return NodeEndpoint(
        copy.url,
        name=f"{copy.node} (copy)",
        data_dir=str(copy.folder / "data"),
        log_source=f"file:{copy.log}" if copy.log else "",
    )


def _client(profile: Profile, token: str | None, copy: Copy, timeout: float) -> ThemisClient:
    return profile.client(_copy_endpoint(copy), token, timeout=timeout)


def _wait_ready(
    profile: Profile, token: str | None, copy: Copy, timeout: float, cancel: threading.Event
) -> tuple[bool, str]:
    """Until the copy answers ready (or `/health` on era A): (ready, what it said)."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    with _client(profile, token, copy, 2.0) as client:
        while time.monotonic() < deadline and not cancel.is_set():
            try:
                try:
                    ready = client.ready()
                    if ready.ready:
                        return True, f"ready at {copy.url}"
                    last = f"not ready ({ready.status})"
                except errors.NotFound:
                    client.health()
                    return True, f"healthy at {copy.url}"
            except errors.ThemisError as exc:
                last = str(exc)
            cancel.wait(0.2)
    return False, f"not ready within {timeout:.0f} s ({last})"


def _checks(
    profile: Profile,
    token: str | None,
    hop: Hop,
    copies: list[Copy],
    run: _Run,
    step: Callable[[str, float, bool, str], None],
) -> None:
    """Validation's checks on each copy, the version first: the copy must answer as the
    hop's target, or the rehearsal did not exercise it."""
    copy_profile = Profile(
        f"{profile.name} (rehearsal)",
        tuple(_copy_endpoint(c) for c in copies),
        verify_tls=profile.verify_tls,
        ca_file=profile.ca_file,
        uses_auth=profile.uses_auth,
        service=profile.service,
    )
    ctx = hop_runner.HopContext(copy_profile, token, _NoService())
    for copy, endpoint in zip(copies, copy_profile.nodes, strict=True):
        began = time.monotonic()
        with _client(profile, token, copy, 5.0) as client:
            try:
                info = client.version(refresh=True)
                answered = info.version if info.exact else None
            except errors.ThemisError as exc:
                answered, detail = None, str(exc)
            else:
                detail = f"answers as {info.version}" if info.exact else "era A: not exact"
        ok = answered == hop.to_version
        step(f"version of the copy of {copy.node}", began, ok, f"{detail}, target {hop.to_version}")
        if not ok and detail.startswith("era A"):
            run.fail(
                "fail",
                f"The copy of {copy.node} is an era-A server, which does not tell its exact "
                f"version: the rehearsal cannot show that it ran {hop.to_version}. Check the "
                "copy's binary yourself and override the gate with a note.",
            )
            return
        if not ok:
            run.fail(
                "fail",
                f"The copy of {copy.node} answers as {answered or 'an unknown version'}, not "
                f"the hop's target {hop.to_version}: the rehearsal did not exercise the real "
                "target. Check the rehearsal host's install of the target version.",
            )
            return
        began = time.monotonic()
        checks = hop_runner.node_checks(ctx, endpoint, hop.to_version)
        bad = [c for c in checks if not c.ok]
        detail = "; ".join(f"{c.name}: {c.detail}" for c in (bad or checks) if not c.info)
        step(f"validation checks on the copy of {copy.node}", began, not bad, detail)
        if bad:
            run.fail("fail", f"Validation failed on the copy of {copy.node}: {detail}")
            return


class _NoService:
    """The copy's checks never stop, start or install anything."""

    def stop(self, node: NodeEndpoint) -> Any:
        raise RehearsalError("a rehearsal's checks do not stop nodes")

    def start(self, node: NodeEndpoint) -> Any:
        raise RehearsalError("a rehearsal's checks do not start nodes")

    def install(self, node: NodeEndpoint, version: str) -> Any:
        raise RehearsalError("a rehearsal's checks do not install")


def _soak(
    profile: Profile,
    token: str | None,
    copies: list[Copy],
    options: RehearsalOptions,
    cancel: threading.Event,
    tell: Progress,
    step: Callable[[str, float, bool, str], None],
) -> SoakResult:
    """Probe the copies and production side by side (production: reads only)."""
    clients: dict[str, ThemisClient] = {}
    overrides: dict[str, str | None] = {}
    try:
        for node in profile.nodes:
            clients[f"production:{node.name}"] = profile.client(node, token, timeout=2.0)
            overrides[f"production:{node.name}"] = node.version_override
        for copy in copies:
            clients[f"copy:{copy.node}"] = _client(profile, token, copy, 2.0)
        began = time.monotonic()
        total = options.duration_s

        def soaking(left: float) -> None:
            done = 0.2 + 0.7 * (1 - left / total) if total > 0 else 0.9
            tell(f"Probing the copies and production: {left:.0f} s left", left, min(done, 0.9))

        result = soak(
            clients,
            options.duration_s,
            interval=options.interval_s,
            cancel=cancel,
            progress=soaking,
            enough=enough_samples(options.min_samples, JUDGED[:1]),
            limit_s=options.limit,
            version_overrides=overrides,
        )
    finally:
        close_clients(clients)
    step(
        "probe workload on the copies and production",
        began,
        not result.cancelled,
        f"{result.seconds:.0f} s, {result.rounds} rounds of samples",
    )
    return result


def _judge(
    profile: Profile,
    copies: list[Copy],
    result: SoakResult,
    options: RehearsalOptions,
    run: _Run,
    step: Callable[[str, float, bool, str], None],
) -> None:
    began = time.monotonic()
    production = result.pooled(f"production:{n.name}" for n in profile.nodes)
    copy = result.pooled(f"copy:{c.node}" for c in copies)
    evaluation = evaluate(
        {k: v for k, v in production.items() if k in JUDGED},
        {k: v for k, v in copy.items() if k in JUDGED},
        min_samples=options.min_samples,
    )
    run.evaluation = _evaluation_rows(evaluation)
    overall = evaluation.overall
    if overall in ("fail", "marginal"):
        worse = [v for v in evaluation.verdicts if v.verdict in ("fail", "marginal")]
        reason = "; ".join(describe(v) for v in worse) or overall
        run.fail("fail", f"The copy does worse than production ({overall}): {reason}")
    elif overall in ("inconclusive", "no data"):
        run.fail("inconclusive", evaluation.inconclusive or overall)
    step("metrics verdict: copy against production", began, overall == "pass", overall)


def _evaluation_rows(evaluation: Evaluation) -> list[dict[str, Any]]:
    rows = []
    for v in evaluation.verdicts:
        if v.verdict == "no data":
            continue
        c = v.hop
        rows.append(
            {
                "metric": v.metric,
                "verdict": v.verdict,
                "production": c.baseline_median,
                "copy": c.now_median,
                "change": c.change,
                "n_production": c.n_before,
                "n_copy": c.n_after,
                "reason": c.reason,
            }
        )
    return rows


def _log_errors(copy: Copy) -> list[str]:
    """The error-and-worse lines of a copy's log file (the newest `MAX_LOG_ERRORS`)."""
    if copy.log is None or not copy.log.is_file():
        return []
    found: list[str] = []
    now = time.time()
    try:
        with copy.log.open(encoding="utf-8", errors="replace") as lines:
            for text in lines:
                text = text.rstrip("\n")
                if not text:
                    continue
                line = parse_themis(copy.node, text, now) or parse_plain(copy.node, text, now)
                if line.level in ("error", "critical"):
                    found.append(f"{copy.node} (copy): {line.message}")
    except OSError:
        return []
    return found[-MAX_LOG_ERRORS:]
