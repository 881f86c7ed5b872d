"""The result table every benchmark prints: ours, the reference, the ratio, the target."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    what: str
    ours: str
    reference: str
    ratio: str
    target: str
    ok: bool | None  # None: a diagnostic without a target


def verdict(ok: bool | None) -> str:
    return "info" if ok is None else "PASS" if ok else "MISS"


def print_table(rows: list[Row]) -> None:
    heads = ("measurement", "ours", "reference", "ratio", "target", "verdict")
    cells = [
        heads,
        *[(r.what, r.ours, r.reference, r.ratio, r.target, verdict(r.ok)) for r in rows],
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(heads))]
    for n, cell in enumerate(cells):
        print("  ".join(text.ljust(w) for text, w in zip(cell, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * width for width in widths))
