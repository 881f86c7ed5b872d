"""The config advisor against the bundled catalogue, user catalogue entries, real files and
a real demo node (GET and POST /config)."""

from __future__ import annotations

from datetime import date

import pytest

from themis_desktop.core.config import advisor
from themis_desktop.core.config.file import MISSING, ConfigDocument
from themis_desktop.core.server import errors
from themis_desktop.core.server.client import ThemisClient
from themis_desktop.core.versions.catalogue_file import CatalogueError, load_catalogue
from themis_desktop.core.versions.releases import Catalogue

MEMTABLE = "storage.memtable_size_mb"
CONFIG_14 = """\
# node n1
server:
  port: 8765
storage:
  rocksdb_path: /var/lib/themisdb
{memtable}
features:
  retention:
    enabled: true
"""


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(with_user=False)


def _doc(tmp_path, memtable: str = "", name: str = "themis.yaml") -> ConfigDocument:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONFIG_14.format(memtable=memtable).replace("\n\n", "\n"))
    return ConfigDocument.load(path)


def _only(findings, key):
    found = [f for f in findings if f.key == key]
    assert len(found) == 1, findings
    return found[0]


def test_a_14_config_without_memtable_gets_the_new_default_silently(tmp_path, catalogue):
    findings = advisor.check(_doc(tmp_path), "1.5", catalogue, current="1.4.2")
    memtable = _only(findings, MEMTABLE)
    assert (memtable.kind, memtable.severity, memtable.since) == (
        "default-changed",
        "changes",
        "1.5",
    )
    assert memtable.current is MISSING and memtable.recommended == 512 and memtable.applicable
    assert "128" in memtable.reason and "keep the old behaviour" in memtable.reason
    assert not advisor.breaking(findings)


@pytest.mark.parametrize(
    ("value", "severity", "recommended"),
    [(128, "recommended", 512), (1024, "info", 1024)],
)
def test_a_set_memtable_is_advised_by_its_value(tmp_path, catalogue, value, severity, recommended):
    doc = _doc(tmp_path, f"  memtable_size_mb: {value}")
    memtable = _only(advisor.check(doc, "1.5", catalogue, current="1.4"), MEMTABLE)
    assert memtable.severity == severity and memtable.recommended == recommended
    assert memtable.current == value
    assert memtable.applicable is (severity != "info")


def test_a_node_already_on_the_line_gets_no_default_finding(tmp_path, catalogue):
    assert advisor.check(_doc(tmp_path), "1.5", catalogue, current="1.5.0") == []
    assert advisor.check(_doc(tmp_path, "  memtable_size_mb: 512"), "1.5", catalogue) == []


def test_a_flat_legacy_config_path_warns_with_the_days_left_then_breaks(tmp_path, catalogue):
    doc = _doc(tmp_path, name="config/config.yaml")
    path = tmp_path / "config" / "config.yaml"
    before = advisor.check(
        doc, "1.7", catalogue, current="1.5", config_path=path, today=date(2026, 12, 1)
    )
    layout = _only(before, str(path))
    assert (layout.kind, layout.severity, layout.since) == ("legacy-path", "changes", "1.7")
    assert layout.recommended == str(tmp_path / "config" / "core" / "config.yaml")
    assert "31 more days" in layout.reason and not layout.applicable
    assert not advisor.breaking(before)

    after = advisor.check(
        doc, "1.7", catalogue, current="1.5", config_path=path, today=date(2027, 1, 1)
    )
    assert _only(after, str(path)).severity == "breaks" and advisor.breaking(after)
    # the node already runs 1.7 and goes to 1.8: the legacy path still counts
    later = advisor.check(
        doc, "1.8", catalogue, current="1.7.0", config_path=path, today=date(2027, 1, 1)
    )
    assert _only(later, str(path)).severity == "breaks"
    # before the layout line it is not a finding; nor is a path outside a config/ folder
    assert advisor.check(doc, "1.5", catalogue, current="1.4", config_path=path)[0].key == MEMTABLE
    elsewhere = advisor.check(doc, "1.8", catalogue, config_path=tmp_path / "themis.yaml")
    assert MEMTABLE in [f.key for f in elsewhere]
    assert not [f for f in elsewhere if f.kind == "legacy-path"]


