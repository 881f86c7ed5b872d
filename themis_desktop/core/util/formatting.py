"""Numbers as people read them: sizes, durations, counts."""

from __future__ import annotations

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_bytes(value: float) -> str:
    """1536 → '1.5 KiB'."""
    size = float(value)
    for unit in _UNITS:
        if abs(size) < 1024 or unit == _UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def human_duration(seconds: float) -> str:
    """3725 → '1 h 2 min'; 59 → '59 s'; 90061 → '1 d 1 h'."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def human_count(value: float) -> str:
    """1234567 → '1.23 M'."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g} {suffix}"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def format_quantity(value: float | None, unit: str) -> str:
    """A metric's value with its unit from `metric_catalog`; None is "no data"."""
    if value is None or value != value:  # None or NaN
        return "no data"
    if unit == "bytes":
        return human_bytes(value)
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "ratio":
        return f"{value:.2%}"
    if unit == "s":
        return human_duration(value)
    if unit == "req/s":
        return f"{value:.1f} req/s"
    return f"{human_count(value)} {unit}".strip()


def signed_quantity(value: float, unit: str) -> str:
    """A change with its sign and unit: +1.2 ms, −0.30%, ±0 ms (a negative size or
    duration too, which `format_quantity` alone would not sign)."""
    if value != value:  # NaN
        return "no data"
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    return sign + format_quantity(abs(value), unit)


def quantity_range(low: float, high: float, unit: str) -> str:
    """An interval of changes: −0.2…+1.1 ms (the unit once when both ends share it)."""
    start, end = signed_quantity(low, unit), signed_quantity(high, unit)
    head, _, suffix = start.rpartition(" ")
    if head and unit != "s" and end.endswith(" " + suffix):  # "1 min 30 s": kept whole
        start = head
    return f"{start}…{end}"
