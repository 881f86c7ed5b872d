"""The verdict table: per metric the samples on each side (n), the shift after - before
with its 95 % interval and the tolerance band it is judged against, and the verdict (a
chip); the reason in every cell's tooltip and in `sig_reason` for the current row.

An inconclusive row says how many more samples it needs and how long that takes at the
current rate; a row without a baseline says the rule (shown, not judged); a zero baseline
is judged against the floor alone ("floor" in the band). Critical metrics are marked.
When the table is narrow, the p-value, then the baseline and now columns go (tooltips
keep them)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
)

from themis_desktop.core.metrics.catalog import METRICS, MetricInfo
from themis_desktop.core.metrics.verdict import Evaluation, MetricVerdict
from themis_desktop.core.util.formatting import (
    format_quantity,
    human_duration,
    quantity_range,
    signed_quantity,
)
from themis_desktop.ui import palette

COLUMNS = ("Metric", "Baseline", "Now", "n", "Shift", "95 % interval", "Band", "Verdict", "p")
COL = {name: i for i, name in enumerate(COLUMNS)}
VERDICT_COLUMN = COL["Verdict"]
RULE_COLUMNS = (COL["Shift"], COL["95 % interval"], COL["Band"])  # a rule spans these
# left out in this order while the table is too narrow for the others whole (every
# row's tooltip keeps their numbers): at 1024 px the interval, band and verdict stay
OPTIONAL = ((COL["p"],), (COL["Baseline"], COL["Now"]), (COL["Shift"],), (COL["n"],))
CRITICAL = " !"
# (ink, fill) per verdict shown; "info" is a metric shown, not judged
VERDICT_STYLE = {
    "pass": (palette.OK_GREEN, palette.OK_FILL),
    "marginal": (palette.WARN_AMBER, palette.WARN_FILL),
    "fail": (palette.BAD_RED, palette.BAD_FILL),
    "inconclusive": (palette.INFO_BLUE, palette.TARGET_FILL),  # waiting for samples
    "no data": (palette.MUTED_TEXT, palette.WHITE),
    "info": (palette.SLATE, palette.NEUTRAL_FILL),
}


class ComparisonTable(QTableWidget):
    sig_metric_clicked = Signal(str)
    sig_reason = Signal(str)  # the current row's metric and its reason, in words

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        for col, tip in (
            (COL["n"], "Samples before / after the upgrade"),
            (COL["Shift"], "After − before: the Hodges-Lehmann shift (for error ratios the mean)"),
            (COL["95 % interval"], "The shift's 95 % confidence interval"),
            (COL["Band"], "The tolerated worsening: ±20 % of the baseline, at least the floor"),
            (COL["p"], "Mann-Whitney p-value (shown, not the rule)"),
        ):
            self.horizontalHeaderItem(col).setToolTip(tip)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # the names: spare room
        for col in range(1, len(COLUMNS)):  # every number whole: sized by `_fit_columns`
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
        self.setToolTip("Click a row (or press Enter) to see both distributions")
        self.cellClicked.connect(self._on_clicked)
        self.cellActivated.connect(self._on_clicked)
        self.currentCellChanged.connect(lambda row, *_: self._on_current(row))
        self.evaluation: Evaluation | None = None
        self._rules: dict[int, str] = {}  # row -> the rule it shows instead of numbers

    # -- sizes -------------------------------------------------------------------------

    def natural_widths(self) -> list[int]:
        """Per column, the width its header and its cells need: the cells shown (a rule
        spans its columns and counts in none), or the widest typical ones."""
        metrics = self.fontMetrics()
        header = self.horizontalHeader()
        margin = 2 * (self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 1) + 2
        widths = []
        for col, samples in enumerate(_widest_cells()):
            texts = [(text, metrics) for text in samples]
            for row in range(self.rowCount()):
                item = self.item(row, col)
                if item is not None and not (row in self._rules and col in RULE_COLUMNS):
                    texts.append((item.text(), QFontMetrics(item.font())))
            widths.append(
                max(
                    header.sectionSizeFromContents(col).width(),
                    max(fm.horizontalAdvance(text) for text, fm in texts) + margin,
                )
            )
        return widths

    def full_width(self) -> int:
        """The width that shows every column, the p-values too."""
        return sum(self.natural_widths()) + self._chrome()

    def minimumSizeHint(self) -> QSize:
        """Wide enough for every metric's name, n, the shift, its interval, the band and
        the verdict (the optional columns may go), so that a layout or a splitter never
        squeezes the names into "Server …"."""
        widths = self.natural_widths()
        optional = {col for group in OPTIONAL for col in group}
        width = sum(w for col, w in enumerate(widths) if col not in optional) + self._chrome()
        return QSize(width, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Leave the optional columns out, least useful first, while the table is too narrow
        for the others whole; size the others to their cells; a rule spans what shows."""
        widths = self.natural_widths()
        needed = sum(widths) + self._chrome()
        hidden: set[int] = set()
        for group in OPTIONAL:
            if self.width() >= needed:
                break
            hidden.update(group)
            needed -= sum(widths[col] for col in group)
        header = self.horizontalHeader()
        for col in range(len(COLUMNS)):
            if self.isColumnHidden(col) != (col in hidden):
                self.setColumnHidden(col, col in hidden)
            if col and header.sectionSize(col) != widths[col] and col not in hidden:
                header.resizeSection(col, widths[col])
        shown = [col for col in RULE_COLUMNS if col not in hidden]
        for row in self._rules:
            if (self.rowSpan(row, shown[0]), self.columnSpan(row, shown[0])) != (1, len(shown)):
                for col in RULE_COLUMNS:
                    if self.columnSpan(row, col) > 1:
                        self.setSpan(row, col, 1, 1)
                self.setSpan(row, shown[0], 1, len(shown))

    def _chrome(self) -> int:
        return self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()

    # -- contents ----------------------------------------------------------------------

    def set_evaluation(self, evaluation: Evaluation | None) -> None:
        current = self.currentRow()
        self.evaluation = evaluation
        verdicts = evaluation.verdicts if evaluation else []
        self.clearSpans()
        self._rules = {}
        self.setRowCount(len(verdicts))
        for row, v in enumerate(verdicts):
            self._fill(row, v, evaluation)
        self.updateGeometry()  # its minimum width follows the cells
        self._fit_columns()
        if 0 <= current < self.rowCount():
            self._on_current(current)

    def _fill(self, row: int, v: MetricVerdict, evaluation: Evaluation | None) -> None:
        info = METRICS[v.metric]
        c = v.hop
        shown = _shown_verdict(v)
        p = f"{c.p_value:.2g}" if c.p_value is not None else "—"
        cells = [
            info.label + (CRITICAL if info.critical else ""),
            format_quantity(c.baseline_median, info.unit),
            format_quantity(c.now_median, info.unit),
            f"{c.n_before} / {c.n_after}",
            signed_quantity(c.shift, info.unit) if c.shift is not None else "",
            quantity_range(*c.interval, info.unit) if c.interval else "",
            _band(v, info),
            shown,
            p,
        ]
        rule = _rule(v, evaluation)
        if rule:
            self._rules[row] = rule
            for col in RULE_COLUMNS:  # whichever of them shows first, spanning the others
                cells[col] = rule
        tip = _tooltip(v, info, rule, cells)
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, v.metric)
            item.setToolTip(tip)
            if col:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.setItem(row, col, item)
        font = QFont(self.font())
        font.setBold(True)
        if info.critical:
            self.item(row, 0).setFont(font)
        if rule:
            for col in RULE_COLUMNS:
                detail = self.item(row, col)
                detail.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
                detail.setForeground(QColor(palette.MUTED_TEXT))
        ink, fill = VERDICT_STYLE[shown]
        chip = self.item(row, VERDICT_COLUMN)
        chip.setData(Qt.ItemDataRole.UserRole + 1, v.verdict)
        chip.setForeground(QColor(ink))
        chip.setBackground(QColor(fill))
        chip.setTextAlignment(Qt.AlignmentFlag.AlignCenter)

    # -- reading -------------------------------------------------------------------------

    def verdict_of(self, metric: str) -> str | None:
        """The metric's verdict (core's word: pass, marginal, fail, inconclusive, no data)."""
        row = self.row_of(metric)
        if row is None:
            return None
        return self.item(row, VERDICT_COLUMN).data(Qt.ItemDataRole.UserRole + 1)

    def row_of(self, metric: str) -> int | None:
        for row in range(self.rowCount()):
            if self.item(row, 0).data(Qt.ItemDataRole.UserRole) == metric:
                return row
        return None

    def cell_text(self, metric: str, column: str) -> str:
        row = self.row_of(metric)
        return self.item(row, COL[column]).text() if row is not None else ""

    def _on_clicked(self, row: int, _col: int) -> None:
        self.sig_metric_clicked.emit(self.item(row, 0).data(Qt.ItemDataRole.UserRole))

    def _on_current(self, row: int) -> None:
        if self.evaluation is None or not 0 <= row < len(self.evaluation.verdicts):
            self.sig_reason.emit("")
            return
        v = self.evaluation.verdicts[row]
        self.sig_reason.emit(f"{METRICS[v.metric].title}: {v.explanation}")


