"""One colour palette: themis_desktop/ui/palette.py names every colour of the GUI.

A hex colour written anywhere else in themis_desktop/ui fails here (use or add a name in
palette.py); resources/style.qss, which cannot import Python, may use only colours that
palette.py names."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtGui import QColor

from themis_desktop.ui import palette

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "themis_desktop" / "ui"
# #rgb, #rgba, #rrggbb, #rrggbbaa; not an HTML character reference such as &#160;
HEX = re.compile(r"(?<![&\w])#(?:[0-9a-fA-F]{8}|[0-9a-fA-F]{6}|[0-9a-fA-F]{3,4})\b")


def _named() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(palette).items()
        if name.isupper() and isinstance(value, str)
    }


def test_no_hex_colour_outside_the_palette() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted(UI.rglob("*.py"))
        if path.name != "palette.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if HEX.search(line)
    ]
    assert not found, "hex colours outside ui/palette.py (name them there):\n" + "\n".join(found)


def test_the_pattern_finds_what_it_should() -> None:
    for text in ('QColor("#a4161a")', "color:#fff;", '"#ffffffc0"', "#ABCDEF"):
        assert HEX.search(text), text
    for text in ("&#160;", "#triggerBanner", "issue #17", "# a comment", "#1234567"):
        assert not HEX.search(text), text


def test_every_palette_colour_is_valid() -> None:
    named = _named()
    assert len(named) > 30
    for name, value in named.items():
        assert HEX.fullmatch(value), f"{name} = {value!r} is not a hex colour"
        assert QColor(value).isValid(), name
    assert set(palette.NODE_COLOURS) <= set(named.values())


def test_the_style_sheet_uses_only_palette_colours() -> None:
    qss = (ROOT / "resources" / "style.qss").read_text(encoding="utf-8")
    values = {value.lower() for value in _named().values()}
    unknown = sorted({colour for colour in HEX.findall(qss) if colour.lower() not in values})
    assert not unknown, f"style.qss colours that ui/palette.py does not name: {unknown}"
