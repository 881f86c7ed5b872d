"""The session report: one self-contained HTML file of everything a reviewer needs — the
plan, each hop's timeline (checklist steps, events), backups, metrics before/after, the
verdicts, the rollback window, triggers and rollbacks, and the environment.

Pictures (plots, the version graph) are made by the Qt layer and passed in as PNG bytes;
they are embedded as data URIs. Every known token (`redaction.redact`) and anything that
looks like a secret is scrubbed from every text that goes into the report.
"""

from __future__ import annotations

import base64
import html
import platform
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from themis_desktop import __version__
from themis_desktop.core.backup import catalog as backup_catalog
from themis_desktop.core.guides import checklist
from themis_desktop.core.journal.store import Event, Journal, parse_utc
from themis_desktop.core.logs import store as log_store
from themis_desktop.core.logs import watch as logs
from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.upgrade import health_state, prediction_text, rollback_check
from themis_desktop.core.upgrade.rehearsal_report import hop_report_html as rehearsals_html
from themis_desktop.core.upgrade.rollback_window import band_for
from themis_desktop.core.upgrade.session import Hop, Trigger, UpgradeSession
from themis_desktop.core.util import redaction
from themis_desktop.core.util.formatting import format_quantity, human_bytes

Escape = Callable[[object], str]  # text made safe for the HTML report

_SECRET = re.compile(
    r"(?i)(bearer\s+|authorization:\s*\S+\s+|(?:token|password|passwd|secret|api[_-]?key)"
    r"[\"']?\s*[:=]\s*[\"']?)([^\s\"',;]+)"
)
_LONG_KEY = re.compile(r"\b[A-Za-z0-9+/_-]{40,}={0,2}\b")
REDACTED = redaction.REDACTED
LOG_LINES_PER_HOP = 200  # the rest stays in the journal (`themis-desktop logs show`)


