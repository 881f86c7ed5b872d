"""Issue 21 on the metrics page: the table shows the evidence of each verdict (n, the shift,
its interval, the band), an inconclusive row how much longer it needs, the verdict's
changes with their reasons, and Compare windows… agrees with `metrics compare`."""

from __future__ import annotations

import json
import re
import time

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtTest import QTest

from themis_desktop.cli.main import main
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.metrics import store as metrics_store
from themis_desktop.core.util.formatting import format_quantity, quantity_range, signed_quantity
from themis_desktop.ui.dialogs.compare_windows import CUSTOM
from themis_desktop.ui.dialogs.distribution import DistributionDialog


def _steady(start_demo_node):
    return start_demo_node(
        "1.8.0", latency_factors={"1.8": 12.0}, error_rates={"1.8": 0.0}, latency_sigma=0.05
    )


def _connect(qtbot, window, nodes, min_samples: int = 5):
    profile = Profile("lab", tuple(NodeEndpoint(n.url, f"n{i}") for i, n in enumerate(nodes, 1)))
    window.workspace.connect_profile(profile)
    window.show_page("metrics")
    page = window.pages["metrics"]
    page.monitor.hold.min_samples = min_samples  # seconds of samples here, not 50
    qtbot.waitUntil(lambda: page.monitor.sampling, timeout=10_000)
    return page


def _samples(page, node: str = "n1") -> int:
    series = page.monitor.store.series.get(node)
    return len(series) if series else 0


def _wait_samples(qtbot, page, count: int) -> None:
    target = _samples(page) + count
    qtbot.waitUntil(lambda: _samples(page) >= target, timeout=30_000)


def _capture(qtbot, page) -> None:
    with qtbot.waitSignal(page.monitor.sig_baselines, timeout=10_000):
        page.minutes.setValue(1)
        qtbot.mouseClick(page.capture, Qt.MouseButton.LeftButton)


def _evaluate(qtbot, page):
    with qtbot.waitSignal(page.monitor.sig_evaluation, timeout=10_000) as evaluated:
        page.monitor.evaluate_now()
    return evaluated.args[0]


def _verdict(evaluation, metric: str):
    return next(v for v in evaluation.verdicts if v.metric == metric)


def test_the_table_shows_n_the_shift_its_interval_and_the_band(qtbot, main_window, start_demo_node):
    page = _connect(qtbot, main_window, [_steady(start_demo_node)])
    _wait_samples(qtbot, page, 8)
    _capture(qtbot, page)
    _wait_samples(qtbot, page, 8)
    evaluation = _evaluate(qtbot, page)

    probe = _verdict(evaluation, "probe_ms").hop
    assert probe.verdict in ("pass", "marginal") and probe.interval is not None
    table = page.table
    assert table.cell_text("probe_ms", "n") == f"{probe.n_before} / {probe.n_after}"
    assert table.cell_text("probe_ms", "Shift") == signed_quantity(probe.shift, "ms")
    assert table.cell_text("probe_ms", "95 % interval") == quantity_range(*probe.interval, "ms")
    assert table.cell_text("probe_ms", "Band") == f"±{format_quantity(probe.band, 'ms')}"
    assert table.verdict_of("probe_ms") == probe.verdict
    # a missing baseline states its rule; the critical metric is marked
    assert table.cell_text("server_p95_ms", "Shift") == "no samples on either side"
    errors = table.item(table.row_of("error_rate"), 0)
    assert errors.text() == "Errors !" and errors.font().bold()
    assert "Critical: a failure fails the whole verdict at once" in errors.toolTip()

    # the reason: in the tooltip and, for the current row, under the table
    row = table.row_of("probe_ms")
    assert probe.reason in table.item(row, 0).toolTip()
    qtbot.mouseClick(
        table.viewport(),
        Qt.MouseButton.LeftButton,
        pos=table.visualItemRect(table.item(row, table.columnCount() - 2)).center(),
    )
    qtbot.waitUntil(lambda: probe.reason in page.reason.text())
    for dialog in page.findChildren(DistributionDialog):  # the click also opened it
        dialog.close()


def test_served_requests_are_judged_against_the_offered_probe_load(
    qtbot, main_window, start_demo_node
):
    page = _connect(qtbot, main_window, [_steady(start_demo_node)])
    _wait_samples(qtbot, page, 8)
    _capture(qtbot, page)
    _wait_samples(qtbot, page, 8)
    evaluation = _evaluate(qtbot, page)
    served = _verdict(evaluation, "request_rate").hop
    assert "served per offered request" in served.reason  # not "informational"
    assert served.interval is not None
    assert "probe load" in page.table.item(page.table.row_of("request_rate"), 0).toolTip()


