"""Benchmark of generate, validate and whatif on the benchmark's synthetic log.

    python bench/bench_validate.py                 # 2 million rows (pipeline run once, reused)
    python bench/bench_validate.py --rows 10000000 --whatif-scale 2

Runs the pipeline stages first when their run directory is missing (bench.py's log and
stages), then each command in its own process, and prints requests/s and peak resident memory.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench import STAGES, make_log, run_stage  # noqa: E402


def run_command(args: list[str]) -> dict[str, float]:
    """`servechar ARGS` in a child process; its wall time and peak RSS."""
    code = (
        "import resource, sys, json\n"
        "from pipeline.cli import app\n"
        "try:\n"
        f"    status = app({args!r}, standalone_mode=False)\n"
        "finally:\n"
        "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    print(json.dumps({'peak_rss_mb': peak / 1024}), file=sys.stderr)\n"
        "sys.exit(status if isinstance(status, int) else 0)\n"  # a user error returns 1
    )
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"{args[0]} failed:\n{done.stderr}")
    peak = json.loads(done.stderr.strip().splitlines()[-1])["peak_rss_mb"]
    return {"seconds": seconds, "peak_rss_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--whatif-scale", type=float, default=10.0)
    args = parser.parse_args()

    log = args.work / f"log-{args.rows}-{args.seed}.csv"
    if not log.exists():
        make_log(log, args.rows, args.seed)
    out = args.work / f"out-{args.rows}-{args.seed}"
    if not (out / "profiles" / "clients.csv").exists():
        for stage in STAGES:
            run_stage(stage, log, out)
    trace = args.work / "generated.csv"
    results = {
        "generate": run_command(
            ["generate", str(out), "--duration", "86400", "--seed", "1", "-o", str(trace)]
        ),
        "validate": run_command(["validate", str(out), "--seed", "1"]),
        "whatif": run_command(
            ["whatif", str(out), "--scale", str(args.whatif_scale), "--rpm", "600"]
        ),
    }
    with trace.open() as handle:
        generated = sum(1 for _ in csv.reader(handle)) - 1
    real = json.loads((out / "summary.json").read_text())["rows_accepted"]
    # requests each command handles: generate writes one trace; validate generates two
    # workloads and reads the log; whatif generates the log times --whatif-scale
    handled = {"generate": generated, "validate": real * 3, "whatif": real * args.whatif_scale}
    print(f"input: {log.name}, {real:,} accepted requests; generated {generated:,}")
    print(f"{'command':<10} {'seconds':>8} {'requests/s':>12} {'peak RSS MB':>12}")
    for command, result in results.items():
        print(
            f"{command:<10} {result['seconds']:>8.1f} "
            f"{handled[command] / result['seconds']:>12,.0f} {result['peak_rss_mb']:>12,.0f}"
        )
    validation = json.loads((out / "validation.json").read_text())
    for model in validation["models"]:
        under = model["capacity"]["under_provisioning_pct"]
        print(
            f"{model['model']}: naive under-provisions by {under['naive']:.1f} %, "
            f"per-client by {under['generated']:.1f} %"
        )


if __name__ == "__main__":
    main()