def scrub(text: str, known: tuple[str, ...] = ()) -> str:
    """`text` without secrets: every known token (`known` and those registered with
    `redaction.remember`), `Bearer …`, `token=…`, `password: …`, `api_key=…`, words that look
    like tokens and long key-like strings."""
    for secret in sorted(known, key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    text = redaction.redact(text)
    text = _SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    text = redaction.redact_token_like(text)
    return _LONG_KEY.sub(lambda m: m.group(0) if m.group(0).isdigit() else REDACTED, text)


@dataclass
class ReportData:
    session: UpgradeSession
    events: list[Event]
    steps: dict[tuple[str, str], checklist.StepState]
    backups: list[backup_catalog.BackupRecord]
    verdicts: list[Event]
    images: dict[str, bytes] = field(default_factory=dict)  # title -> PNG
    environment: dict[str, str] = field(default_factory=dict)
    log_counts: dict[int, dict[str, dict[str, int]]] = field(default_factory=dict)  # by hop id
    log_lines: dict[int, list[log_store.StoredLine]] = field(default_factory=dict)  # by hop id
    health: health_state.SessionHealth | None = None  # the one state the app shows
    triggers: list[Trigger] = field(default_factory=list)


def collect(journal: Journal, session_id: int) -> ReportData:
    """Everything the report shows, from the journal."""
    session = UpgradeSession.load(journal, session_id)
    events = journal.events(session_id=session_id)
    backup_ids = {b for hop in session.hops for b in hop.backups}
    backups = [
        r
        for r in backup_catalog.backups(journal)
        if r.session_id == session_id or r.id in backup_ids
    ]
    verdicts = [
        e
        for e in journal.events(types=["metrics.verdict"])
        if e.data
        and e.data.get("profile") == session.profile
        and e.ts >= session.session.created_at
    ]
    evidence = health_state.gather(journal, session)
    versions = sorted({s for h in session.hops for s in (h.from_version, h.to_version)})
    environment = {
        "Themis Desktop": __version__,
        "ThemisDB versions": ", ".join(versions),
        "Operating system": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "Python": platform.python_version(),
        "Report made": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    return ReportData(
        session,
        events,
        checklist.states(journal, session_id),
        backups,
        verdicts,
        environment=environment,
        log_counts=log_store.phase_counts(journal, session_id),
        log_lines={
            hop.id: log_store.hop_lines(journal, hop.id, limit=LOG_LINES_PER_HOP + 1)
            for hop in session.hops
        },
        health=health_state.assess(session, evidence),
        triggers=evidence.triggers,
    )


def image_name(index: int) -> str:
    """The `src` of the index-th picture when pictures are not inlined (PDF resources)."""
    return f"report-image-{index}.png"


def render_html(data: ReportData, secrets: tuple[str, ...] = (), inline: bool = True) -> str:
    """The report as one HTML page (styles inline; pictures as data URIs, or named
    `image_name(i)` for a renderer that is given them as resources)."""
    s = data.session

    def t(text: object) -> str:
        return html.escape(scrub(str(text), secrets))

    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>Upgrade report: session {s.id}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Upgrade report — {t(s.profile or '?')}: {t(s.session.from_version)} → "
        f"{t(s.session.to_version)}</h1>",
        f"<p class='muted'>Session {s.id}, started {t(s.session.created_at)} by "
        f"{t(s.session.created_by)}; state <b>{t(s.state)}</b>"
        + (f", ended {t(s.session.ended_at)}" if s.session.ended_at else "")
        + ".</p>",
        _health_html(data.health, t),
        "<h2>Plan</h2><table border='1'><tr><th>#</th><th>Hop</th><th>State</th>"
        "<th>Health</th><th>Started</th><th>New version answered</th>"
        "<th>Rollback window</th></tr>",
    ]
    for hop in s.hops:
        hop_health = data.health.hops.get(hop.id) if data.health else None
        label = f"{hop.label} ({hop.confirmation})" if hop.confirmation else hop.label
        parts.append(
            f"<tr><td>{hop.position + 1}</td><td>{t(label)}</td><td>{t(hop.state)}</td>"
            + (
                f"<td style='color:{hop_health.colour}'>{t(hop_health.title)}</td>"
                if hop_health
                else "<td>—</td>"
            )
            + f"<td>{t(hop.started_at or '')}</td><td>{t(hop.finished_at or '')}</td>"
            f"<td>{t(_window_text(hop, data.events))}</td></tr>"
        )
    parts.append("</table>")
    for index, (title, png) in enumerate(data.images.items()):
        src = (
            f"data:image/png;base64,{base64.b64encode(png).decode()}"
            if inline
            else (image_name(index))
        )
        parts.append(f"<h3>{t(title)}</h3><p><img alt='{t(title)}' src='{src}' width='640'></p>")
    for hop in s.hops:
        parts.append(f"<h2>Hop {hop.position + 1}: {t(hop.label)}</h2>")
        if hop.note:
            parts.append(f"<p><b>Issues documented:</b> {t(hop.note)}</p>")
        steps = [v for (h, _), v in data.steps.items() if h in (hop.label, _hop_key(hop))]
        if steps:
            parts.append(
                "<h3>Checklist</h3><table border='1'><tr><th>Step</th><th>State</th>"
                "<th>Option chosen</th><th>When</th><th>Who</th><th>Note / reason</th></tr>"
            )
            for step in sorted(steps, key=lambda x: x.at):
                chosen = f"{step.choice} {step.choice_label}".strip()
                parts.append(
                    f"<tr><td>{t(step.step_id)}</td><td>{t(step.state)}</td>"
                    f"<td>{t(chosen or '—')}</td><td>{t(step.at)}</td><td>{t(step.user)}</td>"
                    f"<td>{t(step.note or step.reason)}</td></tr>"
                )
            parts.append("</table>")
        parts.append(
            "<h3>Timeline</h3><table border='1'><tr><th>When</th><th>Who</th>"
            "<th>Event</th><th>Node</th><th>What</th></tr>"
        )
        hop_events = _hop_events(hop, s, data.events)
        for event in hop_events:
            if event.type == ANSIBLE_TASK:
                continue  # grouped under their step below
            parts.append(
                f"<tr class='{_css(event.type)}'><td>{t(event.ts)}</td><td>{t(event.user)}</td>"
                f"<td>{t(event.type)}</td><td>{t(event.node or '')}</td>"
                f"<td>{t(event.message)}</td></tr>"
            )
        parts.append("</table>")
        parts.append(_ansible_html(hop_events, t))
        parts.append(rollback_check.report_html(data.events, hop, t))
        parts.append(_logs_html(data, hop, t))
        parts.append(rehearsals_html(data.events, hop, t))
        parts.append(prediction_text.hop_report_html(data.events, hop.id, t))
    parts.append("<h2>Backups</h2>")
    if data.backups:
        parts.append(
            "<table border='1'><tr><th>Node</th><th>Version</th><th>Taken</th>"
            "<th>Size</th><th>SHA-256</th><th>Verified</th><th>File</th></tr>"
        )
        for b in data.backups:
            parts.append(
                f"<tr><td>{t(b.node)}</td><td>{t(b.version)}</td><td>{t(b.created_at)}</td>"
                f"<td>{t(human_bytes(b.size))}</td><td><code>{_hex(b.sha256)}</code></td>"
                f"<td>{t(b.verified_at or 'no')}</td><td>{t(Path(b.path).name)}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append("<p>No backup belongs to this session.</p>")
    parts.append(_verdicts_html(data, t))
    parts.append("<h2>Rollback triggers</h2>")
    parts.append(
        "<ul>" + "".join(_trigger_html(x, s, t) for x in data.triggers) + "</ul>"
        if data.triggers
        else "<p>None.</p>"
    )
    rollbacks = [e for e in data.events if e.type.startswith("rollback.")]
    parts.append("<h2>Rollbacks</h2>")
    parts.append(
        "<ul>"
        + "".join(f"<li>{t(e.ts)} {t(e.type)}: {t(e.message)}</li>" for e in rollbacks)
        + "</ul>"
        if rollbacks
        else "<p>None.</p>"
    )
    parts.append(
        "<h2>Environment</h2><table border='1'>"
        + "".join(f"<tr><th>{t(k)}</th><td>{t(v)}</td></tr>" for k, v in data.environment.items())
        + "</table></body></html>"
    )
    return "".join(parts)


def _trigger_html(trigger: Trigger, session: UpgradeSession, t: Escape) -> str:
    """A trigger with what became of it: acknowledged (by whom, the note), answered by the
    rollback of its hop, or still open."""
    hop = next((h for h in session.hops if h.id == trigger.hop), None)
    text = f"<li>{t(trigger.at)} — <b>{t(trigger.kind)}</b>: {t(trigger.note)} ({t(trigger.user)})"
    if trigger.acknowledged is not None:
        ack = trigger.acknowledged
        text += f"; acknowledged {t(ack.at)} by {t(ack.user)}: {t(ack.note)}"
    elif hop is not None and hop.state == "rolled-back" and not trigger.after_rollback:
        text += f"; answered by the rollback of {t(hop.label)}"
    else:
        text += "; <b class='bad'>not acknowledged</b>"
    return text + "</li>"


def _health_html(health: health_state.SessionHealth | None, t: Escape) -> str:
    """The session's one health state, as the app's header and session page show it."""
    if health is None:
        return ""
    reasons = "".join(f"<li>{t(r.level)}: {t(r.text)}</li>" for r in health.reasons)
    return (
        f"<h2>Health: <span style='color:{health.colour}'>{t(health.title)}</span></h2>"
        f"<p class='muted'>The worst of all evidence (hop states and validation, metrics "
        f"verdicts, triggers, logs, the rollback window) when the report was made.</p>"
        f"<ul>{reasons}</ul>"
    )


def _logs_html(data: ReportData, hop: Hop, t: Escape) -> str:
    """The hop's log: errors and warnings per phase, then its warning-and-worse lines."""
    counts = data.log_counts.get(hop.id, {})
    lines = data.log_lines.get(hop.id, [])
    if not counts and not lines:
        return "<h3>Logs</h3><p>No log lines were recorded for this hop.</p>"
    rows = ""
    for phase, levels in counts.items():
        errors, warnings = logs.errors_and_warnings(levels)
        rows += (
            f"<tr><td>{t(phase)}</td><td class='{'bad' if errors else ''}'>{errors}</td>"
            f"<td>{warnings}</td><td>{sum(levels.values())}</td></tr>"
        )
    parts = [
        "<h3>Logs</h3><table border='1'><tr><th>Phase</th><th>Errors</th><th>Warnings</th>"
        f"<th>All lines</th></tr>{rows}</table>"
    ]
    if lines:
        shown = lines[:LOG_LINES_PER_HOP]
        parts.append(
            "<table border='1'><tr><th>When</th><th>Node</th><th>Phase</th><th>Level</th>"
            "<th>Message</th></tr>"
            + "".join(
                f"<tr class='{'bad' if x.level in ('error', 'critical') else 'warn'}'>"
                f"<td>{t(x.ts)}</td><td>{t(x.node)}</td><td>{t(x.phase)}</td>"
                f"<td>{t(x.level)}</td><td>{t(x.message)}</td></tr>"
                for x in shown
            )
            + "</table>"
        )
        if len(lines) > len(shown):
            parts.append(
                f"<p class='muted'>The first {len(shown)} lines; the rest are in the journal "
                f"(<code>themis-desktop logs show --session {data.session.id} --hop "
                f"{hop.position + 1}</code>).</p>"
            )
    return "".join(parts)


def _verdicts_html(data: ReportData, t: Escape) -> str:
    if not data.verdicts:
        return "<h2>Metrics verdicts</h2><p>No metrics verdict was recorded.</p>"
    last = data.verdicts[-1]
    metrics = (last.data or {}).get("metrics", {})
    rows = []
    for key, value in metrics.items():
        info = METRICS.get(key)
        change = value.get("change")
        p = value.get("p_value")
        rows.append(
            f"<tr><td>{t(info.title if info else key)}</td>"
            f"<td>{t(f'{change:+.1%}' if change is not None else '—')}</td>"
            f"<td>{t(f'{p:.2g}' if p is not None else '—')}</td>"
            f"<td class='{_css(value.get('verdict', ''))}'>{t(value.get('verdict', ''))}</td></tr>"
        )
    history = "".join(
        f"<li>{t(e.ts)}: {t((e.data or {}).get('overall', ''))} — {t(e.message)}</li>"
        for e in data.verdicts[-20:]
    )
    return (
        f"<h2>Metrics verdicts</h2><p>Latest ({t(last.ts)}): "
        f"<b>{t((last.data or {}).get('overall', '?'))}</b></p>"
        "<table border='1'><tr><th>Metric</th><th>Change of the median</th><th>p</th>"
        f"<th>Verdict</th></tr>{''.join(rows)}</table><h3>History</h3><ul>{history}</ul>"
    )


def _hex(digest: str | None) -> str:
    """A checksum we computed: shown as it is when it is one (never a free text)."""
    return digest if digest and re.fullmatch(r"[0-9a-f]{64}", digest) else "—"


ANSIBLE_TASK = "ansible.task"  # core/fleet/ansible_events.py: one task result of a play
_STEP_TITLES = {"upgrade": "Upgrade step", "rollback": "Rollback step"}


def _ansible_html(events: list[Event], t: Escape) -> str:
    """The hop's Ansible task results (a profile whose steps ran as plays), a table per
    step in the order they ran: node, task, status, duration."""
    tasks = [e for e in events if e.type == ANSIBLE_TASK]
    if not tasks:
        return ""
    parts = ["<h3>Ansible tasks</h3>"]
    steps = list(dict.fromkeys(str((e.data or {}).get("step", "?")) for e in tasks))
    for step in steps:
        parts.append(
            f"<h4>{t(_STEP_TITLES.get(step, step))}</h4><table border='1'><tr><th>When</th>"
            "<th>Node</th><th>Task</th><th>Status</th><th>Duration</th></tr>"
        )
        for e in tasks:
            data = e.data or {}
            if str(data.get("step", "?")) != step:
                continue
            seconds = data.get("duration")
            took = f"{seconds:.1f} s" if isinstance(seconds, int | float) else "—"
            status = str(data.get("status", "?"))
            css = "bad" if status in ("failed", "unreachable") else "ansible"
            parts.append(
                f"<tr class='{css}'><td>{t(e.ts)}</td><td>{t(e.node or data.get('host', ''))}"
                f"</td><td>{t(data.get('task', ''))}</td><td>{t(status)}</td><td>{took}</td></tr>"
            )
        parts.append("</table>")
    return "".join(parts)


def _hop_key(hop: Hop) -> str:
    return f"{hop.from_version}->{hop.to_version}"


def _hop_events(hop: Hop, session: UpgradeSession, events: list[Event]) -> list[Event]:
    """Events of the hop: those naming it, and the others between its start and the next's."""
    start = hop.started_at or ""
    following = session.hops[hop.position + 1] if hop.position + 1 < len(session.hops) else None
    end = (following.started_at if following else None) or "9999"
    return [
        e
        for e in events
        if (e.data or {}).get("hop") == hop.id
        or ((e.data or {}).get("hop") is None and start and start <= e.ts < end)
    ]


def _window_text(hop: Hop, events: list[Event]) -> str:
    """The band the hop reached before it ended (rolled back) or as of now."""
    finished = hop.finished
    if finished is None:
        return "—"
    ended = next(
        (
            e.ts
            for e in events
            if e.type == "rollback.started" and (e.data or {}).get("hop") == hop.id
        ),
        None,
    )
    until = parse_utc(ended) if ended else None
    elapsed = ((until or datetime.now(finished.tzinfo)) - finished).total_seconds()
    band = band_for(max(0.0, elapsed))
    suffix = " at the rollback" if ended else " now"
    return f"{band.title}{suffix} ({format_quantity(elapsed, 's')} after the upgrade)"


def _css(kind: str) -> str:
    if kind in ("fail", "hop.failed", "trigger.raised") or kind.startswith("rollback"):
        return "bad"
    if kind in ("marginal",):
        return "warn"
    return ""


_STYLE = (
    "body{font-family:sans-serif;margin:2em;color:#1f2a37}table{border-collapse:collapse;"
    "margin:.5em 0}td,th{padding:3px 8px;border:1px solid #c3ccd6;font-size:90%}"
    "th{background:#eef2f7;text-align:left}.muted{color:#607080}.bad{color:#a4161a}"
    ".warn{color:#8a5a00}code{font-size:85%}"
)
