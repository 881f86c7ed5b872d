"""Generate a ThemisDB-like node (RocksDB data dir + config.yaml) of a given size, fast.

Layout under `root`:
  data/            CURRENT, IDENTITY, LOCK, LOG, MANIFEST-*, OPTIONS-*, a WAL (*.log),
                   SST files of 4-64 MiB, and `vector_index/NN/*.bin` small files (1-16 KiB)
  config.yaml
SST and WAL content is a mix of 64 KiB blocks: incompressible random bytes (values that are
already compressed: blobs, embeddings) and key/value records with sequential keys and
low-entropy values. Blocks are slices at random offsets of two pools made once with numpy
(48 MiB random, 32 MiB records), so 1 GiB is written at disk speed while no block repeats
within zstd's window. `RANDOM_SHARE` sets the mix: zstd -3 then gives about 2.5x overall.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BLOCK = 64 << 10
RANDOM_SHARE = 0.30
RANDOM_POOL = 48 << 20
RECORD_POOL = 32 << 20
RECORD = 128
MIB = 1 << 20


@dataclass(frozen=True)
class Node:
    root: Path
    data_dir: Path
    config: Path
    files: int  # regular files, config included
    bytes: int  # their total size


def _record_pool(rng: np.random.Generator, size: int) -> np.ndarray:
    """Key/value records as a RocksDB data block would hold them (uncompressed)."""
    n = size // RECORD
    template = (
        b'user:000000000000|{"v":1,"ts":17640000000000,"name":"'
        + b"x" * 40
        + b'","tags":["a","b"],"score":00000}\n'
    )
    template = template.ljust(RECORD, b" ")[:RECORD]
    rows = np.frombuffer(template, dtype=np.uint8).reshape(1, RECORD).repeat(n, axis=0)
    keys = rng.integers(0, 10**6) + np.arange(n, dtype=np.int64) * 7
    stamps = 17_640_000_000_000 + np.cumsum(rng.integers(0, 500, n))
    key, stamp = template.index(b"user:") + 5, template.index(b'"ts":') + 5
    for digit in range(12):  # sequential keys
        rows[:, key + 11 - digit] = 48 + (keys // 10**digit) % 10
    for digit in range(14):  # increasing timestamps
        rows[:, stamp + 13 - digit] = 48 + (stamps // 10**digit) % 10
    alphabet = np.frombuffer(b"abcdefghijklmnop", dtype=np.uint8)
    name = template.index(b'"name":"') + 8
    rows[:, name : name + 10] = alphabet[rng.integers(0, 16, (n, 10))]  # 4 bits/char
    score = template.index(b'"score":') + 8
    rows[:, score + 3 : score + 5] = 48 + rng.integers(0, 10, (n, 2))
    return rows.reshape(-1)


class _Blocks:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.random = np.frombuffer(self.rng.bytes(RANDOM_POOL), dtype=np.uint8)
        self.records = _record_pool(self.rng, RECORD_POOL)

    def block(self, size: int, random_share: float = RANDOM_SHARE) -> memoryview:
        pool = self.random if self.rng.random() < random_share else self.records
        start = int(self.rng.integers(0, len(pool) - size))
        return memoryview(pool[start : start + size])

    def write(self, path: Path, size: int, random_share: float = RANDOM_SHARE) -> None:
        with open(path, "wb", buffering=MIB) as f:
            left = size
            while left:
                n = min(BLOCK, left)
                f.write(self.block(n, random_share))
                left -= n


def parse_size(text: str) -> int:
    """'1G', '256M', '512K', '1.5G' or bytes -> bytes (binary units)."""
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"  # not reached


def generate(root: Path, size: int, small_files: int = 2000, seed: int = 20261126) -> Node:
    """Write a node of about `size` bytes under `root` (which must not exist or be empty)."""
    blocks = _Blocks(seed)
    rng = blocks.rng
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    count, total = 0, 0

    def put(path: Path, nbytes: int, random_share: float = RANDOM_SHARE) -> None:
        nonlocal count, total
        blocks.write(path, nbytes, random_share)
        count += 1
        total += nbytes

    def put_text(path: Path, text: str) -> None:
        nonlocal count, total
        path.write_text(text, encoding="utf-8")
        count += 1
        total += path.stat().st_size

    put_text(data / "CURRENT", "MANIFEST-000042\n")
    put_text(data / "IDENTITY", "5f1c2d3e-themis-bench-node\n")
    put_text(data / "LOCK", "")
    put_text(
        data / "LOG",
        "".join(
            f"2026/11/26-10:{i // 60 % 60:02d}:{i % 60:02d}.{i:06d} 7f3a [db/flush_job.cc:{i}] "
            f"[default] Level-0 flush table #{1000 + i}: {i * 4096} bytes OK\n"
            for i in range(3000)
        ),
    )
    put_text(
        data / "OPTIONS-000044",
        "".join(f"  option_{i}={i * 3}\n" for i in range(400)),
    )
    put(data / "MANIFEST-000042", 256 << 10, random_share=0.0)

    # a few thousand small files (vector index shards, 1-16 KiB)
    small = data / "vector_index"
    per_dir = 100
    for i in range(small_files):
        folder = small / f"{i // per_dir:02d}"
        if i % per_dir == 0:
            folder.mkdir(parents=True, exist_ok=True)
        put(folder / f"shard-{i:05d}.bin", int(rng.integers(1 << 10, (16 << 10) + 1)), 0.5)

    wal = min(8 * MIB, max(MIB, size // 64))
    put(data / "000987.log", wal)
    number = 1000
    while total < size:
        left = size - total
        sst = int(rng.integers(4 * MIB, 64 * MIB + 1)) // 4096 * 4096
        if left < 4 * MIB:
            sst = left  # the last one may be smaller than 4 MiB
        put(data / f"{number:06d}.sst", min(sst, left))
        number += int(rng.integers(1, 9))

    config = root / "config.yaml"
    put_text(
        config,
        "server:\n  host: 0.0.0.0\n  port: 8765\nstorage:\n"
        f"  rocksdb_path: {data}\n  memtable_size_mb: 512\n  block_cache_size_mb: 2048\n"
        "  compression: none\nvector_index:\n  save_path: data/vector_index\n"
        "logging:\n  level: info\n",
    )
    os.sync()
    return Node(root, data, config, count, total)
