"""Characterize's count summaries (docs/summaries.md): parts merge to the one-pass summary, and
the statistics read from them equal the ones DuckDB computes over the requests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fitting.workload import fano_factors, fano_from_sums
from pipeline import sqlrun
from pipeline.config import EngineOptions, IngestOptions
from pipeline.rundir import RunDir
from pipeline.stages import ingest
from pipeline.stages.characterize.burstiness import FANO_SCALES_S
from pipeline.stages.characterize.common import QUANTILES
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
TOPICS = (
    "minute_counts",
    "window_counts",
    "status_codes",
    "fano_counts",
    "token_counts",
    "token_pairs",
)


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """A connection holding the generated log's requests as the table `all_requests`."""
    root = tmp_path_factory.mktemp("counts")
    log = root / "log.csv"
    log.write_text(generate(SPECS, duration_s=DURATION_S, seed=3, start=START).write_csv())
    run_dir = RunDir(root / "run")
    ingest.run(run_dir, [str(log)], IngestOptions(), EngineOptions())
    connection = duckdb.connect()
    ingest.open_requests(connection, run_dir)
    connection.execute("create table all_requests as select * from requests")
    return connection


def _params(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    first_us = con.execute("select min(arrival_us) from all_requests").fetchone()[0]
    origin_us = first_us - 1_234_567_890  # an origin that is not a minute boundary
    anchors = con.execute(
        "select category, model, min(arrival_us) from all_requests group by all order by all"
    ).fetchall()
    return {
        "minute_counts": {"origin_us": origin_us},
        "window_counts": {"origin_us": origin_us, "window_us": 90 * US_PER_S},
        "status_codes": {},
        "fano_counts": {
            "anchor_categories": [a[0] for a in anchors],
            "anchor_models": [a[1] for a in anchors],
            "anchor_us": [a[2] for a in anchors],
            "scales_us": [s * US_PER_S for s in FANO_SCALES_S],
        },
        "token_counts": {"origin_us": origin_us, "dataset_window_us": 1800 * US_PER_S},
        "token_pairs": {},
    }


def _merged(con: duckdb.DuckDBPyConnection, topic: str, cuts: list[int]) -> list[tuple]:
    """The merged summary of `topic` over the parts the instants `cuts` split the log into."""
    params = _params(con)[topic]
    bounds = [-(2**62), *sorted(cuts), 2**62]
    con.execute(f"drop table if exists parts_{topic}")
    for start, end in itertools.pairwise(bounds):
        con.execute(
            "create or replace temp table part_requests as "
            "select * from all_requests where arrival_us >= ? and arrival_us < ?",
            [start, end],
        )
        part = sqlrun.query(con, f"summaries/part/{topic}", params)
        if start == bounds[0]:
            part.create(f"parts_{topic}")
        else:
            part.insert_into(f"parts_{topic}")
    return sqlrun.query(con, f"summaries/merge/{topic}").fetchall()


@pytest.mark.parametrize("topic", TOPICS)
@settings(max_examples=12, deadline=None)
@given(shares=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12))
def test_parts_merge_to_the_one_pass_summary(
    con: duckdb.DuckDBPyConnection, topic: str, shares: list[float]
) -> None:
    """Split at arbitrary instants (mid-minute, mid-bin, mid-burst), summarised per part and
    merged: the merged rows equal the one-pass summary's, in the same order."""
    first_us, last_us = con.execute(
        "select min(arrival_us), max(arrival_us) from all_requests"
    ).fetchone()
    cuts = [first_us + round(share * (last_us - first_us)) for share in shares]
    assert _merged(con, topic, cuts) == _merged(con, topic, [])


@pytest.mark.parametrize("topic", TOPICS)
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
    first_us = con.execute("select min(arrival_us) from all_requests").fetchone()[0]
    rows = _merged(con, "fano_counts", [first_us + k * 479_999_937 for k in range(30)])
    assert rows
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


def test_token_percentiles_equal_duckdb_quantile_cont() -> None:
    """Percentiles from value -> count tables equal quantile_cont over the values themselves,
    bit for bit: groups of 1, 2 and 3 values, heavy ties, and thousands of distinct values."""
    rng = np.random.default_rng(11)
    groups = {
        "one": np.array([7]),
        "two": np.array([3, 1_000_000]),
        "three": np.array([5, 5, 9]),
        "ties": rng.integers(0, 4, 5_000),
        "wide": np.round(rng.lognormal(6.0, 1.5, 20_000)).astype(np.int64),
    }
    client_ids = [name for name, values in groups.items() for _ in values]
    values = np.concatenate(list(groups.values()))
    con = duckdb.connect()
    con.register(
        "raw",
        pa.table({"client_id": client_ids, "value": pa.array(values, pa.int64())}),
    )
    con.execute(
        "create table token_counts as select 'language' as category, 'm' as model, client_id, "
        "0::bigint as dataset_index, 0::bigint as day_index, 'input_tokens' as field, value, "
        "count(*) as n from raw group by all"
    )
    con.execute(
        "create table clients as select row_number() over (order by client_id) - 1 as "
        "client_key, 0 as model_key, 'language' as category, 'm' as model, client_id "
        "from (select distinct client_id from raw)"
    )
    got = {
        row[0]: row[1]
        for row in sqlrun.query(con, "characterize/token_quantiles", {"quantiles": list(QUANTILES)})
        .filter("level = 'client'")
        .join(con.table("clients"), "unit_key = client_key")
        .select("client_id, quantiles")
        .fetchall()
    }
    expected = dict(
        con.execute(
            "select client_id, quantile_cont(value, [0.5, 0.9, 0.99]) from raw group by client_id"
        ).fetchall()
    )
    assert got == expected
