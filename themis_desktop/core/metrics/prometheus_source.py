"""Metrics history from a Prometheus server that already scrapes the nodes.

A baseline can then cover time from before the app started. Values come from Prometheus'
HTTP API (`GET /api/v1/query_range`), one PromQL expression per derived metric
(`METRIC_QUERIES`). Prometheus cannot know the app's own probe latency, and a metric the
server does not export (era B has no latency histogram) is "no data": an empty list.

Each request ends within `timeout` seconds in total and reads at most its route's
`BODY_LIMITS` (docs/limits.md).
"""

from __future__ import annotations

import math
import re
import socket
import ssl
import time
from typing import Any

import httpx

from themis_desktop import __version__
from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.metrics.store import Baseline, BaselineData
from themis_desktop.core.server import errors
from themis_desktop.core.server.bounded_http import Answer, MiB, bounded_client, fetch
from themis_desktop.core.server.strict_json import JsonTooDeep

MAX_POINTS = 11_000  # Prometheus refuses a range query with more points per series
DEFAULT_SCRAPE_INTERVAL = 60.0  # Prometheus' own default, used when the target is not listed
Series = dict[str, list[tuple[float, float]]]  # series key -> [(unix time, value)]
BODY_LIMITS = {  # the most an answer of each API route may hold
    "/api/v1/query_range": 32 * MiB,  # 11 000 points of a few series are ~1 MiB
    "/api/v1/targets": 16 * MiB,
    "/api/v1/label/instance/values": 4 * MiB,
}
DEFAULT_BODY_LIMIT = 16 * MiB


def _quantile(q: float) -> str:
    # era A's untyped histogram is in MICROseconds; histogram_quantile only needs `le`
    return (
        f"histogram_quantile({q}, max by (instance, le) "
        f"(rate(vccdb_latency_bucket_microseconds{{sel}}[{{window}}]))) / 1000"
    )


# metric key -> PromQL; `{sel}` is the instance selector, `{window}` the rate window.
# `max by (instance)` keeps one series per instance even if two jobs scrape the same target.
METRIC_QUERIES: dict[str, str] = {
    "request_rate": "max by (instance) (rate(vccdb_requests_total{sel}[{window}]))",
    "error_rate": (
        "max by (instance) (rate(vccdb_errors_total{sel}[{window}]))"
        " / max by (instance) (rate(vccdb_requests_total{sel}[{window}]))"
    ),
    "server_p50_ms": _quantile(0.5),
    "server_p95_ms": _quantile(0.95),
    "server_p99_ms": _quantile(0.99),
    "rss_bytes": "max by (instance) (process_resident_memory_bytes{sel})",
    "block_cache_usage_bytes": "max by (instance) (rocksdb_block_cache_usage_bytes{sel})",
    "pending_compaction_bytes": "max by (instance) (rocksdb_pending_compaction_bytes{sel})",
    "estimated_keys": "max by (instance) (rocksdb_estimate_num_keys{sel})",
    "uptime_seconds": "max by (instance) (process_uptime_seconds{sel})",
}  # probe_ms is the app's own measurement: Prometheus has no data for it


class PrometheusError(errors.ThemisError):
    """Prometheus answered with an error (a refused query, a timeout, an execution error)."""

    kind = "prometheus"


def fit_step(start: float, end: float, step: float) -> float:
    """`step` raised (to whole milliseconds) so the range has at most MAX_POINTS points."""
    if step <= 0:
        raise ValueError(f"the step must be positive, not {step!r}")
    span = max(end - start, 0.0) + 0.002  # Prometheus rounds start and end to milliseconds
    least = math.ceil(span / MAX_POINTS * 1000) / 1000
    return max(step, least)


def auto_rate_window(scrape_interval: float, step: float) -> float:
    """The rate() window in seconds: 4 scrape intervals, and never less than step + one
    interval so no sample falls between two steps (Grafana's `$__rate_interval`)."""
    return max(4 * scrape_interval, step + scrape_interval)


