"""The demo's load balancer: sends a steady synthetic workload (reads, a few writes) to the
nodes by weight, so a rollout's weights really change what each node serves.

A node that does not answer is skipped for the next request to another node with weight
(failover, as a load balancer's health check would), and counted as failed.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque

import httpx

WORKERS = 4
HISTORY_S = 120


class DemoRouter:
    def __init__(self, urls: list[str], rate: float = 40.0, failover: bool = True) -> None:
        self.urls = list(urls)
        self.rate = rate
        self.failover = failover
        self._weights = {url: 1.0 / len(urls) for url in urls}
        self._lock = threading.Lock()
        self._counts = {url: {"sent": 0, "ok": 0, "failed": 0} for url in urls}
        self._per_second: deque[tuple[int, int]] = deque(maxlen=HISTORY_S)  # (second, ok)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._rng = random.Random()

    # -- control ---------------------------------------------------------------------

    def start(self) -> None:
        for i in range(WORKERS):
            thread = threading.Thread(target=self._work, name=f"demo-router-{i}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self._threads = []

    def set_weights(self, weights: dict[str, float]) -> dict[str, float]:
        """Weights per node URL (normalised); unknown URLs, negatives or all zero: ValueError."""
        unknown = set(weights) - set(self.urls)
        if unknown:
            raise ValueError(f"unknown nodes: {', '.join(sorted(unknown))}")
        if any(not isinstance(w, int | float) or w < 0 for w in weights.values()):
            raise ValueError("weights are numbers of at least 0")
        merged = {url: float(weights.get(url, 0.0)) for url in self.urls}
        total = sum(merged.values())
        if total <= 0:
            raise ValueError("at least one node needs a weight above 0")
        with self._lock:
            self._weights = {url: w / total for url, w in merged.items()}
            return dict(self._weights)

    def weights(self) -> dict[str, float]:
        with self._lock:
            return dict(self._weights)

    def stats(self) -> dict:
        with self._lock:
            now = int(time.time())
            history = dict(self._per_second)
            first = min(history, default=now)
            served = [history.get(s, 0) for s in range(first, now)]  # whole seconds only
            return {
                "nodes": {u: dict(c) for u, c in self._counts.items()},
                "served_per_second": served,
            }

    # -- work -------------------------------------------------------------------------

    def _pick(self, exclude: set[str]) -> str | None:
        with self._lock:
            candidates = [(u, w) for u, w in self._weights.items() if w > 0 and u not in exclude]
        if not candidates:
            return None
        urls, weights = zip(*candidates, strict=True)
        return self._rng.choices(urls, weights)[0]

    def _work(self) -> None:
        pause = WORKERS / self.rate
        with httpx.Client(timeout=2.0, follow_redirects=True) as client:
            while not self._stop.wait(pause * self._rng.uniform(0.5, 1.5)):
                tried: set[str] = set()
                while (url := self._pick(tried)) is not None:
                    tried.add(url)
                    if self._send(client, url) or not self.failover:
                        break

    def _send(self, client: httpx.Client, url: str) -> bool:
        key = f"orders:{self._rng.randrange(1000)}"
        try:
            if self._rng.random() < 0.1:
                response = client.put(f"{url}/entities/{key}", json={"v": 1})
            else:
                response = client.get(f"{url}/entities/{key}")
            ok = response.status_code < 500
        except httpx.HTTPError:
            ok = False
        with self._lock:
            counts = self._counts[url]
            counts["sent"] += 1
            counts["ok" if ok else "failed"] += 1
            if ok:
                second = int(time.time())
                if self._per_second and self._per_second[-1][0] == second:
                    self._per_second[-1] = (second, self._per_second[-1][1] + 1)
                else:
                    self._per_second.append((second, 1))
        return ok
