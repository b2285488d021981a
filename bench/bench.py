"""Benchmark: every stage of servechar as a ratio to a bare DuckDB pass over the same log.

    python bench/bench.py               # 10 million rows, 200 clients, 4 models, one day
    python bench/bench.py --rows 4500000 --clients 35 --models 3 --days 2 --repeat 3

The log is generated once and reused. Each repeat runs the bare pass (bench/bare_pass.py),
each stage of servechar, the bare pass again, `servechar run` end to end and the bare pass a
third time, every one in its own process, so that its peak resident memory (ru_maxrss) is its
own; each time is divided by the mean of the bare passes on either side of it, which follows
the load of a shared machine. It prints median seconds, median ratios to the bare pass, the
seconds spent inside each stage (its manifest entry; the rest is Python starting, the stage's
imports, the lock and the stamps; the `startup` row is Python importing the CLI alone), peak
RSS, and the targets (end to end <= 3x, ingest to export <= 2x, characterize <= 0.5x, peak
RSS < 2 GB) beside the measured values. The `floor` row (bench/bare_pass.py --floor) is the
least of the work ingest to export must do, timed the same way: a lower bound of their ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAGES = ("ingest", "aggregate", "fit", "export", "characterize", "report")
MODELS = (
    ("gpt-large", "language"),
    ("gpt-small", "language"),
    ("r1", "reason"),
    ("vision", "multimodal"),
)
INGEST_TO_EXPORT = ("ingest", "aggregate", "fit", "export")
MEASURED = (*STAGES, "run")  # the rows whose peak RSS is servechar's
# (row, bound on the ratio to the bare pass), from the issue "One scan, mergeable summaries"
RATIO_TARGETS = (("run", 3.0), ("ingest..export", 2.0), ("characterize", 0.5))
PEAK_RSS_TARGET_MB = 2048
CHUNKED_ABOVE_ROWS = 20_000_000  # larger logs are generated and written one day at a time
DAY = timedelta(days=1)


def make_log(
    path: Path, rows: int, seed: int, *, clients: int = 200, models: int = 4, days: int = 1
) -> None:
    """`days` of traffic from `clients` clients of `models` models, about `rows` requests."""
    import numpy as np
    import polars as pl

    from pipeline.synthetic import START, ClientSpec, generate

    rng = np.random.default_rng(seed)
    duration_s = 86_400 * days
    weights = rng.pareto(1.2, clients) + 0.05  # skewed client sizes, as in production
    rates = weights / weights.sum() * rows / duration_s
    specs = [
        ClientSpec(
            f"client-{i:03d}",
            MODELS[i % models][0],
            category=MODELS[i % models][1],
            rate_rps=float(rates[i]),
            family="gamma" if i % 2 else "weibull_min",
            shape=float(rng.uniform(0.4, 2.0)),
            diurnal_amplitude=float(rng.uniform(0.2, 0.8)),
            input_lognormal=(float(rng.uniform(5, 8)), 0.8),
            output_mean=float(rng.uniform(50, 600)),
            failure_rate=0.01,
        )
        for i in range(clients)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    if rows <= CHUNKED_ABOVE_ROWS:
        generate(specs, duration_s=duration_s, seed=seed).write_csv(path)
    else:
        # one day at a time, appended: a 100M-row log never sits in memory (each day has its
        # own seed, so the days differ; the daily cycle restarts at each midnight as it should)
        partial = path.with_name(path.name + ".partial")
        with partial.open("wb") as sink:
            for day in range(days):
                chunk = generate(
                    specs, duration_s=86_400, seed=seed * 100_003 + day, start=START + day * DAY
                )
                # request ids restart at req-0 each day: keep them unique across the log
                chunk = chunk.with_columns(pl.format(f"d{day:03d}-{{}}", "request_id"))
                chunk.write_csv(sink, include_header=day == 0)
        partial.replace(path)  # a generation cut short never looks like a finished log
    print(
        f"generated {path} ({path.stat().st_size / 1e6:,.0f} MB)",
        file=sys.stderr,
    )


def _child(code: str, what: str) -> dict[str, float]:
    """Python `code` in a child process; its wall time and the peak RSS it reports last."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=HERE.parent
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"{what} failed:\n{done.stderr}")
    reported = json.loads(done.stderr.strip().splitlines()[-1])
    result = {"seconds": seconds, "peak_rss_mb": reported["peak_rss_mb"]}
    if "seconds" in reported:  # the time the child measured itself, without its start-up
        result["inside_seconds"] = reported["seconds"]
    return result


def _stage_seconds(out: Path) -> dict[str, float]:
    """Each stage's own time, as its manifest entry records it."""
    stages = json.loads((out / "manifest.json").read_text())["stages"]
    return {stage: stages[stage]["seconds"] for stage in STAGES}


