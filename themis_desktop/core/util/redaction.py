"""Redaction of tokens: a registry of the known ones, and the heuristic for the others.

Every token the app obtains — from the keyring, a prompt, a profile, an environment variable
— is registered here (`remember`); `redact(text)` replaces each registered token in `text`.
The journal applies it to every value it writes, the CLI to what it prints, the log file,
the report and the journal export to everything they show. `redact_token_like` is the
heuristic for tokens no one registered (a long random-looking word), for reports and
exports. Where tokens are kept is `connection.secrets`' business; it registers here what it
loads.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any, TextIO

REDACTED = "[redacted]"
# environment variables that hold tokens whenever they are set (the CLI's default, the
# server's own role tokens); `token_from_env` adds the ones named with --token-env
TOKEN_ENV_VARS = (
    "THEMIS_DESKTOP_TOKEN",
    "THEMIS_TOKEN_ADMIN",
    "THEMIS_TOKEN_READONLY",
    "THEMIS_TOKEN_ANALYST",
)
MIN_LENGTH = 4  # shorter values are too common to replace anywhere
WHOLE_WORD_BELOW = 8  # shorter tokens are replaced only as whole words ("adm" ≠ "admin")

_lock = threading.Lock()
_known: set[str] = set()
_env_names: list[str] = list(TOKEN_ENV_VARS)
_version = 0  # counts changes of `_known` and `_env_names`
_cache: tuple[Any, re.Pattern[str] | None] = (None, None)


def remember(token: str | None) -> None:
    """Register `token` as a secret: from now on `redact` removes it wherever it appears."""
    global _version
    if token and len(token.strip()) >= MIN_LENGTH:
        with _lock:
            if token not in _known:
                _known.update((token, token.strip()))
                _version += 1


def token_from_env(name: str | None) -> str | None:
    """The token in the environment variable `name` (None when unset), registered; the
    variable is watched from now on, so a later value is a secret too."""
    global _version
    if not name:
        return None
    with _lock:
        if name not in _env_names:
            _env_names.append(name)
            _version += 1
    value = os.environ.get(name) or None
    remember(value)
    return value


def _env_values() -> tuple[str, ...]:
    return tuple(os.environ.get(name, "") for name in _env_names)


def known_tokens() -> tuple[str, ...]:
    """Every registered token and the current value of every watched variable."""
    with _lock:
        known = set(_known)
        values = _env_values()
    known.update(v for value in values if len(v := value.strip()) >= MIN_LENGTH)
    return tuple(sorted(known, key=lambda t: (-len(t), t)))


def _spellings(token: str) -> set[str]:
    """The token as it may appear in text: as is, JSON-escaped, URL-encoded."""
    return {token, json.dumps(token)[1:-1], urllib.parse.quote(token, safe="")}


def _pattern() -> re.Pattern[str] | None:
    """One regular expression for all known tokens (rebuilt only when they change)."""
    global _cache
    with _lock:
        key = (_version, _env_values())
    cached_key, pattern = _cache
    if cached_key == key:
        return pattern
    spellings = {s for t in known_tokens() for s in _spellings(t)}
    parts = []
    for spelling in sorted(spellings, key=lambda s: (-len(s), s)):
        if len(spelling) < WHOLE_WORD_BELOW:
            parts.append(rf"(?<![A-Za-z0-9]){re.escape(spelling)}(?![A-Za-z0-9])")
        else:
            parts.append(re.escape(spelling))
    pattern = re.compile("|".join(parts)) if parts else None
    _cache = (key, pattern)
    return pattern


def redactor() -> Callable[[str], str] | None:
    """`redact` bound to the tokens known now, or None when none is: for callers that
    redact many values at once (the journal's statements)."""
    pattern = _pattern()
    if pattern is None:
        return None
    return lambda text: pattern.sub(REDACTED, text) if text else text


def redact(text: str) -> str:
    """`text` with every known token replaced by `[redacted]`."""
    if not text:
        return text
    pattern = _pattern()
    return pattern.sub(REDACTED, text) if pattern else text


# words split at dots and slashes: file names, paths, versions and host names are judged
# by their parts
_TOKEN_LIKE = re.compile(r"(?<![A-Za-z0-9_+=~-])[A-Za-z0-9_+=~-]{20,}(?![A-Za-z0-9_+=~-])")


def looks_like_token(word: str) -> bool:
    """A long random-looking word: ≥ 20 characters with upper- and lower-case letters and
    digits that change class often (an API token), unlike file names with time stamps,
    identifiers or checksums (hex checksums have no upper case)."""
    core = word.strip("=")
    if len(core) < 20:
        return False
    if not (re.search(r"[a-z]", core) and re.search(r"[A-Z]", core) and re.search(r"\d", core)):
        return False
    classes = [
        "a" if c.islower() else "A" if c.isupper() else "0" if c.isdigit() else None for c in core
    ]
    letters = [c for c in classes if c]
    changes = sum(1 for a, b in itertools.pairwise(letters) if a != b)
    return changes >= max(6, len(core) * 0.3)


def redact_token_like(text: str) -> str:
    """`text` with every word that `looks_like_token` replaced by `[redacted]`."""
    if not text or len(text) < 20:
        return text
    return _TOKEN_LIKE.sub(lambda m: REDACTED if looks_like_token(m.group(0)) else m.group(0), text)


class _RedactingStream:
    """A text stream that writes through another one with known tokens redacted."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def redacted_output() -> Iterator[None]:
    """While inside, `sys.stdout` and `sys.stderr` never show a known token."""
    saved = sys.stdout, sys.stderr
    sys.stdout = _RedactingStream(saved[0])
    sys.stderr = _RedactingStream(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
