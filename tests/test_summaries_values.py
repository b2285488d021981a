"""characterize's value-based summary topics: split-and-merge equals one pass, and each merged
summary equals the statistic computed directly from the requests.

Topics: value_counts, modality_mix, session_turns, request_sample (sql/summaries/).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pytest

from pipeline import sqlrun
from pipeline.config import EngineOptions, IngestOptions
from pipeline.rundir import RunDir
from pipeline.stages import ingest
from pipeline.synthetic import ClientSpec, generate

if TYPE_CHECKING:
    import duckdb

TOPICS = ("value_counts", "modality_mix", "session_turns", "request_sample")
US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """A 30-hour log (across midnight) with sessions, latency, reasoning, images, failures."""
    tmp = tmp_path_factory.mktemp("summary_values")
    specs = [
        ClientSpec(
            "a",
            "chat",
            rate_rps=0.05,
            latency=(40.0, 0.01, 25.0, 5.0),
            session_turns=3.0,
            failure_rate=0.05,
        ),
        ClientSpec("b", "chat", rate_rps=0.02, session_turns=2.0, family="weibull_min", shape=0.7),
        ClientSpec("c", "think", category="reason", rate_rps=0.03, session_turns=4.0),
        ClientSpec("d", "vision", category="multimodal", rate_rps=0.02, failure_rate=0.1),
    ]
    log = tmp / "log.csv"
    generate(specs, duration_s=30 * 3600, seed=5).write_csv(log)
    run_dir = RunDir(tmp / "out")
    ingest.run(run_dir, [str(log)], IngestOptions(), EngineOptions())
    connection = ingest.connect(run_dir, EngineOptions())
    ingest.open_requests(connection, run_dir)
    return connection


def _params(con: duckdb.DuckDBPyConnection, sample_size: int) -> dict[str, Any]:
    (first,) = con.execute("select min(arrival_us) from requests").fetchone()
    return {
        "origin_us": first // US_PER_DAY * US_PER_DAY,
        "dataset_window_us": 6 * US_PER_HOUR,
        "sample_seed": 7,
        "sample_size": sample_size,
    }


def _summarise(
    con: duckdb.DuckDBPyConnection, cuts: list[int], params: dict[str, Any]
) -> dict[str, pa.Table]:
    """Each part [cut_i, cut_i+1) summarised on its own, then every topic merged."""
    (first, last) = con.execute("select min(arrival_us), max(arrival_us) from requests").fetchone()
    bounds = [first, *sorted(cuts), last + 1]
    parts: dict[str, list[pa.Table]] = {topic: [] for topic in TOPICS}
    for start, end in itertools.pairwise(bounds):
        con.execute("drop table if exists part_requests")
        con.execute(
            "create temp table part_requests as select * from requests "
            "where arrival_us >= $start and arrival_us < $end",
            {"start": start, "end": end},
        )
        for topic in TOPICS:
            _text, declared = sqlrun.load_sql(f"summaries/part/{topic}")
            used = {name: params[name] for name in declared}
            parts[topic].append(sqlrun.query(con, f"summaries/part/{topic}", used).to_arrow_table())
    merged = {}
    for topic in TOPICS:
        con.register(f"parts_{topic}", pa.concat_tables(parts[topic]))
        merged[topic] = sqlrun.query(con, f"summaries/merge/{topic}").to_arrow_table()
        con.unregister(f"parts_{topic}")
    return merged


@pytest.fixture(scope="module")
def one_pass(con: duckdb.DuckDBPyConnection) -> dict[str, pa.Table]:
    return _summarise(con, [], _params(con, 40))


@pytest.mark.parametrize(
    "cut_hours",
    [
        [24.0],  # at midnight
        [0.5, 23.999, 24.0001, 29.9],  # mid-window, either side of midnight
        [3.1234, 3.1235, 11.0, 17.77],  # two cuts a fraction of a second apart
    ],
)
def test_split_and_merge_equals_one_pass(
    con: duckdb.DuckDBPyConnection, one_pass: dict[str, pa.Table], cut_hours: list[float]
) -> None:
    (first,) = con.execute("select min(arrival_us) from requests").fetchone()
    origin = first // US_PER_DAY * US_PER_DAY
    cuts = [origin + int(h * US_PER_HOUR) for h in cut_hours]
    merged = _summarise(con, cuts, _params(con, 40))
    for topic in TOPICS:
        assert merged[topic].equals(one_pass[topic]), topic


def test_split_at_every_session_turn_boundary(
    con: duckdb.DuckDBPyConnection, one_pass: dict[str, pa.Table]
) -> None:
    """Cut just after the first turn of ten multi-turn sessions: every cut splits a session."""
    cuts = [
        row[0] + 1
        for row in con.execute(
            "select min(arrival_us) from requests where session_id is not null "
            "group by session_id having count(*) > 2 order by session_id limit 10"
        ).fetchall()
    ]
    merged = _summarise(con, cuts, _params(con, 40))
    assert merged["session_turns"].equals(one_pass["session_turns"])
    assert merged["request_sample"].equals(one_pass["request_sample"])


def test_value_counts_give_the_duckdb_percentiles_of_the_requests(
    con: duckdb.DuckDBPyConnection, one_pass: dict[str, pa.Table]
) -> None:
    from fitting.quantiles import quantile_cont

    counts = one_pass["value_counts"].to_pandas()
    direct = {
        "reason_tokens": "reason_tokens",
        "reason_ratio": "reason_tokens / output_tokens",
        "ttft_ms": "ttft_ms",
        "e2e_ms": "e2e_ms",
        "image_count": "case when image_count > 0 then image_count end",
        "image_tokens_per_item": "case when image_count > 0 then image_tokens / image_count end",
    }
    checked = 0
    for field, expression in direct.items():
        rows = con.execute(
            f"select model, quantile_cont({expression}, [0.5, 0.9, 0.99]) from requests "
            "where is_success and (output_tokens > 0 or $field <> 'reason_ratio') "
            "group by model having count(" + expression + ") > 0",
            {"field": field},
        ).fetchall()
        assert rows, field
        for model, expected in rows:
            mine = counts[(counts.field == field) & (counts.model == model)]
            assert quantile_cont(mine.value, mine.n, [0.5, 0.9, 0.99]) == expected
            checked += 1
    assert checked >= 6


def test_session_turns_are_the_sessions_of_the_requests(
    con: duckdb.DuckDBPyConnection, one_pass: dict[str, pa.Table]
) -> None:
    requests = con.execute(
        "select model, session_id, arrival_us from requests where session_id is not null "
        "order by model, session_id, arrival_us"
    ).fetchall()
    turns: dict[tuple[str, str], list[int]] = {}
    for model, session, arrival in requests:
        turns.setdefault((model, session), []).append(arrival)
    summary = one_pass["session_turns"].to_pylist()
    sessions = {(r["model"], r["session_id"]): r for r in summary if r["kind"] == "session"}
    assert set(sessions) == set(turns)
    for key, arrivals in turns.items():
        assert sessions[key]["n"] == len(arrivals)
        assert (sessions[key]["first_us"], sessions[key]["last_us"]) == (arrivals[0], arrivals[-1])
    expected_gaps: dict[tuple[str, int], int] = {}
    for (model, _session), arrivals in turns.items():
        for gap in np.diff(arrivals).tolist():
            expected_gaps[(model, gap)] = expected_gaps.get((model, gap), 0) + 1
    gaps = {(r["model"], r["gap_us"]): r["n"] for r in summary if r["kind"] == "gap"}
    assert gaps == expected_gaps and sum(gaps.values()) > 100


def test_request_sample_is_the_bottom_k_of_the_successful_requests(
    con: duckdb.DuckDBPyConnection, one_pass: dict[str, pa.Table]
) -> None:
    sample = one_pass["request_sample"].to_pylist()  # draws are UINT64: not through floats
    spans = {r["model"]: r for r in sample if r["kind"] == "span"}
    for model, n, n_success, first, last, draws in con.execute(
        "select model, count(*), count(*) filter (where is_success), min(arrival_us), "
        "max(arrival_us), list(hash(category, model, client_id, arrival_us, request_id, "
        "input_tokens, output_tokens, 7) order by 1) filter (where is_success) "
        "from requests group by model"
    ).fetchall():
        span = spans[model]
        assert (span["n"], span["n_success"], span["first_us"], span["last_us"]) == (
            n,
            n_success,
            first,
            last,
        )
        mine = [r for r in sample if r["kind"] == "sample" and r["model"] == model]
        assert len(mine) == min(40, n_success)
        assert [r["draw"] for r in mine] == sorted(draws)[:40]  # the 40 smallest, in order


def test_a_larger_sample_contains_the_smaller_one(con: duckdb.DuckDBPyConnection) -> None:
    """Bottom-k is nested: the k' < k smallest draws are the first k' rows of the k sample."""
    small = _summarise(con, [], _params(con, 15))["request_sample"].to_pandas()
    large = _summarise(con, [], _params(con, 60))["request_sample"].to_pandas()
    small_rows = small[small.kind == "sample"]
    large_rows = large[large.kind == "sample"]
    for model, group in large_rows.groupby("model"):
        prefix = group.head(15)  # rows come in draw order
        mine = small_rows[small_rows.model == model]
        assert len(mine) == 15
        assert prefix.reset_index(drop=True).equals(mine.reset_index(drop=True))
