"""The per-IP limiter: 100/min for remote clients, loopback exempt."""

from __future__ import annotations

from themis_desktop.demo.ratelimit import RateLimiter, is_loopback


def test_loopback_is_exempt():
    assert is_loopback("127.0.0.1") and is_loopback("127.8.9.1")
    assert is_loopback("::1") and is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("10.0.0.5") and not is_loopback("not an ip")
    limiter = RateLimiter(limit=2)
    assert all(limiter.check("127.0.0.1") is None for _ in range(500))


def test_remote_clients_are_limited_per_minute():
    now = [1000.0]
    limiter = RateLimiter(limit=100, window=60.0, clock=lambda: now[0])
    assert all(limiter.check("192.0.2.7") is None for _ in range(100))
    retry = limiter.check("192.0.2.7")
    assert retry is not None and 1 <= retry <= 60
    assert limiter.check("192.0.2.8") is None  # per IP
    now[0] += 60.5
    assert limiter.check("192.0.2.7") is None
