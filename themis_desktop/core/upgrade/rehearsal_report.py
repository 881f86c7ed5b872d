"""The report's section on a hop's dress rehearsals: each rehearsal (its verdict and why,
its steps with their durations, failing metrics, the copy's log errors) and each override
of the rehearsal gate with its note, from the session's events (`rehearsal.done`,
`rehearsal.override`)."""

from __future__ import annotations

from collections.abc import Callable

from themis_desktop.core.journal.store import Event
from themis_desktop.core.upgrade.session import Hop

Escape = Callable[[object], str]


def hop_report_html(events: list[Event], hop: Hop, t: Escape) -> str:
    """The "Rehearsals" section of `hop` ("" when it has none)."""
    mine = [
        e
        for e in events
        if e.type in ("rehearsal.done", "rehearsal.override")
        and (e.data or {}).get("hop") == hop.id
    ]
    if not mine:
        return ""
    parts = ["<h3>Rehearsals on a copy</h3><ul>"]
    for event in mine:
        data = event.data or {}
        if event.type == "rehearsal.override":
            parts.append(
                f"<li>{t(event.ts)} — <b>gate overridden</b> by {t(event.user)}: "
                f"{t(data.get('note', ''))}</li>"
            )
            continue
        verdict = str(data.get("verdict", "?"))
        css = "good" if verdict == "pass" else "bad"
        parts.append(
            f"<li>{t(event.ts)} — <b class='{css}'>{t(verdict)}</b> ({t(data.get('host', ''))}"
            f" host, {t(event.user)}): {t(data.get('reason', ''))}"
        )
        steps = data.get("steps") or []
        if steps:
            parts.append(
                "<table border='1'><tr><th>Step</th><th>Seconds</th><th>OK</th><th>Detail</th></tr>"
            )
            for step in steps:
                parts.append(
                    f"<tr><td>{t(step.get('name', ''))}</td>"
                    f"<td>{float(step.get('seconds', 0.0)):.1f}</td>"
                    f"<td>{'yes' if step.get('ok') else 'no'}</td>"
                    f"<td>{t(step.get('detail', ''))}</td></tr>"
                )
            parts.append("</table>")
        for row in data.get("failing") or []:
            parts.append(f"<p>{t(row.get('metric', ''))}: {t(row.get('reason', ''))}</p>")
        errors = data.get("errors") or []
        if errors:
            parts.append(
                "<p>Errors in the copy's log:</p><ul>"
                + "".join(f"<li><code>{t(line)}</code></li>" for line in errors)
                + "</ul>"
            )
        parts.append("</li>")
    parts.append("</ul>")
    return "".join(parts)
