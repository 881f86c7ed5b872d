"""Rollout page: the cluster as tiles (version, health, traffic share, role), the plan's
step timeline with gates and soak time, canary vs stable latency inline, and the controls."""

from __future__ import annotations

import time

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
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.node_status import NodeStatus
from themis_desktop.core.rollout import STRATEGIES, Rollout
from themis_desktop.ui.widgets import metric_plot_style as style
from themis_desktop.ui.workspace import Workspace

ROLE_COLOUR = {
    "stable": "#2a5db0",
    "blue": "#2a5db0",
    "canary": "#c2410c",
    "green": "#1f9d68",
    "green (serving)": "#1f9d68",
    "upgraded": "#1f9d68",
    "stable (restored)": "#44546a",
}
VERDICT_MARK = {"pass": "✓", "marginal": "?", "fail": "✗", "no data": "·"}


class NodeTile(QFrame):
    """One node: name, version, health, role, and its share of the traffic."""

    def __init__(self, name: str) -> None:
        super().__init__(objectName="nodeTile")
        self.name = name
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(f"<b>{name}</b>")
        self.version = QLabel("version ?")
        self.health = QLabel("…")
        self.role = QLabel("stable")
        self.traffic = QProgressBar()
        self.traffic.setRange(0, 100)
        self.traffic.setFormat("%p % of traffic")
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.version)
        layout.addWidget(self.health)
        layout.addWidget(self.role)
        layout.addWidget(self.traffic)
        self.setMinimumWidth(170)

    def show_status(self, status: NodeStatus) -> None:
        self.version.setText(f"v{status.version.version}" if status.version else "version ?")
        self.health.setText(status.state)

    def show_role(self, role: str, share: float) -> None:
        colour = ROLE_COLOUR.get(role, "#44546a")
        self.role.setText(f"<span style='color:{colour}'>● {role}</span>")
        self.traffic.setValue(round(share))
        self.setStyleSheet(f"QFrame#nodeTile {{ border: 2px solid {colour}; border-radius: 6px; }}")


