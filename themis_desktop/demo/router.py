"""The demo's load balancer: sends a steady synthetic workload (reads, a few writes) to the
nodes by weight over real HTTP, so a rollout's weights really change what each node serves.

Each request goes to a node drawn by the current weights (a weight of 0 gets nothing). A
node that cannot be reached (refused, reset, timed out) counts a failed request; with
`failover` (the default) the request then goes to another node with weight, as a load
balancer's health check would send it. An HTTP 5xx answer counts as failed, not retried.
"""

from __future__ import annotations

import contextlib
import math
import random
import ssl
import threading
import time
from collections import deque
from typing import Any

import httpx

HISTORY_S = 120  # seconds of per-second history kept
RECENT_S = 5  # seconds averaged in stats()["ok_per_second"]
KEYS = 1000  # reads and writes go to orders:0 .. orders:999 (a 1 MB demo node has ~8000)
WRITE_SHARE = 0.1
TIMEOUT = httpx.Timeout(2.0, connect=1.0)


def _workers(rate: float) -> int:
    """A few threads; more for high rates (each does ~50 requests/s at most)."""
    return max(2, min(16, math.ceil(rate / 50.0)))


class DemoRouter:
    """Weighted load over `urls` at ~`rate` requests/s in total, in background threads."""

    def __init__(
        self,
        urls: list[str],
        rate: float = 40.0,
        failover: bool = True,
        *,
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        if not urls:
            raise ValueError("the router needs at least one node URL")
        if not rate > 0:
            raise ValueError("the router's rate must be above 0 requests/s")
        self.urls = list(dict.fromkeys(urls))
        self.rate = float(rate)
        self.failover = failover
        self.verify = verify  # TLS nodes: their CA, or False for our own loopback nodes
        self._weights = {url: 1.0 / len(self.urls) for url in self.urls}
        self._lock = threading.Lock()
        self._counts = {url: {"sent": 0, "ok": 0, "failed": 0} for url in self.urls}
        self._history: deque[list[int]] = deque(maxlen=HISTORY_S + 1)  # [second, ok]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._rng = random.Random()

    # -- control ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self._threads)

    def start(self) -> None:
        """Start the worker threads (a no-op if they run)."""
        if self._threads:
            return
        self._stop = threading.Event()
        count = _workers(self.rate)
        for i in range(count):
            thread = threading.Thread(
                target=self._work, args=(i, count), name=f"demo-router-{i}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Stop and join the worker threads (idempotent)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(10.0)
        self._threads = []

    def __enter__(self) -> DemoRouter:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_weights(self, weights: dict[str, float]) -> dict[str, float]:
        """Weights per node URL, normalised; a URL left out gets 0. ValueError for unknown
        URLs, values that are not finite numbers ≥ 0, or all zero."""
        if not isinstance(weights, dict):
            raise ValueError("weights are a mapping of node URL to number")
        unknown = set(weights) - set(self.urls)
        if unknown:
            raise ValueError(f"unknown nodes: {', '.join(sorted(map(str, unknown)))}")
        for url, weight in weights.items():
            number = isinstance(weight, int | float) and not isinstance(weight, bool)
            if not number or not math.isfinite(weight) or weight < 0:
                raise ValueError(f"the weight of {url} must be a number ≥ 0, not {weight!r}")
        merged = {url: float(weights.get(url, 0.0)) for url in self.urls}
        total = sum(merged.values())
        if total <= 0:
            raise ValueError("at least one node needs a weight above 0")
        with self._lock:
            self._weights = {url: w / total for url, w in merged.items()}
            return dict(self._weights)

    def weights(self) -> dict[str, float]:
        """The current weights per node URL (they add up to 1)."""
        with self._lock:
            return dict(self._weights)

    def served_per_second(self) -> list[int]:
        """Successful requests per whole second, oldest first: the last ≤ 120 s, from the
        first second with a success (the running second is left out)."""
        now = int(time.monotonic())
        with self._lock:
            history = {second: ok for second, ok in self._history}
        if not history:
            return []
        first = max(min(history), now - HISTORY_S)
        return [history.get(second, 0) for second in range(first, now)]

    def stats(self) -> dict[str, Any]:
        """`nodes` {url: {sent, ok, failed}}, `served_per_second` (see there) and
        `ok_per_second`, the mean of the last few whole seconds."""
        served = self.served_per_second()
        recent = served[-RECENT_S:]
        with self._lock:
            nodes = {url: dict(counts) for url, counts in self._counts.items()}
        return {
            "nodes": nodes,
            "served_per_second": served,
            "ok_per_second": sum(recent) / len(recent) if recent else 0.0,
        }

    # -- work -------------------------------------------------------------------------

    def _pick(self, exclude: set[str]) -> str | None:
        with self._lock:
            candidates = [(u, w) for u, w in self._weights.items() if w > 0 and u not in exclude]
        if not candidates:
            return None
        urls, weights = zip(*candidates, strict=True)
        return self._rng.choices(urls, weights)[0]

    def _work(self, index: int, count: int) -> None:
        """One worker: a request every `count / rate` s on average, until stopped."""
        interval = count / self.rate
        next_at = time.monotonic() + interval * (index + 1) / count
        try:
            client = httpx.Client(timeout=TIMEOUT, follow_redirects=True, verify=self.verify)
        except Exception:  # nothing may raise out of a worker thread
            return
        with client:
            while not self._stop.wait(max(0.0, next_at - time.monotonic())):
                # behind schedule (slow nodes): catch up at most one second's worth
                next_at = max(next_at, time.monotonic() - 1.0)
                next_at += interval * self._rng.uniform(0.5, 1.5)
                with contextlib.suppress(Exception):  # nothing may raise out of the thread
                    self._request(client)

    def _request(self, client: httpx.Client) -> None:
        """One request: to a node by weight; with failover, on to another if unreachable."""
        write = self._rng.random() < WRITE_SHARE
        key = f"orders:{self._rng.randrange(KEYS)}"
        tried: set[str] = set()
        while not self._stop.is_set() and (url := self._pick(tried)) is not None:
            tried.add(url)
            reached = self._send(client, url, key, write)
            if reached or not self.failover:
                return

    def _send(self, client: httpx.Client, url: str, key: str, write: bool) -> bool:
        """Send to `url` and count it; False if the node could not be reached."""
        reached = True
        try:
            if write:
                response = client.put(f"{url}/entities/{key}", json={"v": 1})
            else:
                response = client.get(f"{url}/entities/{key}")
            ok = response.status_code < 500
        except httpx.TransportError:  # refused, reset, timed out: the node is not there
            ok = reached = False
        except Exception:  # a bad answer (or a bug) counts as a failure
            ok = False
        with self._lock:
            counts = self._counts[url]
            counts["sent"] += 1
            counts["ok" if ok else "failed"] += 1
            if ok:
                second = int(time.monotonic())
                if self._history and self._history[-1][0] == second:
                    self._history[-1][1] += 1
                else:
                    self._history.append([second, 1])
        return reached
