"""A page with refused lines: every other sample is read as on the clean page (names and
types included), and each refused line is counted."""

from __future__ import annotations

import pytest

from themis_desktop.core.metrics import exposition
from themis_desktop.core.metrics.exposition import parse

PAGE = """# HELP process_uptime_seconds Process uptime in seconds
# TYPE process_uptime_seconds gauge
process_uptime_seconds 86400
# HELP vccdb_latency_sum_microseconds Total request latency
# TYPE vccdb_latency_sum_microseconds counter
vccdb_latency_sum_microseconds 987654321
# TYPE vccdb_route_latency histogram
vccdb_route_latency_bucket{route="/a",le="100"} 1
vccdb_route_latency_bucket{route="/a",le="+Inf"} 2
vccdb_route_latency_bucket{route="/b",le="100"} 3
vccdb_route_latency_bucket{route="/b",le="+Inf"} 4
vccdb_route_latency_sum{route="/a"} 5
vccdb_route_latency_count{route="/a"} 2
rocksdb_files_level{level="L0"} 1
rocksdb_files_level{level="L1"} 5
vccdb_qps 1234.5
vccdb_nan NaN
# HELP vccdb_requests_total Total HTTP requests handled
# TYPE vccdb_requests_total counter
vccdb_requests_total 91234567
"""
BAD = 'vccdb_threadpool_state{pool="io"} running'


def _with(lines_after: list[tuple[int, str]]) -> str:
    lines = PAGE.rstrip("\n").split("\n")
    for at, text in sorted(lines_after, reverse=True):
        lines.insert(at, text)
    return "\n".join(lines) + "\n"


CLEAN = parse(PAGE)


def test_the_clean_page_has_every_sample_with_its_typed_name() -> None:
    assert CLEAN.skipped_lines == 0
    assert CLEAN.value("vccdb_latency_sum_microseconds_total") == 987654321  # a counter
    assert CLEAN.value("vccdb_route_latency_bucket", route="/b", le="+Inf") == 4
    assert len(CLEAN.samples) == 12  # NaN is no data


@pytest.mark.parametrize(
    "where",
    [
        [(0, BAD)],  # the first line
        [(2, BAD)],  # inside the first family, before its sample
        [(6, BAD)],  # between a counter's TYPE and the next family
        [(9, BAD)],  # inside a histogram
        [(9, BAD), (9, BAD), (12, "vccdb_x{a=b} 1")],  # two in a row, and another
        [(14, 'query_latency_ms{type="read"}{quantile="0.5"} 3')],  # newer servers'
        [(20, BAD)],  # the last line
        [(3, "# TYPE broken"), (10, BAD)],  # a TYPE line without a type
    ],
)
def test_refused_lines_are_counted_and_the_rest_read_as_on_the_clean_page(where) -> None:
    scrape = parse(_with(where))
    assert scrape.skipped_lines == len(where)
    assert scrape.samples == CLEAN.samples


def test_many_refused_lines_in_one_large_family_cost_no_more_than_a_second_pass(
    monkeypatch,
) -> None:
    bucket = [f'big_bucket{{le="{i}"}} {i}' for i in range(400)]
    lines = [
        "# TYPE big histogram",
        *[x for pair in zip(bucket, [BAD] * 400, strict=True) for x in pair],
    ]
    reads = 0
    numbered = exposition._numbered

    def counting(*args):
        nonlocal reads
        for line in numbered(*args):
            reads += 1
            yield line

    monkeypatch.setattr(exposition, "_numbered", counting)
    scrape = parse("\n".join(lines) + "\n")
    assert scrape.skipped_lines == 400
    assert len(scrape.samples) == 400
    assert reads <= 3 * len(lines)  # not a family's length per bad line


def test_only_reads_the_named_metrics_and_still_counts_their_bad_lines() -> None:
    scrape = parse(_with([(9, BAD)]), only=("vccdb_threadpool", "rocksdb_files"))
    assert scrape.skipped_lines == 1
    assert scrape.value("rocksdb_files_level", level="L1") == 5
    assert scrape.value("process_uptime_seconds") is None
