"""Metrics page: live plots with the baseline behind them, the verdict table, the rollback
trigger banner, the 48 h watch, and CSV/PNG export.

The banner shows the same thing as the session page's: the raised triggers of the connected
profile's session that nobody has acknowledged yet (`SessionHealth.open_triggers`), each with
Acknowledge… (a note, journaled with user and time). A later passing verdict never hides it.
Only a metrics trigger that no session hop can take (no session, or nothing upgraded yet) is
shown as an advisory, which the admin may dismiss."""

from __future__ import annotations

import time
from datetime import datetime
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.metrics import store as metrics_store
from themis_desktop.core.metrics.store import Baseline
from themis_desktop.core.metrics.verdict import Evaluation, Trigger
from themis_desktop.core.util.formatting import human_duration
from themis_desktop.ui.dialogs.compare_windows import CompareWindowsDialog
from themis_desktop.ui.dialogs.distribution import DistributionDialog
from themis_desktop.ui.dialogs.note import NoteDialog
from themis_desktop.ui.models.workspace import Workspace
from themis_desktop.ui.settings import settings
from themis_desktop.ui.widgets.comparison_table import ComparisonTable
from themis_desktop.ui.widgets.elided_label import ElidedLabel
from themis_desktop.ui.widgets.eliding_combo import ElidingComboBox
from themis_desktop.ui.widgets.metric_plots import SPANS, MetricPlots
from themis_desktop.ui.widgets.trigger_banner import TriggerBanner

WATCH_S = 48 * 3600


