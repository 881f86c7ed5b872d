"""A node's config document (YAML kept round-trip, or JSON) and its atomic rewrite."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from themis_desktop.core.config import yaml_comments
from themis_desktop.core.errors import ThemisDesktopError
from themis_desktop.core.util import atomic_file, bounded_parse

JSON_SUFFIXES = (".json",)
LIMITS = bounded_parse.Limits()  # size, depth, aliases and digits of a config file


class _Missing:
    """The marker of a key that is not in the config."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __copy__(self) -> _Missing:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Missing:
        return self


MISSING: Any = _Missing()


class ConfigError(ThemisDesktopError, ValueError):
    """A config file cannot be read, parsed or written: names the file, line and reason."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {reason}")


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments, key order, quotes survive
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long values
    return yaml


class ConfigDocument:
    """The settings of one node, addressed by dotted keys (`storage.memtable_size_mb`)."""

    def __init__(
        self,
        data: dict[str, Any],
        *,
        source: str,
        fmt: str = "yaml",
        path: Path | None = None,
        indent: tuple[int, int, int] = (2, 2, 0),
    ) -> None:
        self.data = data
        self.source = source
        self.fmt = fmt
        self.path = path
        self._indent = indent  # yaml: mapping, sequence, offset; json: (n, n, 0)
        self.note = ""  # a caveat about where the values come from

    # -- reading ------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | str) -> ConfigDocument:
        """Read a .yaml/.yml (round-trip) or .json config; ConfigError with the line if bad."""
        path = Path(path)
        try:
            text = bounded_parse.read_text(path, LIMITS, "config file")
        except bounded_parse.InputError as exc:
            raise ConfigError(path, exc.line, exc.reason) from None
        return cls.parse(text, path)

    @classmethod
    def parse(cls, text: str, path: Path | str) -> ConfigDocument:
        """Parse `text` as the config file `path` would be parsed (within LIMITS)."""
        path = Path(path)
        try:
            bounded_parse.check_size(text, path, LIMITS, "config file")
            if path.suffix.lower() in JSON_SUFFIXES:
                return cls._parse_json(text, path)
            return cls._parse_yaml(text, path)
        except bounded_parse.InputError as exc:
            raise ConfigError(path, exc.line, exc.reason) from None

    @classmethod
    def _parse_json(cls, text: str, path: Path) -> ConfigDocument:
        data = bounded_parse.load_json(text, path, LIMITS)
        _check_mapping(data, path)
        width = re.search(r"\n( +)\S", text)
        n = len(width.group(1)) if width else 2
        return cls(data, source=str(path), fmt="json", path=path, indent=(n, n, 0))

    @classmethod
    def _parse_yaml(cls, text: str, path: Path) -> ConfigDocument:
        try:  # the events first: a bomb or a deep nest stops here, before anything is built
            bounded_parse.check_events(_yaml().parse(text), path, LIMITS)
            data = _yaml().load(text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            if exc.context_mark and re.search(r"stream end|end of stream", exc.problem or ""):
                mark = exc.context_mark  # an unclosed [ { or quote: where it was opened
            reason = " ".join(filter(None, (exc.problem, exc.context))) or str(exc)
            line = mark.line + 1 if mark else None
            raise ConfigError(path, line, f"not valid YAML: {reason}") from None
        except YAMLError as exc:
            raise ConfigError(path, None, f"not valid YAML: {exc}") from None
        except (ValueError, TypeError, OverflowError) as exc:
            if isinstance(exc, bounded_parse.InputError):
                raise
            raise ConfigError(path, None, f"a value cannot be read: {exc}") from None
        _check_mapping(data, path)
        return cls(data, source=str(path), fmt="yaml", path=path, indent=_guess_indent(text))

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], source: str = "GET /config", fmt: str = "yaml"
    ) -> ConfigDocument:
        """A document from a server's answer (shown as YAML unless `fmt` is "json").

        ThemisDB's own `GET /config` reports effective runtime settings under other names
        (`rocksdb.*`, `server.threads`): those the file can set are mapped to the file's keys
        (the other RocksDB settings stay `rocksdb.*`, built in), and `note` says that values
        there may be defaults rather than settings of the file."""
        if not isinstance(data, Mapping):
            raise ConfigError(source, None, "the config is not a mapping of settings")
        plain = copy.deepcopy(dict(data))
        doc = cls(plain, source=source, fmt=fmt)
        if isinstance(plain.get("rocksdb"), dict) and "storage" not in plain:
            doc = cls(_from_runtime_shape(plain), source=source, fmt=fmt)
            doc.note = RUNTIME_NOTE
        return doc

    def copy(self) -> ConfigDocument:
        return ConfigDocument(
            copy.deepcopy(self.data),
            source=self.source,
            fmt=self.fmt,
            path=self.path,
            indent=self._indent,
        )._noted(self.note)

    def _noted(self, note: str) -> ConfigDocument:
        self.note = note
        return self

    # -- dotted keys --------------------------------------------------------------

    def get(self, dotted: str) -> Any:
        """The value at `dotted`, or MISSING."""
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return MISSING
            node = node[part]
        return node

    def has(self, dotted: str) -> bool:
        return self.get(dotted) is not MISSING

    def set(self, dotted: str, value: Any) -> None:
        """Set `dotted` to `value`, creating the mappings on the way (new keys go last)."""
        parts = dotted.split(".")
        node = self.data
        for i, part in enumerate(parts[:-1]):
            if part not in node:
                for missing in reversed(parts[i + 1 :]):
                    value = self._mapping({missing: value})
                yaml_comments.append(node, part, value)
                return
            node = node[part]
            if not isinstance(node, dict):
                where = ".".join(parts[: i + 1])
                raise ConfigError(self.source, None, f"{dotted} cannot be set: {where} is a value")
        if parts[-1] in node:
            node[parts[-1]] = value
        else:
            yaml_comments.append(node, parts[-1], value)

    def delete(self, dotted: str) -> bool:
        """Remove `dotted` (and mappings it leaves empty); False when it was absent."""
        parts = dotted.split(".")
        chain = [self.data]
        for part in parts[:-1]:
            child = chain[-1].get(part)
            if not isinstance(child, dict):
                return False
            chain.append(child)
        if parts[-1] not in chain[-1]:
            return False
        depth = len(chain) - 1  # remove the outermost mapping that would be left empty
        while depth > 0 and len(chain[depth]) == 1:
            depth -= 1
        yaml_comments.remove(chain[depth], parts[depth])
        return True

    def _mapping(self, items: dict[str, Any]) -> dict[str, Any]:
        return CommentedMap(items) if self.fmt == "yaml" else dict(items)

    def flat(self) -> dict[str, Any]:
        """Every leaf value by its dotted key (lists and empty mappings are leaves)."""
        return dict(_leaves(self.data, ""))

    # -- writing ------------------------------------------------------------------

    def dumps(self) -> str:
        """The document as text in its own format (YAML keeps comments and order)."""
        if self.fmt == "json":
            return json.dumps(self.to_plain(), indent=self._indent[0], ensure_ascii=False) + "\n"
        yaml = _yaml()
        mapping, sequence, offset = self._indent
        yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        out = io.StringIO()
        yaml.dump(self.data, out)
        return out.getvalue()

    def to_plain(self) -> dict[str, Any]:
        """Plain dicts, lists and scalars (for JSON output and POST /config)."""
        return _plain(self.data)


RUNTIME_NOTE = (
    "The node answered with its effective settings (ThemisDB's runtime shape of GET /config), "
    "mapped here to the config file's key names: a value may be a built-in default rather than "
    "a setting of the file, so check the file itself before relying on these findings."
)
_RUNTIME_KEYS = {
    "rocksdb.db_path": "storage.rocksdb_path",
    "rocksdb.compression_default": "storage.compression.default",
    "rocksdb.compression_bottommost": "storage.compression.bottommost",
    "server.threads": "server.worker_threads",
}
# The `storage.` keys upstream's loader reads from the file into the RocksDB settings
# (src/main_server.cpp: era A at e975014, era B from 1.5 with the two tuning keys); every
# other RocksDB setting is built in. GET /config reports them all under `rocksdb.`.
FILE_STORAGE_KEYS = frozenset(
    {"rocksdb_path", "memtable_size_mb", "block_cache_size_mb", "enable_blobdb",
     "enable_high_parallel_tuning", "high_parallel_thread_threshold"}
)  # fmt: skip
BUILT_IN = "rocksdb."  # the prefix of a built-in setting (reported, never read from the file)


def built_in(dotted: str) -> bool:
    """Whether `dotted` names a built-in RocksDB setting rather than a config file key."""
    return dotted.startswith(BUILT_IN)


def _from_runtime_shape(data: dict[str, Any]) -> dict[str, Any]:
    """`{"rocksdb": {...}, "server": {"threads": ...}}` → the config file's key names."""
    out = ConfigDocument({}, source="runtime", fmt="json")
    for key, value in ConfigDocument(data, source="runtime", fmt="json").flat().items():
        section = key.split(".", 1)[0]
        if section in ("runtime", "metrics"):
            continue  # measurements, not settings
        if key in _RUNTIME_KEYS:
            key = _RUNTIME_KEYS[key]
        elif section == "rocksdb" and key.split(".", 1)[1] in FILE_STORAGE_KEYS:
            key = "storage." + key.split(".", 1)[1]  # the rest stays built in (`rocksdb.`)
        out.set(key, value)
    return out.data


