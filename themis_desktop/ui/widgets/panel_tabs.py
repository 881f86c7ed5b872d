"""Tabs of panels, each named by a key: a panel's tab shows while the panel is not hidden
(a panel hides itself when it has nothing to say, its tab goes with it), a tab's title is
set by whoever knows the panel's state (`set_title`), and Alt+digit selects the tab of that
number, Ctrl+Tab and Ctrl+Shift+Tab the next and the previous one, wherever the focus is in
the window. A tall panel scrolls inside its tab, never the page around it."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QScrollArea, QTabWidget, QVBoxLayout, QWidget


class PanelTabs(QTabWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocumentMode(True)
        self.setUsesScrollButtons(True)  # a narrow window: the titles scroll, never squeeze
        self.tabBar().setElideMode(Qt.TextElideMode.ElideNone)
        self.tabBar().setObjectName("panelTabs")  # compact tabs (style.qss): more fit a row
        self.pages: dict[str, QWidget] = {}  # key → the tab's page
        self.panels: dict[str, QWidget] = {}  # key → its panel
        self.unwanted: set[str] = set()  # tabs kept out even while their panel shows
        for sequence, step in (("Ctrl+Tab", 1), ("Ctrl+Shift+Tab", -1)):
            shortcut = QShortcut(QKeySequence(sequence), self)
            shortcut.activated.connect(lambda s=step: self._step(s))

    def add_panel(self, key: str, panel: QWidget, title: str, scroll: bool = True) -> None:
        """Add `panel`'s tab (scrolling inside the tab with `scroll`); Alt+its number."""
        number = len(self.pages) + 1
        if scroll:
            holder = QWidget()
            layout = QVBoxLayout(holder)
            layout.setContentsMargins(6, 6, 6, 6)
            layout.addWidget(panel)
            layout.addStretch(0)
            page: QWidget = QScrollArea()
            page.setWidgetResizable(True)
            page.setFrameShape(QFrame.Shape.NoFrame)
            page.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            page.setWidget(holder)
        else:
            page = panel
        page.setObjectName(f"tab-{key}")
        self.pages[key], self.panels[key] = page, panel
        index = self.addTab(page, title)
        if number <= 9:
            self.setTabToolTip(index, f"Alt+{number}")
            shortcut = QShortcut(QKeySequence(f"Alt+{number}"), self)
            shortcut.activated.connect(lambda k=key: self.select(k))
        if scroll:
            panel.installEventFilter(self)
            self._follow(key)

    def set_wanted(self, key: str, wanted: bool) -> None:
        """Keep `key`'s tab out (not `wanted`: its panel has nothing to act on now)."""
        if wanted != (key not in self.unwanted):
            (self.unwanted.discard if wanted else self.unwanted.add)(key)
            self._follow(key)

    def _follow(self, key: str) -> None:
        index = self.indexOf(self.pages[key])
        self.setTabVisible(index, key not in self.unwanted and not _hidden(self.panels[key]))

    def set_title(self, key: str, title: str, colour: str | None = None, tip: str = "") -> None:
        """`key`'s tab says `title` (in `colour`, a state's: none for the usual text); its
        tooltip `tip` and the tab's shortcut."""
        index = self.indexOf(self.pages[key])
        if self.tabText(index) != title:
            self.setTabText(index, title)
        self.tabBar().setTabTextColor(index, QColor(colour) if colour else QColor())
        keys = f"Alt+{index + 1}" if index < 9 else ""
        self.setTabToolTip(index, f"{tip} ({keys})" if tip and keys else tip or keys)

    def title(self, key: str) -> str:
        return self.tabText(self.indexOf(self.pages[key]))

    def select(self, key: str) -> None:
        """Bring `key`'s tab to the front (when it shows)."""
        index = self.indexOf(self.pages[key])
        if self.isTabVisible(index):
            self.setCurrentIndex(index)

    def current_key(self) -> str | None:
        page = self.currentWidget()
        return next((k for k, p in self.pages.items() if p is page), None)

    def _step(self, step: int) -> None:
        shown = [i for i in range(self.count()) if self.isTabVisible(i)]
        if self.currentIndex() in shown:
            at = shown.index(self.currentIndex())
            self.setCurrentIndex(shown[(at + step) % len(shown)])

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A panel shown or hidden by itself: its tab follows."""
        if event.type() in (QEvent.Type.ShowToParent, QEvent.Type.HideToParent):
            for key, panel in self.panels.items():
                if panel is watched:
                    self._follow(key)
        return super().eventFilter(watched, event)


def _hidden(panel: QWidget) -> bool:
    """Hidden by itself (not merely never shown yet)."""
    return panel.isHidden() and panel.testAttribute(Qt.WidgetAttribute.WA_WState_ExplicitShowHide)
