"""Ingest on Spark (`--engine spark`, local mode) against DuckDB: time and peak memory.

Each run is a child process; its whole process tree (the driver, Spark's JVM, the Python
workers) is sampled from /proc every 0.1 s, and the peak of the tree's summed resident memory
is reported (ru_maxrss would give only the largest single process). The Spark run's per-file
task times come from the run's manifest (`spark_tasks`).

    python bench/bench_spark_ingest.py LOG [LOG...] --work DIR [--master 'local[2]']

The inputs are read, never written; every output goes under DIR. Both engines' summary.json,
rejects.csv and request-table files are compared byte for byte after the runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from process_tree import wait_sampling

HERE = Path(__file__).resolve().parent


def run_ingest(logs: list[Path], out: Path, engine: str, master: str) -> dict[str, float]:
    """One ingest in a child process: wall seconds and the tree's peak RSS."""
    code = (
        "import sys\n"
        "from pipeline.config import EngineOptions, IngestOptions\n"
        "from pipeline.rundir import RunDir\n"
        "from pipeline.stages import ingest\n"
        f"engine = EngineOptions(engine={engine!r}, spark_master={master!r})\n"
        f"ingest.run(RunDir({str(out)!r}), {[str(p) for p in logs]!r}, IngestOptions(), engine)\n"
    )
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], cwd=HERE.parent)
    _err, peak = wait_sampling(child, 0.1)
    seconds = time.perf_counter() - started
    if child.returncode:
        sys.exit(f"ingest with {engine} failed (exit {child.returncode})")
    stage = json.loads((out / "manifest.json").read_text())["stages"]["ingest"]
    return {
        "seconds": seconds,
        "inside_seconds": stage["seconds"],
        "peak_tree_rss_mb": peak / 2**20,
        "tasks": stage.get("spark_tasks", []),
    }


def same_outputs(a: Path, b: Path) -> bool:
    names = ["summary.json", "rejects.csv", "ingest/identity.json"]
    names += [str(p.relative_to(a)) for p in sorted((a / "ingest/requests").rglob("*.parquet"))]
    return all((a / n).read_bytes() == (b / n).read_bytes() for n in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="+", type=Path)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = {}
    for engine in ("duckdb", "spark"):
        out = args.work / f"out-{engine}"
        results[engine] = run_ingest(args.logs, out, engine, args.master)
    print(json.dumps(results, indent=1))
    duck, spark = results["duckdb"], results["spark"]
    print(
        f"duckdb {duck['seconds']:.1f} s (inside {duck['inside_seconds']:.1f} s), "
        f"peak {duck['peak_tree_rss_mb']:,.0f} MB; spark {args.master} {spark['seconds']:.1f} s "
        f"(inside {spark['inside_seconds']:.1f} s), peak {spark['peak_tree_rss_mb']:,.0f} MB; "
        f"ratio {spark['seconds'] / duck['seconds']:.2f}; outputs identical: "
        f"{same_outputs(args.work / 'out-duckdb', args.work / 'out-spark')}"
    )


if __name__ == "__main__":
    main()
