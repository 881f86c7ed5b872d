"""The in-memory series the plots draw: growth, windows, and breaks where sampling stopped."""

from __future__ import annotations

import numpy as np

from themis_desktop.core.journal.store import Journal
from themis_desktop.core.metrics import store as metrics_store
from themis_desktop.core.metrics.live import LiveStore
from themis_desktop.core.metrics.sampling import Sample


def _sample(at: float, probe: float | None = 3.0, up: bool = True) -> Sample:
    return Sample("n1", at, up, {"probe_ms": probe} if up else {})


def test_appends_grow_past_the_first_allocation_and_windows_skip_no_data():
    store = LiveStore()
    for i in range(3000):
        store.append(_sample(1000.0 + i, None if i % 2 else float(i)))
    series = store.series["n1"]
    assert len(series) == 3000 and series.at[-1] == 3999.0
    assert store.window(1000.0, 1009.0)["n1"]["probe_ms"] == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_a_down_node_and_a_silence_break_the_line(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal:
        samples = [_sample(100.0 + i) for i in range(5)]  # 100..104
        samples += [_sample(105.0, up=False)]  # the node did not answer
        samples += [_sample(300.0 + i) for i in range(3)]  # the app was closed in between
        metrics_store.insert_samples(journal, "p", samples)
        store = LiveStore()
        store.load(metrics_store.load_series(journal, "p"))
    store.append(_sample(900.0))  # a live sample long after the last loaded one
    probe = store.series["n1"].values("probe_ms")
    finite = np.isfinite(probe)
    assert finite.sum() == 5 + 3 + 1
    # NaN rows: the down sample, one after the silence, one before the live sample
    assert list(np.nonzero(~finite)[0]) == [5, 6, 10]
