"""Characterize's count summaries (docs/summaries.md): parts merge to the one-pass summary, and
the statistics read from them equal the ones DuckDB computes over the requests."""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fitting.workload import fano_factors, fano_from_sums
from pipeline import sqlrun, summaries
from pipeline.config import (
    AggregateOptions,
    CharacterizeOptions,
    EngineOptions,
    FitOptions,
    IngestOptions,
)
from pipeline.rundir import RunDir
from pipeline.stages import aggregate, characterize, fit, ingest
from pipeline.stages.characterize.burstiness import FANO_SCALES_S
from pipeline.stages.characterize.common import COUNT_SUMMARIES, Context
from pipeline.synthetic import ClientSpec, generate

US_PER_S = 1_000_000
START = datetime(2025, 3, 3, 22, 0, tzinfo=UTC)  # 4 hours across a UTC midnight
DURATION_S = 4 * 3600
SPECS = [
    ClientSpec(
        "bursty",
        "m-lang",
        rate_rps=1.5,
        family="gamma",
        shape=0.3,
        failure_rate=0.05,
        rate_limited_share=0.1,
    ),
    ClientSpec("steady", "m-lang", rate_rps=0.5, family="gamma", shape=3.0),
    ClientSpec("thinker", "m-reason", category="reason", rate_rps=0.4, failure_rate=0.1),
]
ENGINE = EngineOptions(threads=2, memory_limit="500MB")


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory holding the generated log, ingested."""
    root = tmp_path_factory.mktemp("counts")
    log = root / "log.csv"
    log.write_text(generate(SPECS, duration_s=DURATION_S, seed=3, start=START).write_csv())
    ingest.run(RunDir(root / "run"), [str(log)], IngestOptions(), EngineOptions())
    return root / "run"


@pytest.fixture(scope="module")
def con(ingested: Path) -> duckdb.DuckDBPyConnection:
    """A connection holding the generated log's requests as the table `all_requests`."""
    connection = duckdb.connect()
    ingest.open_requests(connection, RunDir(ingested))
    connection.execute("create table all_requests as select * from requests")  # for checks
    return connection


