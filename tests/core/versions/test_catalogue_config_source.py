"""A config change's `source` (the upstream files it was read from) is loaded like a release's."""

from __future__ import annotations

import pytest

from themis_desktop.core.versions.catalogue_file import CatalogueError, load_catalogue


def _write(tmp_path, entry: str):
    path = tmp_path / "extra.yaml"
    path.write_text(
        f'lines:\n  - line: "3.0"\n    releases:\n      - {{version: 3.0.0}}\n'
        f"    config:\n      - {entry}\n"
    )
    return path


def test_the_bundled_catalogue_keeps_each_config_changes_source():
    line = load_catalogue(None).line((1, 7))
    assert line is not None
    change = next(c for c in line.config_changes if c.key == "rocksdb.db_write_buffer_size_mb")
    assert change.source == ("include/storage/rocksdb_wrapper.h", "CHANGELOG.md")


def test_a_single_source_and_none_load(tmp_path):
    one = load_catalogue(_write(tmp_path, "{key: a.b, change: added, new: 1, source: x.cpp}"))
    assert one.line((3, 0)).config_changes[0].source == ("x.cpp",)
    none = load_catalogue(_write(tmp_path, "{key: a.b, change: added, new: 1}"))
    assert none.line((3, 0)).config_changes[0].source == ()


def test_a_source_that_is_not_text_names_its_line(tmp_path):
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(_write(tmp_path, "{key: a.b, change: added, new: 1, source: [1, 2]}"))
    assert caught.value.line == 6 and "'source' must be" in caught.value.reason
