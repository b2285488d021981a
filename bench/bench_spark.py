"""Benchmark: the aggregate stage with `--engine spark` (local mode) against `--engine duckdb`.

    python bench/bench_spark.py --log LOG.csv --work DIR [--master 'local[2]'] [--repeat 1]
    python bench/bench_spark.py --rows 1000000 --days 2 --work DIR   # generates the log

The log is ingested once (DuckDB); each repeat copies that run directory and runs
`servechar aggregate` on it with each engine, each in its own process. Peak memory is the
process tree's (the CLI, Spark's JVM and its Python workers are separate processes): the sum
of the tree's resident sets sampled every 0.2 s, and, as a bound, the largest ru_maxrss of
any finished child. The day tasks' seconds come from the Spark run's manifest
(`stages.aggregate.spark`). The projection of a cluster run with a core per day: the Spark
stage's time with the day tasks' wall time replaced by one day's (their wall time times the
local cores over the days: Spark's moving of the rows is part of each day's cost).
The two engines' aggregate outputs are compared byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from process_tree import wait_sampling

HERE = Path(__file__).resolve().parent
OUTPUTS = (
    "aggregate/trace_windows.parquet",
    "aggregate/interarrivals.parquet",
    "aggregate/distributions.parquet",
    "aggregate/meta.json",
    "aggregate/time_quality.json",
)


def timed_cli(args: list[str]) -> dict[str, float]:
    """Run `servechar ARGS` in a child process: wall seconds and peak tree RSS."""
    command = [sys.executable, "-m", "pipeline", *args]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err, peak = wait_sampling(child, 0.2)
    seconds = time.perf_counter() - started
    if child.returncode:
        raise SystemExit(f"servechar {' '.join(args)} failed:\n{err.decode()[-2000:]}")
    return {"seconds": seconds, "peak_tree_mb": peak / 2**20}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def same_outputs(one: Path, other: Path) -> bool:
    files = [one / name for name in OUTPUTS]
    files += sorted((one / "aggregate/summaries").glob("*.parquet"))
    return all(digest(f) == digest(other / f.relative_to(one)) for f in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, help="an existing log (else one is generated)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=35)
    parser.add_argument("--models", type=int, default=3)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    args.work.mkdir(parents=True, exist_ok=True)
    log = args.log
    if log is None:
        sys.path.insert(0, str(HERE))
        from bench import make_log

        log = args.work / f"log-{args.rows}.csv"
        if not log.exists():
            make_log(log, args.rows, 1, clients=args.clients, models=args.models, days=args.days)
    ingested = args.work / "ingested"
    if not (ingested / "stamps" / "ingest.json").exists():
        shutil.rmtree(ingested, ignore_errors=True)
        print("ingest:", timed_cli(["ingest", str(log), "--out", str(ingested), "--quiet"]))

    rows: dict[str, list[dict[str, float]]] = {"duckdb": [], "spark": []}
    found = re.fullmatch(r"local\[(\d+)\]", args.master)
    cores = int(found.group(1)) if found else os.cpu_count() or 1
    for repeat in range(args.repeat):
        outs = {}
        for engine in ("duckdb", "spark"):
            out = args.work / f"{engine}-{repeat}"
            shutil.rmtree(out, ignore_errors=True)
            shutil.copytree(ingested, out)
            extra = (
                ["--engine", "spark", "--spark-master", args.master] if engine == "spark" else []
            )
            measured = timed_cli(["aggregate", "--out", str(out), "--quiet", *extra])
            manifest = json.loads((out / "manifest.json").read_text())["stages"]["aggregate"]
            measured["inside_seconds"] = manifest["seconds"]
            if engine == "spark":
                spark = manifest["spark"]
                tasks = [d["seconds"] for d in spark["days"].values()]
                measured["span_seconds"] = spark["span_seconds"]
                measured["days_wall_seconds"] = spark["days_seconds"]
                measured["day_task_seconds_sum"] = sum(tasks)
                measured["day_task_seconds_max"] = max(tasks)
                # a day's wall time on a core of its own: the tasks' wall time times the
                # cores that ran them over the days (Spark's moving of the rows included)
                per_day = spark["days_seconds"] * min(1.0, cores / len(tasks))
                measured["projected_cluster_seconds"] = (
                    manifest["seconds"] - spark["days_seconds"] + per_day
                )
                print("day tasks:", json.dumps(spark["days"]))
            rows[engine].append(measured)
            outs[engine] = out
        print(f"repeat {repeat}: outputs identical: {same_outputs(outs['duckdb'], outs['spark'])}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\nlog {log} ({log.stat().st_size / 2**20:,.0f} MB), master {args.master}")
    for engine, measured in rows.items():
        keys = sorted({k for m in measured for k in m})
        medians = {k: statistics.median(m[k] for m in measured if k in m) for k in keys}
        print(engine, json.dumps({k: round(v, 2) for k, v in medians.items()}))
    ratio = statistics.median(r["seconds"] for r in rows["spark"]) / statistics.median(
        r["seconds"] for r in rows["duckdb"]
    )
    print(f"spark / duckdb stage time: {ratio:.2f}; largest child ru_maxrss {children:,.0f} MB")


if __name__ == "__main__":
    main()
