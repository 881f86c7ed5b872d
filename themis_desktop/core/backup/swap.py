"""The swap at the end of a restore, written down first so a crash in it is recoverable.

Before the first rename, restore writes an intent file beside the data dir
(`.<data dir>.restore-intent.json`, created exclusively, so it is also the lock against two
restores of one data dir). It names the staging folder, where the replaced data goes and
each config file's moves. If the process dies between the renames, the next restore of
that folder (or the next start of the app) finds the intent of a dead process and finishes
the job: when the verified staged data is in place or can be put there, the restore is
completed; when it is not, the data that was moved aside is put back. Either way it says
which it did. The staged files are flushed to the disk before the first rename, so a
power cut after the swap cannot leave empty or partial files where the data was.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from themis_desktop.core.backup.archive_format import BackupError
from themis_desktop.core.util import failpoints, temp_names

INTENT_SUFFIX = ".restore-intent.json"


@dataclass(frozen=True)
class SwapPlan:
    """The renames of one restore, in order."""

    data_dir: Path
    kept: Path  # where the current data goes
    staging: Path
    configs: tuple[tuple[Path, Path, Path], ...]  # (target, previous name, staged file)

    def to_json(self) -> str:
        return json.dumps(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "data_dir": str(self.data_dir),
                "kept": str(self.kept),
                "staging": str(self.staging),
                "configs": [[str(p) for p in move] for move in self.configs],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> SwapPlan:
        data = json.loads(text)
        return cls(
            Path(data["data_dir"]),
            Path(data["kept"]),
            Path(data["staging"]),
            tuple((Path(t), Path(p), Path(s)) for t, p, s in data["configs"]),
        )


def intent_path(data_dir: Path) -> Path:
    return data_dir.parent / f".{data_dir.name}{INTENT_SUFFIX}"


def swap(plan: SwapPlan) -> dict[str, Path]:
    """Move the staged data and configs in, the current ones aside. On an error the data
    is put back and BackupError raised; a crash is finished by `recover`."""
    intent = intent_path(plan.data_dir)
    flush_to_disk(plan.staging)
    _write_intent(intent, plan)
    staged_data = plan.staging / "data"
    moved_aside = False
    try:
        if plan.data_dir.exists():
            os.replace(plan.data_dir, plan.kept)
            moved_aside = True
        failpoints.hit("restore.between-renames")
        os.replace(staged_data, plan.data_dir)
        failpoints.hit("restore.after-data-swap")
        swapped = _swap_configs(plan)
    except OSError as exc:
        _undo(plan, staged_data, moved_aside)
        intent.unlink(missing_ok=True)
        raise BackupError(
            f"The restored files could not be moved into place ({exc}); the data was put back "
            "as it was. Nothing was changed."
        ) from None
    intent.unlink(missing_ok=True)
    _fsync_dir(plan.data_dir.parent)
    return swapped


def _write_intent(intent: Path, plan: SwapPlan) -> None:
    try:
        fd = os.open(intent, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(
            f"Another restore of {plan.data_dir} is under way ({intent.name} exists). Wait for "
            "it to end; if its process is gone, run restore again to finish it."
        ) from None
    with open(fd, "w", encoding="utf-8") as f:
        f.write(plan.to_json())
        f.flush()
        os.fsync(f.fileno())
    _fsync_dir(intent.parent)


def _swap_configs(plan: SwapPlan) -> dict[str, Path]:
    swapped: dict[str, Path] = {}
    for target, previous, staged in plan.configs:
        if not staged.exists():
            continue  # already moved (a recovery running this again)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and not previous.exists():
            os.replace(target, previous)
        if previous.exists():
            swapped[str(target)] = previous
        os.replace(staged, target)
    return swapped


def _undo(plan: SwapPlan, staged_data: Path, moved_aside: bool) -> None:
    for target, previous, staged in reversed(plan.configs):
        with contextlib.suppress(OSError):
            if not staged.exists() and target.exists():
                os.replace(target, staged)
            if previous.exists() and not target.exists():
                os.replace(previous, target)
    with contextlib.suppress(OSError):
        if plan.data_dir.exists() and not staged_data.exists() and moved_aside:
            os.replace(plan.data_dir, staged_data)
        if moved_aside and plan.kept.exists() and not plan.data_dir.exists():
            os.replace(plan.kept, plan.data_dir)


def recover(folder: Path) -> list[str]:
    """Finish every restore in `folder` whose process died mid-swap; what was done, in words."""
    done = []
    for intent in sorted(folder.glob(f".*{INTENT_SUFFIX}")):
        try:
            raw = json.loads(intent.read_text(encoding="utf-8"))
            plan = SwapPlan.from_json(json.dumps(raw))
        except (OSError, ValueError, KeyError, TypeError):
            done.append(f"{intent} is unreadable: look at {intent.parent} by hand, then delete it")
            continue
        if raw.get("host") == socket.gethostname() and _alive(int(raw.get("pid", 0))):
            continue  # still running
        done.append(_finish(plan))
        intent.unlink(missing_ok=True)
        shutil.rmtree(plan.staging, ignore_errors=True)
    return done


def _finish(plan: SwapPlan) -> str:
    staged_data = plan.staging / "data"
    name = plan.data_dir
    if not plan.data_dir.exists() and staged_data.is_dir():
        os.replace(staged_data, plan.data_dir)
        _swap_configs(plan)
        return (
            f"An interrupted restore of {name} was completed: the verified backup is in "
            f"place; the data it replaced is kept in {plan.kept}."
        )
    if plan.data_dir.exists() and not staged_data.exists():
        _swap_configs(plan)
        return (
            f"An interrupted restore of {name} was completed (its config files were still "
            f"being swapped); the data it replaced is kept in {plan.kept}."
        )
    if not plan.data_dir.exists() and plan.kept.exists():
        os.replace(plan.kept, plan.data_dir)
        return f"An interrupted restore of {name} was undone: the previous data is back."
    return f"An interrupted restore of {name} had not changed anything yet; it was cleaned up."


def _alive(pid: int) -> bool:
    return temp_names.pid_alive(pid) if pid > 0 else False


_libc = ctypes.CDLL(None, use_errno=True)
_sync_file_range = getattr(_libc, "sync_file_range", None)
if _sync_file_range is not None:
    _sync_file_range.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
SYNC_FILE_RANGE_WRITE = 2  # start writing the dirty pages out; do not wait for them


class Writeback:
    """Starts writing just-written files to the disk in a thread of its own (Linux's
    `sync_file_range`, which does not wait for the disk but may wait for its queue): the
    disk works while the restore goes on, and `flush_to_disk` at the end waits only for
    what is left. Elsewhere a no-op."""

    def __init__(self) -> None:
        self._pool = (
            ThreadPoolExecutor(1, thread_name_prefix="restore-writeback")
            if _sync_file_range is not None
            else None
        )

    def start(self, fd: int) -> None:
        """Start the write-out of the file open as `fd` (the caller may close it now)."""
        if self._pool is not None:
            self._pool.submit(self._write_out, os.dup(fd))

    @staticmethod
    def _write_out(fd: int) -> None:
        try:
            _sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE)  # type: ignore[misc]
        finally:
            os.close(fd)

    def __enter__(self) -> Writeback:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def flush_to_disk(folder: Path) -> None:
    """Everything written under `folder` reaches the disk: one `syncfs` of its file system
    (Linux), else a sync of every file system."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        syncfs = getattr(_libc, "syncfs", None)
        if syncfs is None or syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def recover_all(folders: list[Path]) -> list[str]:
    """`recover` each folder, then remove what dead processes left there."""
    done = []
    for folder in dict.fromkeys(folders):
        done += recover(folder)
        unfinished = any(folder.glob(f".*{INTENT_SUFFIX}"))  # its staging may be all there is
        removed = temp_names.remove_dead(folder, keep=("staging",) if unfinished else ())
        if removed:
            size = sum(r.size for r in removed)
            done.append(
                f"Removed {len(removed)} leftover(s) of interrupted backups or restores in "
                f"{folder} ({size >> 20} MiB)."
            )
    return done


def recover_profiles(profiles: list) -> list[str]:
    """`recover_all` beside every data dir of `profiles` (their nodes' `data_dir`)."""
    parents = [
        Path(node.data_dir).absolute().parent
        for profile in profiles
        for node in profile.nodes
        if node.data_dir
    ]
    return recover_all(parents)
