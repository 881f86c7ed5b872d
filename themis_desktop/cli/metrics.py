"""`themis-desktop metrics snapshot|record|watch|compare`: derived values now, a watch
compared with a baseline, or two stored windows of a profile compared after the fact.

Exit codes: 0 fine; 1 the node does not answer as ThemisDB (snapshot); 2 bad input or no
baseline; 3 the verdict is fail; 4 no verdict or no values: too little data (a watch or
compare with fewer than the minimum samples, or without latency and error-rate samples on
both sides; a snapshot with no value but the probe's); compare also exits 4 on marginal.
JSON output is strict: a value that is not a finite number is null.

Samples of a watch are kept in the journal under the profile "cli" and the node's URL, so a
watch before the upgrade is the baseline of the watch after it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from themis_desktop.cli.common import TOKEN_ENV, ExitCode, print_error
from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.server import strict_json

CLI_PROFILE = "cli"


def register(commands: Any) -> None:
    metrics = commands.add_parser("metrics", help="live metrics of a node and the verdict")
    actions = metrics.add_subparsers(dest="action", required=True)
    snapshot = actions.add_parser("snapshot", help="the derived values now (two samples)")
    watch = actions.add_parser(
        "watch",
        help="sample for a while, then compare with the baseline (exit 3 on fail)",
    )
    record = actions.add_parser(
        "record", help="sample and keep the samples (a baseline for a later watch)"
    )
    record.add_argument("--duration", type=float, required=True, metavar="S", help="seconds")
    for parser in (snapshot, record, watch):
        parser.add_argument("--server", required=True, metavar="URL")
        parser.add_argument("--token-env", default=TOKEN_ENV, metavar="VAR")
        parser.add_argument("--ca-file", help="CA certificate (PEM) to verify TLS with")
        parser.add_argument("--insecure", action="store_true", help="do not verify TLS")
        parser.add_argument("--interval", type=float, default=1.0, metavar="S")
        parser.add_argument(
            "--timeout",
            type=_seconds,
            default=5.0,
            metavar="S",
            help="the total deadline of each request in seconds (default 5)",
        )
        parser.add_argument(
            "--probe", default=None, metavar="PATH", help="the timed read (default a point read)"
        )
        parser.add_argument("--json", action="store_true")
    watch.add_argument(
        "--baseline-minutes",
        type=float,
        default=15.0,
        metavar="N",
        help="the baseline: the last N minutes before the watch (default 15)",
    )
    watch.add_argument("--duration", type=float, required=True, metavar="S", help="seconds")
    watch.add_argument(
        "--prometheus",
        metavar="URL",
        help="take the baseline from this Prometheus server instead of the journal",
    )
    watch.add_argument(
        "--instance", metavar="HOST:PORT", help="the node's instance label in Prometheus"
    )
    watch.add_argument(
        "--threshold",
        type=_threshold,
        action="append",
        default=[],
        metavar="METRIC=PCT",
        help="fail threshold of a metric in percent (default 20; e.g. probe_ms=10; repeatable)",
    )
    compare = actions.add_parser(
        "compare",
        help="compare two stored windows of a profile's samples (exit 3 fail, 4 inconclusive)",
    )
    compare.add_argument("--profile", required=True, help="the profile whose samples to use")
    compare.add_argument("--before", required=True, type=_window, metavar="FROM..TO")
    compare.add_argument("--after", required=True, type=_window, metavar="FROM..TO")
    compare.add_argument("--json", action="store_true")
    for parser in (watch, compare):
        parser.add_argument(
            "--min-samples",
            type=_count,
            default=None,
            metavar="N",
            help="samples each side needs before a metric can pass or fail (default 50)",
        )
    compare.add_argument(
        "--threshold",
        type=_threshold,
        action="append",
        default=[],
        metavar="METRIC=PCT",
        help="tolerance band of a metric in percent (default 20; repeatable)",
    )
    watch.add_argument(
        "--enforcing",
        action="store_true",
        help="enforcing mode (as rollouts use); the exit code is the same",
    )
    metrics.set_defaults(func=cmd_metrics)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < 3600:
        raise argparse.ArgumentTypeError("the timeout must be above 0 and below 3600 s")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 2:
        raise argparse.ArgumentTypeError("at least 2 samples")
    return value


def _window(text: str) -> tuple[float, float]:
    """`FROM..TO`, ISO 8601 times (UTC without a zone), as unix seconds."""
    from themis_desktop.core.upgrade.rollback_window import parse_time

    start, sep, end = text.partition("..")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not FROM..TO")
    try:
        window = parse_time(start).timestamp(), parse_time(end).timestamp()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    if not window[0] < window[1]:
        raise argparse.ArgumentTypeError(f"{text!r}: FROM must be before TO")
    return window


def _threshold(text: str) -> tuple[str, float]:
    metric, _, percent = text.partition("=")
    if metric not in METRICS:
        raise argparse.ArgumentTypeError(f"unknown metric {metric!r} (one of {', '.join(METRICS)})")
    try:
        value = float(percent.rstrip("%")) / 100
    except ValueError:
        raise argparse.ArgumentTypeError(f"{percent!r} is not a percentage") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the threshold must be above 0 %")
    return metric, value


def cmd_metrics(args: argparse.Namespace) -> int:
    if args.action == "compare":
        return _compare(args)
    from themis_desktop.core.metrics.sampling import DEFAULT_PROBE_PATH, NodeSampler
    from themis_desktop.core.server.client import ThemisClient, normalize_url

    url = normalize_url(args.server)
    client = ThemisClient(
        url,
        os.environ.get(args.token_env),
        verify_tls=not args.insecure,
        ca_file=args.ca_file,
        timeout=args.timeout,
    )
    sampler = NodeSampler(client, url, probe_path=args.probe or DEFAULT_PROBE_PATH)
    try:
        if args.action == "snapshot":
            return _snapshot(args, sampler)
        if args.action == "record":
            return _record(args, sampler)
        return _watch(args, sampler, url)
    finally:
        client.close()


def _snapshot(args: argparse.Namespace, sampler: Any) -> int:
    from themis_desktop.core.util.formatting import format_quantity

    sample = sampler.sample()
    if sample.up:  # a second sample turns counters into rates
        time.sleep(args.interval)
        sample = sampler.sample()
    if args.json:
        print(strict_json.dumps(_sample_json(sample)))
    elif not sample.up:
        print(f"{sample.node}: no usable answer ({sample.error})")
    else:
        print(f"{sample.node}  v{sample.version or sample.version_hint or '?'}")
        for key, info in METRICS.items():
            print(f"  {info.title:<22} {format_quantity(sample.values.get(key), info.unit)}")
    if not sample.up:  # no answer, or not answers of ThemisDB (500s, garbage)
        return ExitCode.DOWN
    if all(value is None for key, value in sample.values.items() if key != "probe_ms"):
        print_error(
            f"{sample.node} answers, but gives no value (none is a finite number): nothing to show"
        )
        return ExitCode.NO_DATA
    return ExitCode.OK


def _sample_json(sample: Any) -> dict[str, Any]:
    return {
        "node": sample.node,
        "at": sample.at,
        "up": sample.up,
        "version": sample.version,
        "version_hint": sample.version_hint,
        "restarted": sample.restarted,
        "error": sample.error,
        "values": {
            key: {"value": sample.values.get(key), "unit": info.unit, "title": info.title}
            for key, info in METRICS.items()
        },
    }


def _watch(args: argparse.Namespace, sampler: Any, url: str) -> int:
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.metrics import store as metrics_store
    from themis_desktop.core.metrics import verdict as metrics_verdict

    started = time.time()
    baseline, source = _baseline(args, url, started)
    if not any(len(v) >= 5 for v in baseline.values()):
        print_error(
            f"no baseline: {source} holds no samples of {url} from the "
            f"{args.baseline_minutes:g} minutes before now. Record one before the upgrade "
            "(`themis-desktop metrics record --server URL --duration 900`; the samples of a "
            "watch are kept too), or take the baseline from --prometheus."
        )
        return ExitCode.USAGE
    interrupted = _sample_for(args, sampler, started)
    if not args.json:
        print(file=sys.stderr)
    with Journal() as journal:
        now = metrics_store.window_values(journal, CLI_PROFILE, started, time.time()).get(url, {})
        evaluation = metrics_verdict.evaluate(
            baseline,
            now,
            thresholds=dict(args.threshold),
            mode="enforcing" if args.enforcing else "advisory",
            **_min_samples(args),
        )
        metrics_verdict.record(journal, CLI_PROFILE, evaluation)
    report = _evaluation_json(evaluation, url, source, baseline, now, interrupted)
    if args.json:
        print(strict_json.dumps(report))
    else:
        _print_evaluation(report)
    if evaluation.overall == "fail":
        return ExitCode.DEGRADED
    if evaluation.waits:
        print_error(
            f"no verdict, {evaluation.inconclusive}. {url} did not answer, "
            "or gave too few usable values (a verdict is never a pass on too little data); "
            "check the node, then watch again."
        )
        return ExitCode.NO_DATA
    return ExitCode.OK


def _min_samples(args: argparse.Namespace) -> dict[str, int]:
    return {} if args.min_samples is None else {"min_samples": args.min_samples}


def _compare(args: argparse.Namespace) -> int:
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.metrics.retrospective import compare_windows

    with Journal() as journal:
        result = compare_windows(
            journal,
            args.profile,
            args.before,
            args.after,
            thresholds=dict(args.threshold),
            **_min_samples(args),
        )
    evaluation = result.evaluation
    report = _evaluation_json(evaluation, args.profile, "the journal", {}, {}, interrupted=False)
    report.pop("server")
    report.update(
        profile=args.profile,
        before=list(args.before),
        after=list(args.after),
        nodes=list(result.nodes),
        offered_load=(
            {"before": result.load.before, "after": result.load.after} if result.load else None
        ),
    )
    report["samples"] = {
        "baseline": max((v.hop.n_before for v in evaluation.verdicts), default=0),
        "now": evaluation.samples,
    }
    if args.json:
        print(strict_json.dumps(report))
    else:
        _print_evaluation({**report, "server": f"profile {args.profile}"})
    if evaluation.overall == "fail":
        return ExitCode.DEGRADED
    if evaluation.overall != "pass":
        if not evaluation.verdicts or evaluation.overall == "no data":
            print_error(
                f"no samples of {args.profile!r} in one window or both: check the profile "
                "name and the times (ISO 8601, UTC without a zone)"
            )
        return ExitCode.NO_DATA
    return ExitCode.OK


def _record(args: argparse.Namespace, sampler: Any) -> int:
    started = time.time()
    interrupted = _sample_for(args, sampler, started)
    if not args.json:
        print(file=sys.stderr)
    print(
        strict_json.dumps({"server": sampler.node, "from": started, "to": time.time()}, indent=None)
        if args.json
        else f"recorded {time.time() - started:.0f} s of samples of {sampler.node}"
        + (" (interrupted)" if interrupted else "")
    )
    return ExitCode.OK


def _sample_for(args: argparse.Namespace, sampler: Any, started: float) -> bool:
    """Sample for --duration seconds into the journal; True when interrupted (Ctrl+C)."""
    from themis_desktop.core.metrics.sampler import Recorder
    from themis_desktop.core.util.paths import journal_path

    def on_sample(sample: Any) -> None:
        if not args.json:
            probe = sample.values.get("probe_ms")
            state = f"probe {probe:.1f} ms" if probe is not None else (sample.error or "no data")
            elapsed = time.time() - started
            print(
                f"\r  {elapsed:5.0f}/{args.duration:g} s  {state:<40}",
                end="",
                file=sys.stderr,
                flush=True,
            )

    recorder = Recorder(
        CLI_PROFILE,
        [sampler],
        interval=args.interval,
        journal_path=journal_path(),
        on_sample=on_sample,
    )
    recorder.start()
    try:
        time.sleep(args.duration)
    except KeyboardInterrupt:
        return True
    finally:
        recorder.stop()
    return False


def _baseline(args: argparse.Namespace, url: str, started: float) -> tuple[dict, str]:
    start = started - args.baseline_minutes * 60
    if args.prometheus:
        from themis_desktop.core.metrics.prometheus_source import PrometheusSource

        instance = args.instance or url.split("://", 1)[-1]
        with PrometheusSource(args.prometheus) as prometheus:
            return prometheus.node_values(instance, start, started), f"Prometheus {args.prometheus}"
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.metrics import store as metrics_store

    with Journal() as journal:
        data = metrics_store.window_values(journal, CLI_PROFILE, start, started)
    return data.get(url, {}), "the journal"


def _evaluation_json(
    evaluation: Any, url: str, source: str, baseline: dict, now: dict, interrupted: bool
) -> dict[str, Any]:
    trigger = evaluation.trigger
    return {
        "server": url,
        "baseline_source": source,
        "interrupted": interrupted,
        "overall": evaluation.overall,
        "inconclusive": evaluation.inconclusive,
        "mode": evaluation.mode,
        "samples": {
            "baseline": max((len(v) for v in baseline.values()), default=0),
            "now": max((len(v) for v in now.values()), default=0),
        },
        "metrics": [
            {
                "metric": v.metric,
                "title": METRICS[v.metric].title,
                "unit": METRICS[v.metric].unit,
                "baseline": v.hop.baseline_median,
                "now": v.hop.now_median,
                "change": v.hop.change,
                "p_value": v.hop.p_value,
                "effect": v.hop.effect,
                "verdict": v.verdict,
                "reason": v.explanation,
                "n": {"before": v.hop.n_before, "after": v.hop.n_after},
                "shift": v.hop.shift,
                "interval": list(v.hop.interval) if v.hop.interval else None,
                "band": v.hop.band,
                "needed": v.hop.needed,
            }
            for v in evaluation.verdicts
        ],
        "trigger": ({"metric": trigger.metric, "summary": trigger.summary} if trigger else None),
    }


def _print_evaluation(report: dict[str, Any]) -> None:
    from themis_desktop.core.util.formatting import format_quantity

    print(
        f"{report['server']}: {report['samples']['now']} samples against "
        f"{report['samples']['baseline']} from {report['baseline_source']}"
        + (" (interrupted)" if report["interrupted"] else "")
    )
    print(f"  {'metric':<22} {'baseline':>12} {'now':>12} {'change':>8} {'p':>8}  verdict")
    for m in report["metrics"]:
        change = f"{m['change']:+.1%}" if m["change"] is not None else "—"
        p = f"{m['p_value']:.3g}" if m["p_value"] is not None else "—"
        print(
            f"  {m['title']:<22} {format_quantity(m['baseline'], m['unit']):>12} "
            f"{format_quantity(m['now'], m['unit']):>12} {change:>8} {p:>8}  {m['verdict']}"
        )
    print(f"verdict: {report['overall'].upper()} ({report['mode']})")
    if report["inconclusive"]:
        print(f"  {report['inconclusive']}")
    if report["trigger"]:
        print(f"rollback trigger: performance degradation: {report['trigger']['summary']}")
