"""The node's `config.yaml`: real ThemisDB keys, defaults per version, merge and rewrite."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from themis_desktop.demo.versions import VersionInfo


def default_config(info: VersionInfo, data_dir: Path, host: str, port: int) -> dict[str, Any]:
    """A fresh config as a ThemisDB package would ship it, pointed at this node's folder.

    Only keys upstream's loader reads (src/main_server.cpp: era A at e975014, era B from
    1.5), in the shape of upstream's config/config.json: nothing the server would ignore."""
    storage: dict[str, Any] = {
        "rocksdb_path": str(data_dir / "data"),
        "memtable_size_mb": info.memtable_default_mb,
        "block_cache_size_mb": 256,
        "enable_blobdb": False,
        "compression": {"default": "lz4", "bottommost": "zstd"},
    }
    if (info.major, info.minor) >= (1, 5):  # the high-parallel tuning keys of era B's loader
        storage["enable_high_parallel_tuning"] = False
        storage["high_parallel_thread_threshold"] = 16
    return {
        "server": {"host": host, "port": port, "worker_threads": 8},
        "storage": storage,
        # the four run-time feature flags (default off), and the retention worker's settings
        "features": {
            "semantic_cache": False,
            "llm_store": False,
            "cdc": False,
            "timeseries": False,
            "retention": {
                "enabled": False,
                "interval_hours": 24,
                "policies_path": _retention_policies(info),
            },
        },
        "vector_index": {
            "object_name": "documents",
            "dimension": 384,
            "metric": "COSINE",
            "hnsw_m": 16,
            "hnsw_ef_construction": 200,
            "ef_search": 64,
            "save_path": str(data_dir / "vector_index"),
            "load_on_startup": True,
            "save_on_shutdown": True,
        },
        "tracing": {
            "enabled": False,
            "service_name": "themis_server",
            "otlp_endpoint": "http://localhost:4318",
        },
    }


def _retention_policies(info: VersionInfo) -> str:
    """Flat until 1.7 moves config files into categories (upstream's
    config_path_resolver.cpp and config/MIGRATION_GUIDE.md name the new place)."""
    if (info.major, info.minor) >= (1, 7):
        return "./config/data_management/retention_policies.yaml"
    return "./config/retention_policies.yaml"


# Settings the running node derives rather than reads from the file: upstream's RocksDB
# wrapper puts the WAL beside the data when its wal_dir is empty, and GET /config reports it
# (`rocksdb.wal_dir`). They are in the running config, never written to the file.
DERIVED = (("storage", "wal_dir"),)


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `update` into a copy of `base` (nested dicts merge, other values replace)."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load(path: Path) -> dict[str, Any]:
    """The YAML mapping in `path`, or {} when missing, empty or not a mapping."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def save(path: Path, config: dict[str, Any]) -> None:
    """Write `config` as YAML, atomically (temp file + rename), without the DERIVED settings."""
    config = copy.deepcopy(config)
    for section, key in DERIVED:
        if isinstance(config.get(section), dict):
            config[section].pop(key, None)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    os.replace(tmp, path)


def effective(
    info: VersionInfo, data_dir: Path, host: str, port: int, existing: dict[str, Any]
) -> dict[str, Any]:
    """Config to run with: the file's own values win, runtime facts (bind, paths) are set,
    and the DERIVED settings are added (the WAL lives beside the data)."""
    config = merge(default_config(info, data_dir, host, port), existing)
    config["server"]["host"] = host
    config["server"]["port"] = port
    config["storage"]["rocksdb_path"] = str(data_dir / "data")
    config["storage"]["wal_dir"] = str(data_dir / "data")
    config["vector_index"]["save_path"] = str(data_dir / "vector_index")
    return config
