"""The session page's side panel: the session's health state with its reasons, the
metrics verdict (held steady, and the rule that holds it), the hop's log errors and
warnings per phase, the triggers with their acknowledgements, and Raise trigger…

It scrolls on its own when the window is short, so the page does not have to."""

from __future__ import annotations

from datetime import datetime
from html import escape

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
)

from themis_desktop.core.logs.watch import errors_and_warnings
from themis_desktop.core.upgrade.session import AFTER_ROLLBACK, TRIGGER_KINDS
from themis_desktop.ui import palette

PHASES = (
    ("pre-checks", "Pre-checks"),
    ("backed-up", "Verified backup"),
    ("upgrading", "Upgrade step"),
    ("validating", "Validation"),
    ("done", "Done"),
)
REASON_CHARS = 140  # a reason's length in the list; its tooltip and the banner have all
PREFERRED_HEIGHT = 200  # px: the panel scrolls; the splitter gives it the page's height


class HealthPanel(QScrollArea):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.health_label = QLabel("")
        self.health_label.setWordWrap(True)
        self.health_label.setTextFormat(Qt.TextFormat.RichText)
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.log_counts = QLabel("")
        self.log_counts.setWordWrap(True)
        self.log_counts.setTextFormat(Qt.TextFormat.RichText)
        self.log_counts.setToolTip(
            "Errors and warnings in the nodes' logs, per phase of the hop "
            "(the Logs page, Ctrl+9, shows the lines)"
        )
        self.triggers = QListWidget(wordWrap=True)
        self.triggers.setMinimumHeight(60)
        self.trigger_kind = QComboBox()
        for key, title in TRIGGER_KINDS.items():
            if key not in AFTER_ROLLBACK:  # raised by the check after a rollback only
                self.trigger_kind.addItem(title, key)
        self.raise_button = QPushButton("Raise trigger…")
        box = QGroupBox("Health and rollback triggers")
        layout = QVBoxLayout(box)
        layout.addWidget(self.health_label)
        layout.addWidget(self.verdict)
        layout.addWidget(self.log_counts)
        layout.addWidget(self.triggers, 1)
        layout.addWidget(self.trigger_kind)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.raise_button)
        layout.addLayout(row)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(box)
        scrollbar = self.verticalScrollBar().sizeHint().width()
        self.setMinimumWidth(box.minimumSizeHint().width() + scrollbar)  # the kinds whole
        self.setMaximumWidth(400)
        self.show_verdict(None, None)

    def sizeHint(self) -> QSize:
        """As wide as its content; only a few lines high (it scrolls): its preferred height
        is not what should make the page around it scroll."""
        hint = super().sizeHint()
        return QSize(hint.width(), min(hint.height(), PREFERRED_HEIGHT))

    def show_health(self, health) -> None:
        """`core.health_state.SessionHealth`: its state and the reasons that are not fine
        (all of them in the tooltip)."""
        if health is None:
            self.health_label.setText("")
            self.health_label.setToolTip("")
            return
        shown = [r for r in health.reasons if r.level != "healthy"] or list(health.reasons)
        reasons = "".join(f"<li>{escape(_short(r.text))}</li>" for r in shown)
        self.health_label.setText(
            f"<b>Health: <span style='color:{health.colour}'>● {health.title}</span></b>"
            f"<ul style='margin-left:-20px'>{reasons}</ul>"
        )
        self.health_label.setToolTip(
            "The worst of all evidence: the hop's state and validation, the metrics "
            "verdict, the triggers, the logs and the rollback window.\n"
            + "\n".join(f"• {r.level}: {r.text}" for r in health.reasons)
        )

    def show_verdict(self, evaluation, hold) -> None:
        """The verdict shown (held steady), since when, the rule that holds it, and a
        different verdict waiting for its time (`metrics_verdict.VerdictHold`)."""
        if evaluation is None or hold is None:
            self.verdict.setText(
                "Metrics: no verdict yet (a baseline is captured when the upgrade step "
                "starts, or on the Metrics page)."
            )
            return
        trigger = evaluation.trigger
        since = f" since {datetime.fromtimestamp(hold.since):%H:%M:%S}" if hold.since else ""
        text = f"Metrics verdict: <b>{evaluation.overall.upper()}</b>{since} ({evaluation.mode})"
        if trigger:
            text += f"<br>{escape(trigger.summary)}"
        elif evaluation.inconclusive:
            text += f"<br>{escape(evaluation.inconclusive)}"
        if hold.pending and hold.pending_since:
            text += (
                f"<br><i>{hold.pending.upper()} seen over {hold.pending_samples:.0f} new "
                f"samples ({hold.pending_count} evaluation(s)); it replaces "
                f"{evaluation.overall.upper()} after {hold.min_samples}.</i>"
            )
        if hold.history:  # why the shown verdict is what it is
            last = hold.history[-1]
            was = (last.before or "none").upper()
            text += (
                f"<br>Changed {datetime.fromtimestamp(last.at):%H:%M:%S} from {was}: "
                f"{escape(_short(last.reason))}"
            )
        text += f"<br><span style='color:{palette.MUTED_TEXT}'>Steady: {escape(hold.rule)}.</span>"
        self.verdict.setText(text)
        self.verdict.setToolTip(
            "Changes of the verdict shown, newest first:\n"
            + "\n".join(
                f"{datetime.fromtimestamp(c.at):%H:%M:%S}  {(c.before or 'none').upper()} → "
                f"{(c.after or 'none').upper()}: {c.reason}"
                for c in reversed(hold.history[-10:])
            )
            if hold.history
            else ""
        )

    def show_log_counts(
        self, hop_label: str, counts: dict, following: bool, read_only: bool
    ) -> None:
        """Errors and warnings of a hop's logs, per phase ({phase: {level: count}})."""
        if not hop_label:
            self.log_counts.setText("")
            return
        if not counts and not following:
            self.log_counts.setText(
                "Logs: nothing recorded for this hop."
                if read_only
                else "Logs: not followed (set each node's log source with Ctrl+K)."
            )
            return
        cells = []
        for key, title in PHASES:
            errors, warnings = errors_and_warnings(counts.get(key, {}))
            colour = (
                palette.BAD_RED
                if errors
                else (palette.WARNING_ORANGE if warnings else palette.QUIET_GREY)
            )
            cells.append(
                f"<tr><td>{title}</td><td align='right' style='color:{colour}'>{errors}</td>"
                f"<td align='right'>{warnings}</td></tr>"
            )
        self.log_counts.setText(
            f"<b>Logs of hop {escape(hop_label)}</b><table cellspacing='0' cellpadding='3'>"
            "<tr><th align='left'>Phase</th><th align='right'>Errors</th>"
            "<th align='right'>Warnings</th></tr>" + "".join(cells) + "</table>"
        )

    def show_triggers(self, triggers: list) -> None:
        """The session's triggers (`core.session.Trigger`), each with its acknowledgement."""
        self.triggers.clear()
        for t in triggers:
            text = f"{t.at[:16].replace('T', ' ')}  {t.title}: {t.note}  ({t.user})"
            if t.acknowledged is not None:
                ack = t.acknowledged
                text += f" — acknowledged by {ack.user}: {ack.note}"
            self.triggers.addItem(text)
            self.triggers.item(self.triggers.count() - 1).setToolTip(text)


def _short(text: str) -> str:
    """At most REASON_CHARS, cut between words (a number is never cut in two)."""
    if len(text) <= REASON_CHARS:
        return text
    head = text[: REASON_CHARS - 1]
    if " " in head[REASON_CHARS // 2 :]:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:(") + " …"
