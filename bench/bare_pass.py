"""The benchmark's yardstick: a bare DuckDB pass over a CSV log.

    python bench/bare_pass.py LOG OUT      # writes OUT/windows.parquet and OUT/values.parquet

Reads the log with typed columns and computes, per client (model, client_id) and 10-minute
window, the request count and the inter-arrival mean, standard deviation and mean log (via
`lag`), and per client and 6-hour window the value counts of input and output tokens. That is
the least any characterization of the log has to do, with no row checks, rejects, fits or
report; servechar's stages are measured as ratios to it in the same run (bench/bench.py).
The SQL is in bench/sql/.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

SQL = Path(__file__).resolve().parent / "sql"
US_PER_S = 1_000_000


@dataclass(frozen=True, slots=True)
class BarePass:
    """What the reference pass wrote, how many requests it read, and its time reading the CSV."""

    windows: Path
    values: Path
    n_requests: int
    read_seconds: float


def _sql(name: str) -> str:
    return (SQL / f"{name}.sql").read_text()


def run_bare_pass(
    log: Path,
    out: Path,
    *,
    window_s: int = 600,
    dataset_window_s: int = 21_600,
    threads: int | None = None,
    memory_limit: str = "2GB",
) -> BarePass:
    """Read `log` once into a typed table, aggregate it, write both summaries as Parquet."""
    out.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": memory_limit, "temp_directory": str(out / ".tmp")}
    if threads is not None:
        config["threads"] = threads
    con = duckdb.connect(config=config)
    try:
        create = f"create temp table bare_requests as {_sql('bare_requests')}"
        started = time.perf_counter()
        con.execute(create, {"path": str(log)})
        read_seconds = time.perf_counter() - started
        windows, values = out / "windows.parquet", out / "values.parquet"
        con.sql(_sql("bare_windows"), params={"window_us": window_s * US_PER_S}).write_parquet(
            str(windows)
        )
        con.sql(
            _sql("bare_values"), params={"dataset_window_us": dataset_window_s * US_PER_S}
        ).write_parquet(str(values))
        ((n_requests,),) = con.sql("select count(*) from bare_requests").fetchall()
    finally:
        con.close()
    return BarePass(windows, values, n_requests, read_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--memory-limit", default="2GB")
    args = parser.parse_args()
    started = time.perf_counter()
    result = run_bare_pass(args.log, args.out, threads=args.threads, memory_limit=args.memory_limit)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # one JSON line on stderr, as bench.py's stage children report
    print(
        json.dumps(
            {
                "rows": result.n_requests,
                "seconds": seconds,
                "read_seconds": result.read_seconds,
                "peak_rss_mb": peak_mb,
            }
        ),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
