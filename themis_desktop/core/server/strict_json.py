"""JSON with limits both ways: what comes in is nested at most `MAX_DEPTH` deep, what goes
out is strict JSON (NaN and infinities become null), so every parser can read it.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from themis_desktop.core.errors import ThemisDesktopError

MAX_DEPTH = 64  # ThemisDB's deepest answer (/config) is a handful of levels
_STRING = re.compile(rb'"[^"]*"')  # in text reduced to quotes and brackets
_ONE_KIND = bytes.maketrans(b"{}", b"[]")
_OTHERS = bytes(set(range(256)) - set(b'"[]{}'))


class JsonTooDeep(ThemisDesktopError, ValueError):
    """A JSON text nested deeper than allowed (it would exhaust a recursive parser)."""


def nesting_depth(text: str | bytes, cap: int = MAX_DEPTH + 1) -> int:
    """How deep arrays and objects nest in `text`, counted up to `cap` (brackets inside
    strings do not count). Each round drops the innermost pairs, all at C speed; a run of
    openers as long as the depth still missing ends the count early."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    data = data.replace(b"\\\\", b"").replace(b'\\"', b"")  # escapes, left to right
    brackets = _STRING.sub(b"", data.translate(None, _OTHERS)).translate(_ONE_KIND)
    depth = 0
    while depth < cap:
        if b"[" * (cap - depth) in brackets:  # that many openers in a row: deep enough
            return cap
        if b"[]" not in brackets:
            break
        brackets = brackets.replace(b"[]", b"")
        depth += 1
    return depth


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads` that refuses documents nested deeper than `max_depth` (a ValueError)."""
    if nesting_depth(text, max_depth + 1) > max_depth:
        raise JsonTooDeep(f"its JSON is nested more than {max_depth} levels deep")
    try:
        return json.loads(text)
    except RecursionError:  # cannot happen after the scan; kept as the last line of defence
        raise JsonTooDeep(f"its JSON is nested more than {max_depth} levels deep") from None


def sanitise(value: Any) -> Any:
    """`value` with every non-finite float replaced by None (tuples become lists)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: sanitise(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [sanitise(item) for item in value]
    return value


def dumps(value: Any, *, indent: int | None = 2, **options: Any) -> str:
    """Strict JSON text of `value`: NaN/Infinity are written as null, never as tokens
    that strict parsers (jq, JavaScript, Go) refuse. `options` go to `json.dumps`."""
    return json.dumps(sanitise(value), indent=indent, allow_nan=False, **options)