class RolloutPage(QWidget):
    TITLE = "Rollout"

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.model = workspace.rollouts
        self.tiles: dict[str, NodeTile] = {}
        self.soak_left = 0.0
        heading = QLabel("Rollout", objectName="pageTitle")
        self.hop = QLabel("", objectName="muted")
        self.strategy = QComboBox()
        self.strategy.addItems(list(STRATEGIES))
        self.steps = QLineEdit("5,20,50,100")
        self.steps.setToolTip("Canary traffic steps in percent")
        self.soak = QDoubleSpinBox(suffix=" s", decimals=0, minimum=1, maximum=24 * 3600)
        self.soak.setValue(60)
        self.soak.setToolTip("How long each gate watches the metrics")
        self.start_button = QPushButton("Start rollout")
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.model.pause)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.model.resume)
        self.abort_button = QPushButton("Abort")
        self.abort_button.setToolTip("Traffic back to the stable version; the canary is restored")
        self.abort_button.clicked.connect(self.model.abort)
        self.switch_button = QPushButton("Switch back to blue")
        self.switch_button.clicked.connect(self.model.switch_back)
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
        self.plot = pg.PlotWidget(background="w", axisItems={"bottom": pg.DateAxisItem()})
        self.plot.setTitle("Probe latency: canary / green vs stable", size="9pt", color="#1f2a37")
        self.plot.setLabel("left", "ms")
        self.plot.addLegend(offset=(10, 5), labelTextSize="8pt")
        style.make_fast(self.plot.getPlotItem())
        self.lines: dict[str, pg.PlotDataItem] = {}
        lower = QHBoxLayout()
        lower.addWidget(self.timeline, 1)
        lower.addWidget(self.plot, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(buttons)
        layout.addWidget(self.tiles_host)
        layout.addWidget(self.status)
        layout.addLayout(lower, 1)

        self.model.sig_rollout.connect(self.show_rollout)
        self.model.sig_running.connect(lambda _: self._update_buttons())
        self.model.sig_event.connect(self._on_event)
        self.model.sig_failed.connect(self._on_failed)
        self.model.confirm = None
        workspace.sig_profile_changed.connect(self._on_profile)
        workspace.sig_node_status.connect(self._on_status)
        workspace.sig_plan_changed.connect(lambda _: self._update_hop())
        workspace.metrics.sig_samples.connect(self._redraw_plot)
        self._on_profile(workspace.profile)

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
            self.tiles_layout.addWidget(tile, 0, i)
            self.tiles[node.name] = tile
            self.lines[node.name] = style.add_line(self.plot.getPlotItem(), i, node.name)
        self._update_hop()
        self.show_rollout(self.model.rollout)

    def _on_status(self, index: int, status: NodeStatus) -> None:
        tile = self.tiles.get(status.name)
        if tile:
            tile.show_status(status)

    def _update_hop(self) -> None:
        plan = self.workspace.plan
        if plan is None or not plan.hops:
            self.hop.setText("Plan a path on the Versions page first (Ctrl+2).")
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
        self.timeline.clear()
        if rollout is None:
            self.status.setText("No rollout yet. Choose a strategy and start it.")
        else:
            gates = {g["step"]: g for g in rollout.gates}
            for i, step in enumerate(rollout.steps):
                mark = "✓" if i < rollout.position else ("▶" if i == rollout.position else "·")
                text = f"{mark} {step.title}"
                gate = gates.get(i)
                if gate:
                    text += f" — gate {VERDICT_MARK.get(gate['verdict'], '')} {gate['verdict']}"
                item = QListWidgetItem(text)
                if i == rollout.position and not rollout.finished:
                    item.setBackground(QColor("#e8f1ff"))
                    if step.kind == "soak" and self.model.running and self.soak_left:
                        item.setText(f"{text} — {self.soak_left:.0f} s of soak left")
                if gate and gate["verdict"] == "fail":
                    item.setForeground(QColor("#a4161a"))
                self.timeline.addItem(item)
            self.status.setText(
                f"{rollout.strategy} rollout {rollout.from_version} → {rollout.to_version}: "
                f"<b>{rollout.status}</b>" + (f" — {rollout.reason}" if rollout.reason else "")
            )
        self._update_buttons()

    def _update_buttons(self) -> None:
        r, running = getattr(self, "rollout", None), self.model.running
        plan = self.workspace.plan
        open_rollout = r is not None and r.resumable and not self.workspace.read_only
        self.start_button.setEnabled(
            not running
            and not self.workspace.read_only
            and not open_rollout
            and self.workspace.profile is not None
            and plan is not None
            and bool(plan.hops)
        )
        self.pause_button.setEnabled(running)
        self.resume_button.setEnabled(not running and open_rollout)
        self.abort_button.setEnabled(open_rollout)
        self.switch_button.setEnabled(
            not running
            and not self.workspace.read_only
            and r is not None
            and r.strategy == "blue-green"
            and r.status == "done"
        )

    def _redraw_plot(self) -> None:
        store = self.workspace.metrics.store
        since = time.time() - 600
        for name, line in self.lines.items():
            series = store.series.get(name)
            if series is None or not len(series):
                continue
            start = int(np.searchsorted(series.at, since))
            line.setData(series.at[start:], series.values("probe_ms")[start:], connect="finite")
            role = self.rollout.roles.get(name, "stable") if getattr(self, "rollout", None) else ""
            line.setPen(pg.mkPen(ROLE_COLOUR.get(role, "#44546a"), width=1))

    # -- actions ------------------------------------------------------------------

    def start(self) -> None:
        plan = self.workspace.plan
        if plan is None or not plan.hops or self.workspace.refuse("Starting a rollout"):
            return
        hop = plan.hops[0]
        try:
            steps = tuple(float(p) for p in self.steps.text().split(",") if p.strip())
        except ValueError:
            self._on_failed("The canary steps are percentages separated by commas: 5,20,50,100.")
            return
        self.model.start(
            self.strategy.currentText(),
            hop.source.text,
            hop.target.text,
            canary_steps=steps,
            soak=self.soak.value(),
        )

    def _on_event(self, event: dict) -> None:
        if event.get("event") == "soak":
            self.soak_left = event.get("seconds_left", 0.0)
        else:
            self.workspace.sig_message.emit(event["message"])

    def _on_failed(self, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Rollout", message, parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.error_box = box
        box.open()
