"""Python's cyclic garbage collector run in the GUI thread only, on a timer.

The collector otherwise runs in whichever thread allocates past its threshold, worker
threads included, and may then destroy GUI-thread Qt objects from there. The same as
pyqtgraph's `GarbageCollector` (Erik Janssens' recipe), without importing pyqtgraph at the
start.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QTimer


class GarbageCollector:
    """Disables automatic collection; every `interval` seconds collects the generations
    past their thresholds, as the automatic collector would have."""

    def __init__(self, interval: float = 1.0) -> None:
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer()
        self.timer.timeout.connect(self.check)
        self.timer.start(int(interval * 1000))

    def check(self) -> None:
        l0, l1, l2 = gc.get_count()
        if l0 > self.threshold[0]:
            gc.collect(0)
            if l1 > self.threshold[1]:
                gc.collect(1)
                if l2 > self.threshold[2]:
                    gc.collect(2)
