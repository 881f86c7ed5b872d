"""Progress as text: throughput and ETA for terminals (and tooltips)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from themis_desktop.core.util.formatting import human_bytes, human_duration


class Rate:
    """Throughput and ETA from (done, total) updates."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.done = 0
        self.total = 0

    def update(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    @property
    def per_second(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        rate = self.per_second
        return (self.total - self.done) / rate if rate > 0 and self.total else None

    def describe(self) -> str:
        eta = self.eta_seconds
        parts = [
            f"{human_bytes(self.done)} of {human_bytes(self.total)}",
            f"{human_bytes(self.per_second)}/s",
        ]
        if eta is not None:
            parts.append(f"{human_duration(eta)} left")
        return ", ".join(parts)


class TerminalBar:
    """A one-line progress bar on a terminal; silent when the stream is not one."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        stream = stream or sys.stderr  # looked up now: sys.stderr may have been replaced
        self.label, self.stream = label, stream
        self.rate = Rate()
        self.enabled = stream.isatty()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        self.rate.update(done, total)
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and done < total):
            return
        self._last = now
        share = done / total if total else 1.0
        bar = "#" * int(share * 30)
        self.stream.write(f"\r{self.label} [{bar:<30}] {share:4.0%} {self.rate.describe()}  ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
