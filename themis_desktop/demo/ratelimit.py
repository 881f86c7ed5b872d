"""Per-IP rate limiting as in the real server: 100 requests/minute, loopback exempt."""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import deque
from collections.abc import Callable


def is_loopback(ip: str) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback (::ffff:127.0.0.1)."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)
    return (mapped or addr).is_loopback


class RateLimiter:
    """Sliding one-minute window per client IP.

    Every demo client normally connects over loopback, which the real server exempts, so
    in practice nothing is limited; the limit only bites for clients reaching a node bound
    to a non-loopback address (`--host 0.0.0.0`).
    """

    def __init__(
        self, limit: int = 100, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, ip: str) -> int | None:
        """None when the request may pass, else the Retry-After seconds."""
        if is_loopback(ip):
            return None
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(ip, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1, int(hits[0] + self.window - now + 0.999))
            hits.append(now)
            return None


class UserBuckets:
    """Era A's per-user limit: a token bucket per authenticated user (100 requests, refilled
    at 100 per minute), applied whatever the client's address, loopback included."""

    def __init__(
        self,
        capacity: int = 100,
        per_minute: float = 100.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.capacity = capacity
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # user -> (tokens, last refill)
        self._lock = threading.Lock()

    def check(self, user: str) -> int | None:
        """None when `user` may go on (a token taken), else the Retry-After seconds."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(user, (float(self.capacity), now))
            tokens = min(float(self.capacity), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[user] = (tokens - 1.0, now)
                return None
            self._buckets[user] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))
