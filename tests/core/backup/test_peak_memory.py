"""Memory before/after an upgrade is the PEAK resident size of the server process.

ThemisDB's `/health/ready` reports `memory_rss_bytes` from getrusage's ru_maxrss (upstream's
src/server/monitoring_api_handler.cpp, handleReadiness): a high-water mark that restarts
from zero with the process. An upgrade restarts it, so a lower peak afterwards is no
improvement, while a higher one still counts against the new version.
"""

from __future__ import annotations

from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.metrics.comparison import compare

MiB = 1 << 20


def test_the_memory_metric_says_it_is_the_peak():
    info = METRICS["rss_bytes"]
    assert info.peak
    assert "peak" in info.title.lower() and "peak" in info.label.lower()


def test_a_lower_peak_after_the_restart_is_never_called_better():
    baseline = [900.0 * MiB + i for i in range(60)]  # a process up for days
    now = [300.0 * MiB + i for i in range(60)]  # restarted by the upgrade
    result = compare("rss_bytes", baseline, now)
    assert result.verdict == "pass"
    assert "no improvement" in result.reason and "peak" in result.reason
    assert "not worse" not in result.reason


def test_a_higher_peak_after_the_restart_still_fails_and_says_peak():
    baseline = [300.0 * MiB + i for i in range(60)]
    now = [900.0 * MiB + i for i in range(60)]
    result = compare("rss_bytes", baseline, now)
    assert result.verdict == "fail"
    assert result.reason.startswith("peak memory (rss): worse beyond the band")
    assert "600.0 MiB" in result.reason  # the shift in the metric's unit


def test_metrics_that_are_not_peaks_keep_their_wording():
    result = compare("probe_ms", [9.0 + i / 10 for i in range(60)], [3.0] * 60)
    assert result.verdict == "pass"
    assert result.reason.startswith("better or unchanged") and "peak" not in result.reason
