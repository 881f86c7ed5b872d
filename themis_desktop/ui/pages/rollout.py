"""Rollout page: the cluster as tiles (version, health, traffic share, role), the plan's
step timeline with gates and soak time, each node's latency in its own colour, and the
controls. Start and Abort ask first, saying what happens and what cannot be undone. A gate
waiting for evidence says how much it has, live; one that paused without a verdict never
looks passed, and going on past it asks for a note (journaled). After
an abort or a failure the page shows the cluster as it is and the next steps (decided in
core, `rollout_next`), a button each."""

from __future__ import annotations

import time
from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.rollout.explain import (
    Question,
    abort_question,
    start_question,
    switch_back_question,
)
from themis_desktop.core.rollout.next_steps import NextStep
from themis_desktop.core.rollout.runner import STRATEGIES, Rollout, RolloutError, strategy_problem
from themis_desktop.core.server.node_status import NodeStatus
from themis_desktop.ui import palette
from themis_desktop.ui.dialogs.note import NoteDialog
from themis_desktop.ui.models.workspace import Workspace
from themis_desktop.ui.widgets import metric_plot_style as style
from themis_desktop.ui.widgets.rollout_outcome import RolloutOutcome
from themis_desktop.ui.widgets.rollout_tile import NodeTile

TILES_PER_ROW = 4  # more nodes: another row (a narrow window keeps each tile whole)
LOWER_MIN = 200  # px: the step timeline and the latency plot stay readable
VERDICT_MARK = {"pass": "✓", "marginal": "?", "fail": "✗", "inconclusive": "…", "no data": "·"}
VERDICT_WORDS = {  # a gate without a verdict never reads as passed
    "inconclusive": "inconclusive: too little evidence, not a pass",
    "no data": "no data: not a pass",
    "marginal": "marginal: a human decides",
}
VERDICT_COLOUR = {
    "fail": palette.BAD_RED,
    "marginal": palette.WARNING_ORANGE,
    "inconclusive": palette.WARNING_ORANGE,
    "no data": palette.WARNING_ORANGE,
}
STRATEGY_TIP = {
    "rolling": "Node by node: drained, upgraded, serving again; the others keep serving.",
    "canary": "One node upgraded first, given 5 → 20 → 50 → 100 % of the traffic, gated at "
    "each step. Needs two nodes and a traffic router.",
    "blue-green": "Half the nodes (green) upgraded and validated while blue serves, then the "
    "switch. Needs two nodes and a traffic router.",
}