def _guess_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) indents of a YAML text, as ruamel's `indent()` takes them."""
    mapping = sequence = offset = None
    parent: int | None = None  # the indent of the last `key:` line that opens a block
    for line in text.splitlines():
        body = line.lstrip(" ")
        if not body or body.startswith("#"):
            continue
        col = len(line) - len(body)
        if parent is not None and col > parent:
            if body.startswith("- ") and sequence is None:
                offset = col - parent
                sequence = offset + 2 + len(body[2:]) - len(body[2:].lstrip(" "))
            elif not body.startswith("-") and mapping is None:
                mapping = col - parent
        parent = col if body.split("#")[0].rstrip().endswith(":") else None
        if mapping and sequence:
            break
    mapping = mapping or 2
    return mapping, sequence or mapping, offset if offset is not None else 0


def _check_mapping(data: Any, path: Path) -> None:
    if data is None:
        raise ConfigError(path, 1, "the file is empty: expected a mapping of settings")
    if not isinstance(data, dict):
        name = "list" if isinstance(data, list) else type(data).__name__
        raise ConfigError(path, 1, f"the top level is a {name}, not a mapping of settings")


def _leaves(node: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    for key, value in node.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from _leaves(value, dotted + ".")
        else:
            yield dotted, value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def write_atomically(path: Path | str, text: str, *, keep_old: bool = True) -> Path | None:
    """Replace the config file `path` with `text` atomically, the old one kept as a `.bak`.

    The text must parse as that file's format; nothing is changed unless the final rename
    happens. Returns the backup's path. Failures are ConfigErrors saying nothing changed."""
    path = Path(path)
    try:
        ConfigDocument.parse(text, path)  # never write a file the server could not read
    except ConfigError as exc:
        reason = f"the new content would not parse ({exc.reason}): nothing was changed"
        raise ConfigError(path, exc.line, reason) from None
    try:
        backup = atomic_file.replace_text(path, text, keep_old=keep_old)
    except OSError as exc:
        raise ConfigError(path, None, atomic_file.failure_text(exc)) from None
    ConfigDocument.load(path)  # the written file reads back
    return backup
