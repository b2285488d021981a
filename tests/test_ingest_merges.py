"""The ingest queries Spark runs per file, per request-id bucket or per day give, merged, what
they give over the whole log: the grains `--engine spark` relies on (pipeline/spark/ingest.py).

Checked on random rows (fixed seeds) in DuckDB alone, so without Spark.
"""

from __future__ import annotations

import random
import zlib
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipeline import sqlrun
from pipeline.config import EngineOptions
from pipeline.stages import ingest

if TYPE_CHECKING:
    from pathlib import Path

    import duckdb


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = ingest.connect_in(tmp_path, EngineOptions(threads=2))
    yield connection
    connection.close()


def _staged(seed: int, rows: int = 3_000, files: int = 5) -> pa.Table:
    """Rows shaped like stg_requests output, as far as the merged queries read them."""
    rng = random.Random(seed)
    reasons = [None] * 8 + ["invalid_tokens", "missing_timestamp"]
    return pa.table(
        {
            "file_index": pa.array([rng.randrange(files) for _ in range(rows)], pa.int32()),
            "source_row": pa.array(range(rows), pa.int64()),
            # few distinct ids: many repeats, inside and across files
            "request_id": [rng.choice([None, *(f"r{k}" for k in range(900))]) for _ in range(rows)],
            # a coarse clock: ties of arrival between repeats of an id
            "arrival_us": pa.array(
                [rng.randrange(40) * 1_000_000 for _ in range(rows)], pa.int64()
            ),
            "reject_reason": [rng.choice(reasons) for _ in range(rows)],
            "model": [rng.choice(["a", "b", "c", "d"]) for _ in range(rows)],
            "category_text": [rng.choice([None, None, None, "code"]) for _ in range(rows)],
            "reason_tokens": [rng.choice([None, 0, 0, 0, 0, 0, 0, 5]) for _ in range(rows)],
            **{
                name: pa.array([rng.choice([0] * 30 + [1]) for _ in range(rows)], pa.int64())
                for name in (
                    "image_count",
                    "audio_count",
                    "video_count",
                    "image_tokens",
                    "audio_tokens",
                    "video_tokens",
                )
            },
        }
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_duplicates_per_request_id_bucket_are_the_global_duplicates(
    con: duckdb.DuckDBPyConnection, seed: int
) -> None:
    con.register("staged", _staged(seed))
    sqlrun.query(con, "ingest/duplicate_candidates").to_table("all_candidates")
    con.table("all_candidates").create_view("duplicate_candidates")
    expected = sqlrun.query(con, "ingest/duplicates").fetchall()
    assert len(expected) > 100  # repeats inside files and across them
    found = []
    candidates = con.table("all_candidates").to_arrow_table()
    for bucket in range(4):  # as Spark's hash partitioning by request_id would split them
        ids = candidates.column("request_id").to_pylist()
        chosen = [zlib.crc32(i.encode()) % 4 == bucket for i in ids]
        con.register("duplicate_candidates", candidates.filter(pa.array(chosen)))
        found.extend(sqlrun.query(con, "ingest/duplicates").fetchall())
    assert sorted(found) == expected


@pytest.mark.parametrize("seed", [4, 5])
def test_model_categories_from_each_files_traits_are_the_global_ones(
    con: duckdb.DuckDBPyConnection, seed: int
) -> None:
    staged = _staged(seed)
    con.register("category_overrides", pa.table({"model": ["d"], "category": ["embed"]}))
    con.register("staged", staged)
    sqlrun.query(con, "ingest/model_traits").to_table("model_traits")
    expected = sqlrun.query(con, "ingest/model_categories").fetchall()
    assert {c for _, _, c in expected} >= {"reason", "code", "embed"}
    per_file = []
    for index in range(5):
        con.register("staged", staged.filter(pc.equal(staged["file_index"], index)))
        per_file.append(sqlrun.query(con, "ingest/model_traits").to_arrow_table())
    con.execute("drop table model_traits")
    con.register("model_traits", pa.concat_tables(per_file))
    assert sqlrun.query(con, "ingest/model_categories").fetchall() == expected


def test_a_days_own_request_keys_order_it_as_the_global_keys_do(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rng = random.Random(6)
    rows = 4_000
    day = ingest.DAY_US
    arrivals = [rng.randrange(3 * day) for _ in range(rows)]
    accepted = pa.table(
        {
            "arrival_us": pa.array(arrivals, pa.int64()),
            # clients and models that exist on some days only: a day's own numbering differs
            "model": [f"m{(a // day) + rng.randrange(2)}" for a in arrivals],
            "client_id": [f"c{rng.randrange(a // day * 3 + 2)}" for a in arrivals],
            "file_index": pa.array([rng.randrange(3) for _ in range(rows)], pa.int32()),
            "source_row": pa.array(range(rows), pa.int64()),
        }
    )
    con.register("accepted_requests", accepted)
    sqlrun.query(con, "ingest/request_keys").to_table("request_keys")
    window = {"start_us": day, "end_us": 2 * day}
    expected = sqlrun.query(con, "ingest/request_day", window).fetchall()
    global_keys = con.table("request_keys").fetchall()
    start, end = day, 2 * day
    in_day = pc.and_(
        pc.greater_equal(accepted["arrival_us"], start),
        pc.less(accepted["arrival_us"], end),
    )
    con.execute("drop table request_keys")
    con.register("accepted_requests", accepted.filter(in_day))
    sqlrun.query(con, "ingest/request_keys").to_table("request_keys")
    assert con.table("request_keys").fetchall() != global_keys  # numbered differently
    assert sqlrun.query(con, "ingest/request_day", window).fetchall() == expected
    assert len(expected) > 1_000
