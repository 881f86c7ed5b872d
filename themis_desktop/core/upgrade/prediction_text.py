"""A hop's predicted durations in words: one line for a page or a status, the details
per node and step (a tooltip, the command line), and the report's predicted-against-actual
section (`report_html`, given the report's escaping function)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from themis_desktop.core.util.formatting import human_bytes, human_count, human_duration

if TYPE_CHECKING:
    from themis_desktop.core.journal.store import Event
    from themis_desktop.core.upgrade.prediction import HopPrediction, NodeSize
    from themis_desktop.core.upgrade.step_timing import Timing

Escape = Callable[[object], str]


def seconds_text(seconds: float) -> str:
    """0.042 → '0.04 s'; 4.2 → '4.2 s'; 12.3 → '12 s'; 95 → '1 min 35 s'."""
    if seconds < 0.995:
        return f"{seconds:.2f} s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    text = human_duration(seconds)
    return text.removesuffix(" 0 s").removesuffix(" 0 min")


def range_text(span: tuple[float, float]) -> str:
    """(2.1, 9.4) → '2.1–9.4 s'; (20, 130) → '20 s–2 min 10 s'."""
    low, high = span
    if high < 60:
        return f"{seconds_text(low)[:-2]}–{seconds_text(high)}"
    return f"{seconds_text(low)}–{seconds_text(high)}"


def basis_text(prediction: HopPrediction) -> str:
    if prediction.assumed:
        return "no measurement yet: default assumptions"
    steps = [s for n in prediction.nodes for s in (*n.steps, *n.rollback)]
    measured = [s for s in steps if not s.assumed]
    most = max(s.measured for s in measured)
    if len(measured) == len(steps):
        return f"measured here (up to {most} measurement(s) per step)"
    return (
        f"{len(measured)} of {len(steps)} steps measured here (up to {most} measurement(s) "
        "each), the others by default assumptions"
    )


def summary_line(prediction: HopPrediction) -> str:
    """'1.7.0 → 1.8.2: 12–40 s in all, each node down 5–20 s (rollback 8–30 s); learned …'"""
    return (
        f"{prediction.label}: {range_text(prediction.total)} in all, each node down "
        f"{range_text(prediction.downtime)} (a rollback {range_text(prediction.rollback_total)})"
        f"; {basis_text(prediction)}"
    )


def size_text(size: NodeSize) -> str:
    parts = []
    if size.data_bytes is not None:
        parts.append(f"{human_bytes(size.data_bytes)} data dir")
    elif size.live_bytes is not None:
        parts.append(f"{human_bytes(size.live_bytes)} live data")
    if size.keys is not None:
        parts.append(f"{human_count(size.keys)} keys")
    return ", ".join(parts) or "size unknown"


def detail_lines(prediction: HopPrediction) -> list[str]:
    """Per node: its size, each step's range and what the range rests on."""
    lines = [f"Hop {summary_line(prediction)}"]
    for node in prediction.nodes:
        lines.append(f"{node.node} ({size_text(node.size)}):")
        for step in node.steps:
            lines.append(f"  {step.step:<11} {range_text((step.low, step.high)):<18} {step.basis}")
        lines.append(f"  {'down':<11} {range_text(node.downtime)}")
        lines.append("  if rolled back:")
        for step in node.rollback:
            lines.append(f"    {step.step:<9} {range_text((step.low, step.high)):<18} {step.basis}")
    lines += [f"note: {n}" for n in prediction.notes]
    return lines


def report_html(prediction: HopPrediction | None, timings: Sequence[Timing], t: Escape) -> str:
    """The hop's 'Predicted against actual' section of the session report."""
    from themis_desktop.core.upgrade.prediction import comparison

    rows = comparison(prediction, timings)
    head = "<h3>Predicted against actual</h3>"
    if prediction is None:
        head += (
            "<p class='muted'>No prediction was journaled before this hop "
            "(it started before predictions were made).</p>"
        )
    else:
        head += (
            f"<p class='muted'>Predicted {t(prediction.made_at)}: "
            f"{t(summary_line(prediction))}.</p>"
        )
    if not rows:
        return head + "<p>No step of this hop was measured.</p>"
    body = "".join(
        f"<tr class='{'warn' if r.verdict in ('slower', 'faster') else ''}'>"
        f"<td>{t(r.node)}</td><td>{t(r.phase)}</td><td>{t(r.step)}</td>"
        f"<td>{t(range_text((r.low, r.high)) if r.low is not None and r.high is not None else '—')}"
        f"</td><td>{t(seconds_text(r.actual) if r.actual is not None else '—')}</td>"
        f"<td>{t(r.verdict)}</td></tr>"
        for r in rows
    )
    return (
        head + "<table border='1'><tr><th>Node</th><th>Phase</th><th>Step</th><th>Predicted</th>"
        f"<th>Actual</th><th>Against the prediction</th></tr>{body}</table>"
    )


def hop_report_html(events: Sequence[Event], hop_id: int, t: Escape) -> str:
    """The report's section for hop `hop_id`, from the session's events: the prediction
    journaled before the hop's work and the steps measured in it."""
    from themis_desktop.core.upgrade import prediction, step_timing

    predicted = None
    for event in events:
        data = event.data or {}
        if event.type == prediction.EVENT and data.get("hop") == hop_id and predicted is None:
            try:
                predicted = prediction.HopPrediction.from_json(data["prediction"])
            except (KeyError, TypeError, ValueError):
                predicted = None
    timings = [
        timing
        for event in events
        if event.type == step_timing.EVENT
        and (timing := step_timing.timing_of(event)) is not None
        and timing.hop == hop_id
    ]
    return report_html(predicted, timings, t)
