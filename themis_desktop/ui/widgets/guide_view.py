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
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.guides.render import PAGE_STYLE, Rendered
from themis_desktop.ui.widgets.eliding_combo import ElidingComboBox

DOCUMENTS_KEPT = 6  # parsed guides kept: switching back to one parses no HTML


class GuideView(QWidget):
    """Shows one `Rendered` guide; `show_rendered` replaces it. The documents of the last
    guides shown are kept, so showing one of them again costs no HTML parse; QTextBrowser
    still lays it out again (the visible part at once, the rest in growing steps on the GUI
    thread: bench/guides.py's "layout's longest stall")."""

    sig_copied = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.rendered: Rendered | None = None
        self.title = ""
        self.toc = ElidingComboBox(min_chars=12)  # a long title is elided, whole in the tip
        self.toc.setToolTip("Jump to a section")
        self.toc.activated.connect(self._on_toc_activated)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._on_browser_anchor)
        self._documents: dict[str, QTextDocument] = {}  # by the rendered HTML, oldest first
        # for messages, never a kept guide's; ours, not the browser's own (setDocument
        # deletes a document the browser made itself)
        self._scratch = QTextDocument(self.browser)
        self._scratch.setDefaultStyleSheet(PAGE_STYLE)
        self.browser.setDocument(self._scratch)
        self.find = QLineEdit(placeholderText="Find in guide (Ctrl+F, Enter for next)")
        self.find.returnPressed.connect(self.find_next)
        self.find_status = QLabel("", objectName="muted")
        zoom_in, zoom_out = QPushButton("A+"), QPushButton("A−")
        zoom_in.setToolTip("Larger text (Ctrl++)")
        zoom_out.setToolTip("Smaller text (Ctrl+-)")
        zoom_in.clicked.connect(lambda: self.browser.zoomIn(1))
        zoom_out.clicked.connect(lambda: self.browser.zoomOut(1))

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
        layout.addWidget(self.browser, 1)
        layout.addLayout(find_bar)
        for keys, slot in (
            (QKeySequence.StandardKey.Find, self._focus_find),
            (QKeySequence.StandardKey.ZoomIn, lambda: self.browser.zoomIn(1)),
            (QKeySequence.StandardKey.ZoomOut, lambda: self.browser.zoomOut(1)),
            (QKeySequence.StandardKey.FindNext, self.find_next),
        ):
            QShortcut(QKeySequence(keys), self, activated=slot)

    def show_rendered(self, rendered: Rendered, title: str) -> None:
        self.rendered, self.title = rendered, title
        self.browser.setDocument(self._document(rendered.html))
        self.toc.blockSignals(True)
        self.toc.clear()
        for entry in rendered.toc:
            self.toc.addItem("    " * (entry.level - 1) + entry.title, entry.anchor)
        self.toc.blockSignals(False)

    def _document(self, html: str) -> QTextDocument:
        """The laid-out document of `html`: a kept one, else a new one (the oldest dropped)."""
        document = self._documents.pop(html, None)
        if document is None:
            document = QTextDocument(self.browser)
            document.setDefaultStyleSheet(PAGE_STYLE)
            document.setDefaultFont(self.browser.font())
            document.setHtml(html)
            while len(self._documents) >= DOCUMENTS_KEPT:
                oldest = next(iter(self._documents))
                self._documents.pop(oldest).deleteLater()
        self._documents[html] = document  # now the newest
        return document

    def show_message(self, text: str) -> None:
        self.rendered, self.title = None, ""
        self.toc.clear()
        self.browser.setDocument(self._scratch)
        self.browser.setPlainText(text)

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
