"""The benchmark's yardstick: a bare DuckDB pass over a CSV log, and the floor under ingest.

    python bench/bare_pass.py LOG OUT           # writes OUT/windows.parquet, OUT/values.parquet
    python bench/bare_pass.py LOG OUT --floor   # the floor pass; also OUT/day-*.parquet

The bare pass reads the log with typed columns and computes, per client (model, client_id)
and 10-minute window, the request count and the inter-arrival mean, standard deviation and
mean log (via `lag`), and per client and 6-hour window the value counts of input and output
tokens. That is the least any characterization of the log has to do, with no row checks,
rejects, fits or report; servechar's stages are measured as ratios to it in the same run
(bench/bench.py).

The floor pass is the least that ingest and aggregate must do together, in one connection:
1. the log read as text and checked by servechar's own parse macros (`sql/macros/parse.sql`;
   DuckDB's typed reader accepts '0x10' and '1_000' and rounds '12.5', so fields are checked
   as text), into a table;
2. the request table: each UTC day's rows sorted by model, client and arrival, written as
   Parquet;
3. the bare pass's aggregation over the checked rows (two of the summaries servechar writes).
No reject reasons, raw text, provenance, duplicates, row account, fits, other summaries or
export: every one of them only adds. Its time over the bare pass's is therefore a lower
bound of the ratio of servechar's ingest to export to the bare pass.
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


def _connect(out: Path, threads: int | None, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """The passes' DuckDB: `memory_limit`, spilling to `out/.tmp`, `threads` if given."""
    out.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | int] = {
        "memory_limit": memory_limit,
        "temp_directory": str(out / ".tmp"),
    }
    if threads is not None:
        config["threads"] = threads
    return duckdb.connect(config=config)


def _aggregate(
    con: duckdb.DuckDBPyConnection, out: Path, window_s: int, dataset_window_s: int
) -> tuple[Path, Path]:
    """The bare pass's two summaries of the table `bare_requests`, written as Parquet."""
    windows, values = out / "windows.parquet", out / "values.parquet"
    con.sql(_sql("bare_windows"), params={"window_us": window_s * US_PER_S}).write_parquet(
        str(windows)
    )
    con.sql(
        _sql("bare_values"), params={"dataset_window_us": dataset_window_s * US_PER_S}
    ).write_parquet(str(values))
    return windows, values


def _n_requests(con: duckdb.DuckDBPyConnection) -> int:
    ((n_requests,),) = con.sql("select count(*) from bare_requests").fetchall()
    return int(n_requests)


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
    con = _connect(out, threads, memory_limit)
    try:
        create = f"create temp table bare_requests as {_sql('bare_requests')}"
        started = time.perf_counter()
        con.execute(create, {"path": str(log)})
        read_seconds = time.perf_counter() - started
        windows, values = _aggregate(con, out, window_s, dataset_window_s)
        n_requests = _n_requests(con)
    finally:
        con.close()
    return BarePass(windows, values, n_requests, read_seconds)


PARSE_MACROS = Path(__file__).resolve().parent.parent / "sql" / "macros" / "parse.sql"
DAY_US = 86_400 * US_PER_S


@dataclass(frozen=True, slots=True)
class FloorPass:
    """Seconds of the floor's two halves and what it wrote."""

    ingest_seconds: float  # read as text, checked, each day sorted and written
    aggregate_seconds: float  # the bare pass's windows and value counts over the checked rows
    day_files: list[Path]
    n_requests: int


def run_floor_pass(
    log: Path,
    out: Path,
    *,
    window_s: int = 600,
    dataset_window_s: int = 21_600,
    threads: int | None = None,
    memory_limit: str = "2GB",
) -> FloorPass:
    """The least of ingest and aggregate over `log` (the module's text says what it does)."""
    con = _connect(out, threads, memory_limit)
    try:
        con.execute("set timezone = 'UTC'")  # naive times are UTC, as ingest's default --tz
        con.execute(PARSE_MACROS.read_text())
        started = time.perf_counter()
        con.execute(
            f"create temp table bare_requests as {_sql('floor_checked')}", {"path": str(log)}
        )
        days = [row[0] for row in con.sql(_sql("floor_days"), params={"day_us": DAY_US}).fetchall()]
        day_files = []
        for number in days:
            path = out / f"day-{number}.parquet"
            rows = con.sql(_sql("floor_day"), params={"day_us": DAY_US, "day_number": number})
            rows.write_parquet(str(path), compression="snappy")
            day_files.append(path)
        ingested = time.perf_counter()
        _aggregate(con, out, window_s, dataset_window_s)
        aggregated = time.perf_counter()
        n_requests = _n_requests(con)
    finally:
        con.close()
    return FloorPass(ingested - started, aggregated - ingested, day_files, n_requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--floor", action="store_true", help="run the floor pass instead")
    args = parser.parse_args()
    started = time.perf_counter()
    report: dict[str, float]
    if args.floor:
        floor = run_floor_pass(
            args.log, args.out, threads=args.threads, memory_limit=args.memory_limit
        )
        report = {
            "rows": floor.n_requests,
            "ingest_seconds": floor.ingest_seconds,
            "aggregate_seconds": floor.aggregate_seconds,
        }
    else:
        bare = run_bare_pass(
            args.log, args.out, threads=args.threads, memory_limit=args.memory_limit
        )
        report = {"rows": bare.n_requests, "read_seconds": bare.read_seconds}
    report["seconds"] = time.perf_counter() - started
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # one JSON line on stderr, as bench.py's stage children report
    print(json.dumps(report), file=sys.stderr)


if __name__ == "__main__":
    main()
