"""Config documents: round trips that keep comments and order, errors with the line, and the
atomic rewrite that keeps the old file."""

from __future__ import annotations

import errno
import json
import os
import stat

import pytest

from themis_desktop.core.config.file import (
    MISSING,
    ConfigDocument,
    ConfigError,
    built_in,
    write_atomically,
)

YAML_TEXT = """\
# ThemisDB server configuration
server:
    host: 0.0.0.0   # listen on every interface
    port: 8765
storage:
    rocksdb_path: ./data/themis_server
    # the block cache is shared by every column family
    block_cache_size_mb: 256
    compression:
        default: lz4

# optional features
features:
    cdc: false
    paths:
        - a
        - b
"""


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_round_trip_keeps_comments_order_and_indent(tmp_path):
    doc = ConfigDocument.load(_write(tmp_path / "config.yaml", YAML_TEXT))
    assert doc.dumps() == YAML_TEXT
    assert doc.get("server.port") == 8765 and doc.get("storage.compression.default") == "lz4"
    assert doc.get("storage.memtable_size_mb") is MISSING and not doc.has("nope.at.all")
    assert list(doc.flat())[:3] == ["server.host", "server.port", "storage.rocksdb_path"]

    doc.set("storage.memtable_size_mb", 512)
    doc.set("server.port", 9000)
    text = doc.dumps()
    assert "    host: 0.0.0.0   # listen on every interface\n    port: 9000\n" in text
    # the new key joins its section, before the comment that belongs to the next one
    assert "        default: lz4\n    memtable_size_mb: 512\n\n# optional features\n" in text
    assert text.splitlines()[0] == "# ThemisDB server configuration"
    assert ConfigDocument.parse(text, "x.yaml").to_plain()["storage"]["memtable_size_mb"] == 512


def test_delete_keeps_the_comment_of_the_next_key_and_prunes_empty_sections(tmp_path):
    doc = ConfigDocument.load(_write(tmp_path / "config.yaml", YAML_TEXT))
    assert doc.delete("storage.rocksdb_path") and not doc.delete("storage.not_there")
    assert "    # the block cache is shared by every column family\n" in doc.dumps()
    doc.delete("storage.compression.default")
    assert not doc.has("storage.compression")  # left empty: removed too
    doc.set("new.section.key", True)
    assert doc.to_plain()["new"] == {"section": {"key": True}}


def test_json_round_trip_keeps_order_and_indent(tmp_path):
    text = json.dumps({"server": {"port": 8765}, "storage": {"rocksdb_path": "x"}}, indent=4)
    doc = ConfigDocument.load(_write(tmp_path / "config.json", text + "\n"))
    assert doc.dumps() == text + "\n"
    doc.set("storage.memtable_size_mb", 512)
    assert (
        doc.dumps()
        == json.dumps(
            {"server": {"port": 8765}, "storage": {"rocksdb_path": "x", "memtable_size_mb": 512}},
            indent=4,
        )
        + "\n"
    )


@pytest.mark.parametrize(
    ("name", "text", "line", "words"),
    [
        ("bad.yaml", "server:\n  port: 8765\n  host: [a, b\nstorage:\n  x: 1\n", 4, "YAML"),
        ("open.yaml", "server:\n  port: 1\n  host: [a\n", 3, "flow sequence"),
        ("quote.yaml", "server:\n  host: 'a\n  port: 1\n", 2, "YAML"),
        ("dup.yaml", "server:\n  port: 1\n  port: 2\n", 3, "duplicate key"),
        ("bad.json", '{\n  "server": {\n    "port": 8765,\n  }\n}\n', 4, "JSON"),
        ("list.yaml", "- a\n- b\n", 1, "not a mapping"),
        ("list.json", "[1, 2]", 1, "not a mapping"),
        ("empty.yaml", "", 1, "empty"),
    ],
)
def test_unparsable_config_names_the_line(tmp_path, name, text, line, words):
    path = _write(tmp_path / name, text)
    with pytest.raises(ConfigError) as caught:
        ConfigDocument.load(path)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: ") and words in str(caught.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        ConfigDocument.load(tmp_path / "absent.yaml")


def test_write_atomically_keeps_the_old_file_and_its_mode(tmp_path):
    path = _write(tmp_path / "config.yaml", YAML_TEXT)
    os.chmod(path, 0o640)
    doc = ConfigDocument.load(path)
    doc.set("storage.memtable_size_mb", 512)
    backup = write_atomically(path, doc.dumps())
    assert backup is not None and backup.parent == tmp_path
    assert backup.name.startswith("config.yaml.") and backup.name.endswith(".bak")
    assert backup.read_text() == YAML_TEXT
    assert ConfigDocument.load(path).get("storage.memtable_size_mb") == 512
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    second = write_atomically(path, doc.dumps())  # same second: a new name, never overwritten
    assert second != backup and backup.read_text() == YAML_TEXT
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_write_atomically_refuses_text_that_does_not_parse(tmp_path):
    path = _write(tmp_path / "config.yaml", YAML_TEXT)
    with pytest.raises(ConfigError, match=r":2: the new content would not parse .*nothing"):
        write_atomically(path, "server: [\n")
    assert path.read_text() == YAML_TEXT and len(list(tmp_path.iterdir())) == 1


def test_a_full_disk_changes_nothing_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = _write(tmp_path / "config.yaml", YAML_TEXT)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(ConfigError) as caught:
        write_atomically(path, YAML_TEXT.replace("8765", "9000"))
    assert "disk is full" in str(caught.value) and "nothing was changed" in str(caught.value)
    assert path.read_text() == YAML_TEXT
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]  # no temp file, no backup


def test_a_new_file_gets_the_usual_permissions_not_private_ones(tmp_path):
    from themis_desktop.core.util.atomic_file import replace_text

    umask = os.umask(0o022)
    try:
        assert replace_text(tmp_path / "hop.log", "line\n", keep_old=False) is None
    finally:
        os.umask(umask)
    assert (tmp_path / "hop.log").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["hop.log"]  # no temp file left


def test_only_the_rocksdb_settings_the_file_can_set_are_mapped_to_storage_keys():
    """Upstream's loader (src/main_server.cpp) reads a few `storage.` keys; the other RocksDB
    settings GET /config reports are built in and keep their `rocksdb.` names."""
    doc = ConfigDocument.from_mapping(
        {
            "rocksdb": {
                "db_path": "/data",
                "wal_dir": "/data",
                "memtable_size_mb": 512,
                "block_cache_size_mb": 256,
                "enable_blobdb": False,
                "enable_wal": True,
                "max_write_buffer_number": 3,
            }
        }
    )
    assert doc.get("storage.memtable_size_mb") == 512 and doc.get("storage.enable_blobdb") is False
    assert doc.get("storage.block_cache_size_mb") == 256
    for key in ("wal_dir", "enable_wal", "max_write_buffer_number"):
        assert not doc.has(f"storage.{key}") and doc.has(f"rocksdb.{key}"), key
    assert built_in("rocksdb.max_write_buffer_number") and not built_in("storage.memtable_size_mb")
