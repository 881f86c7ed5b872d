"""Turn raw log text into classified lines: ThemisDB's own spdlog lines (its pattern or its
JSON format), journald's JSON export, and anything else by its level words. Also the
signature that groups repeats."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

LEVELS = ("critical", "error", "warning", "info", "debug")  # most severe first
RANK = {level: i for i, level in enumerate(LEVELS)}

# spdlog pattern of the server: "[%Y-%m-%d %H:%M:%S.%e] [%n] [%^%l%$] [thread %t] %v"
_THEMIS_RE = re.compile(
    r"^\[(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?)\]\s+"
    r"(?:\[([^\]]*)\]\s+)?\[(\w+)\]\s+(?:\[thread (\d+)\]\s+)?(.*)$"
)
# The server's JSON pattern (upstream src/utils/logger.cpp, Logger::initJson, era B):
# {"ts":"%Y-%m-%dT%H:%M:%S.%e","logger":"%n","level":"%l","thread":%t,"msg":"%v"}. spdlog
# puts the message in unescaped, so a message with a quote is not valid JSON: matched as text.
_THEMIS_JSON_RE = re.compile(
    r'^\{"ts":"([^"]*)",(?:"logger":"[^"]*",)?"level":"(\w+)",(?:"thread":"?(\d+)"?,)?'
    r'"msg":"(.*)"\}\s*$'
)
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_LEVEL_WORDS = {
    "trace": "debug",
    "debug": "debug",
    "info": "info",
    "notice": "info",
    "warn": "warning",
    "warning": "warning",
    "err": "error",
    "error": "error",
    "critical": "critical",
    "crit": "critical",
    "fatal": "critical",
    "alert": "critical",
    "emerg": "critical",
    "panic": "critical",
}
_GUESS_RE = re.compile(
    r"\b(FATAL|CRITICAL|PANIC|ERROR|ERR|WARNING|WARN|INFO|DEBUG|TRACE)\b", re.IGNORECASE
)
# journald PRIORITY (syslog severity) → our level
_PRIORITY = {0: "critical", 1: "critical", 2: "critical", 3: "error", 4: "warning"}
_SIGNATURE_RES = (
    (re.compile(r"\b[0-9a-f]{8,}\b", re.IGNORECASE), "<hex>"),
    (re.compile(r"(['\"]).*?\1"), "<str>"),
    (re.compile(r"(?:/[\w.@:+-]+)+/?"), "<path>"),
    (re.compile(r"(?<![A-Za-z])[-+]?\d+(?:\.\d+)?"), "<n>"),
)


@dataclass(frozen=True)
class LogLine:
    """One classified log line. `ts` is Unix time (the line's own stamp when it has one,
    else when it was read); `source_ts` says which."""

    node: str
    ts: float
    level: str
    message: str
    raw: str
    source_ts: bool = True
    thread: str | None = None

    @property
    def signature(self) -> str:
        return signature(self.message)

    @property
    def at_least_warning(self) -> bool:
        return RANK[self.level] <= RANK["warning"]


def normalize_level(word: str) -> str | None:
    return _LEVEL_WORDS.get(word.strip().lower())


def _local_stamp(text: str) -> float | None:
    """spdlog stamps are the server's local time without a zone: read them as this host's."""
    try:
        return datetime.fromisoformat(text.replace(" ", "T")).timestamp()
    except ValueError:
        return None


def parse_themis(node: str, text: str, now: float) -> LogLine | None:
    """A line in the server's own format, or None if it is not one."""
    match = _THEMIS_RE.match(text)
    if not match:
        return None
    stamp, _logger, word, thread, message = match.groups()
    level = normalize_level(word)
    if level is None:
        return None
    ts = _local_stamp(stamp)
    if ts is None:
        return LogLine(node, now, level, message, text, False, thread)
    return LogLine(node, ts, level, message, text, True, thread)


def parse_themis_json(node: str, text: str, now: float) -> LogLine | None:
    """A line of the server's JSON log format, or None if it is not one."""
    match = _THEMIS_JSON_RE.match(text)
    if not match:
        return None
    stamp, word, thread, message = match.groups()
    level = normalize_level(word)
    if level is None:
        return None
    ts = _local_stamp(stamp)
    return LogLine(node, now if ts is None else ts, level, message, text, ts is not None, thread)


def parse_own(node: str, text: str, now: float) -> LogLine | None:
    """A line in either of the server's own formats (pattern or JSON), else None."""
    return parse_themis(node, text, now) or parse_themis_json(node, text, now)


def guess_level(text: str) -> str:
    """The level of a line in no known format: its first level word, else info."""
    match = _GUESS_RE.search(text)
    return (normalize_level(match.group(1)) or "info") if match else "info"


def parse_plain(node: str, text: str, now: float) -> LogLine:
    """Any text line: the server's format if it is one, else classified by its words."""
    text = _ANSI_RE.sub("", text.rstrip("\r\n"))
    found = parse_own(node, text, now)
    if found:
        return found
    return LogLine(node, now, guess_level(text), text, text, source_ts=False)


def parse_journald(node: str, text: str, now: float) -> LogLine:
    """One record of `journalctl -o json`. The server's own level inside MESSAGE wins over
    PRIORITY (systemd logs all of stdout at the unit's default priority)."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        return parse_plain(node, text, now)
    if not isinstance(record, dict):
        return parse_plain(node, text, now)
    message = record.get("MESSAGE", "")
    if isinstance(message, list):  # journald exports non-UTF-8 messages as byte arrays
        message = bytes(b for b in message if isinstance(b, int) and 0 <= b < 256).decode(
            "utf-8", errors="replace"
        )
    message = _ANSI_RE.sub("", str(message))
    try:
        ts = int(record["__REALTIME_TIMESTAMP"]) / 1e6
        from_source = True
    except (KeyError, ValueError, TypeError):
        ts, from_source = now, False
    own = parse_own(node, message, now)
    if own:
        return LogLine(node, ts, own.level, own.message, message, from_source, own.thread)
    try:
        priority = int(record.get("PRIORITY", 6))
    except (TypeError, ValueError):
        priority = 6
    level = _PRIORITY.get(priority) or ("debug" if priority >= 7 else guess_level(message))
    return LogLine(node, ts, level, message, message, from_source)


def signature(message: str) -> str:
    """The message with numbers, ids, quoted text and paths replaced: repeats of one
    message with other values share it."""
    for pattern, placeholder in _SIGNATURE_RES:
        message = pattern.sub(placeholder, message)
    return message


def format_ts(ts: float) -> str:
    """A line's time for display: local, to the millisecond."""
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