def test_a_value_naming_a_flat_file_is_rewritten_to_its_new_place(tmp_path, catalogue):
    doc = _doc(tmp_path, "  memtable_size_mb: 512")
    doc.set("features.retention.policies_path", "./config/retention_policies.yaml")
    doc.set("features.other_path", "./config/not_in_the_mapping.yaml")
    findings = advisor.check(doc, "1.7", catalogue, current="1.5", today=date(2026, 11, 26))
    policies = _only(findings, "features.retention.policies_path")
    assert policies.recommended == "./config/data_management/retention_policies.yaml"
    assert policies.applicable and policies.severity == "changes"
    other = _only(findings, "features.other_path")
    assert not other.applicable and other.recommended is MISSING
    changed = advisor.apply(doc, findings, [policies.id, other.id])
    assert changed.get("features.retention.policies_path") == policies.recommended
    assert changed.get("features.other_path") == "./config/not_in_the_mapping.yaml"


def test_applying_picked_findings_changes_only_those_keys(tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        'lines:\n  - line: "3.0"\n    releases:\n      - {version: 3.0.0}\n    config:\n'
        "      - {key: storage.memtable_size_mb, change: default, old: 512, new: 1024}\n"
        "      - {key: server.old_threads, change: renamed, to: server.worker_threads}\n"
        "      - {key: features.legacy_flag, change: removed, severity: breaks}\n"
        "      - {key: features.new_flag, change: added, new: true}\n"
    )
    catalogue = load_catalogue(extra)
    doc = _doc(tmp_path, "  memtable_size_mb: 128")
    doc.set("server.old_threads", 16)
    doc.set("features.legacy_flag", "on")
    findings = advisor.check(doc, "3.0", catalogue, current="1.4")
    by_key = {f.key: f for f in findings}
    assert by_key[MEMTABLE].severity == "recommended" and by_key[MEMTABLE].recommended == 1024
    assert by_key["server.old_threads"].severity == "breaks"
    assert by_key["features.legacy_flag"].severity == "breaks"
    assert by_key["features.new_flag"].severity == "info"
    assert [f.severity for f in findings] == sorted(
        (f.severity for f in findings), key=advisor.SEVERITIES.index
    )

    picked = ["server.old_threads", "features.legacy_flag"]
    after = advisor.apply(doc, findings, picked)
    assert after.get("server.worker_threads") == 16 and not after.has("server.old_threads")
    assert not after.has("features.legacy_flag")
    assert after.get(MEMTABLE) == 128 and not after.has("features.new_flag")  # not picked
    assert doc.get("server.old_threads") == 16  # the original document is untouched
    rows = {row.key: row for row in advisor.diff_rows(doc, findings)}
    assert rows["server.old_threads"].recommended == "server.worker_threads: 16"
    assert rows["features.legacy_flag"].recommended == "(remove)"
    assert rows["features.new_flag"].current == "(not set)"


def test_apply_to_file_writes_atomically_and_keeps_the_old_file(tmp_path, catalogue):
    doc = _doc(tmp_path)
    path = tmp_path / "themis.yaml"
    before = path.read_text()
    findings = advisor.check(doc, "1.5", catalogue, current="1.4")
    backup = advisor.apply_to_file(path, findings, [MEMTABLE])
    assert backup.read_text() == before
    text = path.read_text()
    assert text.startswith("# node n1\n") and "  memtable_size_mb: 512\n" in text
    assert ConfigDocument.load(path).get(MEMTABLE) == 512
    with pytest.raises(ValueError, match="no finding"):
        advisor.apply_to_file(path, findings, ["nope"])