def test_an_inconclusive_row_says_how_much_longer_it_needs(qtbot, main_window, start_demo_node):
    page = _connect(qtbot, main_window, [_steady(start_demo_node)], min_samples=30)
    _wait_samples(qtbot, page, 32)  # enough before the baseline ends
    _capture(qtbot, page)
    _wait_samples(qtbot, page, 3)  # a few after it: far from 30
    evaluation = _evaluate(qtbot, page)

    probe = _verdict(evaluation, "probe_ms").hop
    assert probe.verdict == "inconclusive" and probe.needed > 0
    text = page.table.cell_text("probe_ms", "Shift")
    assert re.fullmatch(rf"needs {probe.needed} more \(≈ \d+ s\)", text), text
    assert page.table.verdict_of("probe_ms") == "inconclusive"
    assert f"needs {evaluation.needed} more samples (about" in page.summary.text()


def test_the_verdict_changes_are_listed_with_their_reasons(qtbot, main_window, start_demo_node):
    page = _connect(qtbot, main_window, [_steady(start_demo_node)])
    _wait_samples(qtbot, page, 8)
    _capture(qtbot, page)
    _evaluate(qtbot, page)  # too few samples after the baseline: inconclusive
    _wait_samples(qtbot, page, 8)
    _evaluate(qtbot, page)  # enough: the first verdict with enough evidence

    history = page.monitor.hold.history
    waited, judged = history[-2:]
    assert waited.after == "inconclusive" and judged.after in ("pass", "marginal")
    newest = page.changes.item(0).text()
    assert f"INCONCLUSIVE → {judged.after.upper()}" in newest
    assert "first verdict with enough evidence" in newest
    assert page.changes.count() == len(history)


def test_compare_windows_agrees_with_the_command_line(qtbot, main_window, start_demo_node, capsys):
    page = _connect(qtbot, main_window, [_steady(start_demo_node), _steady(start_demo_node)])
    qtbot.waitUntil(lambda: page.monitor.store.earliest is not None, timeout=10_000)
    start = int(page.monitor.store.earliest) + 1
    before, after = (start, start + 7), (start + 8, start + 15)

    def stored() -> bool:
        with Journal() as journal:
            series = metrics_store.load_series(journal, "lab", after[1] + 1)
        return len(series) == 2

    qtbot.waitUntil(stored, timeout=30_000)

    qtbot.mouseClick(page.compare_button, Qt.MouseButton.LeftButton)
    dialog = page.compare_dialog
    qtbot.waitUntil(dialog.isVisible)
    for key, at in zip(dialog.edits, (*before, *after), strict=True):
        dialog.edits[key].setDateTime(QDateTime.fromSecsSinceEpoch(at))  # typed in
    assert dialog.preset.currentText() == CUSTOM
    with qtbot.waitSignal(dialog.sig_compared, timeout=10_000) as compared:
        qtbot.mouseClick(dialog.compare_button, Qt.MouseButton.LeftButton)
    result = compared.args[0]
    assert (result.before, result.after) == (before, after)

    capsys.readouterr()
    windows = [
        f"{_iso(before[0])}..{_iso(before[1])}",
        f"{_iso(after[0])}..{_iso(after[1])}",
    ]
    common = ["--min-samples", "5", "--json"]
    main(
        [
            "metrics",
            "compare",
            "--profile",
            "lab",
            "--before",
            windows[0],
            "--after",
            windows[1],
            *common,
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert report["overall"] == result.evaluation.overall
    assert f"VERDICT: {report['overall'].upper()}" in dialog.summary.text().upper()
    for m in report["metrics"]:
        assert dialog.table.verdict_of(m["metric"]) == m["verdict"]
        assert dialog.table.cell_text(m["metric"], "n") == f"{m['n']['before']} / {m['n']['after']}"
    assert f"--before {windows[0]}" in dialog.command.text()
    dialog.close()


def test_a_preset_sets_both_windows_from_the_keyboard(qtbot, main_window, start_demo_node):
    page = _connect(qtbot, main_window, [_steady(start_demo_node)])
    page.compare_button.setFocus()
    QTest.keyClick(page.compare_button, Qt.Key.Key_Space)
    dialog = page.compare_dialog
    qtbot.waitUntil(dialog.isVisible)
    dialog.preset.setFocus()
    QTest.keyClick(dialog.preset, Qt.Key.Key_Down)  # the same hour yesterday
    before, after = dialog.windows()
    assert after[1] - after[0] == 3600 and abs(after[1] - time.time()) < 5
    assert after[0] - before[0] == 86400
    dialog.close()


def _iso(at: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S")