def _shown_verdict(v: MetricVerdict) -> str:
    """Core's verdict, or "info" for a metric shown and not judged (neutral ones, served
    requests without the offered load)."""
    if v.verdict == "pass" and v.hop.reason.startswith("informational"):
        return "info"
    return v.verdict


def _band(v: MetricVerdict, info: MetricInfo) -> str:
    c = v.hop
    if c.band is None:
        return ""
    if info.direction == "neutral":
        return "not judged"
    text = f"±{format_quantity(c.band, info.unit)}"
    return f"{text} floor" if not c.baseline_median else text  # a zero baseline: the floor


def _rule(v: MetricVerdict, evaluation: Evaluation | None) -> str:
    """For a row without a shift: why, in a few words (and how long an inconclusive
    one still needs at the current rate)."""
    c = v.hop
    if c.verdict == "no data":
        if not c.n_before and c.n_after:
            return "no baseline: shown, not judged"
        if c.n_before and not c.n_after:
            return "no samples after the upgrade"
        return "no samples on either side"
    if c.verdict == "inconclusive":
        minimum = evaluation.min_samples if evaluation else 0
        if not c.needed:
            return f"baseline has {c.n_before} of {minimum}"
        text = f"needs {c.needed} more"
        rate = evaluation.rate if evaluation else None
        return text + (f" (≈ {human_duration(c.needed / rate)})" if rate else "")
    if c.shift is None:  # informational, without an interval (served requests, no load)
        return "offered load unknown: not judged" if METRICS[v.metric].load_aware else ""
    return ""


