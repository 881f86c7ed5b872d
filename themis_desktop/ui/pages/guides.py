"""Guides page: the migration guides of the plan, rendered, with the session's checklist."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QModelIndex, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.guides import checklist
from themis_desktop.core.guides.library import Guide, load_folder
from themis_desktop.core.guides.limits import RenderCancelled
from themis_desktop.core.guides.plan import combine, guide_for, hop_lines
from themis_desktop.core.guides.render import Rendered, render_guide, render_markdown
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import session_store
from themis_desktop.core.util.changes import ChangeLog, Changes, Topic
from themis_desktop.core.versions.upgrade_path import Plan
from themis_desktop.ui.models.workspace import Workspace
from themis_desktop.ui.tasks import Task
from themis_desktop.ui.widgets.checklist_panel import ChecklistPanel
from themis_desktop.ui.widgets.guide_view import GuideView

GUIDE_ROLE = Qt.ItemDataRole.UserRole
COMBINED = "combined"
RENDERED_KEPT = 16  # guides rendered, kept by their text: showing one again is instant
RenderKey = tuple[str, str, str]  # ("guide", why refused, text) or ("combined", "", text)


def _render_unless_cancelled(
    render: Callable[..., Rendered],
    source: object,
    progress: Callable[[int, int], None],
    cancelled: threading.Event,
) -> Rendered | None:
    """`render(source)` in a worker; None when it was stopped (a newer request)."""
    del progress  # rendering reports none
    try:
        return render(source, cancelled=cancelled)
    except RenderCancelled:
        return None


class _ElidingDelegate(QStyledItemDelegate):
    """Rows no wider than the list: a long name is elided (its tooltip has it all) instead
    of being cut off at the edge behind a sideways scroll bar."""

    def __init__(self, view: QListWidget) -> None:
        super().__init__(view)
        self.view = view

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(min(hint.width(), self.view.viewport().width()), hint.height())


def hop_key(guide: Guide) -> str:
    """The checklist key of a guide's steps: `1.7→1.8`, or `general`."""
    return "→".join(guide.hop) if guide.hop else "general"


