"""Layout checks: is any text a person should read cut off at the window's size?

`clipped_text(root)` lists every visible label, button, combo box, line-edit placeholder,
group box title, progress bar text, table header section and table cell under `root` whose
text does not fit in the space it has (or that sticks out of its parent). Text that is
elided on purpose passes when the widget's tooltip holds the full text. Use it as

    show_at(qtbot, window, (1024, 700))
    assert not clipped_text(page), "\n".join(clipped_text(page))

`narrower_than_text(widgets)` is stricter, for what must never be elided (header chips).

`LAYOUT_SIZES` are the sizes the design asks every page to work at.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QApplication,
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QStyle,
    QStyleOptionButton,
    QStyleOptionComboBox,
    QStyleOptionFrame,
    QTableView,
    QTreeView,
    QWidget,
)

LAYOUT_SIZES = ((1024, 700), (1180, 760), (1920, 1080))
mightBeRichText = GuiQt.mightBeRichText
SLACK = 1  # px: rounding of advances and geometry
MAX_ROWS = 200  # rows of a view checked (the visible ones, at most this many)


def show_at(qtbot, window: QWidget, size: tuple[int, int]) -> list[str]:
    """Resize `window` to `size` and let every layout settle. Returns a problem when the
    window could not be made that small (a minimum size too large for the screen)."""
    window.resize(*size)
    settle(qtbot)
    if window.size() != QSize(*size):
        return [
            f"the window is {window.width()}×{window.height()}, not {size[0]}×{size[1]}: "
            "its minimum size is too large"
        ]
    return []


def settle(qtbot) -> None:
    """Let posted layout requests run, as they do before the window is painted."""
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(30)  # not a wait for a condition: posted events and short timers run
    for _ in range(3):  # a timer that changed a text during the last wait: laid out too
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)


def clipped_text(root: QWidget, cells: bool = True) -> list[str]:
    """Every visible text under `root` (itself included) that is cut; empty when none is.
    `cells=False` leaves out the cells of item views (their headers are still checked)."""
    problems: list[str] = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not _shown(widget):
            continue
        problem = _check(widget, cells)
        if problem:
            problems.append(f"{_name(widget)}: {problem}")
        elif not _inside_parents(widget):
            problems.append(f"{_name(widget)}: sticks out of its parent (cut at the edge)")
    return problems


def narrower_than_text(widgets: Iterable[QWidget]) -> list[str]:
    """Every visible widget of `widgets` narrower than its whole text (its `sizeHint`),
    elided or not: for the header's chips and badges, which must show all of their text."""
    problems = []
    for widget in widgets:
        if not _shown(widget):
            continue
        needed = widget.sizeHint().width()
        if needed > widget.width() + SLACK:
            text = widget.text() if hasattr(widget, "text") else ""
            problems.append(
                f"{_name(widget)}: “{_short(text)}” needs {needed} px, has {widget.width()}"
            )
    return problems


# -- one widget ---------------------------------------------------------------------------


def _check(widget: QWidget, cells: bool) -> str | None:
    if isinstance(widget, QLabel):
        return _label(widget)
    if isinstance(widget, QAbstractButton):
        return _button(widget)
    if isinstance(widget, QComboBox):
        return _combo(widget)
    if isinstance(widget, QLineEdit):
        return _placeholder(widget)
    if isinstance(widget, QGroupBox):
        return _group_box(widget)
    if isinstance(widget, QProgressBar):
        return _progress(widget)
    if isinstance(widget, QHeaderView):
        return _header(widget)
    if cells and isinstance(widget, QTableView | QTreeView | QListView):
        return _cells(widget)
    return None


def _label(label: QLabel) -> str | None:
    text = label.text()
    if not text or not label.pixmap().isNull():
        return None
    m = label.margin()
    inner = label.contentsRect().adjusted(m, m, -m, -m)
    if label.wordWrap():
        needed = label.heightForWidth(label.width())
        if needed > label.height() + SLACK:
            return f"“{_short(text)}” needs {needed} px of height, has {label.height()}"
        return None
    if label.textFormat() == Qt.TextFormat.RichText or mightBeRichText(text):
        width = label.sizeHint().width() - (label.width() - inner.width())
    else:
        metrics = QFontMetrics(label.font())
        width = max(metrics.horizontalAdvance(line) for line in text.split("\n"))
    if width > inner.width() + SLACK and not _has_tip(label, text):
        return f"“{_short(text)}” needs {width} px, has {inner.width()}"
    return None