def _span(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    return con.execute("select min(arrival_us), max(arrival_us) from all_requests").fetchone()


def _params(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The runner's parameters, with an origin that is not a minute boundary, 90 s trace
    windows and 30 min dataset windows."""
    first_us, _last_us = _span(con)
    model_first_us = dict(
        con.execute("select model, min(arrival_us) from all_requests group by model").fetchall()
    )
    return summaries.summary_params(
        origin_us=first_us - 1_234_567_890,
        window_s=90,
        dataset_window_s=1800,
        ratio_points=501,
        model_first_us=model_first_us,
    )


def _merged(con: duckdb.DuckDBPyConnection, topic: str, cuts: list[int]) -> tuple[bytes, list]:
    """The merged summary file of `topic` (bytes and rows) over the parts the instants `cuts`
    split the log into, through the summaries runner."""
    first_us, last_us = _span(con)
    bounds = sorted({first_us, *cuts, last_us + 1})
    parts = [summaries.PartRange(a, b) for a, b in itertools.pairwise(bounds)]
    with tempfile.TemporaryDirectory() as directory:
        merged = summaries.summarise(
            con, parts, _params(con), Path(directory), [summaries.Topic(topic)]
        )
        path = merged.files[topic]
        return path.read_bytes(), con.read_parquet(str(path)).fetchall()


@pytest.mark.parametrize("topic", COUNT_SUMMARIES)
@settings(max_examples=12, deadline=None)
@given(shares=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12))
def test_parts_merge_to_the_one_pass_summary(
    con: duckdb.DuckDBPyConnection, topic: str, shares: list[float]
) -> None:
    """Split at arbitrary instants (mid-minute, mid-bin, mid-burst), summarised per part and
    merged: the merged file is byte for byte the one-pass summary's."""
    first_us, last_us = _span(con)
    cuts = [first_us + round(share * (last_us - first_us)) for share in shares]
    assert _merged(con, topic, cuts) == _merged(con, topic, [])


@pytest.mark.parametrize("topic", COUNT_SUMMARIES)
def test_many_tiny_parts_and_a_cut_at_midnight(con: duckdb.DuckDBPyConnection, topic: str) -> None:
    """Parts shorter than the widest bins (an hour of Fano counts spans several parts), and a
    cut exactly at the UTC midnight inside the log."""
    midnight = int(datetime(2025, 3, 4, tzinfo=UTC).timestamp()) * US_PER_S
    cuts = [midnight, *(midnight + k * 7_777_777 for k in range(-200, 200, 3))]
    assert _merged(con, topic, cuts) == _merged(con, topic, [])


def test_merged_fano_sums_equal_the_direct_bins(con: duckdb.DuckDBPyConnection) -> None:
    """The merged Fano sums (over 30 parts) of each client and model aggregate give the Fano
    factors fitting.workload.fano_factors finds over the arrivals: whole bins from the model's
    first arrival, before its last."""
    first_us, _last_us = _span(con)
    _bytes, rows = _merged(con, "fano_counts", [first_us + k * 479_999_937 for k in range(30)])
    assert {row[3] for row in rows} == set(FANO_SCALES_S)  # the contract's scales are stats.json's
    for category, model, client_id, scale_s, n_bins, sum_n, sum_n2 in rows:
        span = con.execute(
            "select min(arrival_us), max(arrival_us) from all_requests where model = ?", [model]
        ).fetchone()
        arrivals = con.execute(
            "select arrival_us from all_requests where model = ? "
            "and (? is null or client_id = ?) and category = ?",
            [model, client_id, client_id, category],
        ).fetchnumpy()["arrival_us"]
        seconds = (np.asarray(arrivals, dtype=np.int64) - span[0]) / US_PER_S
        (direct,) = fano_factors(
            seconds, [scale_s], start_s=0.0, end_s=(span[1] - span[0]) / US_PER_S
        )
        merged = fano_from_sums(scale_s, n_bins, sum_n, sum_n2)
        assert merged.n_windows == direct.n_windows
        np.testing.assert_allclose(
            [merged.mean_count, merged.fano_factor],
            [direct.mean_count, direct.fano_factor],
            rtol=1e-12,
        )


def test_token_percentiles_equal_duckdb_quantile_cont(con: duckdb.DuckDBPyConnection) -> None:
    """The percentiles characterize reads from the merged token tables (of 5 parts) equal
    DuckDB's quantile_cont over the successful requests, bit for bit, for every client, model,
    category, dataset window and day."""
    first_us, _last_us = _span(con)
    params = _params(con)
    with tempfile.TemporaryDirectory() as directory:
        cuts = [first_us + k * 2_999_999_999 for k in range(1, 5)]
        bounds = sorted({first_us, *cuts, _last_us + 1})
        parts = [summaries.PartRange(a, b) for a, b in itertools.pairwise(bounds)]
        topics = [summaries.Topic(name) for name in ("arrival_windows", "token_counts")]
        summaries.summarise(con, parts, params, Path(directory), topics)
        summaries.open_merged(con, Path(directory), topics)
        sqlrun.query(con, "aggregate/merged_clients").create("clients")
        context = Context(con, {"origin_us": params["origin_us"]}, CharacterizeOptions())
        got = context.token_quantiles
    con.execute("drop table clients")
    origin_us, dataset_us = params["origin_us"], params["dataset_window_us"]
    groupings = {
        "client": "c.client_key, null",
        "model": "c.model_key, null",
        "category": "r.category, null",
        "dataset": f"c.model_key, (r.arrival_us - {origin_us}) // {dataset_us}",
        "day": f"c.model_key, (r.arrival_us - {origin_us}) // 86400000000",
    }
    expected = {}
    for level, grouping in groupings.items():
        for field in ("input_tokens", "output_tokens"):
            rows = con.execute(
                f"select {grouping}, quantile_cont(r.{field}, [0.5, 0.9, 0.99]) "
                "from all_requests as r inner join ("
                "select row_number() over (order by category, model, client_id) - 1 as "
                "client_key, dense_rank() over (order by category, model) - 1 as model_key, "
                "category, model, client_id from (select distinct category, model, client_id "
                "from all_requests)) as c using (category, model, client_id) "
                f"where r.is_success group by {grouping}"
            ).fetchall()
            for unit, period, quantiles in rows:
                expected[(level, unit, period, field)] = quantiles
    assert len(expected) > 40
    assert got == expected


def _stats_of_parts(ingested: Path, out: Path, cuts: list[int]) -> bytes:
    """stats.json of a run whose aggregate stage summarised the parts `cuts` split the log into."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(ingested, out)
    run_dir = RunDir(out)
    con = duckdb.connect()
    ingest.open_requests(con, run_dir)
    first_us, last_us = con.execute(
        "select min(arrival_us), max(arrival_us) from requests"
    ).fetchone()
    con.close()
    bounds = sorted({first_us, *cuts, last_us + 1})
    parts = [summaries.PartRange(a, b) for a, b in itertools.pairwise(bounds)]
    aggregate.run(run_dir, AggregateOptions(), ENGINE, parts=parts)
    fit.run(run_dir, FitOptions())
    characterize.run(run_dir, CharacterizeOptions(top_clients=2), ENGINE)
    return (out / "stats.json").read_bytes()


def test_split_runs_give_the_one_pass_stats(ingested: Path, tmp_path: Path) -> None:
    """Every statistic characterize reads from these summaries (counts, token percentiles,
    correlations, rates, Fano factors, status, drift) is byte for byte the one-pass value when
    the log is summarised in parts: at midnight, and at instants inside minutes, trace
    windows and Fano bins."""
    one_pass = _stats_of_parts(ingested, tmp_path / "one", [])
    midnight = int(datetime(2025, 3, 4, tzinfo=UTC).timestamp()) * US_PER_S
    for cuts in ([midnight], [midnight - 1_800_000_001, midnight + 37_123_457, midnight + 5e9]):
        split = _stats_of_parts(ingested, tmp_path / "split", [int(c) for c in cuts])
        assert split == one_pass, f"cuts {cuts}"
    assert json.loads(one_pass)["models"][0]["correlation"]["spearman"] is not None
