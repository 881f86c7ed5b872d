"""Writes the session report: the pictures (version graph, metrics before/after) drawn with
Qt, then HTML (self-contained) or PDF (Qt's PDF writer, no extra engine). The file is
private to its user (0600), written to a temporary name first."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QUrl
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPdfWriter, QTextDocument

from themis_desktop.core.journal.store import Journal, parse_utc
from themis_desktop.core.metrics import store as metrics_store
from themis_desktop.core.upgrade import report
from themis_desktop.core.util.paths import private_temp_file
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade
from themis_desktop.ui.widgets import metric_plot_style as style

PLOTTED = ("probe_ms", "request_rate", "error_rate")
MARGIN_S = 30 * 60  # metrics from half an hour before the session


def write_report(
    journal_path: Path | None, session_id: int, out: Path, secrets: tuple[str, ...] = ()
) -> Path:
    """The report of `session_id` as `out` (.html or .pdf, 0600), written to a temporary
    name first."""
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm", ".pdf"):
        raise ValueError(f"{out.name}: the report is written as .html or .pdf")
    with Journal(journal_path, read_only=True) as journal:
        data = report.collect(journal, session_id)
        data.images.update(_pictures(journal, data))
    partial, fd = private_temp_file(out)
    try:
        if out.suffix.lower() == ".pdf":
            os.close(fd)
            _pdf(data, partial, secrets)  # Qt writes over the empty file, keeping its mode
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(report.render_html(data, secrets))
        if not partial.stat().st_size:
            raise OSError(f"the report could not be written to {out}")
        partial.replace(out)
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()
    return out


def _pdf(data: report.ReportData, path: Path, secrets: tuple[str, ...]) -> None:
    document = QTextDocument()
    for index, png in enumerate(data.images.values()):
        image = QImage.fromData(png, "PNG")
        document.addResource(
            QTextDocument.ResourceType.ImageResource, QUrl(report.image_name(index)), image
        )
    document.setHtml(report.render_html(data, secrets, inline=False))
    writer = QPdfWriter(str(path))
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(15, 15, 15, 15),
            QPageLayout.Unit.Millimeter,
        )
    )
    writer.setResolution(96)
    writer.setTitle(f"Upgrade report, session {data.session.id}")
    writer.setCreator("Themis Desktop")
    document.setPageSize(writer.pageLayout().paintRectPixels(96).size().toSizeF())
    document.print_(writer)


def _pictures(journal: Journal, data: report.ReportData) -> dict[str, bytes]:
    pictures: dict[str, bytes] = {}
    graph = _graph_png(data)
    if graph:
        pictures["The upgrade path"] = graph
    pictures.update(_metric_pngs(journal, data))
    return pictures


def _graph_png(data: report.ReportData) -> bytes | None:
    from themis_desktop.ui.widgets.version_graph_view import VersionGraphView

    s = data.session.session
    catalogue = load_catalogue()
    try:
        plan = plan_upgrade(catalogue, s.from_version, s.to_version)
    except ValueError:
        return None
    view = VersionGraphView(catalogue)
    view.resize(1100, 520)
    view.show_plan(plan.current, plan.target, plan)
    with tempfile.TemporaryDirectory() as folder:
        path = view.export_png(Path(folder) / "graph.png")
        content = Path(path).read_bytes()
    view.deleteLater()
    return content


def _metric_pngs(journal: Journal, data: report.ReportData) -> dict[str, bytes]:
    session = data.session
    if not session.profile:
        return {}
    start = _epoch(session.session.created_at) - MARGIN_S
    end = _epoch(session.session.ended_at) + MARGIN_S if session.session.ended_at else None
    series = metrics_store.load_series(journal, session.profile, start, end)
    if not series:
        return {}
    marks = [
        (_epoch(e.ts), e.type)
        for e in data.events
        if e.type in ("hop.started", "hop.finished", "rollback.started", "rollback.finished")
    ]
    from themis_desktop.core.metrics.catalog import METRICS

    out = {}
    for key in PLOTTED:
        widget = pg.GraphicsLayoutWidget()
        widget.setBackground("w")
        widget.resize(900, 300)
        plot = style.make_plot(METRICS[key].title, METRICS[key].unit)
        widget.addItem(plot)
        plot.addLegend(offset=(10, 5), labelTextSize="8pt")
        drawn = False
        for index, (node, s) in enumerate(series.items()):
            values = s.values[key].copy()
            values[~s.up] = np.nan
            if np.isfinite(values).any():
                line = style.add_line(plot, index, node)
                line.setData(s.at, values, connect="finite")
                drawn = True
        if not drawn:
            widget.deleteLater()
            continue
        for at, kind in marks:
            plot.addItem(
                pg.InfiniteLine(
                    at,
                    angle=90,
                    pen=style.ROLLBACK_PEN if kind.startswith("rollback") else style.EVENT_PEN,
                    label=kind,
                    labelOpts={"position": 0.9},
                )
            )
        out[f"{METRICS[key].title}, before and after"] = _png(widget)
        widget.deleteLater()
    return out


def _png(widget) -> bytes:
    image = widget.grab().toImage()
    buffer = QByteArray()
    device = QBuffer(buffer)
    device.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(device, "PNG")
    return bytes(buffer.data())


def _epoch(iso: str) -> float:
    return parse_utc(iso).timestamp()
