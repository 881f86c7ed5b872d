"""RocksDB checkpoints on disk: create one from a database directory, restore one into it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def checkpoint_files(db_dir: Path) -> list[Path]:
    """The files a checkpoint captures: everything but the LOCK and the info LOGs."""
    return sorted(
        p
        for p in db_dir.iterdir()
        if p.is_file() and p.name != "LOCK" and not p.name.startswith("LOG")
    )


def create_checkpoint(db_dir: Path, dest: Path) -> None:
    """Copy the database into the new directory `dest`, like `Checkpoint::CreateCheckpoint`.

    Immutable `*.sst` files are hard-linked (copied when linking fails, e.g. across file
    systems); the rest is copied. The files go to `<dest>.tmp`, which is renamed at the
    end, so a failed checkpoint never looks complete. Raises FileExistsError when `dest`
    exists, OSError on any other failure. The caller holds the store lock.
    """
    if dest.exists():
        raise FileExistsError(str(dest))
    tmp = dest.with_name(f"{dest.name}.checkpoint-{os.getpid()}-{os.urandom(4).hex()}.tmp")
    tmp.mkdir(parents=True)  # our own, fresh: nothing of anybody else is ever deleted
    try:
        for src in checkpoint_files(db_dir):
            target = tmp / src.name
            if src.suffix == ".sst":
                try:
                    os.link(src, target)
                    continue
                except OSError:
                    pass
            shutil.copy2(src, target)
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def restore_checkpoint(src: Path, db_dir: Path) -> None:
    """Replace the database directory with a copy of checkpoint `src` (destructive).

    Like the real server: no safety copy. `src` must be an existing directory outside
    `db_dir` and not one of its parents (else ValueError or FileNotFoundError, before
    anything is deleted: a demo must never copy "/" or its own node folder); then the
    whole `db_dir` is deleted and `src` copied in. The caller holds the store lock and
    has closed the database.
    """
    src, db_dir = src.resolve(), db_dir.resolve()
    if not src.is_dir():
        raise FileNotFoundError(f"checkpoint directory not found: {src}")
    if src == db_dir or db_dir in src.parents or src in db_dir.parents:
        raise ValueError(f"checkpoint {src} overlaps the database directory {db_dir}")
    if db_dir.exists():
        shutil.rmtree(db_dir)
    shutil.copytree(src, db_dir)
