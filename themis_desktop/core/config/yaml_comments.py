"""Keep comments in place when keys are added to or removed from a round-trip YAML mapping.

ruamel.yaml stores the comment lines that follow a value (up to the next key) with that
value. Appending a key after it, or removing it, would move or drop those lines; these
helpers hand them over to the right neighbour instead.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

_CONTAINERS = (CommentedMap, CommentedSeq)


def _slot(container: Any, key: Any) -> tuple[list[Any], int]:
    """The comment list and index holding what follows `container[key]` on its line."""
    index = 0 if isinstance(container, CommentedSeq) else 2
    entry = container.ca.items.setdefault(key, [None, None, None, None])
    return entry, index


def _tail(container: Any, key: Any) -> tuple[list[Any], int]:
    """The slot after the last line of `container[key]` (its deepest last item)."""
    value = container[key]
    while isinstance(value, _CONTAINERS) and len(value):
        container, key = value, (len(value) - 1 if isinstance(value, CommentedSeq) else None)
        if key is None:
            key = next(reversed(value))
        value = container[key]
    return _slot(container, key)


def _take_rest(slot: tuple[list[Any], int]) -> str:
    """Cut the comment lines after the end-of-line comment out of `slot`; return them."""
    entry, index = slot
    token = entry[index]
    if token is None:
        return ""
    eol, newline, rest = token.value.partition("\n")
    token.value = eol + newline
    return rest


def _add_rest(slot: tuple[list[Any], int], rest: str) -> None:
    """Append comment lines after whatever `slot` holds."""
    if not rest:
        return
    entry, index = slot
    if entry[index] is None:
        entry[index] = CommentToken("\n" + rest, CommentMark(0), None)
    else:
        token = entry[index]
        token.value = (token.value if token.value.endswith("\n") else token.value + "\n") + rest


def append(mapping: dict[str, Any], key: str, value: Any) -> None:
    """Add a new `key` at the end of `mapping`, before the comments that followed its end."""
    keys = list(mapping)
    mapping[key] = value
    if isinstance(mapping, CommentedMap) and keys:
        _add_rest(_tail(mapping, key), _take_rest(_tail(mapping, keys[-1])))


def remove(mapping: dict[str, Any], key: str) -> None:
    """Delete `key`, keeping the comment lines that followed it (they are about the next key)."""
    if not isinstance(mapping, CommentedMap):
        del mapping[key]
        return
    keys = list(mapping)
    at = keys.index(key)
    rest = _take_rest(_tail(mapping, key))
    del mapping[key]
    mapping.ca.items.pop(key, None)
    if not rest:
        return
    if at > 0:
        _add_rest(_tail(mapping, keys[at - 1]), rest)
    elif len(keys) > 1:
        lines = [line.strip().lstrip("#").strip() for line in rest.splitlines() if line.strip()]
        try:
            column = mapping.lc.key(keys[1])[1]
        except (KeyError, TypeError, AttributeError):
            column = 0
        if lines:
            mapping.yaml_set_comment_before_after_key(
                keys[1], before="\n".join(lines), indent=column
            )
