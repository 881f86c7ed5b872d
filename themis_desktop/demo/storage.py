"""A RocksDB-like database directory: real files on disk, simulated engine gauges.

Layout: `CURRENT` names the live `MANIFEST-NNNNNN` (JSON lines of version edits: which
`NNNNNN.sst` file sits on which level), `OPTIONS-NNNNNN`, `IDENTITY`, `LOCK`, `LOG`
(RocksDB's info log) and the write-ahead log `NNNNNN.log`. SST files are immutable:
writes go to the WAL and the memtable, a full memtable is flushed into a new L0 file,
and four L0 files are compacted into one L1 file (the old ones are deleted).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from themis_desktop.demo import sstgen

LEVELS = 7
LEVEL_SHARE = (0.02, 0.01, 0.01, 0.02, 0.04, 0.10, 0.80)  # initial bytes per level
MEMTABLE_ENTRY_BYTES = 300  # memtable arena bytes per write (key, value, skiplist node)
FLUSH_CAP_BYTES = 2 << 20  # flush at min(memtable_size_mb, 2 MiB): visible within minutes
L0_COMPACTION_TRIGGER = 4
NEW_KEY_SHARE = 0.7  # share of writes that insert a new key (the rest overwrite)


class StorageError(Exception):
    """The database directory cannot be opened."""


@dataclass
class SstFile:
    number: int
    level: int
    size: int


class RocksStore:
    """The node's database: open/close/create on disk, plus the workload's effects."""

    def __init__(self, path: Path, memtable_mb: int, block_cache_mb: int):
        self.path = path
        self.lock = threading.RLock()  # held by workload ticks, checkpoint and restore
        self.rng = np.random.default_rng()
        self.available = False
        self.block_cache_capacity = int(block_cache_mb) << 20
        self.write_buffer_size = int(memtable_mb) << 20
        self.flush_threshold = min(self.write_buffer_size, FLUSH_CAP_BYTES)
        # the column families `open` names; None: all the MANIFEST lists (as a fixed server
        # would); RocksDB refuses to open a database with one it does not name
        self.opens_only: tuple[str, ...] | None = None
        self._reset()

    def _reset(self) -> None:
        self.files: dict[int, SstFile] = {}
        self.column_families: list[str] = []  # besides "default"
        self.next_file = 1
        self.last_seq = 0
        self.next_key = 0
        self.manifest = 0
        self.wal = 0
        self.memtable_entries = 0
        self.memtable_bytes = 0
        self.block_cache_usage = 0
        self.pending_drift = 0
        self.flushes = 0
        self.compactions = 0
        self.writes = 0
        self.cache_hits = 0  # block cache lookups, as RocksDB's tickers count them
        self.cache_misses = 0
        self.opened_at = time.monotonic()

    # ---- on-disk life cycle -------------------------------------------------

    def exists(self) -> bool:
        """True when the directory holds a database (a CURRENT file)."""
        return (self.path / "CURRENT").is_file()

    def create(self, size_bytes: int) -> None:
        """A new database of about `size_bytes` of SST data, spread over L0..L6."""
        self.path.mkdir(parents=True, exist_ok=True)
        self._reset()
        (self.path / "IDENTITY").write_text(str(uuid.uuid4()) + "\n")
        target = int(min(64 << 20, max(256 << 10, size_bytes // 12)))
        for level, share in enumerate(LEVEL_SHARE):
            level_bytes = int(size_bytes * share)
            while level_bytes >= 4096:
                size = min(target if level else target // 4, level_bytes)
                self._new_sst(level, size)
                level_bytes -= size
        self._write_manifest()
        self._info_log(f"DB created, {len(self.files)} table files")

    def open(self) -> None:
        """Open an existing database: replay the manifest, recover WALs, take the LOCK."""
        self._reset()
        try:
            name = (self.path / "CURRENT").read_text().strip()
            edits = [json.loads(x) for x in (self.path / name).read_text().splitlines() if x]
        except (OSError, ValueError) as exc:
            raise StorageError(f"Corruption: cannot read CURRENT/MANIFEST in {self.path}") from exc
        for edit in edits:
            self._apply(edit)
        named = self.column_families if self.opens_only is None else self.opens_only
        unnamed = [cf for cf in self.column_families if cf not in named]
        if unnamed:
            raise StorageError(
                f"Invalid argument: Column families not opened: {', '.join(unnamed)}"
            )
        for sst in self.files.values():
            if not (self.path / f"{sst.number:06d}.sst").is_file():
                raise StorageError(f"Corruption: missing table file {sst.number:06d}.sst")
        for wal in sorted(self.path.glob("*.log")):  # recover unflushed writes into L0
            entries = wal.stat().st_size // (sstgen.RECORD_SIZE + 7)
            if entries:
                self._new_sst(0, entries * sstgen.RECORD_SIZE)
            wal.unlink()
        self._write_manifest()
        (self.path / "LOCK").write_bytes(b"")
        self._new_wal()
        self.available = True
        self._info_log(f"DB opened: {len(self.files)} table files, last sequence {self.last_seq}")

    def create_column_family(self, name: str) -> None:
        """Add a column family to the open database (recorded in the MANIFEST); idempotent."""
        if name not in self.column_families:
            self.column_families.append(name)
            self._append_manifest({"column_family": name})
            self._info_log(f"Created column family [{name}]")

    def close(self) -> None:
        """Release the LOCK (the WAL stays: the next open recovers it)."""
        was_open, self.available = self.available, False
        try:
            if was_open:
                self._info_log("Shutdown complete")
            (self.path / "LOCK").unlink(missing_ok=True)
        except OSError:  # the directory is gone: nothing to release
            pass

    # ---- workload effects ---------------------------------------------------

    def tick(self, writes: int, reads: int) -> list[str]:
        """Apply a batch of writes and reads; return log lines for what happened."""
        events: list[str] = []
        if not self.available:
            return events
        if writes:
            first = self.next_key
            new_keys = int(self.rng.binomial(writes, NEW_KEY_SHARE))
            data = sstgen.wal_bytes(first, writes, self.last_seq + 1, self.rng)
            with (self.path / f"{self.wal:06d}.log").open("ab") as f:
                f.write(data)
            self.last_seq += writes
            self.next_key += new_keys
            self.writes += writes
            self.memtable_entries += writes
            self.memtable_bytes += writes * MEMTABLE_ENTRY_BYTES
        misses = max(1, round(reads * 0.2)) if reads else 0  # a few reads still miss once
        self.cache_hits += reads - misses
        self.cache_misses += misses
        usage = self.block_cache_usage + misses * 4096
        self.block_cache_usage = min(self.block_cache_capacity, usage)
        self.pending_drift = max(0, self.pending_drift + int(self.rng.integers(-4096, 4097)))
        if self.memtable_bytes >= self.flush_threshold:
            events.append(self.flush())
            if len(self.level_files(0)) >= L0_COMPACTION_TRIGGER:
                events.append(self.compact())
        return events

    def flush(self) -> str:
        """Write the memtable into a new L0 table file and start a new WAL."""
        size = self.memtable_entries * sstgen.RECORD_SIZE
        sst = self._new_sst(0, size)
        old_wal = self.path / f"{self.wal:06d}.log"
        self._new_wal()
        old_wal.unlink(missing_ok=True)
        self._append_manifest({"add": [sst.number, 0, sst.size], "next_file": self.next_file})
        self.memtable_entries = self.memtable_bytes = 0
        self.flushes += 1
        return f"[default] Flushed memtable to {sst.number:06d}.sst ({size / 1048576:.1f} MiB)"

    def compact(self) -> str:
        """Merge all L0 files into one L1 file (overwritten keys drop out)."""
        inputs = self.level_files(0)
        size = int(sum(f.size for f in inputs) * 0.9)
        out = self._new_sst(1, size)
        for f in inputs:
            (self.path / f"{f.number:06d}.sst").unlink(missing_ok=True)
            del self.files[f.number]
        self._append_manifest(
            {
                "add": [out.number, 1, out.size],
                "delete": [f.number for f in inputs],
                "next_file": self.next_file,
            }
        )
        self.compactions += 1
        self.pending_drift = 0
        return (
            f"[default] Compacted {len(inputs)}@L0 files to L1 -> {out.number:06d}.sst "
            f"({size / 1048576:.1f} MiB)"
        )

    # ---- figures ------------------------------------------------------------

    def level_files(self, level: int) -> list[SstFile]:
        return [f for f in self.files.values() if f.level == level]

    def live_bytes(self) -> int:
        return sum(f.size for f in self.files.values())

    def num_keys(self) -> int:
        """estimate_num_keys: records in table files plus memtable entries."""
        return self.live_bytes() // sstgen.RECORD_SIZE + self.memtable_entries

    def stats(self) -> dict:
        """The `storage` object of `/stats` (RocksDB properties + raw stats text)."""
        with self.lock:
            if not self.available:
                # the real server's whole storage object while its database is closed
                return {"error": "Database not open"}
            per_level = {f"L{i}": len(self.level_files(i)) for i in range(LEVELS)}
            l0 = self.level_files(0)
            pending = sum(f.size for f in l0) * len(l0) // 2 + self.pending_drift
            rocks = {
                "block_cache_usage_bytes": self.block_cache_usage,
                "block_cache_capacity_bytes": self.block_cache_capacity,
                "estimate_num_keys": self.num_keys(),
                "estimate_live_data_size_bytes": self.live_bytes(),
                "estimate_pending_compaction_bytes": pending,
                "num_running_compactions": 0,
                "num_running_flushes": 0,
                "memtable_size_bytes": self.memtable_bytes,
                "cur_size_all_mem_tables_bytes": self.memtable_bytes + 2048,
                "files_per_level": per_level,
                # tickers the real /stats adds (the app does not read them)
                "block_cache_hit": self.cache_hits,
                "block_cache_miss": self.cache_misses,
                "cache_hit_rate_percent": round(100.0 * self.cache_hits / lookups, 2)
                if (lookups := self.cache_hits + self.cache_misses)
                else 0.0,
                "bytes_read": self.cache_misses * 4096,
                "bytes_written": self.writes * MEMTABLE_ENTRY_BYTES,
                "compaction_keys_dropped": 0,
            }
            return {"rocksdb": rocks, "raw_stats": self._raw_stats(per_level)}

    def _raw_stats(self, per_level: dict[str, int]) -> str:
        uptime = time.monotonic() - self.opened_at
        lines = [
            "",
            "** DB Stats **",
            f"Uptime(secs): {uptime:.1f} total, {uptime:.1f} interval",
            f"Cumulative writes: {self.writes} writes, {self.writes} keys, "
            f"{self.writes} commit groups, 1.0 writes per commit group",
            f"Cumulative WAL: {self.writes} writes, 0 syncs",
            "",
            "** Compaction Stats [default] **",
            "Level    Files   Size",
        ]
        for i in range(LEVELS):
            size = sum(f.size for f in self.level_files(i)) / 1048576
            lines.append(f"  L{i}   {per_level[f'L{i}']:5d}/0  {size:8.2f} MB")
        lines.append(f" Sum   {len(self.files):5d}/0  {self.live_bytes() / 1048576:8.2f} MB")
        lines.append(f"Flush(GB): cumulative {self.flushes}, compactions {self.compactions}")
        return "\n".join(lines) + "\n"

    # ---- helpers ------------------------------------------------------------

    def _new_sst(self, level: int, size: int) -> SstFile:
        number = self._file_number()
        entries = sstgen.write_sst(
            self.path / f"{number:06d}.sst", size, self.next_key, self.last_seq + 1, self.rng
        )
        self.last_seq += entries
        self.next_key += entries
        sst = SstFile(number, level, (self.path / f"{number:06d}.sst").stat().st_size)
        self.files[number] = sst
        return sst

    def _new_wal(self) -> None:
        self.wal = self._file_number()
        (self.path / f"{self.wal:06d}.log").write_bytes(b"")

    def _file_number(self) -> int:
        number = self.next_file
        self.next_file += 1
        return number

    def _apply(self, edit: dict) -> None:
        if "add" in edit:
            number, level, size = edit["add"]
            self.files[number] = SstFile(number, level, size)
        for number in edit.get("delete", []):
            self.files.pop(number, None)
        self.next_file = max(self.next_file, edit.get("next_file", 0))
        self.last_seq = max(self.last_seq, edit.get("last_seq", 0))
        self.next_key = max(self.next_key, edit.get("next_key", 0))
        if edit.get("column_family") and edit["column_family"] not in self.column_families:
            self.column_families.append(str(edit["column_family"]))

    def _write_manifest(self) -> None:
        """A fresh MANIFEST holding a snapshot, then CURRENT and OPTIONS; drop the old ones."""
        self.manifest = self._file_number()
        options = self._file_number()
        lines = [{"comparator": "leveldb.BytewiseComparator", "next_file": self.next_file}]
        lines += [{"add": [f.number, f.level, f.size]} for f in self.files.values()]
        lines += [{"column_family": name} for name in self.column_families]
        lines.append({"last_seq": self.last_seq, "next_key": self.next_key})
        name = f"MANIFEST-{self.manifest:06d}"
        (self.path / name).write_text("".join(json.dumps(x) + "\n" for x in lines))
        tmp = self.path / "CURRENT.tmp"
        tmp.write_text(name + "\n")
        os.replace(tmp, self.path / "CURRENT")
        for old in [*self.path.glob("MANIFEST-*"), *self.path.glob("OPTIONS-*")]:
            if old.name != name:
                old.unlink()
        (self.path / f"OPTIONS-{options:06d}").write_text(
            _OPTIONS.format(write_buffer_size=self.write_buffer_size)
        )

    def _append_manifest(self, edit: dict) -> None:
        edit = {**edit, "last_seq": self.last_seq, "next_key": self.next_key}
        with (self.path / f"MANIFEST-{self.manifest:06d}").open("a") as f:
            f.write(json.dumps(edit) + "\n")

    def _info_log(self, message: str) -> None:
        stamp = datetime.now().strftime("%Y/%m/%d-%H:%M:%S.%f")
        with (self.path / "LOG").open("a") as f:
            f.write(f"{stamp} {threading.get_ident():x} {message}\n")


_OPTIONS = """# This is a RocksDB option file.
[Version]
  rocksdb_version=8.10.0
  options_file_version=1.1

[DBOptions]
  create_if_missing=true
  max_background_jobs=4
  wal_recovery_mode=kPointInTimeRecovery

[CFOptions "default"]
  compression=kLZ4Compression
  bottommost_compression=kZSTD
  write_buffer_size={write_buffer_size}
  target_file_size_base=67108864
  level0_file_num_compaction_trigger=4

[TableOptions/BlockBasedTable "default"]
  block_size=4096
  filter_policy=bloomfilter:10:false
"""
