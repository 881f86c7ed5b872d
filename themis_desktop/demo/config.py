"""The node's `config.yaml`: real ThemisDB keys, defaults per version, merge and rewrite."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from themis_desktop.demo.versions import VersionInfo


def default_config(info: VersionInfo, data_dir: Path, host: str, port: int) -> dict[str, Any]:
    """A fresh config as a ThemisDB package would ship it, pointed at this node's folder."""
    return {
        "server": {
            "host": host,
            "port": port,
            "worker_threads": 8,
            "request_timeout_ms": 30000,
            "max_request_size_mb": 10,
        },
        "storage": {
            "rocksdb_path": str(data_dir / "data"),
            "wal_dir": str(data_dir / "data"),
            "memtable_size_mb": info.memtable_default_mb,
            "block_cache_size_mb": 256,
            "max_background_jobs": 4,
            "target_file_size_base_mb": 64,
            "enable_wal": True,
            "compression": {"default": "lz4", "bottommost": "zstd"},
        },
        "features": {
            "enable_vector_index": True,
            "enable_graph_index": True,
            "enable_timeseries": True,
            "enable_change_data_capture": False,
            "enable_update_checker": info.era == "B",
        },
        "vector_index": {
            "enabled": True,
            "dimension": 384,
            "metric": "cosine",
            "save_path": str(data_dir / "vector_index"),
            "auto_save": True,
        },
        "tracing": {
            "enabled": False,
            "service_name": "themis_server",
            "exporter": "otlp",
            "otlp_endpoint": "http://localhost:4318",
            "sample_rate": 0.1,
        },
        "logging": {"level": "info", "file": str(data_dir / "themis_server.log")},
    }


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
    """Write `config` as YAML, atomically (temp file + rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    os.replace(tmp, path)


def effective(
    info: VersionInfo, data_dir: Path, host: str, port: int, existing: dict[str, Any]
) -> dict[str, Any]:
    """Config to run with: the file's own values win, runtime facts (bind, paths) are set."""
    config = merge(default_config(info, data_dir, host, port), existing)
    config["server"]["host"] = host
    config["server"]["port"] = port
    config["storage"]["rocksdb_path"] = str(data_dir / "data")
    config["storage"]["wal_dir"] = str(data_dir / "data")
    config["vector_index"]["save_path"] = str(data_dir / "vector_index")
    return config