def run_startup() -> dict[str, float]:
    """A child that only starts Python and imports the CLI (stages import more when they run)."""
    code = (
        "import resource, sys, json\n"
        "import pipeline.cli\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'peak_rss_mb': peak / 1024}), file=sys.stderr)\n"
    )
    return _child(code, "startup")


def _cli_code(args: list[str]) -> str:
    return (
        "import resource, sys, json\n"
        "from pipeline.cli import app\n"
        "code = 1\n"
        "try:\n"
        # without standalone mode a failed command returns its exit status instead of
        # exiting: pass it on, so that the parent reports the failure and its Error line
        f"    code = app({args!r}, standalone_mode=False) or 0\n"
        "finally:\n"
        "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    print(json.dumps({'peak_rss_mb': peak / 1024}), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )


def run_stage(stage: str, log: Path, out: Path) -> dict[str, float]:
    """One stage in a child process; returns its wall time and peak RSS."""
    args = [stage, "--out", str(out)] + ([str(log)] if stage == "ingest" else [])
    return _child(_cli_code(args), stage)


def run_end_to_end(log: Path, out: Path) -> dict[str, float]:
    """`servechar run` (ingest to report in one process); wall time and peak RSS."""
    return _child(_cli_code(["run", str(log), "--out", str(out), "--quiet"]), "run")


def run_bare(log: Path, out: Path, *, floor: bool = False) -> dict[str, float]:
    """The bare DuckDB pass (bench/bare_pass.py), or with `floor` its floor pass under ingest
    to export, in a child process."""
    argv = ["bare_pass", str(log), str(out), *(["--floor"] if floor else [])]
    code = f"import sys\nfrom bench.bare_pass import main\nsys.argv = {argv!r}\nmain()\n"
    return _child(code, "floor pass" if floor else "bare pass")


def _mean_bare(passes: list[dict[str, float]]) -> dict[str, float]:
    return {
        "seconds": statistics.fmean(p["seconds"] for p in passes),
        "inside_seconds": statistics.fmean(p["inside_seconds"] for p in passes),
        "peak_rss_mb": max(p["peak_rss_mb"] for p in passes),
    }


def run_only_repeat(log: Path, work: Path) -> dict[str, dict[str, float]]:
    """`servechar run` alone between two bare passes (for logs too large to run twice)."""
    bare = [run_bare(log, work / "bare")]
    result = run_end_to_end(log, work / "out-run")
    result["inside_seconds"] = sum(_stage_seconds(work / "out-run").values())
    bare.append(run_bare(log, work / "bare"))
    result["ratio"] = result["seconds"] / _mean_bare(bare)["seconds"]
    bare_row = {**_mean_bare(bare), "ratio": 1.0, "each_seconds": [p["seconds"] for p in bare]}
    return {"bare pass": bare_row, "run": result}


def one_repeat(log: Path, work: Path, end_to_end: bool) -> dict[str, dict[str, float]]:
    """Every stage, then (optionally) `servechar run`, each between two bare passes.

    The load of a shared machine drifts over minutes, so each measurement is divided by the
    mean of the bare passes just before and just after it: the stages (and their sums) by the
    first and second, `servechar run` by the second and third.
    """
    bare = [run_bare(log, work / "bare")]
    out = work / "out"
    results = {stage: run_stage(stage, log, out) for stage in STAGES}
    for stage, seconds in _stage_seconds(out).items():
        results[stage]["inside_seconds"] = seconds
    # ingest to export and every stage together, as the stages' sums (one process each)
    for name, parts in (("ingest..export", INGEST_TO_EXPORT), ("stages", STAGES)):
        results[name] = {
            key: fold(results[p][key] for p in parts)
            for key, fold in (("seconds", sum), ("inside_seconds", sum), ("peak_rss_mb", max))
        }
    results["startup"] = run_startup()
    results["floor"] = run_bare(log, work / "floor", floor=True)
    bare.append(run_bare(log, work / "bare"))
    reference = {name: _mean_bare(bare) for name in results}
    if end_to_end:
        results["run"] = run_end_to_end(log, work / "out-run")
        results["run"]["inside_seconds"] = sum(_stage_seconds(work / "out-run").values())
        bare.append(run_bare(log, work / "bare"))
        reference["run"] = _mean_bare(bare[1:])
    for name, result in results.items():
        result["ratio"] = result["seconds"] / reference[name]["seconds"]
    results = {"bare pass": {**_mean_bare(bare), "ratio": 1.0}, **results}
    results["bare pass"]["each_seconds"] = [p["seconds"] for p in bare]
    return results


def summarize(repeats: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per row: median seconds, median ratio (each to its own repeat's bare pass), max peak."""
    return {
        name: {
            "seconds": statistics.median(r[name]["seconds"] for r in repeats),
            "ratio": statistics.median(r[name]["ratio"] for r in repeats),
            "ratio_min": min(r[name]["ratio"] for r in repeats),
            "ratio_max": max(r[name]["ratio"] for r in repeats),
            "peak_rss_mb": max(r[name]["peak_rss_mb"] for r in repeats),
            **(
                {"inside_seconds": statistics.median(r[name]["inside_seconds"] for r in repeats)}
                if "inside_seconds" in repeats[0][name]
                else {}
            ),
        }
        for name in repeats[0]
    }


def targets(summary: dict[str, dict[str, float]]) -> dict[str, str]:
    """Target text per row: the bound and whether the median meets it."""
    marks = {
        name: f"<= {bound:g}x: {'met' if summary[name]['ratio'] <= bound else 'NOT met'}"
        for name, bound in RATIO_TARGETS
        if name in summary
    }
    peak = max(row["peak_rss_mb"] for name, row in summary.items() if name in MEASURED)
    if "floor" in summary:
        marks["floor"] = "least of ingest..export's work: a lower bound of its ratio"
    marks["peak RSS"] = (
        f"< {PEAK_RSS_TARGET_MB / 1024:g} GB: {'met' if peak < PEAK_RSS_TARGET_MB else 'NOT met'}"
    )
    return marks


def print_table(summary: dict[str, dict[str, float]], rows: int, n_repeats: int) -> None:
    marks = targets(summary)
    print(
        f"{n_repeats} repeat(s); medians; seconds of the child process (inside: the stage's "
        "own time); ratio = seconds / the mean of the bare passes on either side"
    )
    print(
        f"{'stage':<15} {'seconds':>8} {'inside':>7} {'ratio':>6} {'(range)':>11} "
        f"{'rows/s':>11} {'peak RSS MB':>12}  target"
    )
    for name, row in summary.items():
        spread = f"{row['ratio_min']:.2f}-{row['ratio_max']:.2f}"
        inside = f"{row['inside_seconds']:.1f}" if "inside_seconds" in row else ""
        print(
            f"{name:<15} {row['seconds']:>8.1f} {inside:>7} {row['ratio']:>6.2f} {spread:>11} "
            f"{rows / row['seconds']:>11,.0f} {row['peak_rss_mb']:>12,.0f}  {marks.get(name, '')}"
        )
    peak = max(row["peak_rss_mb"] for name, row in summary.items() if name in MEASURED)
    print(f"{'peak RSS':<15} {peak / 1024:>8.2f} GB (any stage or run)  {marks['peak RSS']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--models", type=int, default=4, choices=range(1, len(MODELS) + 1))
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2, help="runs of everything (medians)")
    parser.add_argument(
        "--no-run", action="store_true", help="skip `servechar run` (stage sums only)"
    )
    parser.add_argument(
        "--run-only",
        action="store_true",
        help="only `servechar run` between two bare passes (for 100M-row logs)",
    )
    parser.add_argument("--json", type=Path, help="also write every repeat's numbers here")
    parser.add_argument("--work", type=Path, default=HERE / "work")
    args = parser.parse_args()

    shape = (
        ""
        if (args.clients, args.models, args.days) == (200, 4, 1)
        else f"-{args.clients}c{args.models}m{args.days}d"
    )
    log = args.work / f"log-{args.rows}{shape}-{args.seed}.csv"
    if not log.exists():
        # in a child: Linux keeps a process's peak RSS across fork and exec, so a log made
        # here would show as every stage's peak
        code = (
            "from pathlib import Path; from bench.bench import make_log; "
            f"make_log(Path({str(log)!r}), {args.rows}, {args.seed}, clients={args.clients}, "
            f"models={args.models}, days={args.days})"
        )
        subprocess.run([sys.executable, "-c", code], check=True, cwd=HERE.parent)
    repeats = []
    for index in range(args.repeat):
        if args.run_only:
            repeats.append(run_only_repeat(log, args.work))
        else:
            repeats.append(one_repeat(log, args.work, end_to_end=not args.no_run))
        ratios = ", ".join(f"{name} {r['ratio']:.2f}" for name, r in repeats[-1].items())
        print(f"repeat {index + 1}/{args.repeat}: {ratios}", file=sys.stderr)
        if args.json:  # after every repeat, so that a long run stopped early keeps its numbers
            record = {"log": log.name, "repeats": repeats, "summary": summarize(repeats)}
            args.json.write_text(json.dumps(record, indent=1) + "\n")
    out = args.work / ("out-run" if args.run_only else "out")
    rows = json.loads((out / "summary.json").read_text())["rows_read"]
    print(f"input: {log.name}, {rows:,} rows, {log.stat().st_size / 1e6:,.0f} MB")
    print_table(summarize(repeats), rows, len(repeats))
    print(f"(own process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB)")


if __name__ == "__main__":
    main()
