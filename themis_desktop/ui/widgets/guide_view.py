"""A rendered guide: table of contents, find bar, zoom, copy buttons, PDF export."""

from __future__ import annotations

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut, QTextDocument
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.guides.render import PAGE_STYLE, Rendered
from themis_desktop.ui.widgets.eliding_combo import ElidingComboBox

DOCUMENTS_KEPT = 6  # guides kept laid out, a browser each: switching back is instant


class GuideView(QWidget):
    """Shows one `Rendered` guide; `show_rendered` replaces it. The last guides shown keep a
    browser each, laid out, in a stack: showing one of them again parses and lays out
    nothing (`setDocument` would lay the whole guide out again, in growing steps on the
    GUI thread)."""

    sig_copied = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.rendered: Rendered | None = None
        self.title = ""
        self._zoom = 0  # steps of zoomIn (negative: zoomOut), applied to every browser
        self.toc = ElidingComboBox(min_chars=12)  # a long title is elided, whole in the tip
        self.toc.setToolTip("Jump to a section")
        self.toc.activated.connect(self._on_toc_activated)
        self.stack = QStackedWidget()
        self._kept: dict[str, QTextBrowser] = {}  # by the rendered HTML, oldest first
        self._scratch = self._new_browser()  # for messages, never a kept guide's
        self.stack.setCurrentWidget(self._scratch)
        self.find = QLineEdit(placeholderText="Find in guide (Ctrl+F, Enter for next)")
        self.find.returnPressed.connect(self.find_next)
        self.find_status = QLabel("", objectName="muted")
        zoom_in, zoom_out = QPushButton("A+"), QPushButton("A−")
        zoom_in.setToolTip("Larger text (Ctrl++)")
        zoom_out.setToolTip("Smaller text (Ctrl+-)")
        zoom_in.clicked.connect(lambda: self.zoom(1))
        zoom_out.clicked.connect(lambda: self.zoom(-1))

        top = QHBoxLayout()  # where to read, and how large
        top.addWidget(self.toc, 1)
        top.addWidget(zoom_out)
        top.addWidget(zoom_in)
        find_bar = QHBoxLayout()  # below the text, as in a browser: room for the whole hint
        find_bar.addWidget(self.find, 1)
        find_bar.addWidget(self.find_status)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        layout.addLayout(find_bar)
        for keys, slot in (
            (QKeySequence.StandardKey.Find, self._focus_find),
            (QKeySequence.StandardKey.ZoomIn, lambda: self.zoom(1)),
            (QKeySequence.StandardKey.ZoomOut, lambda: self.zoom(-1)),
            (QKeySequence.StandardKey.FindNext, self.find_next),
        ):
            QShortcut(QKeySequence(keys), self, activated=slot)

    @property
    def browser(self) -> QTextBrowser:
        """The browser on show (a kept guide's, or the one for messages)."""
        current = self.stack.currentWidget()
        assert isinstance(current, QTextBrowser)
        return current

    def _new_browser(self) -> QTextBrowser:
        browser = QTextBrowser()
        browser.setOpenLinks(False)
        browser.anchorClicked.connect(self._on_browser_anchor)
        browser.document().setDefaultStyleSheet(PAGE_STYLE)
        if self._zoom:
            browser.zoomIn(self._zoom)
        self.stack.addWidget(browser)
        return browser

    def zoom(self, steps: int) -> None:
        """Larger (positive) or smaller text, in every browser alike."""
        self._zoom += steps
        for browser in (self._scratch, *self._kept.values()):
            browser.zoomIn(steps)

    def show_rendered(self, rendered: Rendered, title: str) -> None:
        self.rendered, self.title = rendered, title
        self.stack.setCurrentWidget(self._browser_for(rendered.html))
        self.toc.blockSignals(True)
        self.toc.clear()
        for entry in rendered.toc:
            self.toc.addItem("    " * (entry.level - 1) + entry.title, entry.anchor)
        self.toc.blockSignals(False)

    def _browser_for(self, html: str) -> QTextBrowser:
        """The browser of `html`: a kept one, else a new one (the oldest dropped)."""
        browser = self._kept.pop(html, None)
        if browser is None:
            browser = self._new_browser()
            browser.setHtml(html)
            while len(self._kept) >= DOCUMENTS_KEPT:
                oldest = self._kept.pop(next(iter(self._kept)))
                self.stack.removeWidget(oldest)
                oldest.deleteLater()
        self._kept[html] = browser  # now the newest
        return browser

    def show_message(self, text: str) -> None:
        self.rendered, self.title = None, ""
        self.toc.clear()
        self.stack.setCurrentWidget(self._scratch)
        self._scratch.setPlainText(text)

    def find_next(self) -> bool:
        """Find the next match of the find bar's text, wrapping around once."""
        text = self.find.text()
        if not text:
            return False
        found = self.browser.find(text)
        if not found:
            self.browser.moveCursor(self.browser.textCursor().MoveOperation.Start)
            found = self.browser.find(text)
        self.find_status.setText("" if found else "not found")
        return found

    def export_pdf(self, path: str) -> None:
        """Print the guide to a PDF file (Qt's own PDF writer)."""
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(path)
        printer.setDocName(self.title)
        document = QTextDocument()
        document.setDefaultStyleSheet(PAGE_STYLE)
        document.setHtml(self.browser.toHtml())
        document.print_(printer)

    def _focus_find(self) -> None:
        self.find.setFocus()
        self.find.selectAll()

    def jump_to_section(self, words: str) -> bool:
        """Scroll to the first section whose title contains `words` (any case)."""
        for index in range(self.toc.count()):
            if words.lower() in self.toc.itemText(index).lower():
                self.toc.setCurrentIndex(index)
                self.browser.scrollToAnchor(self.toc.itemData(index))
                return True
        return False

    def _on_toc_activated(self, index: int) -> None:
        self.browser.scrollToAnchor(self.toc.itemData(index))

    def _on_browser_anchor(self, url: QUrl) -> None:
        if url.scheme() == "copy" and self.rendered:
            path = url.path()
            index = int(path) if path.isdigit() else -1
            if 0 <= index < len(self.rendered.code_blocks):
                QGuiApplication.clipboard().setText(self.rendered.code_blocks[index])
                self.sig_copied.emit(self.rendered.code_blocks[index])
        elif url.hasFragment() and not url.path():
            self.browser.scrollToAnchor(url.fragment())
