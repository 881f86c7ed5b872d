"""Render a generated 200 KiB guide; compare with plain `markdown.markdown` on the same text.

Target (DESIGN.md § 6): < 300 ms for our whole pipeline (parse, validate, extract steps,
render with highlighting), measured here beside the plain conversion as a reference.
Run: .venv/bin/python bench/guides.py
"""

from __future__ import annotations

import statistics
import time

import markdown

from themis_desktop.core.guides.library import parse_guide
from themis_desktop.core.guides.render import render_guide

TARGET_MS = 300
SIZE = 200 * 1024


def generated_guide(size: int = SIZE) -> str:
    """A template-conforming guide of about `size` bytes: sections, tables, code, steps."""
    head = (
        '---\nfrom: "1.7"\nto: "1.8"\nupdated: 2026-11-26\nstatus: draft\n---\n'
        "# Migration Guide: v1.7 to v1.8\n\n## Overview\nSee [rollback](#5-rollback-procedure).\n"
    )
    parts = [head]
    n = 0
    while sum(map(len, parts)) < size * 0.45:
        n += 1
        parts.append(
            f"\n### Topic {n}\n\nThemisDB node {n} keeps `storage.memtable_size_mb` at 512 and "
            "answers `GET /version` quickly; compare metrics before and after. "
            * 3
            + "\n\n| key | before | after |\n|---|---|---|\n"
            + "".join(f"| storage.option_{n}_{i} | {i} | {i * 2} |\n" for i in range(6))
            + "\n```bash\ncurl -s http://HOST:PORT/version | python3 -m json.tool\n"
            f"systemctl restart themisdb  # node {n}\n```\n"
        )
    parts.append(
        "\n## Breaking Changes\nNone.\n## New Features\nMany.\n## Deprecated Features\n"
        "None.\n## Step-by-Step Migration\n"
    )
    phases = [
        "1. Pre-Migration Checks",
        "2. Backup Procedures",
        "3. Upgrade Steps",
        "4. Post-Migration Validation",
        "5. Rollback Procedure",
    ]
    step_bytes = 150
    per_phase = max(1, int((size - sum(map(len, parts)) - 200) / step_bytes / len(phases)))
    for phase in phases:
        parts.append(f"### {phase}\n")
        for i in range(per_phase):
            parts.append(
                f"- [ ] Check item {i} of {phase.lower()} on every node of the cluster.\n\n"
                f"    ```bash\n    themis-desktop status --profile prod  # {i}\n    ```\n"
            )
    parts.append("## Code Changes Required\nNone.\n## Testing\nStaging.\n## Support\nAsk.\n")
    return "".join(parts)


def best_ms(fn, runs: int = 7) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return min(times), statistics.median(times)


def main() -> None:
    text = generated_guide()
    guide = parse_guide(text)
    print(
        f"guide: {len(text) / 1024:.0f} KiB, {len(guide.steps)} steps, "
        f"{len(guide.findings)} findings"
    )
    ours_best, ours_median = best_ms(lambda: render_guide(parse_guide(text)))
    plain_best, plain_median = best_ms(
        lambda: markdown.markdown(text, extensions=["tables", "fenced_code"])
    )
    print(f"plain markdown.markdown : best {plain_best:7.1f} ms  median {plain_median:7.1f} ms")
    print(f"themis parse + render   : best {ours_best:7.1f} ms  median {ours_median:7.1f} ms")
    print(f"ratio (ours / plain)    : {ours_median / plain_median:.2f}x")
    verdict = "OK" if ours_median < TARGET_MS else "OVER TARGET"
    print(f"target < {TARGET_MS} ms      : {verdict}")


if __name__ == "__main__":
    main()
