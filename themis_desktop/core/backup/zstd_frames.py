"""Follow the frame structure of a zstd stream without decompressing it.

zstd's streaming reader ends quietly when the input stops inside a frame, so a cut archive
would read as a shorter one. `FrameTracker` is fed every compressed byte in order and
walks the frame and block headers (RFC 8878 §3.1): at the end `complete` says whether the
stream stopped between frames. It only skips over block contents, so it costs a few
operations per 128 KiB block.
"""

from __future__ import annotations

import struct

from themis_desktop.core.backup.archive_format import BackupError

ZSTD_MAGIC = 0xFD2FB528
SKIPPABLE_MASK = 0xFFFFFFF0
SKIPPABLE_MAGIC = 0x184D2A50


class FrameError(BackupError, ValueError):
    """The bytes are not a sequence of zstd frames."""


class FrameTracker:
    """Feed compressed bytes in order; `complete` is True only between whole frames."""

    def __init__(self) -> None:
        self._want = 4  # bytes needed for the next header
        self._state = "magic"
        self._head = bytearray()
        self._skip = 0  # bytes of content to pass over
        self._checksum = False
        self.frames = 0

    @property
    def complete(self) -> bool:
        return self._state == "magic" and not self._head and not self._skip and self.frames > 0

    def feed(self, data: bytes | memoryview) -> None:
        view, pos, end = memoryview(data), 0, len(data)
        while pos < end:
            if self._skip:
                step = min(self._skip, end - pos)
                self._skip -= step
                pos += step
                if not self._skip and self._state == "after-block":
                    self._state = "block"
                    self._want = 3
                continue
            take = min(self._want - len(self._head), end - pos)
            self._head += view[pos : pos + take]
            pos += take
            if len(self._head) == self._want:
                self._header(bytes(self._head))

    def _header(self, head: bytes) -> None:
        state = self._state
        self._head.clear()
        if state == "magic":
            (magic,) = struct.unpack("<I", head)
            if magic & SKIPPABLE_MASK == SKIPPABLE_MAGIC:
                self._state, self._want = "skippable", 4
            elif magic == ZSTD_MAGIC:
                self._state, self._want = "descriptor", 1
            else:
                raise FrameError(f"not a zstd frame (magic {magic:#010x})")
        elif state == "skippable":
            self._skip = struct.unpack("<I", head)[0]
            self._end_frame()
        elif state == "descriptor":
            flags = head[0]
            fcs, single, checksum, did = flags >> 6, bool(flags & 0x20), bool(flags & 4), flags & 3
            if flags & 0x08:
                raise FrameError("a zstd frame header has its reserved bit set")
            self._checksum = checksum
            rest = (0 if single else 1) + (0, 1, 2, 4)[did] + ((1 if single else 0), 2, 4, 8)[fcs]
            self._state, self._want = "header-rest", rest
            if rest == 0:
                self._state, self._want = "block", 3
        elif state == "header-rest":
            self._state, self._want = "block", 3
        elif state == "block":
            value = head[0] | head[1] << 8 | head[2] << 16
            last, kind, size = value & 1, (value >> 1) & 3, value >> 3
            if kind == 3:
                raise FrameError("a zstd block has the reserved type")
            self._skip = 1 if kind == 1 else size
            if last:
                self._state, self._want = ("checksum", 4) if self._checksum else ("magic", 4)
                if not self._checksum:
                    self.frames += 1
            else:
                self._state = "after-block" if self._skip else "block"
                self._want = 3
        elif state == "checksum":
            self._end_frame()

    def _end_frame(self) -> None:
        self._state, self._want = "magic", 4
        self.frames += 1