class RolloutPage(QWidget):
    TITLE = "Rollout"

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.model = workspace.rollouts
        self.tiles: dict[str, NodeTile] = {}
        self.soak_left = 0.0
        self.waiting: dict | None = None  # the gate's last "waiting" event, while it waits
        self.note_dialog: NoteDialog | None = None
        heading = QLabel("Rollout", objectName="pageTitle")
        self.hop = QLabel("", objectName="muted")
        self.strategy = QComboBox()
        self.strategy.addItems(list(STRATEGIES))
        self.strategy.currentTextChanged.connect(lambda _: self._update_buttons())
        self.steps = QLineEdit("5,20,50,100")
        self.steps.setToolTip("Canary traffic steps in percent")
        self.soak = QDoubleSpinBox(suffix=" s", decimals=0, minimum=1, maximum=24 * 3600)
        self.soak.setValue(60)
        self.soak.setToolTip("How long each gate watches the metrics")
        self.start_button = QPushButton("Start rollout…")
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.model.pause)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.resume)
        self.abort_button = QPushButton("Abort…")
        self.abort_button.setToolTip("Asks first, saying what the abort will do now")
        self.abort_button.clicked.connect(self.abort)
        self.switch_button = QPushButton("Switch back to blue…")
        self.switch_button.setToolTip("Asks first, saying what stays on green")
        self.switch_button.clicked.connect(self.switch_back)
        for button in (
            self.start_button,
            self.pause_button,
            self.resume_button,
            self.abort_button,
            self.switch_button,
        ):
            button.setAutoDefault(False)  # Enter never starts or aborts anything
        self.why = QLabel("", objectName="muted")  # why Start is disabled
        self.why.setWordWrap(True)
        self.error = QLabel("", objectName="pageError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.outcome = RolloutOutcome()
        self.outcome.sig_step.connect(self._on_outcome_step)
        self.question: QMessageBox | None = None
        controls = QHBoxLayout()
        controls.addWidget(heading)
        controls.addStretch(1)
        for label, widget in (
            ("Strategy", self.strategy),
            ("Steps", self.steps),
            ("Soak", self.soak),
        ):
            controls.addWidget(QLabel(label))
            controls.addWidget(widget)
        buttons = QHBoxLayout()
        buttons.addWidget(self.hop, 1)
        for button in (
            self.start_button,
            self.pause_button,
            self.resume_button,
            self.abort_button,
            self.switch_button,
        ):
            buttons.addWidget(button)

        self.tiles_host = QWidget()
        self.tiles_layout = QGridLayout(self.tiles_host)
        self.tiles_layout.setContentsMargins(0, 0, 0, 0)
        self.status = QLabel("No rollout yet.")
        self.status.setWordWrap(True)
        self.timeline = QListWidget()
        self.timeline.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.timeline.setTextElideMode(Qt.TextElideMode.ElideRight)  # the tooltip has it all
        self.plot = pg.PlotWidget(background="w", axisItems={"bottom": pg.DateAxisItem()})
        self.plot.setTitle("Probe latency per node", size="9pt", color=palette.INK)
        self.plot.setLabel("left", "ms")
        self.plot.addLegend(offset=(10, 5), labelTextSize="8pt")
        style.make_fast(self.plot.getPlotItem())
        self.lines: dict[str, pg.PlotDataItem] = {}
        lower = QHBoxLayout()
        for widget in (self.timeline, self.plot):  # the height left over, at least LOWER_MIN
            widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
            widget.setMinimumHeight(LOWER_MIN)
            lower.addWidget(widget, 1)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addLayout(controls)
        layout.addLayout(buttons)
        layout.addWidget(self.why)
        layout.addWidget(self.error)
        layout.addWidget(self.tiles_host)
        layout.addWidget(self.status)
        layout.addWidget(self.outcome)
        layout.addLayout(lower, 1)
        self.scroll = QScrollArea()  # a short window scrolls (after an abort): nothing is cut
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)

        self.model.sig_rollout.connect(self.show_rollout)
        self.model.sig_running.connect(lambda _: self._update_buttons())
        self.model.sig_event.connect(self._on_event)
        self.model.sig_failed.connect(self._on_failed)
        self.model.sig_state.connect(self.outcome.show_state)
        self.model.confirm = None
        workspace.sig_profile_changed.connect(self._on_profile)
        workspace.sig_node_status.connect(self._on_status)
        workspace.sig_plan_changed.connect(lambda _: self._update_hop())
        workspace.metrics.sig_samples.connect(self._redraw_plot)
        self._on_profile(workspace.profile)
        self.outcome.show_state(self.model.state)

    # -- showing ---------------------------------------------------------------

    def _on_profile(self, profile) -> None:
        for tile in self.tiles.values():
            tile.deleteLater()
        self.tiles = {}
        for line in self.lines.values():
            self.plot.removeItem(line)
        self.lines = {}
        for i, node in enumerate(profile.nodes if profile else ()):
            tile = NodeTile(node.name)
            self.tiles_layout.addWidget(tile, i // TILES_PER_ROW, i % TILES_PER_ROW)
            self.tiles[node.name] = tile
            self.lines[node.name] = style.add_line(self.plot.getPlotItem(), i, node.name)
        self._update_hop()
        self._explain_strategies()
        self.show_rollout(self.model.rollout)

    def _explain_strategies(self) -> None:
        """Each strategy's tooltip says what it does, and why it cannot run here if so."""
        profile = self.workspace.profile
        for i, name in enumerate(STRATEGIES):
            problem = strategy_problem(profile, name) if profile else None
            tip = STRATEGY_TIP[name] + (f"\n\nNot on this profile: {problem}" if problem else "")
            self.strategy.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)

    def _on_status(self, index: int, status: NodeStatus) -> None:
        tile = self.tiles.get(status.name)
        if tile:
            before = tile.version.text()
            tile.show_status(status)
            if self.model.state is not None and tile.version.text() != before:
                self.model.assess()  # a node changed version: look at the cluster again

    def _update_hop(self) -> None:
        plan = self.workspace.plan
        if plan is None or not plan.hops:
            self.hop.setText("No hop planned yet.")
        else:
            hop = plan.hops[0]
            self.hop.setText(f"Hop {hop.source.text} → {hop.target.text} (the plan's first)")
        self._update_buttons()

    def show_rollout(self, rollout: Rollout | None) -> None:
        self.rollout = rollout
        names = list(self.tiles)
        even = 100 / len(names) if names else 0
        for name, tile in self.tiles.items():
            role = rollout.roles.get(name, "stable") if rollout else "stable"
            share = rollout.weights.get(name, even) if rollout else even
            tile.show_role(role, share)
        self._update_legend()
        self.timeline.clear()
        if rollout is None:
            self.status.setText("No rollout yet. Choose a strategy and start it.")
        else:
            gates = {g["step"]: g for g in rollout.gates}
            waiting = self._waiting_text(rollout)
            for i, step in enumerate(rollout.steps):
                gate = gates.get(i)
                mark = "✓" if i < rollout.position else ("▶" if i == rollout.position else "·")
                if gate and i < rollout.position:
                    mark = VERDICT_MARK.get(gate["verdict"], mark)  # passed only if it did
                text = f"{mark} {step.title}"
                if i == rollout.position and rollout.finished:
                    text = f"■ {step.title} — stopped here ({rollout.status})"
                if gate:
                    verdict = gate["verdict"]
                    text += f" — gate {VERDICT_MARK.get(verdict, '')} "
                    text += VERDICT_WORDS.get(verdict, verdict)
                item = QListWidgetItem(text)
                if i == rollout.position and not rollout.finished:
                    item.setBackground(QColor(palette.TARGET_FILL))
                    if waiting:
                        item.setText(f"{text} — {waiting}")
                    elif step.kind == "soak" and self.model.running and self.soak_left:
                        item.setText(f"{text} — {self.soak_left:.0f} s of soak left")
                if gate and gate["verdict"] in VERDICT_COLOUR:
                    item.setForeground(QColor(VERDICT_COLOUR[gate["verdict"]]))
                item.setToolTip(item.text())  # the whole line where the column elides it
                self.timeline.addItem(item)
            reason = waiting or rollout.reason
            self.status.setText(
                f"{rollout.strategy} rollout {rollout.from_version} → {rollout.to_version}: "
                f"<b>{rollout.status}</b>" + (f" — {escape(reason)}" if reason else "")
            )
        self._update_buttons()

    def _start_blocker(self) -> str:
        """Why Start is disabled now (empty: it is not)."""
        r, plan = getattr(self, "rollout", None), self.workspace.plan
        profile = self.workspace.profile
        if self.workspace.read_only:
            return "A read-only review: nothing can be started."
        if profile is None:
            return "Connect to a cluster first (Ctrl+K)."
        if plan is None or not plan.hops:
            return "Plan a path on the Versions page first (Ctrl+2)."
        if self.model.running:
            return "A rollout is running."
        if r is not None and r.resumable:
            return f"Rollout {r.id or ''} is {r.status}: resume or abort it first."
        return strategy_problem(profile, self.strategy.currentText()) or ""

    def _update_buttons(self) -> None:
        r, running = getattr(self, "rollout", None), self.model.running
        open_rollout = r is not None and r.resumable and not self.workspace.read_only
        blocker = self._start_blocker()
        self.start_button.setEnabled(not blocker)
        self.start_button.setToolTip(blocker or "Asks first, saying what will happen")
        self.why.setText(blocker if self.workspace.profile is not None else "")
        self.why.setVisible(bool(self.why.text()))
        self.outcome.enable(not running and not self.workspace.read_only)
        self.pause_button.setEnabled(running)
        self.resume_button.setEnabled(not running and open_rollout)
        past_gate = not running and r is not None and r.waiting_gate is not None
        self.resume_button.setText("Go on past the gate…" if past_gate else "Resume")
        self.resume_button.setToolTip(
            "The gate did not pass (too little evidence): going on is your decision, "
            "journaled with a note"
            if past_gate
            else "Go on from where the rollout stopped"
        )
        self.abort_button.setEnabled(running or open_rollout)
        self.switch_button.setEnabled(
            not running
            and not self.workspace.read_only
            and r is not None
            and r.strategy == "blue-green"
            and r.status == "done"
        )

    def _update_legend(self) -> None:
        """The legend names each node's line with its role (the colour is the node's)."""
        rollout = getattr(self, "rollout", None)
        legend = self.plot.getPlotItem().legend
        wanted = {}
        for name in self.lines:
            role = rollout.roles.get(name, "stable") if rollout else "stable"
            wanted[name] = name if role == "stable" else f"{name} · {role}"
        if [self.lines[n].name() for n in self.lines] == list(wanted.values()):
            return
        for name, line in self.lines.items():
            legend.removeItem(line)
            line.opts["name"] = wanted[name]
            legend.addItem(line, wanted[name])

    def _redraw_plot(self) -> None:
        store = self.workspace.metrics.store
        since = time.time() - 600
        for name, line in self.lines.items():
            series = store.series.get(name)
            if series is None or not len(series):
                continue
            start = int(np.searchsorted(series.at, since))
            line.setData(series.at[start:], series.values("probe_ms")[start:], connect="finite")

    # -- actions ------------------------------------------------------------------

    def start(self) -> None:
        """Plan the rollout of the plan's first hop and ask before it runs."""
        plan = self.workspace.plan
        if plan is None or not plan.hops or self.workspace.refuse("Starting a rollout"):
            return
        hop = plan.hops[0]
        self._on_failed("")
        try:
            steps = tuple(float(p) for p in self.steps.text().split(",") if p.strip())
        except ValueError:
            self._on_failed("The canary steps are percentages separated by commas: 5,20,50,100.")
            return
        try:
            rollout = self.model.plan(
                self.strategy.currentText(),
                hop.source.text,
                hop.target.text,
                canary_steps=steps,
                soak=self.soak.value(),
            )
        except RolloutError as exc:
            self._on_failed(str(exc))
            return
        profile = self.workspace.profile.name if self.workspace.profile else ""
        question = start_question(rollout, profile, hop.reversibility, hop.reversibility_note)
        self._ask(question, "Start", lambda: self.model.run_planned(rollout))

    def resume(self) -> None:
        """Go on; past a gate without a verdict only with a note (the admin's decision)."""
        rollout = self.model.rollout
        if rollout is None or self.model.running:
            return
        gate = rollout.waiting_gate
        if gate is None:
            self.model.resume()
            return
        dialog = NoteDialog(
            "Go on past the gate without a verdict",
            "Why going on is right, e.g. 'low traffic tonight; n1 checked by hand' (required)",
            "Go on past the gate",
            self,
            intro=(
                f"“{gate['title']}” did not pass: {rollout.reason}. Going on is your "
                "decision; it is journaled with your name and this note. Abort instead to "
                "return the traffic to the old version."
            ),
        )
        dialog.accepted.connect(lambda: self.model.resume(dialog.text()))
        self.note_dialog = dialog
        dialog.open()

    def abort(self) -> None:
        """Ask, saying what the abort does to this rollout now, then abort."""
        rollout = self.model.runner.rollout if self.model.runner else self.model.rollout
        if rollout is None:
            return
        self._ask(abort_question(rollout), "Abort", self.model.abort)

    def switch_back(self) -> None:
        """Ask, saying where the traffic goes and what green keeps, then switch back."""
        rollout = self.model.rollout
        if rollout is None or self.model.running:
            return
        self._ask(switch_back_question(rollout), "Switch back", self.model.switch_back)

    def _on_outcome_step(self, step: NextStep) -> None:
        if step.action == "start":
            self.start()
            return
        question = Question(step.title, f"{step.title}?", (step.detail,))
        self._ask(question, "Go ahead", lambda: self.model.take(step))

    def _ask(self, question: Question, yes_text: str, then) -> QMessageBox:
        """A question with No as the default button; `then()` runs only on Yes."""
        box = QMessageBox(QMessageBox.Icon.Warning, question.title, question.text, parent=self)
        box.setInformativeText("\n\n".join(question.details))
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.button(QMessageBox.StandardButton.Yes).setText(yes_text)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setEscapeButton(QMessageBox.StandardButton.No)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button) -> None:
            if box.standardButton(button) == QMessageBox.StandardButton.Yes:
                then()

        box.buttonClicked.connect(answered)
        self.question = box
        box.open()
        return box

    def _waiting_text(self, rollout: Rollout) -> str:
        """The running gate's wait for evidence in words, or ""."""
        waiting = self.waiting
        if not self.model.running or waiting is None or waiting["position"] != rollout.position:
            return ""
        return str(waiting["message"])

    def _on_event(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "soak":
            self.soak_left = event.get("seconds_left", 0.0)
        elif kind == "waiting":
            self.waiting = event
        else:
            if kind != "evidence":
                self.waiting = None  # a verdict, another step, a pause, …
            self.workspace.sig_message.emit(event["message"])

    def _on_failed(self, message: str) -> None:
        """Errors are shown in the page, above the tiles, until the next start."""
        self.error.setText(message)
        self.error.setVisible(bool(message))