def test_a_newer_node_than_the_target_is_refused(tmp_path, catalogue):
    with pytest.raises(ValueError, match="newer than the target"):
        advisor.check(_doc(tmp_path), "1.5", catalogue, current="1.8.0")


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("{key: a.b, change: moved}", "'change' must be one of"),
        ("{change: default, old: 1, new: 2}", "needs its 'key'"),
        ("{key: a.b, change: renamed}", "needs 'to'"),
        ("{key: a.b, change: default, new: 2}", "needs 'old' and 'new'"),
        ("{key: a.b, change: removed, severity: fatal}", "'severity' must be one of"),
        ("{change: layout, legacy_until: soon}", "'legacy_until' must be a date"),
    ],
)
def test_a_bad_config_entry_in_a_catalogue_names_its_line(tmp_path, entry, reason):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f'lines:\n  - line: "3.0"\n    releases:\n      - {{version: 3.0.0}}\n'
        f"    config:\n      - {entry}\n"
    )
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(bad)
    assert caught.value.line == 6 and reason in caught.value.reason


def test_a_demo_nodes_running_config_is_checked_and_posted_where_the_node_takes_it(
    start_demo_node, catalogue, tmp_path
):
    """GET /config answers in the server's own names; POST /config takes only run-time
    settings: the memtable must go to the file (reported), a feature flag is taken."""
    node = start_demo_node("1.4.0", tokens={"admin": "adm", "readonly": "ro"})
    before = node.config_path.read_text()
    with ThemisClient(node.url, "adm") as client:
        doc = ConfigDocument.from_mapping(client.config())
        assert doc.note  # values there may be defaults rather than the file's
        current = client.version().version
        findings = advisor.check(doc, "1.5", catalogue, current=current)
        memtable = _only(findings, MEMTABLE)
        assert memtable.current == 128 and memtable.severity == "recommended"
        result = advisor.apply_to_server(client, findings, [MEMTABLE])
        assert "did not take it" in result.not_applied[MEMTABLE]
        assert client.config()["rocksdb"]["memtable_size_mb"] == 128
    assert node.config_path.read_text() == before  # the file is the place for this one

    extra = tmp_path / "extra.yaml"
    extra.write_text(
        'lines:\n  - line: "3.0"\n    releases:\n      - {version: 3.0.0}\n    config:\n'
        "      - {key: features.cdc, change: default, old: false, new: true}\n"
    )
    with ThemisClient(node.url, "adm") as client:
        doc = ConfigDocument.from_mapping(client.config())
        findings = advisor.check(doc, "3.0", load_catalogue(extra), current="2.4.0")
        result = advisor.apply_to_server(client, findings, ["features.cdc"])
        assert result.posted == {"features.cdc": True} and not result.not_applied
        assert client.config()["features"]["cdc"] is True
    with ThemisClient(node.url, "ro") as readonly, pytest.raises(errors.Forbidden):
        advisor.apply_to_server(readonly, findings, ["features.cdc"])


def test_a_removal_cannot_be_posted_and_is_reported(start_demo_node, tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        'lines:\n  - line: "3.0"\n    releases:\n      - {version: 3.0.0}\n    config:\n'
        "      - {key: features.llm_store, change: removed}\n"
    )
    node = start_demo_node("1.7.3")
    with ThemisClient(node.url) as client:
        doc = ConfigDocument.from_mapping(client.config())
        findings = advisor.check(doc, "3.0", load_catalogue(extra), current="1.7.3")
        result = advisor.apply_to_server(client, findings, ["features.llm_store"])
        assert result.posted == {} and "cannot remove" in result.not_applied["features.llm_store"]
        assert client.config()["features"]["llm_store"] is False


def test_the_runtime_shape_of_a_real_server_is_mapped_to_file_keys():
    doc = ConfigDocument.from_mapping(
        {
            "server": {"port": 8765, "threads": 8},
            "rocksdb": {"db_path": "/data", "memtable_size_mb": 128, "compression_default": "lz4"},
            "runtime": {"db_size_bytes": 1},
        }
    )
    assert doc.get(MEMTABLE) == 128 and doc.get("storage.rocksdb_path") == "/data"
    assert doc.get("server.worker_threads") == 8 and not doc.has("runtime")
    assert doc.get("storage.compression.default") == "lz4" and "effective" in doc.note


