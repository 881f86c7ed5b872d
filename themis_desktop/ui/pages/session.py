"""Upgrade session page: the plan as a stepper, the current hop's steps with progress and a
live log, its pre-flight readiness before the upgrade step (which holds the step back while
blocked) and the decide-by time after it, the session's one health state (also in the
header and the hop tree), a banner of the triggers nobody has acknowledged yet, the metrics
verdict, and Roll back now.

The steps' buttons stand in the order a person takes them; below them one tab each for the
output, the pre-flight, the rehearsal, the prediction, the rollback's cost and the check
after a rollback, each tab's title carrying its state. Every step that changes a server asks
first, and its button in the question is never the default one. A small window scrolls the
page down, never sideways."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QTextDocumentFragment
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import decide_by, hop_runner, restore_points, rollback_cost
from themis_desktop.core.upgrade.rollback_window import describe, window
from themis_desktop.core.upgrade.session import Hop, UpgradeSession
from themis_desktop.core.upgrade.steps import blocked_by, steps_now
from themis_desktop.ui import palette
from themis_desktop.ui.dialogs.note import NoteDialog
from themis_desktop.ui.dialogs.rollback import RollbackDialog
from themis_desktop.ui.models.rollback_check import RollbackCheckModel
from themis_desktop.ui.models.rollback_cost import RollbackCostMonitor
from themis_desktop.ui.models.upgrade import UpgradeModel
from themis_desktop.ui.models.workspace import Workspace
from themis_desktop.ui.settings import settings
from themis_desktop.ui.widgets.decide_by_label import DecideByLabel
from themis_desktop.ui.widgets.elided_label import ElidedLabel
from themis_desktop.ui.widgets.health_panel import PHASES, HealthPanel
from themis_desktop.ui.widgets.panel_tabs import PanelTabs
from themis_desktop.ui.widgets.prediction_panel import PredictionPanel
from themis_desktop.ui.widgets.preflight_panel import PreflightPanel
from themis_desktop.ui.widgets.rehearsal_panel import RehearsalPanel
from themis_desktop.ui.widgets.rollback_check_panel import RollbackCheckPanel
from themis_desktop.ui.widgets.rollback_cost_panel import RollbackCostPanel
from themis_desktop.ui.widgets.trigger_banner import TriggerBanner

ORDER = ["planned", "pre-checks", "backed-up", "upgrading", "validating", "done"]
STATE_COLOUR = {
    "done": palette.OK_GREEN,
    "failed": palette.BAD_RED,
    "rolling-back": palette.BUSY_ORANGE,
    "rolled-back": palette.SLATE,
}
GATE_TABS = {"preflight": "Pre-flight", "rehearsal": "Rehearsal"}  # a gate's tab, by name
LOG_FOLLOW_SLACK = 4  # pixels from the end that still count as "at the end"


STEP_BUTTONS = (  # the core steps' buttons: step, text, what it does
    ("pre-checks", "Pre-checks", "Every node answers, is ready, runs the hop's version"),
    ("backup", "Back up now", "A verified backup of every node (required first)"),
    (
        "upgrade",
        "Run upgrade step…",
        "Stop, install, start, wait for ready, check the version (asks first)",
    ),
    ("validate", "Validate", "Health, readiness and version after the upgrade"),
)


class _Column(QWidget):
    """The hop's column: never shorter than its wrapped lines need at its width (then the
    page scrolls; a splitter pane would squeeze them otherwise), never wider than its step
    buttons in one column need (`on_width` lays them out in two or three when they fit)."""

    def __init__(self, on_width) -> None:
        super().__init__()
        self._on_width = on_width
        self.narrowest = lambda: 0  # what the step buttons need in one column

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        layout = self.layout()
        if layout is None:
            return hint
        width = self.narrowest()
        for index in range(layout.count()):
            item = layout.itemAt(index)
            if item.layout() is not None and item.layout().objectName() == "steps":
                continue  # its width in one column: `narrowest`
            if item.widget() is None or not item.widget().isHidden():
                width = max(width, item.minimumSize().width())
        margins = layout.contentsMargins()
        width += margins.left() + margins.right()
        needed = layout.totalHeightForWidth(max(self.width(), width))
        for index in range(layout.count()):  # the layout counts an ignored height as 0
            widget = layout.itemAt(index).widget()
            if (
                widget is not None
                and not widget.isHidden()
                and widget.sizePolicy().verticalPolicy() == QSizePolicy.Policy.Ignored
            ):
                needed += widget.minimumHeight()
        return QSize(width, max(hint.height(), needed))

    def resizeEvent(self, event) -> None:
        self._on_width(event.size().width())
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.updateGeometry()  # its lines wrap anew: the splitter asks again


class SessionPage(QWidget):
    TITLE = "Upgrade session"

    sig_open_guides = Signal()
    sig_report_written = Signal(str)  # the report's path

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.model: UpgradeModel = workspace.upgrade
        self.session: UpgradeSession | None = None
        self.health = None  # core.health_state.SessionHealth | None
        self._log_follows = True
        self.heading = QLabel("Upgrade session", objectName="pageTitle")
        self.summary = QLabel("", objectName="muted")
        self.summary.setWordWrap(True)
        self.new_button = QPushButton("Start session for the planned path")
        self.new_button.setToolTip("The path chosen on the Versions page (Ctrl+2)")
        self.new_button.clicked.connect(self.start_session)
        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addStretch(1)
        self.report_button = QPushButton("Report…")
        self.report_button.setToolTip("The session as an HTML or PDF report (for support, review)")
        self.report_button.clicked.connect(lambda: self.export_report())
        top.addWidget(self.report_button)
        top.addWidget(self.new_button)
        self.report_label = ElidedLabel("", mode=Qt.TextElideMode.ElideMiddle)
        self.report_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.report_label.hide()

        self.banner = TriggerBanner()
        self.banner.sig_acknowledge.connect(self.ask_acknowledge)
        self.banner.sig_open_rollback.connect(self.sig_open_guides)

        self.stepper = QTreeWidget()
        self.stepper.setHeaderHidden(True)
        self.stepper.setIndentation(14)
        bold = QFont(self.stepper.font())
        bold.setBold(True)  # the current hop's line, whole (a longer one: its tooltip has it)
        line = QFontMetrics(bold).horizontalAdvance("1. 1.7.0 → 1.8.2 — validating")
        self.stepper.setMinimumWidth(line + self.stepper.indentation() + 12)
        self.stepper.setMaximumWidth(300)

        self.hop_title = QLabel("", objectName="sectionTitle")
        self.hop_title.setWordWrap(True)
        self.hop_title.setTextFormat(Qt.TextFormat.RichText)
        font = self.hop_title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setWeight(QFont.Weight.DemiBold)
        self.hop_title.setFont(font)
        self.window_label = QLabel("")
        self.window_label.setWordWrap(True)
        self.decide_label = DecideByLabel()
        self.preflight_panel = PreflightPanel()
        self.preflight_panel.sig_run_all.connect(lambda: self.run_preflight())
        self.preflight_panel.sig_rerun.connect(lambda name: self.run_preflight([name]))
        self.preflight_panel.hide()
        # the hop's dress rehearsal on a copy: its gate holds the upgrade step
        self.rehearsal_panel = RehearsalPanel(workspace, NoteDialog)
        self.rehearsal_panel.sig_gate.connect(lambda _: self._update_buttons())
        self.rehearsal_panel.sig_busy.connect(self._on_rehearsal_busy)
        self.buttons: dict[str, QPushButton] = {}
        for step, text, tip in STEP_BUTTONS:
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, s=step: self.run(s))
            self.buttons[step] = button
        # the steps in the order a person takes them; the panels' own Rehearse and Run
        # pre-flight among them (their panels keep them, and their gates, up to date)
        self.preflight_panel.run_button.setText("Pre-flight")
        self.step_buttons = [
            self.buttons["pre-checks"],
            self.buttons["backup"],
            self.rehearsal_panel.rehearse_button,
            self.preflight_panel.run_button,
            self.buttons["upgrade"],
            self.buttons["validate"],
        ]
        for button in self.step_buttons:
            button.setProperty("step", True)  # style.qss: narrower padding, two fit a row
        self.step_grid = QGridLayout(objectName="steps")
        self.step_grid.setContentsMargins(0, 0, 0, 0)
        self._step_columns = 0
        self._lay_out_steps(3)
        self.rollback_button = QPushButton("Roll back now…")
        self.rollback_button.setObjectName("danger")
        self.rollback_button.setToolTip("Stop, restore the hop's backup, reinstall, verify, resume")
        self.rollback_button.clicked.connect(self.ask_rollback)
        second = QHBoxLayout()
        second.addWidget(self.rollback_button)
        second.addStretch(1)
        guide = QPushButton("Guide checklist")
        guide.setToolTip("The hop's migration guide with its checklist (Ctrl+3)")
        guide.clicked.connect(self.sig_open_guides)
        second.addWidget(guide)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.model.cancel)
        self.cancel_button.hide()
        busy = QHBoxLayout()
        busy.addWidget(self.progress, 1)
        busy.addWidget(self.cancel_button)
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(5000)
        self.log.setMinimumHeight(60)
        self.log.setPlaceholderText("The steps' output appears here.")
        self.log.verticalScrollBar().valueChanged.connect(self._on_log_scrolled)
        self.log.verticalScrollBar().rangeChanged.connect(self._on_log_range_changed)
        # beside the window: binary swap or restore only, the writes at risk, half done
        self.rollback_cost = RollbackCostPanel(RollbackCostMonitor.of(self.model))
        self.rollback_cost.monitor.sig_cost.connect(lambda _: self._show_tab_titles())
        self.prediction_panel = PredictionPanel(workspace)  # the hop's predicted durations
        # after a rollback: the restored cluster checked against the hop's baseline
        self.rollback_check = RollbackCheckPanel(RollbackCheckModel(self.model, self))
        check = self.rollback_check.model
        for signal in (check.sig_running, check.sig_outcome, check.sig_failed):
            signal.connect(lambda *_: self._show_tab_titles())
        # the rollback's judgement follows it: its tab comes to the front
        check.sig_running.connect(lambda _: self.tabs.select("rollback-check"))
        # what is not a step: one tab each, the output first (a step brings it to the front)
        self.tabs = PanelTabs()
        self.tabs.add_panel("output", self.log, "Output", scroll=False)
        self.tabs.add_panel("preflight", self.preflight_panel, "Pre-flight")
        self.tabs.add_panel("rehearsal", self.rehearsal_panel, "Rehearsal")
        self.tabs.add_panel("prediction", self.prediction_panel, "Prediction")
        self.tabs.add_panel("rollback-cost", self.rollback_cost, "Rollback cost")
        self.tabs.add_panel("rollback-check", self.rollback_check, "Rollback check")
        # it takes the height left over: its preferred height would make a short window
        # scroll the whole page (the page's scroll area asks for its content's preferred)
        self.tabs.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.tabs.setMinimumHeight(140)
        middle = _Column(self._on_middle_width)
        self.middle = middle
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addWidget(self.hop_title)
        middle_layout.addWidget(self.window_label)
        middle_layout.addWidget(self.decide_label)
        middle_layout.addLayout(self.step_grid)
        middle_layout.addLayout(second)
        middle_layout.addLayout(busy)
        middle_layout.addWidget(self.tabs, 1)
        spacing = self.step_grid.horizontalSpacing()
        if spacing < 0:
            spacing = middle.style().pixelMetric(QStyle.PixelMetric.PM_LayoutHorizontalSpacing)
        self._step_spacing = max(spacing, 0)
        middle.narrowest = self._widest_step

        self.panel = HealthPanel()
        self.panel.raise_button.clicked.connect(self.ask_trigger)
        # the panel's parts, by the names the page always had
        self.health_label, self.verdict = self.panel.health_label, self.panel.verdict
        self.log_counts, self.triggers = self.panel.log_counts, self.panel.triggers
        self.trigger_kind, self.raise_button = self.panel.trigger_kind, self.panel.raise_button
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)  # a pane never hides its buttons
        splitter.addWidget(self.stepper)
        splitter.addWidget(middle)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)  # the room the window has: the steps and their tabs
        splitter.setStretchFactor(2, 0)
        # the tree: its current hop's line whole; the health panel: its kinds whole
        splitter.setSizes([self.stepper.minimumWidth(), 620, self.panel.minimumWidth()])
        self.splitter = splitter
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.banner)
        layout.addWidget(self.report_label)
        layout.addWidget(splitter, 1)
        self.scroll = QScrollArea()  # a small window scrolls; nothing is cut
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)

        self.model.sig_session.connect(self.show_session)
        self.model.sig_preflight.connect(lambda _: self._show_preflight())
        self.model.sig_health.connect(self._on_health)
        self.model.sig_log.connect(self._append_log)
        self.model.sig_busy.connect(self._on_busy)
        self.model.sig_step_failed.connect(self._on_failed)
        self.model.sig_confirm.connect(self._on_confirm)
        self.model.sig_step_done.connect(self._on_done)
        workspace.metrics.sig_evaluation.connect(self._on_evaluation)
        workspace.logs.sig_counts.connect(lambda _: self._show_log_counts())
        workspace.sig_plan_changed.connect(lambda _: self._update_buttons())
        self.show_session(self.model.session)
        self._on_health(self.model.health)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._tick)
        self._clock.start()

    # -- the step buttons and the tabs ---------------------------------------------------

    def _widest_step(self) -> int:
        return max(b.sizeHint().width() for b in self.step_buttons)

    def _on_middle_width(self, width: int) -> None:
        """All six step buttons in a row when they fit, else three, two or one a row (the
        order stays)."""
        widest, spacing = self._widest_step(), self._step_spacing
        fit = (width + spacing) // (widest + spacing)
        columns = 6 if fit >= 6 else max(1, min(3, fit))
        self._lay_out_steps(columns)
        for column in range(6):  # each button as wide as the widest
            self.step_grid.setColumnMinimumWidth(column, widest if column < columns else 0)

    def _lay_out_steps(self, columns: int) -> None:
        if columns == self._step_columns:
            return
        self._step_columns = columns
        for button in self.step_buttons:
            self.step_grid.removeWidget(button)
        for index, button in enumerate(self.step_buttons):
            self.step_grid.addWidget(button, index // columns, index % columns)
        for column in range(7):  # the buttons as wide as the widest, the rest left over
            self.step_grid.setColumnStretch(column, 1 if column == 6 else 0)

    def _on_rehearsal_busy(self, busy: bool) -> None:
        if busy:
            self.tabs.select("rehearsal")  # its progress, time left and Cancel are there
        self._update_buttons()
        self._show_tab_titles()

    def _show_tab_titles(self) -> None:
        """Each tab's title carries its panel's state (its tooltip in whole words)."""
        rehearsal = self.rehearsal_panel
        parts = {
            "preflight": ("Pre-flight", self.preflight_panel.short_state()),
            "rehearsal": ("Rehearsal", rehearsal.short_state()),
            "rollback-cost": ("Rollback cost", self.rollback_cost.short_state()),
            "rollback-check": ("Rollback check", self.rollback_check.short),
        }
        tips = {
            "preflight": self.preflight_panel.verdict.text().lstrip("● "),
            "rehearsal": "Rehearsal running" if rehearsal.running else rehearsal.state.text(),
        }
        for key, (title, (state, colour)) in parts.items():
            text = f"{title} {state}" if state else title
            tip = QTextDocumentFragment.fromHtml(tips.get(key, "")).toPlainText()
            self.tabs.set_title(key, text, colour if state else None, tip)

    # -- showing ---------------------------------------------------------------

    def show_session(self, session: UpgradeSession | None) -> None:
        self.session = session
        if session is None:
            profile = self.workspace.profile
            self.summary.setText(
                "No upgrade session. Plan a path on the Versions page, then start a session: "
                "every hop then gets pre-checks, a verified backup, the upgrade step and "
                "validation, with one-click rollback."
                if profile
                else "Connect to a profile (Ctrl+K) first."
            )
            self.hop_title.setText("")
            self.window_label.setText("")
            self.triggers.clear()
        else:  # the workspace follows it too (`sig_session_changed`: timeline, checklist)
            self.summary.setText(
                f"Session {session.id}: {session.profile} {session.session.from_version} → "
                f"{session.session.to_version} · {session.state} · started "
                f"{session.session.created_at[:16].replace('T', ' ')} by "
                f"{session.session.created_by}"
            )
            self._show_hop(session)
            self._show_triggers()
        self._fill_stepper()
        self._show_log_counts()
        self.prediction_panel.show_session(session)
        self.rehearsal_panel.show_session(session)
        self._show_preflight()
        self._show_decide_by()
        self._update_buttons()

    def _show_preflight(self) -> None:
        """The current hop's latest pre-flight, until its upgrade step starts."""
        session = self.session
        hop = session.current if session else None
        shown = hop is not None and hop.started_at is None
        preflight = self.model.preflight
        if shown and preflight is not None and preflight.hop.id != hop.id:
            preflight = None  # another hop's (the session moved on, the reload follows)
        self.preflight_panel.setVisible(shown)
        self.preflight_panel.show_preflight(preflight, shown and self._can_run())
        self._update_buttons()

    def _show_decide_by(self) -> None:
        """Decide by, for the last upgraded hop (core's `decide_by.for_session`, as
        `session status`): the live verdict when there is one, else the newest recorded."""
        session = self.session
        found = None
        if session is not None and session.rolled_back is None:
            monitor = self.workspace.metrics
            found = decide_by.for_session(
                session, self.model.verdict_record, datetime.now(UTC), monitor.evaluation
            )
        self.decide_label.show_decide_by(found)

    def _can_run(self) -> bool:
        return not self.model.busy and not self.workspace.read_only

    def _fill_stepper(self) -> None:
        self.stepper.clear()
        session = self.session
        for hop in session.hops if session else ():
            self._add_hop(hop, hop is session.current)

    def _add_hop(self, hop: Hop, current: bool) -> None:
        """The hop and its state; once upgraded, its health on a second line, and the
        hop in the health's colour: `1. 1.7.0 → 1.8.2 — done` / `● Degraded`."""
        health = self.health.hops.get(hop.id) if self.health is not None else None
        text = f"{hop.position + 1}. {hop.label} — {hop.state}"
        colour = STATE_COLOUR.get(hop.state)
        if health is not None and hop.started_at and hop.state != "rolled-back":
            text += f"\n● {health.title}"  # an upgraded hop's colour is its health
            colour = health.colour
        item = QTreeWidgetItem([text])
        tip = text + (
            "\n" + "\n".join(f"• {r.text}" for r in health.reasons) if health is not None else ""
        )
        item.setToolTip(0, tip)
        if colour:
            item.setForeground(0, QColor(colour))
        if current:
            font = item.font(0)
            font.setBold(True)
            item.setFont(0, font)
        reached = ORDER.index(hop.state) if hop.state in ORDER else -1
        for key, title in PHASES:
            index = ORDER.index(key)
            mark = (
                "✓"
                if reached > index or hop.state == "done"
                else ("▶" if reached == index else "·")
            )
            child = QTreeWidgetItem([f"{mark} {title}"])
            item.addChild(child)
        if hop.state in ("rolling-back", "rolled-back", "failed"):
            line = f"↺ {hop.state}" + (f": {hop.note}" if hop.note else "")
            child = QTreeWidgetItem([line])
            child.setToolTip(0, line)
            item.addChild(child)
        if health is not None and hop.started_at:
            line = f"↳ {health.headline}"  # what the hop's health rests on
            child = QTreeWidgetItem([line])
            child.setToolTip(0, line)
            child.setForeground(0, QColor(health.colour))
            item.addChild(child)
        self.stepper.addTopLevelItem(item)
        judged = self.session is not None and self.session.rollback_hop is hop
        item.setExpanded(current or judged or hop.state in ("failed", "rolling-back"))

    def _show_hop(self, session: UpgradeSession) -> None:
        hop = session.current or session.hops[-1]
        total = len(session.hops)
        text = f"Hop {hop.position + 1} of {total}: {escape(hop.label)} — {hop.state}"
        health = self.health.hops.get(hop.id) if self.health is not None else None
        if health is not None and hop.started_at and hop.state != "rolled-back":
            text += f" · <span style='color:{health.colour}'>{health.title}</span>"
        self.hop_title.setText(text)
        last = session.last_finished
        if session.rolled_back and (last is None or session.rolled_back.position >= last.position):
            self.window_label.setText(f"Hop {session.rolled_back.label} was rolled back.")
        elif last and last.finished:
            self.window_label.setText(
                f"Rollback window of {last.label}: {describe(window(last.finished))}"
            )
        else:
            self.window_label.setText(
                "The rollback window starts when a hop's new version answers."
            )

    def _tick(self) -> None:
        if self.session is not None:
            self._show_hop(self.session)
        self._show_verdict()
        self._show_decide_by()  # its times count down with the clock

    def _on_health(self, health) -> None:
        """The session's one health state: the panel, the hop tree and the banner."""
        self.health = health
        if self.session is not None:
            self._show_hop(self.session)
        self.panel.show_health(health)
        self.banner.show_open(list(health.open_triggers) if health is not None else [])
        for button in self.banner.ack_buttons.values():  # a review changes nothing
            button.setEnabled(not self.workspace.read_only)
        self._fill_stepper()
        self._show_triggers()

    def _show_triggers(self) -> None:
        evidence = self.model.evidence
        self.panel.show_triggers(evidence.triggers if evidence and self.session else [])

    def _show_log_counts(self) -> None:
        """Errors and warnings of the shown hop's logs, per phase."""
        session, logs = self.session, self.workspace.logs
        hop = (session.current or session.last_finished or session.hops[-1]) if session else None
        if hop is None:
            self.panel.show_log_counts("", {}, False, self.workspace.read_only)
            return
        self.panel.show_log_counts(
            hop.label, logs.counts.get(hop.id, {}), logs.following, self.workspace.read_only
        )

    def _update_buttons(self) -> None:
        session, busy = self.session, bool(self.model.busy) or self.workspace.read_only
        busy = busy or self.rehearsal_panel.running
        # core's rule (also `session run`/`status`), with the hop's latest pre-flight and
        # its rehearsal gate
        steps = steps_now(session, self.model.preflight, self.rehearsal_panel.gate_now)
        for step, button in self.buttons.items():
            tip, reason = _step_tip(button), steps.why_not(step)
            button.setEnabled(not busy and reason is None)
            if reason is not None:
                tab = self._gate_tab(reason)
                where = f"\n(the {GATE_TABS[tab]} tab below says more)" if tab else ""
                tip = f"Not now: {reason}{where}\n\n{tip}"
            button.setToolTip(tip)
        target = hop_runner.rollback_hop(session) if session else None
        self.rollback_button.setEnabled(not busy and target is not None)
        self.rollback_button.setToolTip(
            f"Roll back {target.label}: stop, restore its backup, reinstall "
            f"{target.from_version}, verify, resume"
            if target is not None
            else (hop_runner.nothing_to_roll_back(session) if session else "No session.")
        )
        # the rollback's cost: once there is a hop to roll back
        self.tabs.set_wanted("rollback-cost", target is not None)
        self.report_button.setEnabled(session is not None)
        self.new_button.setEnabled(
            not busy
            and (session is None or session.ended)
            and self.workspace.profile is not None
            and self.workspace.plan is not None
            and bool(self.workspace.plan.hops)
        )
        self.raise_button.setEnabled(not busy and session is not None)
        self.preflight_panel.set_enabled(not busy and not self.preflight_panel.isHidden())
        self._show_tab_titles()

    def _gate_tab(self, reason: str) -> str | None:
        """The tab of the gate that refuses a step for `reason`, if a gate does."""
        gate, preflight = self.rehearsal_panel.gate_now, self.model.preflight
        if gate is not None and reason == gate.refusal:
            return "rehearsal"
        if (
            preflight is not None
            and preflight.verdict == "blocked"
            and reason == blocked_by(preflight)
        ):
            return "preflight"
        return None

    # -- the live log -------------------------------------------------------------------

    def _append_log(self, line: str) -> None:
        """A step's line; the view follows new lines unless the user scrolled up."""
        self.log.appendPlainText(line)
        if self._log_follows:
            self._scroll_log_to_end()

    def _scroll_log_to_end(self) -> None:
        bar = self.log.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _on_log_scrolled(self, value: int) -> None:
        bar = self.log.verticalScrollBar()
        self._log_follows = value >= bar.maximum() - LOG_FOLLOW_SLACK

    def _on_log_range_changed(self, _minimum: int, _maximum: int) -> None:
        if self._log_follows:  # new lines laid out (or the view resized): keep the end in view
            self._scroll_log_to_end()

    # -- actions ------------------------------------------------------------------

    def export_report(self, path: Path | None = None) -> Path | None:
        """Write the session's report; without `path` a file dialog asks where. The page
        then says where it went."""
        if self.session is None:
            return None
        if path is not None:
            return self._write_report(path)
        dialog = QFileDialog(self, "Session report")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(["HTML (*.html)", "PDF (*.pdf)"])
        dialog.setDefaultSuffix("html")
        dialog.setDirectory(str(settings().value("report_dir", str(Path.home()))))
        dialog.selectFile(f"upgrade-session-{self.session.id}.html")
        dialog.fileSelected.connect(lambda chosen: chosen and self._write_report(Path(chosen)))
        self.report_dialog = dialog
        dialog.open()
        return None

    def _write_report(self, path: Path) -> Path | None:
        """Write the report (its pictures are drawn here, in the GUI thread)."""
        from PySide6.QtGui import QGuiApplication

        from themis_desktop.ui.dialogs.report_export import write_report

        if self.session is None:
            return None
        secrets = tuple(t for t in [self.workspace.tokens.get(self.session.profile or "")] if t)
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            out = write_report(self.workspace.tasks.journal_path, self.session.id, path, secrets)
        except (OSError, ValueError) as exc:
            self._on_failed("report", f"The report could not be written to {path}: {exc}")
            return None
        finally:
            QGuiApplication.restoreOverrideCursor()
        where = Path(out).resolve()
        settings().setValue("report_dir", str(where.parent))
        self.report_label.setText(f"Report written to {where}")
        self.report_label.setToolTip(f"{where}\n(select the text to copy the path)")
        self.report_label.show()
        self.workspace.sig_message.emit(f"Report written to {where}")
        self.sig_report_written.emit(str(where))
        return out

    def start_session(self) -> None:
        if self.workspace.plan is not None and not self.workspace.refuse("Starting a session"):
            self.model.start_session(self.workspace.plan)

    def run_preflight(self, names: list[str] | None = None) -> None:
        """Run the current hop's pre-flight checks (all, or `names` alone)."""
        if not self.workspace.refuse("Running the pre-flight"):
            self.model.run_preflight(names)

    def run(self, step: str) -> None:
        if self.workspace.refuse(step.capitalize()):
            return
        if step == "upgrade":
            self.ask_upgrade()
            return
        self.model.run_step(step)

    def ask_upgrade(self) -> None:
        """The upgrade step stops and changes every node: ask first, saying what happens
        and what cannot be undone (on a point of no return: which backup a rollback would
        restore, and that writes after the upgrade are lost). No is the default."""
        session, profile = self.session, self.workspace.profile
        hop = session.current if session else None
        if session is None or hop is None or profile is None or self.model.busy:
            return

        def load(journal: Journal):
            backups = hop_runner.hop_backups(journal, session, hop, profile)
            return backups, hop_runner.reversibility(hop)

        self.workspace.tasks.run_journal(
            load, on_done=lambda found: self._confirm_upgrade(hop, *found)
        )

    def _confirm_upgrade(self, hop: Hop, backups: dict, reversibility) -> None:
        if self.model.stopped or self.session is None or self.session.current is None:
            return
        steps = steps_now(self.session, self.model.preflight, self.rehearsal_panel.gate_now)
        if self.session.current.id != hop.id or not steps.allowed("upgrade"):
            return
        records = [r for r in backups.values() if r is not None]
        if len(records) < len(backups):  # the step refuses, and says why
            self._start_upgrade(hop)
            return
        no_return, text = hop_runner.upgrade_question(hop, backups, reversibility)
        box = QMessageBox(
            QMessageBox.Icon.Warning if no_return else QMessageBox.Icon.Question,
            f"Upgrade {hop.label}",
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setEscapeButton(QMessageBox.StandardButton.No)
        box.button(QMessageBox.StandardButton.Yes).setText("Yes, upgrade")
        box.button(QMessageBox.StandardButton.Yes).setAutoDefault(False)
        box.button(QMessageBox.StandardButton.No).setText("No")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        yes = QMessageBox.StandardButton.Yes
        box.buttonClicked.connect(
            lambda button: box.standardButton(button) == yes and self._start_upgrade(hop)
        )
        self.upgrade_question = box
        box.open()

    def _start_upgrade(self, hop: Hop) -> None:
        """The metrics baseline of this hop is the last 15 min; then the step runs."""
        self.workspace.metrics.capture_baseline(15, label=f"before {hop.label}")
        self.model.run_step("upgrade")

    def ask_rollback(self) -> QDialog | None:
        session = self.session
        hop = hop_runner.rollback_hop(session) if session else None
        if session is None or hop is None or self.workspace.refuse("Rolling back"):
            return None
        profile = self.workspace.profile

        def load(journal: Journal):  # the backups the rollback will restore, and only those
            if profile is None:
                return {}, [], []
            points = restore_points.hop_restore_points(journal, session, hop)
            backups = hop_runner.rollback_candidates(journal, session, hop, profile)
            at_risk = rollback_cost.rollback_lines(journal, profile, backups)  # the meter's
            return backups, points, at_risk

        self.workspace.tasks.run_journal(
            load, on_done=lambda found: self._confirm_rollback(hop, *found)
        )
        return None

    def _confirm_rollback(self, hop: Hop, backups: dict, points: list, at_risk=()) -> None:
        if self.model.stopped:
            return  # the window closed meanwhile
        self.rollback_dialog = RollbackDialog(
            hop, backups, self.workspace.profile, self, restore_points=points, writes=at_risk
        )
        self.rollback_dialog.accepted.connect(
            lambda: self.model.run_step("rollback", self.rollback_dialog.note.toPlainText().strip())
        )
        self.rollback_dialog.open()

    def ask_trigger(self) -> None:
        if self.session is None or self.workspace.refuse("Raising a trigger"):
            return
        kind = self.trigger_kind.currentData()
        dialog = NoteDialog(
            f"Raise trigger: {self.trigger_kind.currentText()}",
            "What was seen, where, and how to reproduce it (required)",
            "Raise trigger",
            self,
        )
        dialog.accepted.connect(lambda: self.model.raise_trigger(kind, dialog.text()))
        self.trigger_dialog = dialog
        dialog.open()

    def ask_acknowledge(self, trigger_id: int) -> None:
        """Acknowledge a raised trigger with a note (what was decided); journaled."""
        evidence = self.model.evidence
        trigger = (
            next((t for t in evidence.triggers if t.id == trigger_id), None) if evidence else None
        )
        if trigger is None or self.workspace.refuse("Acknowledging a trigger"):
            return
        dialog = NoteDialog(
            f"Acknowledge: {trigger.title}",
            "What you decided, e.g. 'accepted: p99 still within the SLA, watching' (required)",
            "Acknowledge",
            self,
            intro=f"{trigger.title} — {trigger.note} ({trigger.user}, {trigger.at[:16]})",
        )
        dialog.accepted.connect(lambda: self.model.acknowledge(trigger_id, dialog.text()))
        self.ack_dialog = dialog
        dialog.open()

    # -- reactions -------------------------------------------------------------------

    def _on_busy(self, step: str) -> None:
        if step:  # its output, or the pre-flight's verdict, in front
            self.tabs.select("preflight" if step == "pre-flight" else "output")
        self.progress.setVisible(bool(step))
        self.cancel_button.setVisible(bool(step))
        self._update_buttons()

    def _on_done(self, step: str, result: object) -> None:
        self.workspace.sig_message.emit(f"{step}: done")

    def _on_failed(self, step: str, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, f"{step} failed", message, parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.error_box = box
        box.open()

    def _on_confirm(self, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, "Manual step", text, parent=self)
        box.setStandardButtons(QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Ok).setText("Done")
        box.finished.connect(
            lambda result: self.model.answer(result == QMessageBox.StandardButton.Ok)
        )
        self.confirm_box = box
        box.open()

    def _on_evaluation(self, evaluation) -> None:
        self._show_verdict()
        self._show_decide_by()

    def _show_verdict(self) -> None:
        monitor = self.workspace.metrics
        self.panel.show_verdict(monitor.evaluation, monitor.hold)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._log_follows:
            self._scroll_log_to_end()


def _step_tip(button: QPushButton) -> str:
    """What the step's button does (its first tooltip), kept beside the reason it waits."""
    tip = button.property("stepTip")
    if tip is None:
        tip = button.toolTip()
        button.setProperty("stepTip", tip)
    return tip