def _tooltip(v: MetricVerdict, info: MetricInfo, rule: str, cells: list[str]) -> str:
    c = v.hop
    lines = [f"{info.title}: {v.explanation}"]
    if not rule:  # the numbers of every column, hidden ones too
        lines.append(
            "  ·  ".join(
                f"{name} {cells[COL[name]]}"
                for name in ("n", "Shift", "95 % interval", "Band")
                if cells[COL[name]]
            )
        )
    if info.critical:
        lines.append("Critical: a failure fails the whole verdict at once.")
    if rule:
        lines.append(rule[0].upper() + rule[1:] + ".")
    lines.append(
        f"Baseline {format_quantity(c.baseline_median, info.unit)}, now "
        f"{format_quantity(c.now_median, info.unit)}"
        + (f" ({c.change:+.1%})" if c.change is not None else "")
        + f"; n = {c.n_before} before, {c.n_after} after"
    )
    if c.p_value is not None:
        effect = f", effect size {c.effect:+.2f}" if c.effect is not None else ""
        lines.append(f"Mann-Whitney p = {c.p_value:.2g}{effect}")
    return "\n".join(lines)


def _widest_cells() -> tuple[tuple[str, ...], ...]:
    """Per column, the texts its cells typically need room for."""
    values = ("188.8 req/s", "188.8 MiB", "18.8 k keys", "14 min 48 s", "no data")
    return (
        tuple(i.label + (CRITICAL if i.critical else "") for i in METRICS.values()),
        values,
        values,
        ("888 / 888",),
        ("+188.8 MiB", "+18.8 ms"),
        ("−18.8…+18.8 ms", "−0.88%…+0.88%"),
        ("±188.8 MiB", "±0.50% floor"),
        ("inconclusive",),
        ("8.8e-88",),
    )