def promql_duration(seconds: float) -> str:
    """Seconds as a PromQL duration (`4s`, `1500ms`): PromQL has no fractional units."""
    ms = max(1, round(seconds * 1000))
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def parse_duration(text: str) -> float | None:
    """A Prometheus duration (`15s`, `1m30s`, `500ms`) in seconds; None if unreadable."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)", text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        return None
    return sum(float(n) * units[u] for n, u in parts)


def _label_value(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class PrometheusSource:
    """Reads ThemisDB metrics from one Prometheus server (read-only, GET requests)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        token: str | None = None,
        verify_tls: bool = True,
    ) -> None:
        url = url.strip()
        if "://" not in url:
            url = "http://" + url
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not a Prometheus address: {url!r} (expected http(s)://host:port)")
        self.url = url.rstrip("/")  # may carry a path prefix (--web.route-prefix)
        self._timeout = timeout
        headers = {"User-Agent": f"themis-desktop/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._has_token = bool(token)
        self._http, self._backend = bounded_client(self.url, verify=verify_tls, headers=headers)

    def __repr__(self) -> str:  # never shows the token
        return f"PrometheusSource({self.url!r}, token={'set' if self._has_token else 'none'})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PrometheusSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- queries ------------------------------------------------------------------

    def query_range(self, query: str, start: float, end: float, step: float) -> Series:
        """Each series' finite (time, value) points, keyed by its `instance` label (or its
        whole label set when that is missing or shared). `step` is raised if needed."""
        if end < start:
            raise ValueError("the end of the range lies before its start")
        path = "/api/v1/query_range"
        params = {"query": query, "start": start, "end": end, "step": fit_step(start, end, step)}
        data = self._get(path, params)
        if not isinstance(data, dict) or data.get("resultType") != "matrix":
            raise self._malformed(path, "a range query did not return a matrix")
        result = data.get("result")
        if not isinstance(result, list):
            raise self._malformed(path, "the result is not a list of series")
        try:
            series = [(dict(s["metric"]), _points(s["values"])) for s in result]
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise self._malformed(path, f"a series is not shaped as expected ({exc!r})") from None
        instances = [labels.get("instance") for labels, _ in series]
        out: Series = {}
        for labels, points in series:
            instance = labels.get("instance")
            key = instance if instance and instances.count(instance) == 1 else _label_key(labels)
            out[key] = points
        return out

    def scrape_interval(self, instance: str) -> float | None:
        """How often Prometheus scrapes `instance` (longest of its jobs), from its targets;
        None if it has no such active target or no targets API (e.g. behind a proxy)."""
        try:
            data = self._get("/api/v1/targets", {"state": "active"})
        except (errors.NotFound, errors.MalformedResponse):
            return None
        targets = data.get("activeTargets") if isinstance(data, dict) else None
        found = [
            parse_duration(str(target.get("scrapeInterval", "")))
            for target in targets or []
            if isinstance(target, dict) and (target.get("labels") or {}).get("instance") == instance
        ]
        known = [value for value in found if value]
        return max(known) if known else None

    def instances(self) -> list[str]:
        """Every `instance` label value Prometheus holds (to help fix a wrong mapping)."""
        data = self._get("/api/v1/label/instance/values", {})
        return sorted(str(v) for v in data) if isinstance(data, list) else []

    def node_values(
        self,
        instance: str,
        start: float,
        end: float,
        *,
        step: float = 1.0,
        rate_window: float | None = None,
    ) -> dict[str, list[float]]:
        """Every metric of the catalogue for one instance over [start, end]; no data is an
        empty list. The step is at least the scrape interval (no repeated samples); the rate
        window (seconds) defaults to `auto_rate_window(scrape interval, step)`."""
        interval = self.scrape_interval(instance)
        step = fit_step(start, end, max(step, interval or 0.0))
        window = rate_window or auto_rate_window(interval or DEFAULT_SCRAPE_INTERVAL, step)
        sel = "{instance=" + _label_value(instance) + "}"
        values: dict[str, list[float]] = {key: [] for key in METRICS}
        for key, template in METRIC_QUERIES.items():
            query = template.format(sel=sel, window=promql_duration(window))
            values[key] = [
                v for _, v in self.query_range(query, start, end, step).get(instance, [])
            ]
        return values

    def baseline(
        self,
        profile: str,
        nodes: dict[str, str],
        start: float,
        end: float,
        *,
        kind: str = "hop",
        label: str = "",
        session_id: int | None = None,
        step: float = 1.0,
    ) -> Baseline:
        """A baseline (not saved) from Prometheus; `nodes` maps node name -> instance label.
        A node of which Prometheus has no sample at all in the range is an error."""
        data: BaselineData = {}
        for node, instance in nodes.items():
            values = self.node_values(instance, start, end, step=step)
            if not any(values.values()):
                raise self._no_samples(node, instance)
            data[node] = values
        return Baseline(profile, kind, label, start, end, "prometheus", data, session_id)

    # -- plumbing -------------------------------------------------------------------

    def _no_samples(self, node: str, instance: str) -> PrometheusError:
        try:
            known = self.instances()
        except errors.ThemisError:
            known = []
        listed = ", ".join(known[:10]) + (", …" if len(known) > 10 else "")
        return PrometheusError(
            self.url,
            f"Prometheus has no ThemisDB samples of instance {instance!r} (node {node}) "
            "in that time range",
            (f"Instances it knows: {listed}. " if listed else "")
            + "Map the node to the instance label Prometheus uses for it (usually host:port "
            "of its /metrics), or choose a time range in which Prometheus scraped it.",
        )

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        """The `data` of a successful API answer; every failure as a ThemisError."""
        url = self.url + path
        try:
            response = fetch(
                self._http,
                self._backend,
                "GET",
                path,
                url=url,
                who="a Prometheus server",
                deadline=time.monotonic() + self._timeout,
                seconds=self._timeout,
                limit=BODY_LIMITS.get(path, DEFAULT_BODY_LIMIT),
                ok=(200,),
                params=params,
            )
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, url) from None
        try:
            body = response.json()
        except JsonTooDeep as exc:
            raise self._malformed(path, str(exc)) from None
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("status") == "error":
            raise _api_error(url, body, response.status_code)
        if response.status_code != 200:
            raise self._status_error(response, url)
        if not isinstance(body, dict):
            snippet = response.text[:80].replace("\n", " ")
            raise self._malformed(path, f"the answer is not JSON: {snippet!r}")
        if body.get("status") != "success" or "data" not in body:
            raise self._malformed(path, "the answer has no status 'success' and no data")
        return body["data"]

    def _malformed(self, path: str, detail: str) -> errors.MalformedResponse:
        return errors.MalformedResponse(
            self.url + path,
            f"The answer to {path} does not look like Prometheus': {detail}",
            "Check that the address points at the Prometheus server (default port 9090), "
            "not at Grafana, a node or a proxy page.",
        )

    def _transport_error(self, exc: httpx.HTTPError, url: str) -> errors.ThemisError:
        if isinstance(exc, httpx.TimeoutException):
            return errors.ConnectTimeout(
                url,
                f"Prometheus did not answer within {self._timeout:g} s",
                "It may be overloaded or behind a firewall that drops packets; for a long "
                "range choose a shorter one. Check the address, then retry.",
            )
        todo: list[BaseException | None] = [exc]
        while todo:
            cause = todo.pop()
            if cause is None:
                continue
            if isinstance(cause, ConnectionRefusedError):
                return errors.ConnectionRefused(
                    url,
                    "The connection to Prometheus was refused",
                    "Nothing listens on that port: Prometheus is stopped or uses another "
                    "port (default 9090, see its --web.listen-address). Fix the address.",
                )
            if isinstance(cause, socket.gaierror):
                return errors.HostNotFound(
                    url,
                    "The Prometheus host name could not be resolved",
                    "Check the spelling of the address, or use its IP address.",
                )
            if isinstance(cause, ssl.SSLError):
                return errors.TlsFailure(
                    url,
                    f"The TLS handshake with Prometheus failed: {cause}",
                    "Use http:// if it does not speak TLS, or turn off verification only "
                    "for a self-signed certificate you trust.",
                )
            todo += [cause.__cause__, cause.__context__]
        return errors.ServerFailure(
            url, f"The connection to Prometheus failed: {str(exc) or type(exc).__name__}", "Retry."
        )

    def _status_error(self, response: Answer, url: str) -> errors.ThemisError:
        status = response.status_code
        text = response.text[:120].strip() or response.reason_phrase
        if status == 401:
            return errors.Unauthorized(
                url,
                f"Prometheus requires authentication ({text})",
                "Enter the bearer token of the Prometheus server (or of its proxy).",
                status,
            )
        if status == 403:
            return errors.Forbidden(
                url, f"Prometheus refused access ({text})", "Use a token allowed to query.", status
            )
        if status == 404:
            return errors.NotFound(
                url,
                "There is no Prometheus API at that address",
                "Use the server's base address, e.g. http://host:9090 (plus its route prefix "
                "if it has one).",
                status,
            )
        return errors.ServerFailure(
            url, f"Prometheus answered HTTP {status}: {text}", "Retry later.", status
        )


def _api_error(url: str, body: dict, status: int) -> PrometheusError:
    kind, text = str(body.get("errorType", "error")), str(body.get("error", "no reason given"))
    hints = {
        "bad_data": "The query or its time range was refused; this is a bug of Themis "
        "Desktop if it persists, please report it with this message.",
        "timeout": "The query took too long: choose a shorter time range.",
        "canceled": "The query was cancelled: retry.",
        "execution": "Prometheus could not run the query (too many samples?): choose a "
        "shorter time range.",
        "unavailable": "Prometheus is starting or overloaded: retry in a minute.",
    }
    return PrometheusError(
        url,
        f"Prometheus refused the query ({kind}): {text}",
        hints.get(kind, "Retry; if it persists, check the Prometheus server's log."),
        status,
    )


def _points(values: list) -> list[tuple[float, float]]:
    """[[ts, "value"], ...] as floats; NaN and infinities (no data) dropped."""
    points = [(float(ts), float(value)) for ts, value in values]
    return [(ts, value) for ts, value in points if math.isfinite(value)]


def _label_key(labels: dict[str, str]) -> str:
    name = labels.get("__name__", "")
    rest = ",".join(f"{k}={_label_value(v)}" for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{rest}}}"