# -- issue 18, item 5: config facts from upstream (makr-code/ThemisDB) --------------------

# flat name → place below config/, as src/config/config_path_resolver.cpp and
# config/MIGRATION_GUIDE.md map them
RESOLVER_MOVES = {
    "lora_training_config.yaml": "ai_ml/lora_training_config.yaml",
    "rag_judge.yaml": "ai_ml/rag_judge.yaml",
    "voice_assistant.yaml": "ai_ml/voice_assistant.yaml",
    "config.rpi3.json": "platform/rpi3.json",
    "config.rpi5.json": "platform/rpi5.json",
    "config.qnap.json": "platform/qnap.json",
    "config_multi_ssd.yaml": "performance/config_multi_ssd.yaml",
    "config_2ssd_performance.yaml": "performance/config_2ssd_performance.yaml",
    "community_license.default.json": "licensing/community/default.json",
    "license_community_default.json": "licensing/community/default.json",  # the guide's name
    "enterprise_license.example.json": "licensing/enterprise/example.json",
    "license_enterprise_test.json": "licensing/enterprise/test.json",  # the shipped file
}


@pytest.mark.parametrize(("name", "moved"), RESOLVER_MOVES.items())
def test_the_17_layout_knows_every_file_upstreams_resolver_moves(tmp_path, catalogue, name, moved):
    """The config file itself and a value naming the flat file get the exact new place."""
    path = tmp_path / "config" / name
    path.parent.mkdir(parents=True)
    path.write_text('{"server": {"port": 8765}}\n' if name.endswith(".json") else "a: 1\n")
    doc = ConfigDocument.load(path)
    doc.set("features.other.path", f"./config/{name}")
    findings = advisor.check(
        doc, "1.7", catalogue, current="1.5", config_path=path, today=date(2026, 11, 1)
    )
    assert _only(findings, str(path)).recommended == str(tmp_path / "config" / moved)
    value = _only(findings, "features.other.path")
    assert value.recommended == f"./config/{moved}" and value.applicable


WRITE_BUFFERS = {
    "rocksdb.max_write_buffer_number": (3, 6),
    "rocksdb.db_write_buffer_size_mb": (0, 2048),
    "rocksdb.enable_async_io": (False, True),
    "rocksdb.async_io_readahead_size_mb": (64, 128),
}


def test_the_17_write_buffer_defaults_are_built_in_and_cannot_be_kept_by_the_file(
    tmp_path, catalogue
):
    """Upstream's loader reads no key for them (src/main_server.cpp); the RocksDB wrapper's
    defaults move with the release after 1.5.0 (include/storage/rocksdb_wrapper.h)."""
    doc = _doc(tmp_path, "  memtable_size_mb: 512")
    findings = advisor.check(doc, "1.7", catalogue, current="1.5.0")
    for key, (old, new) in WRITE_BUFFERS.items():
        found = _only(findings, key)
        assert (found.kind, found.severity, found.since) == ("built-in-default", "changes", "1.7")
        assert found.current is MISSING and found.recommended == new and not found.applicable
        assert advisor.action(found) == "keep" and advisor.value_text(old) in found.reason
        assert "no key of the config file" in found.reason
    rows = {r.key: r for r in advisor.diff_rows(doc, findings)}
    row = rows["rocksdb.max_write_buffer_number"]
    assert (row.current, row.recommended) == ("(no file key)", "6 (built in)")
    with pytest.raises(ValueError, match="none of the picked"):
        advisor.apply_to_file(tmp_path / "themis.yaml", findings, list(WRITE_BUFFERS))
    assert not any(
        f.key in WRITE_BUFFERS for f in advisor.check(doc, "1.8", catalogue, current="1.7.0")
    )


