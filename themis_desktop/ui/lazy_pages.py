"""The main window's pages, each built (its module imported) the first time it is shown or
asked for, so the window paints before the pages' costly imports (pyqtgraph, the journal's
sqlite_utils, httpx) are made (issue 23)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple

from PySide6.QtWidgets import QStackedWidget, QWidget

from themis_desktop.ui.models.workspace import Workspace


def _overview(workspace: Workspace) -> QWidget:
    from themis_desktop.ui.pages.overview import OverviewPage

    return OverviewPage(workspace)


def _versions(workspace: Workspace) -> QWidget:
    from themis_desktop.ui.pages.version_graph import VersionGraphPage

    return VersionGraphPage(workspace)


def _guides(workspace: Workspace) -> QWidget:
    from themis_desktop.ui.pages.guides import GuidesPage

    return GuidesPage(workspace)


def _backups(workspace: Workspace) -> QWidget:
    from themis_desktop.ui.pages.backups import BackupsPage

    return BackupsPage(workspace)


def _metrics(workspace: Workspace) -> QWidget:
    from themis_desktop.ui.pages.metrics import MetricsPage

    return MetricsPage(workspace)


def _session(workspace: Workspace) -> QWidget:
    from themis_desktop.ui.pages.session import SessionPage

    return SessionPage(workspace)


def _rollout(workspace: Workspace) -> QWidget:
    from themis_desktop.ui.pages.rollout import RolloutPage

    return RolloutPage(workspace)


def _timeline(workspace: Workspace) -> QWidget:
    from themis_desktop.ui.pages.timeline import TimelinePage

    return TimelinePage(workspace)


def _logs(workspace: Workspace) -> QWidget:
    from themis_desktop.ui.pages.logs import LogsPage

    return LogsPage(workspace)


def _config(workspace: Workspace) -> QWidget:
    from themis_desktop.ui.pages.config import ConfigPage

    return ConfigPage(workspace)


def _fleet(workspace: Workspace) -> QWidget:
    from themis_desktop.ui.pages.fleet import FleetPage

    return FleetPage(workspace)


class PageSpec(NamedTuple):
    """A page of the sidebar: its key, its title (the page class's `TITLE`, so the sidebar
    and the View menu need no import of it), how to build it, and the pages it needs built
    first (the versions page computes the plan that the guides, session, rollout and config
    pages follow), and its View menu shortcut when it is not Ctrl+<its digit> (the first ten
    pages have Ctrl+1 … Ctrl+0)."""

    key: str
    title: str
    build: Callable[[Workspace], QWidget]
    needs: tuple[str, ...] = ()
    shortcut: str | None = None


PLAN = ("versions",)
PAGES: tuple[PageSpec, ...] = (
    PageSpec("overview", "Overview", _overview),
    PageSpec("versions", "Versions", _versions),
    PageSpec("guides", "Guides", _guides, PLAN),
    PageSpec("backups", "Backups", _backups),
    PageSpec("metrics", "Metrics", _metrics),
    PageSpec("session", "Upgrade session", _session, PLAN),
    PageSpec("rollout", "Rollout", _rollout, PLAN),
    PageSpec("timeline", "Timeline", _timeline),
    PageSpec("logs", "Logs", _logs),
    PageSpec("config", "Config advisor", _config, PLAN),
    PageSpec("fleet", "Fleet", _fleet, shortcut="Ctrl+Shift+F"),
)


class Placeholder(QWidget):
    """Stands in the stack for a page not built yet."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.setObjectName(f"placeholder-{key}")


class LazyPages(Mapping[str, QWidget]):
    """The pages by key, in the stack's (and sidebar's) order. Asking for a page builds it
    if needed and puts it in the stack where its placeholder was; `on_built(key, page)` is
    called once per page, for the wiring to the window and the other pages."""

    def __init__(
        self,
        stack: QStackedWidget,
        workspace: Workspace,
        on_built: Callable[[str, QWidget], None],
    ) -> None:
        self._stack = stack
        self._workspace = workspace
        self._on_built = on_built
        self._specs: dict[str, PageSpec] = {}
        self._slots: dict[str, QWidget] = {}  # the page, or its placeholder until built
        self._building: set[str] = set()

    def add(self, spec: PageSpec) -> None:
        """A page to build when first needed."""
        self._specs[spec.key] = spec
        self._slots[spec.key] = Placeholder(spec.key)
        self._stack.addWidget(self._slots[spec.key])

    def add_built(self, key: str, page: QWidget) -> None:
        """A page built already."""
        self._slots[key] = page
        self._stack.addWidget(page)
        self._on_built(key, page)

    def title(self, key: str) -> str:
        spec = self._specs.get(key)
        if spec is not None:
            return spec.title
        return str(getattr(self._slots[key], "TITLE", key.title()))

    def shortcut(self, key: str) -> str | None:
        """The page's own View menu shortcut (None: Ctrl+<its digit>, or none)."""
        spec = self._specs.get(key)
        return spec.shortcut if spec is not None else None

    def is_built(self, key: str) -> bool:
        return not isinstance(self._slots[key], Placeholder)

    def __getitem__(self, key: str) -> QWidget:
        slot = self._slots[key]
        if not isinstance(slot, Placeholder):
            return slot
        return self._build(key, slot)

    def __iter__(self) -> Iterator[str]:
        return iter(self._slots)

    def __len__(self) -> int:
        return len(self._slots)

    def _build(self, key: str, placeholder: Placeholder) -> QWidget:
        if key in self._building:
            raise RuntimeError(f"The {key} page needs itself to be built")
        self._building.add(key)
        try:
            spec = self._specs[key]
            for need in spec.needs:
                self[need]
            page = spec.build(self._workspace)
        finally:
            self._building.discard(key)
        was_current = self._stack.currentWidget() is placeholder
        self._stack.insertWidget(self._stack.indexOf(placeholder), page)
        self._stack.removeWidget(placeholder)
        placeholder.deleteLater()
        self._slots[key] = page
        if was_current:
            self._stack.setCurrentWidget(page)
        self._on_built(key, page)
        return page