class MetricsPage(QWidget):
    TITLE = "Metrics"

    sig_open_rollback = Signal()
    sig_exported = Signal(str)  # the path written

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.monitor = workspace.metrics
        heading = QLabel("Metrics", objectName="pageTitle")
        self.span = QComboBox()
        self.span.addItems(list(SPANS))
        self.span.setToolTip("Time range shown")
        self.span.currentTextChanged.connect(self._on_span_changed)
        self.follow = QCheckBox("Follow live", checked=True)
        self.follow.setToolTip("Keep the newest samples in view (F)")
        self.follow.toggled.connect(lambda on: self.plots.set_follow(on))
        self.baseline_box = ElidingComboBox(min_chars=18)  # a long name: elided, whole in tip
        self.baseline_box.setToolTip("The baseline the current samples are compared with")
        self.baseline_box.activated.connect(self._on_baseline_chosen)
        self.minutes = QDoubleSpinBox(
            prefix="last ", suffix=" min", decimals=0, minimum=1, maximum=24 * 60
        )
        self.minutes.setValue(15)
        self.minutes.setToolTip("Length of the baseline window, ending now")
        self.capture = QPushButton("Capture baseline")
        self.capture.setToolTip(
            "Take the last minutes as the baseline of the next hop (before upgrading). "
            "The first baseline of a profile is also its path baseline."
        )
        self.capture.clicked.connect(lambda: self.monitor.capture_baseline(self.minutes.value()))
        from_prometheus = QPushButton("From Prometheus…")
        from_prometheus.setToolTip(
            "Take the baseline from a Prometheus server that scrapes these nodes "
            "(history from before the app was started)"
        )
        from_prometheus.clicked.connect(self._ask_prometheus)
        for button in (self.capture, from_prometheus):
            button.setEnabled(not workspace.read_only)  # a review takes no baselines
        export_csv = QPushButton("Export CSV…")
        export_csv.clicked.connect(lambda: self.export_csv())
        export_png = QPushButton("Export PNG…")
        export_png.clicked.connect(lambda: self.export_png())
        self.compare_button = QPushButton("Compare &windows…")
        self.compare_button.setToolTip(
            "Compare any two stored windows of this profile's samples, e.g. the same hour "
            "last week against the last hour (as `metrics compare` does)"
        )
        self.compare_button.clicked.connect(lambda: self.open_compare())
        self.compare_dialog: CompareWindowsDialog | None = None

        controls = QHBoxLayout()
        controls.addWidget(heading)
        controls.addStretch(1)
        for widget in (self.span, self.follow, self.compare_button, export_csv, export_png):
            controls.addWidget(widget)
        baseline_row = QHBoxLayout()  # two short rows: the table beside the plots is narrow
        baseline_row.addWidget(QLabel("Baseline"))
        baseline_row.addWidget(self.baseline_box, 1)
        baseline_row.addWidget(from_prometheus)
        capture_row = QHBoxLayout()
        capture_row.addWidget(self.capture)
        capture_row.addWidget(self.minutes)
        capture_row.addStretch(1)

        self.banner = TriggerBanner()
        self.banner.sig_open_rollback.connect(self.sig_open_rollback)
        self.banner.sig_acknowledge.connect(self.ask_acknowledge)
        self.ack_dialog: NoteDialog | None = None
        self.placeholder = QLabel(
            "Connect to a profile (Ctrl+K) to sample its nodes every second.", objectName="muted"
        )
        self.plots = MetricPlots()
        self.plots.sig_follow_changed.connect(self.follow.setChecked)
        self.hover = ElidedLabel(" ", objectName="muted")  # many nodes: elided, whole in tip
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.plots, 1)
        left_layout.addWidget(self.hover)
        self.plots.sig_hover.connect(self.hover.setText)

        self.summary = QLabel("No baseline yet: capture one before the upgrade.")
        self.summary.setWordWrap(True)
        self.table = ComparisonTable()
        self.table.sig_metric_clicked.connect(self.show_distributions)
        self.reason = QLabel("", objectName="muted")  # the current row's reason
        self.reason.setWordWrap(True)
        self.table.sig_reason.connect(self.reason.setText)
        self.watch = QGroupBox("48 h watch")
        self.watch_text = QLabel("Starts when a hop finishes (or after the baseline).")
        self.watch_text.setWordWrap(True)
        self.history = QListWidget()
        self.history.setMaximumHeight(120)
        self.history.setWordWrap(True)  # a long verdict wraps instead of running off the side
        self.history.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.history.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.history.setToolTip(
            "The verdicts recorded in the journal (every change, and every 10 min)"
        )
        self.changes = QListWidget()  # the shown verdict's changes, each with its reason
        self.changes.setMaximumHeight(120)
        self.changes.setWordWrap(True)
        self.changes.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.changes.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.changes.setToolTip(
            "Why the verdict shown changed: it holds steady against noise "
            f"({self.monitor.hold.rule})"
        )
        self.history_tabs = QTabWidget()
        self.history_tabs.addTab(self.changes, "Verdict changes")
        self.history_tabs.addTab(self.history, "Recorded")
        self.history_tabs.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.history_tabs.setMaximumHeight(  # the lists' height and the tabs': no blank below
            self.history.maximumHeight() + self.history_tabs.tabBar().sizeHint().height() + 8
        )
        watch_layout = QVBoxLayout(self.watch)
        watch_layout.addWidget(self.watch_text)
        watch_layout.addWidget(self.history_tabs)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(baseline_row)
        right_layout.addLayout(capture_row)
        right_layout.addWidget(self.summary)
        right_layout.addWidget(self.table, 1)
        right_layout.addWidget(self.reason)
        right_layout.addWidget(self.watch)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)  # the table keeps room for its names
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 1)  # the plots take what the table can spare
        self.splitter.setStretchFactor(1, 0)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.banner)
        layout.addWidget(self.placeholder)
        layout.addWidget(self.splitter, 1)
        QShortcut(QKeySequence("F"), self, activated=self.follow.toggle)

        self.monitor.sig_samples.connect(self._redraw)
        self.monitor.sig_reloaded.connect(self._redraw)
        self.monitor.sig_baselines.connect(self._on_baselines)
        self.monitor.sig_evaluation.connect(self._on_evaluation)
        self.monitor.sig_trigger.connect(self._on_trigger)
        self.monitor.sig_markers.connect(self.plots.set_markers)
        self.monitor.sig_verdicts.connect(self._on_verdicts)
        self.monitor.sig_action_failed.connect(self._show_error)
        workspace.sig_profile_changed.connect(self._on_profile_changed)
        workspace.upgrade.sig_health.connect(self._on_health)  # the session page's banner too
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._update_watch)
        self._clock.start()
        self._on_profile_changed(workspace.profile)
        saved = settings().value("metrics/span", "15 min")
        self.span.setCurrentText(saved if saved in SPANS else "15 min")
        state = settings().value("metrics/splitter")
        self._splitter_placed = state is not None and self.splitter.restoreState(state)

    # -- reactions -------------------------------------------------------------

    def _on_profile_changed(self, profile: Profile | None) -> None:
        self.placeholder.setVisible(profile is None)
        self.compare_button.setEnabled(profile is not None)
        self.splitter.setVisible(profile is not None)
        self.plots.set_nodes([n.name for n in profile.nodes] if profile else [])
        self.banner.trigger = None  # an advisory was about the profile before
        session = self.workspace.upgrade.session
        same = profile is not None and session is not None and session.profile == profile.name
        # the same profile again (e.g. edited): its session's triggers stay; another
        # profile's arrive with its session (`sig_health`)
        self._on_health(self.workspace.upgrade.health if same else None)
        self._on_baselines([])
        self.history.clear()

    def _redraw(self) -> None:
        self.plots.update_data(self.monitor.store)

    def _on_span_changed(self, text: str) -> None:
        settings().setValue("metrics/span", text)
        if text == "All":
            self.monitor.load_all_history()
        self.plots.set_span(SPANS[text])

    def _on_baselines(self, baselines: list[Baseline]) -> None:
        self.baseline_box.clear()
        for b in baselines:
            taken = datetime.fromtimestamp(b.end).strftime("%d %b %H:%M")
            kind = "path" if b.kind == "path" else "hop"
            self.baseline_box.addItem(f"{kind}: {b.label or taken} ({b.source})", b.id)
        chosen = self.monitor.baseline
        if chosen is not None:
            self.baseline_box.setCurrentIndex(self.baseline_box.findData(chosen.id))
        self.plots.set_baseline(chosen)

    def _on_baseline_chosen(self, index: int) -> None:
        self.monitor.select_baseline(self.baseline_box.itemData(index))
        self.plots.set_baseline(self.monitor.baseline)

    def _on_evaluation(self, evaluation: Evaluation | None) -> None:
        self.table.set_evaluation(evaluation)
        self._show_changes()
        if evaluation is None:
            self.summary.setText(
                "No baseline yet: capture one before the upgrade."
                if self.monitor.baseline is None
                else "Comparing…"
            )
            return
        start, end = self.monitor.after_window()
        counts = sum(1 for v in evaluation.verdicts if v.verdict != "no data")
        self.summary.setText(
            f"<b>Verdict: {evaluation.overall.upper()}</b> ({evaluation.mode}) — the last "
            f"{human_duration(end - start)} against “{self.monitor.baseline.label}”; "
            f"{counts} metrics with data. Click a row for both distributions."
            + (f"<br>{escape(evaluation.inconclusive)}" if evaluation.inconclusive else "")
            if self.monitor.baseline
            else ""
        )
        # a passing verdict hides no banner: a raised trigger stays until acknowledged

    def _on_health(self, health) -> None:
        """The session's one health state: its raised, unacknowledged triggers in the banner
        (an advisory outside a session stays until dismissed or a session trigger comes)."""
        triggers = list(health.open_triggers) if health is not None else []
        if triggers or self.banner.trigger is None:
            self.banner.show_open(triggers)
            for button in self.banner.ack_buttons.values():  # a review changes nothing
                button.setEnabled(not self.workspace.read_only)

    def _on_trigger(self, trigger: Trigger) -> None:
        """A failing verdict (held steady). When the session has an upgraded hop, the
        upgrade model records it as that hop's trigger and the banner shows it with
        Acknowledge… (`_on_health`); else it is an advisory."""
        session = self.workspace.upgrade.session
        hop = session.judged_hop if session is not None else None
        if hop is not None and hop.finished_at is not None:
            return  # the session's trigger (recorded once; acknowledged ones stay answered)
        if self.banner.triggers:
            return  # the session's raised triggers are shown; they come first
        self.banner.show_trigger(trigger)

    def _show_changes(self) -> None:
        """The held verdict's changes, newest first, each with its reason."""
        self.changes.clear()
        for change in reversed(self.monitor.hold.history[-50:]):
            stamp = datetime.fromtimestamp(change.at).strftime("%H:%M:%S")
            before = (change.before or "none").upper()
            after = (change.after or "none").upper()
            text = f"{stamp}  {before} → {after}: {change.reason}"
            self.changes.addItem(text)
            self.changes.item(self.changes.count() - 1).setToolTip(text)

    def open_compare(self) -> CompareWindowsDialog | None:
        """Compare windows…: two stored windows of the connected profile's samples."""
        profile = self.workspace.profile
        if profile is None:
            return None
        dialog = CompareWindowsDialog(
            self.workspace.tasks, profile.name, self.monitor.hold.min_samples, self
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda: setattr(self, "compare_dialog", None))
        self.compare_dialog = dialog
        dialog.open()
        return dialog

    def _on_verdicts(self, verdicts: list[tuple[float, str, str]]) -> None:
        self.history.clear()
        for at, overall, message in reversed(verdicts[-50:]):
            stamp = datetime.fromtimestamp(at).strftime("%d %b %H:%M:%S")
            self.history.addItem(f"{stamp}  {overall.upper():<8} {message}")
            self.history.item(self.history.count() - 1).setToolTip(message)
        self._update_watch()

    def _update_watch(self) -> None:
        started = self.monitor.watch_started()
        if started is None:
            self.watch_text.setText("Starts when a hop finishes (or after the baseline).")
            return
        elapsed = time.time() - started
        verdicts = [o for at, o, _ in self.monitor.verdicts if at >= started]
        tally = ", ".join(f"{v} × {verdicts.count(v)}" for v in dict.fromkeys(verdicts))
        if elapsed >= WATCH_S:
            text = f"Finished {human_duration(elapsed - WATCH_S)} ago."
        else:
            left = human_duration(WATCH_S - elapsed)
            text = f"{left} left (watching for {human_duration(elapsed)})."
        self.watch_text.setText(f"{text} Verdicts since: {tally or 'none yet'}.")

    # -- actions -----------------------------------------------------------------

    def _show_error(self, text: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Warning, "Metrics", text, parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.error_box = box
        return box

    def ask_acknowledge(self, trigger_id: int) -> NoteDialog | None:
        """Acknowledge a raised trigger with a note (what was decided); journaled with the
        user and the time, as on the session page."""
        model = self.workspace.upgrade
        evidence = model.evidence
        trigger = (
            next((t for t in evidence.triggers if t.id == trigger_id), None) if evidence else None
        )
        if trigger is None or self.workspace.refuse("Acknowledging a trigger"):
            return None
        dialog = NoteDialog(
            f"Acknowledge: {trigger.title}",
            "What you decided, e.g. 'accepted: p99 still within the SLA, watching' (required)",
            "Acknowledge",
            self,
            intro=f"{trigger.title} — {trigger.note} ({trigger.user}, {trigger.at[:16]})",
        )
        dialog.accepted.connect(lambda: model.acknowledge(trigger_id, dialog.text()))
        self.ack_dialog = dialog
        dialog.open()
        return dialog

    def _ask_prometheus(self) -> None:
        url, ok = QInputDialog.getText(
            self,
            "Baseline from Prometheus",
            f"Prometheus server (the last {self.minutes.value():g} min, nodes by host:port):",
            text=str(settings().value("metrics/prometheus_url", "http://127.0.0.1:9090")),
        )
        if ok and url.strip():
            settings().setValue("metrics/prometheus_url", url.strip())
            self.monitor.baseline_from_prometheus(url.strip(), self.minutes.value())

    def show_distributions(self, metric: str) -> DistributionDialog | None:
        evaluation, baseline = self.monitor.evaluation, self.monitor.baseline
        if evaluation is None or baseline is None:
            return None
        verdict = next(v for v in evaluation.verdicts if v.metric == metric)
        start, end = self.monitor.after_window()
        now = [v for node in self.monitor.store.window(start, end).values() for v in node[metric]]
        dialog = DistributionDialog(verdict, baseline.values(metric), now, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def export_csv(self, path: Path | None = None) -> None:
        profile = self.workspace.profile
        if profile is None:
            return
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Export samples", f"{profile.name}-metrics.csv", "CSV (*.csv)"
            )
            if not chosen:
                return
            path = Path(chosen)
        span = SPANS[self.span.currentText()]
        since = time.time() - span if span else 0.0

        def write(journal: Journal) -> int:
            return metrics_store.write_csv(journal, profile.name, path, since)

        self.workspace.tasks.run_journal(
            write,
            on_done=lambda rows: self._exported(path, f"{rows} samples"),
            on_failed=lambda exc: self.workspace.sig_message.emit(
                f"The samples could not be exported to {path}: {exc}"
            ),
        )

    def export_png(self, path: Path | None = None) -> None:
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Export plots", "metrics.png", "PNG image (*.png)"
            )
            if not chosen:
                return
            path = Path(chosen)
        if self.plots.grab().save(str(path), "PNG"):
            self._exported(path, "the plots")
        else:
            self.workspace.sig_message.emit(f"The plots could not be written to {path}")

    def _exported(self, path: Path, what: str) -> None:
        self.workspace.sig_message.emit(f"Exported {what} to {path}")
        self.sig_exported.emit(str(path))

    def showEvent(self, event) -> None:
        """The first time, the table gets the width of all its columns (as far as the plots
        leave it); from then on, the plots take what a larger window adds."""
        super().showEvent(event)
        if not self._splitter_placed and self.splitter.width() > 0:
            self._splitter_placed = True
            total = sum(self.splitter.sizes())
            right = self.table.full_width() + 2
            self.splitter.setSizes([max(1, total - right), right])

    def hideEvent(self, event) -> None:
        settings().setValue("metrics/splitter", self.splitter.saveState())
        super().hideEvent(event)