def test_a_running_nodes_reported_write_buffers_are_compared_to_the_new_default(catalogue):
    """GET /config reports the built-in settings under `rocksdb.` (era A http_server.cpp)."""
    old = ConfigDocument.from_mapping(
        {"rocksdb": {"db_path": "/d", "max_write_buffer_number": 3, "enable_async_io": True}}
    )
    findings = advisor.check(old, "1.7", catalogue, current="1.5.0")
    buffers = _only(findings, "rocksdb.max_write_buffer_number")
    assert buffers.current == 3 and "The node reports 3" in buffers.reason
    assert not [f for f in findings if f.key == "rocksdb.enable_async_io"]  # already the new


def test_the_18_hop_brings_the_zstd_stream_writer_and_the_versioned_routing_keys(
    tmp_path, catalogue
):
    """docs/migration/v1.7-to-v1.8.md: BC-2 and its configuration diff."""
    findings = advisor.check(_doc(tmp_path), "1.8", catalogue, current="1.7.0")
    writer = _only(findings, "storage.stream_writer.compression")
    assert (writer.kind, writer.severity, writer.recommended) == (
        "default-changed",
        "changes",
        "zstd",
    )
    assert "zlib" in writer.reason and "every node runs 1.8" in writer.reason
    for key in (
        "server.versioned_routing.enabled",
        "server.versioned_routing.redirect_unversioned",
    ):
        added = _only(findings, key)
        assert (added.kind, added.severity, added.recommended, added.since) == (
            "added", "info", True, "1.8",
        )  # fmt: skip
    assert _only(findings, "cache.predictive_prefetch.enabled").recommended is True
    kept = _doc(tmp_path, "  stream_writer:\n    compression: zlib")
    rolling = _only(advisor.check(kept, "1.8", catalogue, current="1.7"), writer.key)
    assert rolling.severity == "recommended" and rolling.current == "zlib"


def test_every_config_entry_of_the_bundled_catalogue_names_its_upstream_source():
    import yaml

    from themis_desktop.core.util.resources import resource

    data = yaml.safe_load(resource("releases.yaml").read_text())
    entries = [(line["line"], c) for line in data["lines"] for c in line.get("config") or []]
    assert len(entries) >= 10
    for line, entry in entries:
        assert entry.get("source"), (line, entry.get("key") or entry["change"])
        assert all(
            isinstance(s, str) and s.endswith((".md", ".cpp", ".h")) for s in entry["source"]
        )


# keys upstream's loader reads (src/main_server.cpp, both eras); `storage.wal_dir` and the
# `features.enable_*` / `vector_index.enabled` keys are not among them
LOADER_KEYS = {
    "server": {"host", "port", "worker_threads"},
    "storage": {
        "rocksdb_path", "memtable_size_mb", "block_cache_size_mb", "enable_blobdb",
        "compression", "enable_high_parallel_tuning", "high_parallel_thread_threshold",
    },
    "features": {"semantic_cache", "llm_store", "cdc", "timeseries", "retention"},
    "vector_index": {
        "object_name", "dimension", "metric", "hnsw_m", "hnsw_ef_construction", "ef_search",
        "load_on_startup", "save_on_shutdown", "save_path",
    },
    "tracing": {"enabled", "service_name", "otlp_endpoint"},
}  # fmt: skip


@pytest.mark.parametrize("version", ["1.2.0", "1.4.2", "1.8.0"])
def test_a_demo_nodes_config_file_holds_only_keys_upstream_reads(start_demo_node, version):
    import yaml

    node = start_demo_node(version)
    cfg = yaml.safe_load(node.config_path.read_text())
    assert set(cfg) <= set(LOADER_KEYS)
    for section, keys in LOADER_KEYS.items():
        assert set(cfg[section]) <= keys, section
    assert set(cfg["features"]) >= {"semantic_cache", "llm_store", "cdc", "timeseries"}
    era_b = version >= "1.5"
    assert ("enable_high_parallel_tuning" in cfg["storage"]) is era_b
    policies = cfg["features"]["retention"]["policies_path"]
    assert ("data_management/" in policies) is (version >= "1.7")
    with ThemisClient(node.url) as client:  # the running node still reports where its WAL is
        assert client.config()["rocksdb"]["wal_dir"] == str(node.data_path)
