"""Where a stage's time goes: seconds per SQL file it runs, and its busiest Python functions.

    python bench/profile_stage.py characterize bench/work/out-run
    python bench/profile_stage.py aggregate bench/work/out-run --top 10
    python bench/profile_stage.py ingest /tmp/prof --input bench/work/log-1000000-35c3m2d-1.csv

Runs one stage in this process on a run directory whose earlier stages are done (bench.py's
`out` or `out-run`), and rewrites that stage's outputs; `ingest` reads the `--input` logs
(default options) into the run directory instead. Every relation made from a file of
`sql/` is timed where it is consumed (fetched, written, turned into a table or a frame), each
time it is consumed, and charged to that file; the rest of the stage's time is Python (numpy,
scipy, Polars, JSON). Each function of the stage's module is timed too, callees included (so
nested ones count twice). `--cprofile` adds cProfile's view, which slows Python-heavy code
several times over: use its list for where, not for how long.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib
import inspect
import pstats
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb

from pipeline import sqlrun
from pipeline.cli import app

SQL_SECONDS: dict[str, float] = defaultdict(float)
SQL_CALLS: dict[str, int] = defaultdict(int)


class TimedRelation:
    """A DuckDB relation whose every consuming call is timed and charged to its SQL file."""

    def __init__(self, relation: duckdb.DuckDBPyRelation, name: str) -> None:
        self._relation = relation
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._relation, attribute)
        if not callable(value):
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = value(*args, **kwargs)
            if isinstance(result, duckdb.DuckDBPyRelation):  # still lazy: time its consumer
                return TimedRelation(result, self._name)
            SQL_SECONDS[self._name] += time.perf_counter() - started
            SQL_CALLS[self._name] += 1
            return result

        return timed

    def __iter__(self) -> Any:
        return iter(self.__getattr__("fetchall")())


def _timed_query(original: Any) -> Any:
    def query(con: Any, name: str, params: Any = None) -> Any:
        started = time.perf_counter()
        relation = original(con, name, params)
        # building the relation plans it (and runs statements that are not queries)
        SQL_SECONDS[name] += time.perf_counter() - started
        return TimedRelation(relation, name)

    return query


def _timed_execute(original: Any) -> Any:
    def execute(con: Any, name: str, params: Any = None) -> None:
        started = time.perf_counter()
        original(con, name, params)
        SQL_SECONDS[name] += time.perf_counter() - started
        SQL_CALLS[name] += 1

    return execute


def _time_functions(module_name: str) -> dict[str, list[float]]:
    """Wrap every function defined in the module; returns name -> [seconds, calls]."""
    module = importlib.import_module(module_name)
    spent: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])

    def wrap(name: str, function: Any) -> Any:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name][0] += time.perf_counter() - started
                spent[name][1] += 1

        return timed

    for name, function in inspect.getmembers(module, inspect.isfunction):
        if function.__module__ == module_name:
            setattr(module, name, wrap(name, function))
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "stage", choices=("ingest", "aggregate", "fit", "export", "characterize", "report")
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--input", action="append", default=[], help="ingest: a log (repeat)")
    parser.add_argument("--top", type=int, default=15, help="functions to list")
    parser.add_argument("--cprofile", action="store_true", help="also profile with cProfile")
    args = parser.parse_args()

    sqlrun.query = _timed_query(sqlrun.query)
    sqlrun.execute = _timed_execute(sqlrun.execute)
    functions = _time_functions(f"pipeline.stages.{args.stage}")
    profile = cProfile.Profile()
    started = time.perf_counter()
    if args.cprofile:
        profile.enable()
    inputs = args.input if args.stage == "ingest" else []
    if args.stage == "ingest" and not inputs:
        parser.error("ingest needs --input LOG")
    app([args.stage, *inputs, "--out", str(args.out)], standalone_mode=False)
    profile.disable()
    total = time.perf_counter() - started

    in_sql = sum(SQL_SECONDS.values())
    print(f"{args.stage}: {total:.1f} s in this process, {in_sql:.1f} s of it in SQL files")
    print(f"{'SQL file':<42} {'seconds':>8} {'consumed':>9}")
    for name, seconds in sorted(SQL_SECONDS.items(), key=lambda item: -item[1]):
        print(f"{name:<42} {seconds:>8.2f} {SQL_CALLS[name]:>9}")
    heading = f"function of pipeline/stages/{args.stage}.py"
    print(f"\n{heading:<42} {'seconds':>8} {'calls':>9}")
    busiest = sorted(functions.items(), key=lambda item: -item[1][0])[: args.top]
    for name, (seconds, calls) in busiest:
        print(f"{name:<42} {seconds:>8.2f} {calls:>9}")
    if args.cprofile:
        print(f"\ncProfile, servechar's functions by cumulative time (top {args.top}):")
        stats = pstats.Stats(profile).sort_stats("cumulative")
        stats.print_stats(r"/(pipeline|fitting|reports)/", args.top)


if __name__ == "__main__":
    main()