class GuidesPage(QWidget):
    TITLE = "Guides"

    sig_guides_loaded = Signal(list)
    sig_guide_shown = Signal(object)  # Guide, or None for the combined checklist

    def __init__(self, workspace: Workspace, folder: Path | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.guides: list[Guide] = []
        self.current: Guide | None = None
        self._rendered: dict[RenderKey, Rendered] = {}  # oldest first
        self._under_way: dict[RenderKey, Task] = {}  # being rendered by a worker
        self._waiting: tuple[RenderKey, str, Guide | None] | None = None  # to show when done
        self._pending_session: dict[str, int] = {}  # shared with the journal thread
        self.folder = folder
        self.heading = QLabel("Guides", objectName="pageTitle")
        self.source = QLabel("", objectName="muted")
        self.list = QListWidget()
        self.list.setMinimumWidth(150)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)  # lay the rows out again on resize
        self.list.setItemDelegate(_ElidingDelegate(self.list))
        self.list.currentItemChanged.connect(self._on_list_current_changed)
        open_folder = QPushButton("Open folder…")
        open_folder.setToolTip("Load the guides of another folder (e.g. ThemisDB's docs/migration)")
        open_folder.clicked.connect(self._choose_folder)
        self.export_button = QPushButton("Export PDF…")
        self.export_button.clicked.connect(self._choose_pdf)
        self.view = GuideView()
        self.view.sig_copied.connect(lambda _: workspace.sig_message.emit("Command copied"))
        self.checklist = ChecklistPanel()
        self.checklist.sig_step_changed.connect(self._on_checklist_step_changed)
        self.findings = QListWidget()
        self.findings.setMaximumHeight(110)
        self.findings.hide()

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.list, 1)
        left_layout.addWidget(open_folder)
        left_layout.addWidget(self.export_button)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addWidget(self.view, 1)
        middle_layout.addWidget(self.findings)
        self.checklist.setMinimumWidth(240)
        middle.setMinimumWidth(300)
        splitter = QSplitter()
        splitter.setChildrenCollapsible(False)  # a pane dragged small stays usable
        for widget, stretch in ((left, 1), (middle, 4), (self.checklist, 3)):
            splitter.addWidget(widget)
            splitter.setStretchFactor(splitter.count() - 1, stretch)
        splitter.setSizes([200, 620, 380])
        self.splitter = splitter
        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addStretch()
        top.addWidget(self.source)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 12)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

        workspace.sig_plan_changed.connect(self._on_workspace_plan_changed)
        workspace.sig_session_changed.connect(lambda _: self._load_states())
        workspace.sig_changed.connect(self._on_workspace_changed)
        self.load(folder)

    def show_section(self, words: str) -> bool:
        """Scroll the guide shown to its first section titled with `words` (e.g. "rollback")."""
        return self.view.jump_to_section(words)

    # -- loading ----------------------------------------------------------------

    def load(self, folder: Path | None = None) -> None:
        """Load the guides of a folder (default: the bundled ones) in the background."""
        self.folder = folder
        self.source.setText(f"from {folder}" if folder else "bundled guides")
        self.workspace.tasks.run(
            load_folder,
            folder,
            on_done=lambda guides, f=folder: self._on_guides_loaded(f, guides),
            on_failed=lambda exc: self.view.show_message(f"The guides cannot be loaded: {exc}"),
        )

    def _on_guides_loaded(self, folder: Path | None, guides: list[Guide]) -> None:
        if folder != self.folder:
            return  # an earlier load finished late
        self.guides = guides
        self._on_workspace_plan_changed(self.workspace.plan)
        self.sig_guides_loaded.emit(guides)

    def _on_workspace_plan_changed(self, plan: Plan | None) -> None:
        """A new path: show its first hop's guide."""
        first = next((p for h in plan.hops for p in hop_lines(h)), None) if plan else None
        guide = guide_for(self.guides, first) if first else None
        self._fill_list(guide.path if guide else None)

    def _fill_list(self, wanted: Path | None = None) -> None:
        plan: Plan | None = self.workspace.plan
        wanted = wanted or (self.current.path if self.current else None)
        self.list.blockSignals(True)
        self.list.clear()
        if plan and plan.hops:
            self._add_item(f"All steps {plan.current} → {plan.target}", COMBINED)
            for number, pair in enumerate((p for h in plan.hops for p in hop_lines(h)), start=1):
                guide = guide_for(self.guides, pair)
                if guide is None:
                    item = self._add_item(f"{number}. {pair[0]} → {pair[1]} — no guide", None)
                    item.setFlags(Qt.ItemFlag.NoItemFlags)
                else:
                    self._add_item(f"{number}. {pair[0]} → {pair[1]} — {guide.status}", guide)
            self._add_item("— all guides —", None).setFlags(Qt.ItemFlag.NoItemFlags)
        for guide in self.guides:
            label = " → ".join(guide.hop) if guide.hop else guide.title
            marker = f" ({guide.errors} errors)" if guide.errors else ""
            self._add_item(f"{label} — {guide.status}{marker}", guide)
        self.list.blockSignals(False)
        index = next(
            (
                i
                for i in range(self.list.count())
                if self._guide_at(i) and wanted and self._guide_at(i).path == wanted
            ),
            next((i for i in range(self.list.count()) if self.list.item(i).flags()), -1),
        )
        if index >= 0:
            self.list.setCurrentRow(index)

    def _add_item(self, text: str, guide: Guide | str | None) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setToolTip(text)  # the list is narrow: long names are elided
        item.setData(GUIDE_ROLE, guide)
        self.list.addItem(item)
        return item

    def _guide_at(self, row: int) -> Guide | None:
        data = self.list.item(row).data(GUIDE_ROLE)
        return data if isinstance(data, Guide) else None

    # -- showing ----------------------------------------------------------------

    def show_guide(self, guide: Guide) -> None:
        self.current = guide
        self._present(("guide", guide.refused, guide.text), guide.title, render_guide, guide, guide)
        self.checklist.heading.setText(f"Checklist — {hop_key(guide)}")
        self.checklist.show_steps(guide.steps, {})
        self._show_findings(guide)
        self._load_states()

    def _show_combined(self) -> None:
        self.current = None
        combined = combine(self.workspace.plan, self.guides)
        text = combined.markdown()
        self._present(("combined", "", text), combined.title, render_markdown, text, None)
        self.checklist.heading.setText("Checklist")
        self.checklist.show_steps((), {})
        self.checklist.session_label.setText("Tick steps in each hop's own guide.")
        self.findings.hide()

    @property
    def rendering(self) -> bool:
        """A guide asked for is being rendered ("Rendering…" is shown meanwhile)."""
        return self._waiting is not None

    def _present(
        self,
        key: RenderKey,
        title: str,
        render: Callable[..., Rendered],
        source: object,
        shown: Guide | None,
    ) -> None:
        """Show `render(source)`: at once when it was rendered before, else "Rendering…"
        while a worker renders it. The newest request wins: a render it supersedes is
        stopped (never shown over it), and one already under way is not started twice."""
        for other in [k for k in self._under_way if k != key]:
            self._under_way.pop(other).cancel()  # no longer wanted: stop spending on it
        rendered = self._rendered.get(key)
        if rendered is not None:  # opened before: no second render, and its layout is kept
            self._waiting = None
            self._show_rendered(rendered, title, shown)
            return
        self._waiting = (key, title, shown)
        self.view.show_message("Rendering…")
        if key in self._under_way:
            return
        task = self.workspace.tasks.run(  # off the GUI thread: a large guide takes a while
            _render_unless_cancelled,
            render,
            source,
            with_progress=True,
            on_done=lambda r, k=key: self._on_rendered(k, r),
            on_failed=lambda exc, k=key: self._on_render_failed(k, exc),
        )
        self._under_way[key] = task

    def _on_rendered(self, key: RenderKey, rendered: Rendered | None) -> None:
        self._under_way.pop(key, None)
        if rendered is None:
            return  # stopped: superseded (a request for it again started a new render)
        self._rendered.pop(key, None)
        self._rendered[key] = rendered  # the newest last
        while len(self._rendered) > RENDERED_KEPT:
            self._rendered.pop(next(iter(self._rendered)))
        waiting = self._waiting
        if waiting is not None and waiting[0] == key:
            self._waiting = None
            self._show_rendered(rendered, waiting[1], waiting[2])

    def _on_render_failed(self, key: RenderKey, error: Exception) -> None:
        self._under_way.pop(key, None)
        if self._waiting is not None and self._waiting[0] == key:
            self._waiting = None
            self.view.show_message(
                f"This guide cannot be shown: {error}. Its findings are listed below."
            )

    def _show_rendered(self, rendered: Rendered, title: str, shown: Guide | None) -> None:
        self.view.show_rendered(rendered, title)
        self.sig_guide_shown.emit(shown)

    def _show_findings(self, guide: Guide) -> None:
        self.findings.clear()
        for finding in guide.findings:
            self.findings.addItem(f"line {finding.line}: {finding.severity}: {finding.message}")
        self.findings.setVisible(bool(guide.findings))

    def _on_list_current_changed(self, item: QListWidgetItem | None, _previous) -> None:
        data = item.data(GUIDE_ROLE) if item else None
        if isinstance(data, Guide):
            self.show_guide(data)
        elif data == COMBINED and self.workspace.plan:
            self._show_combined()

    # -- checklist --------------------------------------------------------------

    def _load_states(self) -> None:
        session, guide = self.workspace.session_id, self.current
        if guide is None:
            return
        if session is None:
            self.checklist.session_label.setText(
                "No upgrade session yet: ticking a step starts one for this path."
            )
            return
        self.checklist.session_label.setText(f"Upgrade session #{session}")
        key = hop_key(guide)

        def read(journal: Journal) -> dict:
            return {
                s.step_id: s
                for (hop, _), s in checklist.states(journal, session).items()
                if hop == key
            }

        self.workspace.tasks.run_journal(
            read, on_done=lambda states, g=guide: self._on_states(g, states)
        )

    def _on_states(self, guide: Guide, states: dict) -> None:
        if guide is self.current:
            self.checklist.show_steps(guide.steps, states)

    def _on_checklist_step_changed(self, step_id: str, state: str, note: str, reason: str) -> None:
        guide, plan = self.current, self.workspace.plan
        if guide is None:
            return
        if self.workspace.refuse("Changing the checklist"):
            self._load_states()  # show what the journal holds again
            return
        key = hop_key(guide)
        profile = self.workspace.profile
        pending = self._pending_session
        if self.workspace.session_id is not None:
            pending["id"] = self.workspace.session_id
        source, target = (
            (plan.current.text, plan.target.text) if plan else (guide.hop or ("?", "?"))
        )

        changes = ChangeLog()

        def record(journal: Journal):
            # read on the journal thread, where ticks run one after another: two quick
            # ticks before the first one is recorded still share one new session
            session_id = pending.get("id")
            if session_id is None:
                session_id = session_store.start(
                    journal, profile if profile and profile.id else None, source, target
                ).id
                pending["id"] = session_id
                changes.add(Topic.SESSIONS, Topic.EVENTS)
            if state == "note":
                result = checklist.set_note(journal, session_id, key, step_id, note)
            elif state == "choice":  # note: the option's key, reason: its label
                result = checklist.set_choice(journal, session_id, key, step_id, note, reason)
            else:
                result = checklist.set_step(journal, session_id, key, step_id, state, reason=reason)
            changes.add(Topic.CHECKLIST)
            return session_id, result

        self.workspace.tasks.run_op(
            record,
            journal=True,
            changes=changes,
            initiator=self,
            on_done=self._on_recorded,
            on_failed=self._on_record_failed,
        )

    def _on_workspace_changed(self, changes: Changes, initiator: object) -> None:
        """A change notice: another's write changed the checklist (this page's own ticks
        are shown as they are recorded)."""
        if initiator is not self and Topic.CHECKLIST in changes:
            self._load_states()

    def _on_recorded(self, outcome) -> None:
        session_id, state = outcome
        self.checklist.apply_state(state)
        if session_id != self.workspace.session_id:
            self.workspace.set_session(session_id)

    def _on_record_failed(self, error: Exception) -> None:
        self.workspace.sig_message.emit(f"The checklist could not be saved: {error}")
        self._load_states()  # show what the journal really holds

    # -- files ------------------------------------------------------------------

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of migration guides")
        if folder:
            self.load(Path(folder))

    def _choose_pdf(self) -> None:
        name = (self.current.path.stem if self.current and self.current.path else "guide") + ".pdf"
        path, _ = QFileDialog.getSaveFileName(self, "Export guide as PDF", name, "PDF (*.pdf)")
        if path:
            self.view.export_pdf(path)
            self.workspace.sig_message.emit(f"Saved {path}")