def _button(button: QAbstractButton) -> str | None:
    text = button.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
    if not text:
        return None
    metrics = QFontMetrics(button.font())
    width = max(metrics.horizontalAdvance(line) for line in text.split("\n"))
    if not button.icon().isNull():
        width += button.iconSize().width() + 4
    if isinstance(button, QPushButton | QCheckBox | QRadioButton):
        option = QStyleOptionButton()
        option.initFrom(button)
        option.text, option.icon, option.iconSize = button.text(), button.icon(), button.iconSize()
        element = {
            QPushButton: QStyle.SubElement.SE_PushButtonContents,
            QCheckBox: QStyle.SubElement.SE_CheckBoxContents,
            QRadioButton: QStyle.SubElement.SE_RadioButtonContents,
        }[next(k for k in (QPushButton, QCheckBox, QRadioButton) if isinstance(button, k))]
        room = button.style().subElementRect(element, option, button).width()
        if isinstance(button, QCheckBox | QRadioButton):
            room -= 2  # the contents rect starts right after the indicator
    else:  # a tool button: no contents rect of its own
        room = button.width() - (button.sizeHint().width() - width)
    if width > room + SLACK and not _has_tip(button, text):
        return f"“{_short(text)}” needs {width} px, has {room}"
    return None


def _combo(combo: QComboBox) -> str | None:
    text = combo.currentText()
    if not text:
        return None
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    room = (
        combo.style()
        .subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, combo
        )
        .width()
    )
    width = QFontMetrics(combo.font()).horizontalAdvance(text)
    if not combo.itemIcon(combo.currentIndex()).isNull():
        width += combo.iconSize().width() + 4
    if width > room + SLACK and not _has_tip(combo, text.strip()):
        return f"“{_short(text)}” needs {width} px, has {room}"
    return None


def _placeholder(edit: QLineEdit) -> str | None:
    text = edit.placeholderText()
    if edit.text() or not text:
        return None
    option = QStyleOptionFrame()
    edit.initStyleOption(option)
    rect = edit.style().subElementRect(QStyle.SubElement.SE_LineEditContents, option, edit)
    margins = edit.textMargins()
    room = rect.width() - margins.left() - margins.right() - 4  # QLineEdit's 2 px each side
    if edit.isClearButtonEnabled():
        room -= edit.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize) + 6
    width = QFontMetrics(edit.font()).horizontalAdvance(text)
    if width > room + SLACK and not _has_tip(edit, text):
        return f"placeholder “{_short(text)}” needs {width} px, has {room}"
    return None


def _group_box(box: QGroupBox) -> str | None:
    text = box.title().replace("&", "")
    if not text:
        return None
    width = QFontMetrics(box.font()).horizontalAdvance(text)
    room = box.width() - 12  # the frame's indent of its title
    if width > room + SLACK:
        return f"title “{_short(text)}” needs {width} px, has {room}"
    return None


def _progress(bar: QProgressBar) -> str | None:
    text = bar.text() if bar.isTextVisible() else ""
    if not text:
        return None
    width = QFontMetrics(bar.font()).horizontalAdvance(text)
    room = bar.contentsRect().width() - 4
    if width > room + SLACK:
        return f"“{_short(text)}” needs {width} px, has {room}"
    return None


def _header(header: QHeaderView) -> str | None:
    if header.orientation() != Qt.Orientation.Horizontal or header.model() is None:
        return None
    cut = []
    for logical in range(header.count()):
        if header.isSectionHidden(logical):
            continue
        text = str(header.model().headerData(logical, Qt.Orientation.Horizontal) or "")
        if not text:
            continue
        needed = header.sectionSizeFromContents(logical).width()
        start = header.sectionViewportPosition(logical)
        shown = min(start + header.sectionSize(logical), header.width()) - max(start, 0)
        if needed > shown + SLACK:  # too narrow, or out of sight: scrolled off to the side
            cut.append(f"“{text}” needs {needed} px, has {max(0, shown)}")
    return "header sections cut: " + "; ".join(cut) if cut else None


