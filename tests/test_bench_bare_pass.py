"""The benchmark's yardstick measures the same work as servechar: on a small generated log the
bare DuckDB pass (bench/bare_pass.py) finds the same trace windows, request counts and
inter-arrival moments as the aggregate stage, and the same value counts of input and output
tokens per dataset window as its length distributions."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipeline.config import AggregateOptions, EngineOptions, IngestOptions
from pipeline.rundir import RunDir
from pipeline.stages import aggregate, ingest
from pipeline.synthetic import ClientSpec, generate

BARE_PASS = Path(__file__).resolve().parents[1] / "bench" / "bare_pass.py"
KEY = ["model", "client_id", "window_index"]


def _bare_pass_module():
    spec = importlib.util.spec_from_file_location("bench_bare_pass", BARE_PASS)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up while being made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, aggregate.AggregateResult, Any]:
    """A 14-hour log (two 6-hour boundaries), its aggregate run and its bare pass."""
    tmp = tmp_path_factory.mktemp("bench_bare")
    specs = [
        ClientSpec("a", "m1", rate_rps=0.2, family="gamma", shape=0.5, failure_rate=0.05),
        ClientSpec("b", "m1", rate_rps=0.05, family="weibull_min", shape=0.8),
        ClientSpec("a", "m2", rate_rps=0.1, family="gamma", shape=2.0, diurnal_amplitude=0.5),
    ]
    log = tmp / "log.csv"
    generate(specs, duration_s=14 * 3600, seed=3).write_csv(log)
    run_dir = RunDir(tmp / "out")
    ingest.run(run_dir, [str(log)], IngestOptions(), EngineOptions())
    result = aggregate.run(run_dir, AggregateOptions(), EngineOptions())
    bare = _bare_pass_module().run_bare_pass(log, tmp / "bare")
    return log, result, bare


def test_window_counts_and_moments_equal_the_aggregate_stage(both) -> None:
    log, result, bare = both
    theirs = pl.read_parquet(result.trace_windows).sort(KEY)
    # the bare pass counts windows from the epoch, servechar from its origin (a UTC midnight)
    origin_index = result.origin_us // (600 * 1_000_000)
    ours = (
        pl.read_parquet(bare.windows).with_columns(pl.col("window_index") - origin_index).sort(KEY)
    )
    assert bare.n_requests == len(pl.read_csv(log)) == theirs["n_requests"].sum()
    assert len(theirs) > 3 * 14 * 6 // 2  # most clients have requests in most windows
    assert ours.select(KEY).equals(theirs.select(KEY))  # the same windows
    assert ours["n_requests"].to_list() == theirs["n_requests"].to_list()
    assert ours["n_intervals"].to_list() == theirs["n_intervals"].to_list()
    for mine, their, n in zip(
        ours["mean_iat_s"], theirs["mean_iat_s"], ours["n_intervals"], strict=True
    ):
        if n == 0:
            assert mine is None and their is None
            continue
        assert mine == pytest.approx(their, rel=1e-12)
    # servechar's cv is the population standard deviation over the mean, from 2 intervals
    both_cv = ours.join(theirs.select([*KEY, "cv"]), on=KEY).filter(pl.col("cv").is_not_null())
    assert len(both_cv) > 0
    for std, mean, cv in both_cv.select("std_iat_s", "mean_iat_s", "cv").iter_rows():
        assert std / mean == pytest.approx(cv, rel=1e-9)
    logs = ours.filter(pl.col("n_intervals") > 0)["mean_log_iat"]
    assert all(math.isfinite(x) for x in logs)


def test_token_value_counts_equal_the_length_distributions(both) -> None:
    _, result, bare = both
    key = ["model", "client_id", "dataset_index", "field", "value"]
    theirs = (
        pl.read_parquet(result.distributions)
        .filter(
            pl.col("client_id").is_not_null()
            & pl.col("field").is_in(["input_tokens", "output_tokens"])
        )
        .select([*key, "n"])
        .sort(key)
    )
    origin_index = result.origin_us // (21_600 * 1_000_000)
    ours = (
        pl.read_parquet(bare.values)
        .with_columns(pl.col("dataset_index") - origin_index)
        .select([*key, "n"])
        .sort(key)
    )
    assert theirs["dataset_index"].n_unique() == 3  # 14 hours: windows 0-6, 6-12, 12-14 h
    assert ours.equals(theirs)


def test_the_floor_pass_does_part_of_servechars_work_and_no_less(both, tmp_path: Path) -> None:
    # the floor is a lower bound only if what it does, servechar does too: the same checked
    # rows in each day's file, in servechar's order, and the bare pass's own aggregation
    log, result, bare = both
    floor = _bare_pass_module().run_floor_pass(log, tmp_path / "floor", threads=2)
    columns = ["model", "client_id", "arrival_us", "input_tokens", "output_tokens"]
    ours = [pl.read_parquet(path).select(columns) for path in floor.day_files]
    theirs = [
        pl.read_parquet(path, hive_partitioning=False).select(columns)
        for _, path in ingest.request_days(RunDir(result.trace_windows.parents[1]))
    ]
    assert floor.n_requests == bare.n_requests == sum(len(day) for day in theirs)
    assert len(ours) == len(theirs) == 1  # 14 hours of one UTC day
    # servechar breaks arrival ties by file and row; the floor leaves them in any order
    assert ours[0].sort(columns).equals(theirs[0].sort(columns))
    assert ours[0].select(columns[:3]).equals(theirs[0].select(columns[:3]))
    assert pl.read_parquet(floor.day_files[0]).schema["arrival_us"] == pl.Int64
    for name in ("windows", "values"):
        mine = pl.read_parquet(tmp_path / "floor" / f"{name}.parquet")
        assert mine.equals(pl.read_parquet(getattr(bare, name)))
    assert floor.ingest_seconds > 0 and floor.aggregate_seconds > 0
