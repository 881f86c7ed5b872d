"""Bounded reading of the YAML and JSON files a user gives us: size, depth, node and alias
limits, checked before anything is built, and every refusal as `file:line: reason`.

A YAML document is first read as a stream of parser events (a flat loop, no recursion):
nesting deeper than `max_depth`, or more than `max_nodes` nodes once every alias is
expanded (an alias counts the whole subtree of its anchor, so nine aliases nested nine deep
count 9⁹ nodes), or an alias inside its own anchor, stop the read at the offending line.
Only a document within the limits is then built by the real loader (PyYAML, or ruamel's
round-trip loader that keeps comments and order). JSON gets the same depth check from a
linear scan. Numbers longer than Python converts (4300 digits) are refused with their line
instead of failing later without one.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from themis_desktop.core.errors import ThemisDesktopError

_MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """How much a user file may hold."""

    max_bytes: int = _MIB
    max_depth: int = 64  # nested mappings/sequences (an alias adds its anchor's depth)
    max_nodes: int = 100_000  # every node, each alias counted as its anchor's whole subtree
    max_text: int = 16 * _MIB  # characters of all scalars, aliases expanded
    max_digits: int = min(4300, sys.get_int_max_str_digits() or 4300)


DEFAULT_LIMITS = Limits()


class InputError(ThemisDesktopError, ValueError):
    """A user file is refused: names the file, the line when known, and the reason."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {reason}")


def size_text(size: int) -> str:
    """`3.2 MiB`, `1 MiB`, `640 KiB`, `12 bytes`."""
    if size >= _MIB:
        return f"{size / _MIB:.1f}".removesuffix(".0") + " MiB"
    if size >= 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size} bytes"


# -- files ---------------------------------------------------------------------------------


def read_text(path: Path | str, limits: Limits = DEFAULT_LIMITS, what: str = "file") -> str:
    """The UTF-8 text of `path` (newlines as text mode reads them), never more than
    `limits.max_bytes` read; InputError for a missing, unreadable, too large or binary file."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.max_bytes + 1)
            size = max(len(data), _size_of(handle))
    except FileNotFoundError:
        raise InputError(path, None, "no such file") from None
    except OSError as exc:
        raise InputError(path, None, f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > limits.max_bytes:
        raise InputError(path, None, too_large(what, size, limits.max_bytes))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            path,
            line,
            f"not a text file (not UTF-8): byte 0x{data[exc.start]:02x} at line {line}; "
            f"a {what} must be UTF-8 text: check that this is the right file",
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _size_of(handle: Any) -> int:
    try:
        return os.fstat(handle.fileno()).st_size
    except OSError:
        return 0


def too_large(what: str, size: int, limit: int) -> str:
    """The reason for refusing a file of `size` bytes."""
    shown = size_text(size) if size > limit else f"more than {size_text(limit)}"
    return (
        f"{what} too large: {shown}, limit {size_text(limit)} "
        f"(a {what} this big is not one a person wrote; check that it is the right file)"
    )


def check_size(text: str, path: Path | str, limits: Limits, what: str = "file") -> None:
    """InputError when `text` (not read through `read_text`) is over the size limit."""
    if len(text) > limits.max_bytes // 4:  # only then can its UTF-8 form be too large
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limits.max_bytes:
            raise InputError(path, None, too_large(what, size, limits.max_bytes))


# -- YAML ----------------------------------------------------------------------------------

_NUMBER = re.compile(r"[-+]?[0-9][0-9_:]*")
_INT_TAG = "tag:yaml.org,2002:int"


def check_events(
    events: Iterable[Any], path: Path | str, limits: Limits = DEFAULT_LIMITS, first_line: int = 1
) -> None:
    """Walk YAML parser events (PyYAML's or ruamel's); InputError at the first event past a
    limit. `first_line` is the file line of the text's first line."""
    stack: list[list[int]] = []  # per open collection: [nodes, text, height] of its subtree
    anchors: list[str | None] = []  # the anchor of each open collection
    sizes: dict[str, tuple[int, int, int]] = {}  # anchor → (nodes, text, height)
    nodes = text = 0
    aliased = False  # whether an alias added to the counts

    def refuse(event: Any, reason: str) -> InputError:
        mark = getattr(event, "start_mark", None)
        line = mark.line + first_line if mark is not None else None
        return InputError(path, line, reason)

    for event in events:
        kind = type(event).__name__
        if kind in ("MappingStartEvent", "SequenceStartEvent"):
            if len(stack) >= limits.max_depth:
                raise refuse(event, _too_deep(limits))
            stack.append([1, 0, 1])
            anchors.append(event.anchor)
            nodes += 1
            size = None
        elif kind in ("MappingEndEvent", "SequenceEndEvent"):
            sub = stack.pop()
            anchor = anchors.pop()
            if anchor:
                sizes[anchor] = (sub[0], sub[1], sub[2])
            if stack:
                parent = stack[-1]
                parent[0] += sub[0]
                parent[1] += sub[1]
                parent[2] = max(parent[2], sub[2] + 1)
            continue
        elif kind == "ScalarEvent":
            _check_scalar(event, limits, refuse)
            size = (1, len(event.value), 0)
            if event.anchor:
                sizes[event.anchor] = size
        elif kind == "AliasEvent":
            if event.anchor in anchors:
                raise refuse(
                    event,
                    f"the alias *{event.anchor} is inside its own anchor (a loop): "
                    "use a copy of the value instead",
                )
            found = sizes.get(event.anchor)
            if found is None:
                continue  # an undefined alias: the loader reports it
            size, aliased = found, True
            if len(stack) + size[2] > limits.max_depth:
                how = f" once the alias *{event.anchor} is expanded"
                raise refuse(event, _too_deep(limits, how))
        else:
            if kind == "DocumentStartEvent":
                sizes.clear()  # anchors belong to one document
            continue
        if size is not None:
            nodes += size[0]
            text += size[1]
            if stack:
                parent = stack[-1]
                parent[0] += size[0]
                parent[1] += size[1]
                parent[2] = max(parent[2], size[2] + 1)
        if nodes > limits.max_nodes:
            raise refuse(event, _too_many(limits, aliased))
        if text > limits.max_text:
            raise refuse(
                event,
                f"more than {size_text(limits.max_text)} of text once aliases are expanded: "
                "use fewer aliases of long values",
            )


