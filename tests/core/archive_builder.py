"""Hand-made archives in our format, for hostile-input tests: any member, any manifest."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zstandard

from themis_desktop.core.backup.archive_format import FileEntry, Manifest


@dataclass
class Member:
    name: str
    kind: str = "file"  # file, dir, symlink
    content: bytes = b""
    link: str = ""
    mode: int = 0o644
    listed: bool = True  # in the manifest too


def build(
    path: Path,
    members: list[Member],
    *,
    manifest: dict[str, Any] | None = None,
    raw_manifest: bytes | None = None,
    node: str = "n",
) -> Path:
    """Write `path`: the manifest (listing every `listed` member), then the members."""
    files = [
        FileEntry(
            m.name,
            len(m.content) if m.kind == "file" else 0,
            m.mode,
            0,
            hashlib.sha256(m.content).hexdigest() if m.kind == "file" else "",
            m.kind,
            m.link,
        )
        for m in members
        if m.listed
    ]
    body = raw_manifest
    if body is None:
        data = json.loads(Manifest(node, "1.7.0", "2026-01-01T00:00:00Z", "t", {}, files).to_json())
        body = json.dumps({**data, **(manifest or {})}).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("MANIFEST.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
        for m in members:
            info = tarfile.TarInfo(m.name)
            info.mode = m.mode
            if m.kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif m.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, m.link
                tar.addfile(info)
            else:
                info.size = len(m.content)
                tar.addfile(info, io.BytesIO(m.content))
    path.write_bytes(zstandard.ZstdCompressor().compress(buffer.getvalue()))
    return path


def data_dir(*members: Member) -> list[Member]:
    """A `data` folder with a CURRENT file, then `members`."""
    return [Member("data", "dir", mode=0o755), Member("data/CURRENT", content=b"x\n"), *members]