def _cells(view: QAbstractItemView) -> str | None:
    """The cells on screen: their text fits the column, or their tooltip holds it."""
    if view.model() is None:
        return None
    viewport = view.viewport().rect()
    cut: list[str] = []
    for index in _visible_indexes(view, viewport):
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        if not text:
            continue
        rect = view.visualRect(index)
        shown = rect.intersected(viewport).width()  # not scrolled off to the side
        metrics = QFontMetrics(index.data(Qt.ItemDataRole.FontRole) or view.font())
        needed = max(  # the delegate's (margins, check box), at least the text's own width
            view.sizeHintForIndex(index).width(),
            max(metrics.horizontalAdvance(line) for line in text.split("\n")) + 6,
        )
        problem = None
        if needed <= shown + SLACK:
            pass
        elif not view.wordWrap():
            problem = f"“{_short(text)}” needs {needed} px, has {shown}"
        else:  # wrapped onto more lines: do they fit the row?
            flags = int(Qt.TextFlag.TextWordWrap) | int(Qt.TextFlag.TextWrapAnywhere)
            height = metrics.boundingRect(QRect(0, 0, max(1, shown - 6), 100_000), flags, text)
            if height.height() > rect.height() + SLACK:
                problem = (
                    f"“{_short(text)}” needs {height.height()} px of height at {shown} px, "
                    f"has {rect.height()}"
                )
        if problem and text not in str(index.data(Qt.ItemDataRole.ToolTipRole) or ""):
            cut.append(problem)
    if cut:
        more = f" (and {len(cut) - 5} more)" if len(cut) > 5 else ""
        return "cells cut: " + "; ".join(cut[:5]) + more
    return None


def _visible_indexes(view: QAbstractItemView, viewport: QRect) -> Iterable[QModelIndex]:
    model = view.model()
    header = (
        view.header()
        if isinstance(view, QTreeView)
        else view.horizontalHeader()
        if isinstance(view, QTableView)
        else None
    )
    index = view.indexAt(viewport.topLeft() + QPoint(1, 1))
    rows = 0
    while index.isValid() and rows < MAX_ROWS:
        row_rect = view.visualRect(index)
        if row_rect.top() > viewport.bottom():
            break
        for column in range(header.count() if header is not None else 1):
            if header is not None and header.isSectionHidden(column):
                continue
            cell = index.siblingAtColumn(column)
            rect = view.visualRect(cell)
            if rect.isValid() and rect.intersects(viewport):
                yield cell
        index = (
            view.indexBelow(index)
            if isinstance(view, QTreeView)
            else model.index(index.row() + 1, 0, index.parent())
        )
        rows += 1


# -- helpers ------------------------------------------------------------------------------


def _shown(widget: QWidget) -> bool:
    return (
        widget.isVisible()
        and widget.width() > 0
        and widget.height() > 0
        and not widget.visibleRegion().isEmpty()
    )


def _inside_parents(widget: QWidget) -> bool:
    """False when an ancestor cuts the widget off (a scroll area's content may scroll)."""
    rect = widget.rect()
    child = widget
    parent = widget.parentWidget()
    while parent is not None and not widget.isWindow():
        if isinstance(parent.parentWidget(), QAbstractScrollArea) and (
            parent is parent.parentWidget().viewport()
        ):
            return True  # inside a scroll area: scrolling reaches the rest
        rect = rect.translated(child.pos())
        clipped = rect.intersected(parent.rect())
        if clipped.width() < rect.width() - SLACK or clipped.height() < rect.height() - SLACK:
            return False
        if parent.isWindow():
            return True
        child, parent = parent, parent.parentWidget()
    return True


def _has_tip(widget: QWidget, text: str) -> bool:
    return bool(text) and text in widget.toolTip()


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _name(widget: QWidget) -> str:
    name = widget.objectName()
    return type(widget).__name__ + (f"#{name}" if name else "")