def _too_many(limits: Limits, aliased: bool) -> str:
    if not aliased:
        return (
            f"more than {limits.max_nodes} values: no settings file has that many; check "
            "that it is the right file"
        )
    return (
        f"more than {limits.max_nodes} values once aliases are expanded (each *alias "
        "counts its anchor's whole content; nested aliases multiply, as in a "
        "'billion laughs' bomb): write the values out or use fewer aliases"
    )


def _too_deep(limits: Limits, how: str = "") -> str:
    return (
        f"nested more than {limits.max_depth} levels deep{how}: no settings file needs "
        "that; check it for runaway brackets or indentation"
    )


def _check_scalar(event: Any, limits: Limits, refuse: Callable[[Any, str], InputError]) -> None:
    value: str = event.value
    if len(value) <= limits.max_digits:
        return
    if event.tag != _INT_TAG and (event.style or event.tag):
        return  # quoted or tagged as something else: not read as a number
    if not _NUMBER.fullmatch(value):
        return
    digits = max(len(part.replace("_", "")) for part in value.lstrip("+-").split(":"))
    if digits > limits.max_digits:
        raise refuse(event, _long_number(digits, limits))


def _long_number(digits: int, limits: Limits) -> str:
    return (
        f"a number with {digits} digits (limit {limits.max_digits}): no setting takes such a "
        "value; check it, or quote it if it is meant as text"
    )


def load_yaml(
    text: str,
    path: Path | str,
    loader: type[yaml.SafeLoader] = yaml.SafeLoader,
    limits: Limits = DEFAULT_LIMITS,
    first_line: int = 1,
    what: str = "file",
) -> Any:
    """PyYAML's `load` with `loader` (a SafeLoader or a subclass), within `limits`; every
    failure an InputError with the file line (`first_line` is that of the text's first line,
    `what` names the text in a size error)."""
    check_size(text, path, limits, what)
    try:
        try:  # libyaml's parser is fast; on a syntax error ask the loader's own parser,
            check_events(yaml.parse(text, Loader=_FAST_PARSER), path, limits, first_line)
        except yaml.YAMLError:  # whose messages and lines the load would give
            check_events(yaml.parse(text, Loader=loader), path, limits, first_line)
        return yaml.load(text, Loader=loader)  # a SafeLoader (sub)class: safe
    except InputError:
        raise
    except yaml.YAMLError as exc:
        line, reason = yaml_problem(exc, text)
        raise InputError(path, line + first_line - 1 if line else None, reason) from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise InputError(path, None, f"a value cannot be read: {exc}") from None


_FAST_PARSER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def yaml_problem(exc: yaml.YAMLError, text: str = "") -> tuple[int | None, str]:
    """(1-based line or None, "not valid YAML: …") of a PyYAML error."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    if problem:
        context = getattr(exc, "context", None)
        reason = " ".join(filter(None, (str(problem), context and f"({context})")))
    else:
        reason = str(exc).replace("\n", " ")
    line = mark.line + 1 if mark is not None else None
    position = getattr(exc, "position", None)  # a ReaderError: a character YAML forbids
    if line is None and isinstance(position, int) and text:
        line = text.count("\n", 0, position) + 1
    return line, f"not valid YAML: {reason}"


# -- JSON ----------------------------------------------------------------------------------

# a string (skipped whole, even unterminated), a bracket, or an integer too long for int()
_JSON_TOKENS = (
    r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[{]|[\]}]'
    r"|(?<![0-9.eE+])(?<![eE]-)[0-9]{%d,}(?![0-9.eE])"
)


@functools.lru_cache(maxsize=4)
def _json_token(digits: int) -> re.Pattern[str]:
    return re.compile(_JSON_TOKENS % (digits + 1))


def check_json(text: str, path: Path | str, limits: Limits = DEFAULT_LIMITS) -> None:
    """InputError for JSON nested deeper than `max_depth` or with an over-long integer (a
    linear scan; strings are skipped whole)."""
    check_size(text, path, limits)
    depth = 0
    for match in _json_token(limits.max_digits).finditer(text):
        char = match.group()[0]
        if char == '"':
            continue
        if char in "[{":
            depth += 1
            if depth > limits.max_depth:
                raise InputError(path, _line_at(text, match.start()), _too_deep(limits))
        elif char in "]}":
            depth -= 1
        else:
            digits = len(match.group())
            raise InputError(path, _line_at(text, match.start()), _long_number(digits, limits))


def _line_at(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def load_json(text: str, path: Path | str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """`json.loads` within `limits`; InputError (with the line) for anything it refuses."""
    check_json(text, path, limits)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, exc.lineno, f"not valid JSON: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(path, None, f"a value cannot be read: {exc}") from None
