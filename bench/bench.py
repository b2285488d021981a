"""Benchmark: generate a large synthetic log, run every stage, print rows/s and peak memory.

    python bench/bench.py                 # 10 million rows (generated once, then reused)
    python bench/bench.py --rows 2000000  # smaller

Each stage runs in its own process so that its peak resident memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAGES = ("ingest", "aggregate", "fit", "export", "characterize", "report")


def make_log(path: Path, rows: int, seed: int) -> None:
    """A day of traffic from 200 clients of 4 models, sized to about `rows` requests."""
    import numpy as np

    from pipeline.synthetic import ClientSpec, generate

    rng = np.random.default_rng(seed)
    models = [
        ("gpt-large", "language"),
        ("gpt-small", "language"),
        ("r1", "reason"),
        ("vision", "multimodal"),
    ]
    weights = rng.pareto(1.2, 200) + 0.05  # skewed client sizes, as in production
    rates = weights / weights.sum() * rows / 86_400
    specs = [
        ClientSpec(
            f"client-{i:03d}",
            models[i % 4][0],
            category=models[i % 4][1],
            rate_rps=float(rates[i]),
            family="gamma" if i % 2 else "weibull_min",
            shape=float(rng.uniform(0.4, 2.0)),
            diurnal_amplitude=float(rng.uniform(0.2, 0.8)),
            input_lognormal=(float(rng.uniform(5, 8)), 0.8),
            output_mean=float(rng.uniform(50, 600)),
            failure_rate=0.01,
        )
        for i in range(200)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    log = generate(specs, duration_s=86_400, seed=seed)
    log.write_csv(path)
    print(
        f"generated {len(log):,} rows into {path} ({path.stat().st_size / 1e6:,.0f} MB)",
        file=sys.stderr,
    )


def run_stage(stage: str, log: Path, out: Path) -> dict[str, float]:
    """One stage in a child process; returns its wall time and peak RSS."""
    args = [stage, "--out", str(out)] + ([str(log)] if stage == "ingest" else [])
    code = (
        "import resource, sys, json\n"
        "from pipeline.cli import app\n"
        "try:\n"
        f"    app({args!r}, standalone_mode=False)\n"
        "finally:\n"
        "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    print(json.dumps({'peak_rss_mb': peak / 1024}), file=sys.stderr)\n"
    )
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"{stage} failed:\n{done.stderr}")
    peak = json.loads(done.stderr.strip().splitlines()[-1])["peak_rss_mb"]
    return {"seconds": seconds, "peak_rss_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    args = parser.parse_args()

    log = args.work / f"log-{args.rows}-{args.seed}.csv"
    if not log.exists():
        # in a child: Linux keeps a process's peak RSS across fork and exec, so a log made
        # here would show as every stage's peak
        code = (
            "from pathlib import Path; from bench.bench import make_log; "
            f"make_log(Path({str(log)!r}), {args.rows}, {args.seed})"
        )
        subprocess.run([sys.executable, "-c", code], check=True, cwd=HERE.parent)
    out = args.work / "out"
    results = {stage: run_stage(stage, log, out) for stage in STAGES}
    summary = json.loads((out / "summary.json").read_text())
    rows = summary["rows_read"]
    total = sum(r["seconds"] for r in results.values())
    print(f"input: {log.name}, {rows:,} rows, {log.stat().st_size / 1e6:,.0f} MB")
    print(f"{'stage':<10} {'seconds':>8} {'rows/s':>12} {'peak RSS MB':>12}")
    for stage, result in results.items():
        print(
            f"{stage:<10} {result['seconds']:>8.1f} {rows / result['seconds']:>12,.0f} "
            f"{result['peak_rss_mb']:>12,.0f}"
        )
    peak = max(r["peak_rss_mb"] for r in results.values())
    print(f"{'total':<10} {total:>8.1f} {rows / total:>12,.0f} {peak:>12,.0f}")
    print(f"(own process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB)")


if __name__ == "__main__":
    main()
