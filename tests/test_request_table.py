"""The request table (requests@2): typed, one sorted file per UTC day, thread-count independent."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import zstandard

from pipeline import sqlrun
from pipeline.artefacts import REQUESTS
from pipeline.config import EngineOptions, IngestOptions
from pipeline.errors import InputError
from pipeline.rundir import RunDir
from pipeline.stages import ingest

HEADER = "timestamp,model,client_id,input_tokens,output_tokens,status,request_id\n"
# Around midnight UTC between 3 and 4 March, two models, three clients, out of order, with a
# tie (same client, same instant), a duplicate request id and a rejected row.
ROWS = [
    "2025-03-04T00:00:01Z,m-b,c2,10,5,200,r1",
    "2025-03-03T23:59:59.999999Z,m-a,c1,11,6,200,r2",
    "2025-03-04T00:00:00Z,m-a,c1,12,7,500,r3",
    "2025-03-03T12:00:00Z,m-b,c3,13,8,,r4",
    "2025-03-03T12:00:00Z,m-b,c3,14,9,200,r5",
    "2025-03-03T06:00:00Z,m-a,c2,15,10,200,r6",
    "2025-03-04T05:00:00Z,m-a,c2,16,11,200,r2",  # duplicate id: the earlier r2 is kept
    "2025-03-04T06:00:00Z,m-a,c2,x,11,200,r7",  # rejected: non-integer tokens
    "2025-03-05T00:00:00+01:00,m-b,c1,17,12,200,r8",  # 23:00 UTC on 4 March
]
DAY3, DAY4 = dt.date(2025, 3, 3), dt.date(2025, 3, 4)


def _write(tmp_path: Path, rows: list[str], name: str = "log.csv") -> Path:
    log = tmp_path / name
    log.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return log


def _ingest(out: Path, files: list[Path], threads: int = 1, **options: object) -> RunDir:
    options.setdefault("max_reject_fraction", 1.0)
    run_dir = RunDir(out)
    ingest.run(
        run_dir, [str(f) for f in files], IngestOptions(**options), EngineOptions(threads=threads)
    )
    return run_dir


def _rows(path: Path, columns: str = "*") -> list[tuple[object, ...]]:
    con = duckdb.connect()
    try:
        return con.read_parquet(str(path), hive_partitioning=False).select(columns).fetchall()
    finally:
        con.close()


def _digests(run_dir: RunDir) -> dict[str, str]:
    table = run_dir.path(REQUESTS)
    return {
        str(p.relative_to(table)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(table.rglob("*"))
        if p.is_file()
    }


def test_one_sorted_file_per_utc_day_with_only_accepted_unique_rows(tmp_path: Path) -> None:
    run_dir = _ingest(tmp_path / "out", [_write(tmp_path, ROWS)])
    days = ingest.request_days(run_dir)
    assert [day for day, _ in days] == [DAY3, DAY4]
    assert [p.relative_to(run_dir.path(REQUESTS)).as_posix() for _, p in days] == [
        "day=2025-03-03/part-0.parquet",
        "day=2025-03-04/part-0.parquet",
    ]
    keys = "model, client_id, arrival_us, file_index, source_row"
    for day, path in days:
        rows = _rows(path, keys)
        assert rows == sorted(rows), day  # sorted, ties broken by the source position
        start = dt.datetime.combine(day, dt.time(), dt.UTC).timestamp() * 1_000_000
        assert all(start <= r[2] < start + 86_400_000_000 for r in rows), day
    ids = {day: [r[0] for r in _rows(path, "request_id")] for day, path in days}
    assert ids == {DAY3: ["r2", "r6", "r4", "r5"], DAY4: ["r3", "r8", "r1"]}
    manifest = json.loads(run_dir.manifest_path.read_text(encoding="utf-8"))
    assert manifest["stages"]["ingest"]["request_table"] == {
        "format": "servechar.requests/2",
        "days": ["2025-03-03", "2025-03-04"],
    }
    # the checked rows were scratch: nothing of them is left, and no other ingest artefact
    assert not (run_dir.temp_dir / ingest.STAGED_PARTS).exists()
    assert sorted(p.name for p in run_dir.path("ingest").iterdir()) == ["identity.json", "requests"]


def test_columns_and_types_are_the_contracts_also_without_rows(tmp_path: Path) -> None:
    run_dir = _ingest(tmp_path / "out", [_write(tmp_path, ROWS)])
    con = ingest.connect(run_dir, EngineOptions(threads=1))
    try:
        ingest.open_requests(con, run_dir)
        table = con.table("requests")
        written = list(zip(table.columns, (str(t) for t in table.types), strict=True))
        empty = sqlrun.query(con, "ingest/no_requests")
        assert list(zip(empty.columns, (str(t) for t in empty.types), strict=True)) == written
        assert empty.fetchall() == []
    finally:
        con.close()
    types = dict(written)
    assert types["arrival_us"] == "BIGINT" and types["input_tokens"] == "BIGINT"
    assert types["status"] == "BIGINT" and types["is_success"] == "BOOLEAN"
    assert types["image_item_tokens"] == "BIGINT[]" and types["ttft_ms"] == "DOUBLE"
    assert types["model"] == "VARCHAR" and "day" not in types
    doc = (Path(__file__).parents[1] / "docs" / "requests.md").read_text(encoding="utf-8")
    assert [name for name, _ in written if f"`{name}`" not in doc] == []  # every one documented


def test_the_day_is_the_utc_day_whatever_tz_says(tmp_path: Path) -> None:
    # naive local times in Berlin (UTC+1 in March): 00:30 local on the 4th is 23:30 UTC on the 3rd
    rows = ["2025-03-04 00:30:00,m,c,1,1,200,a", "2025-03-04 01:30:00,m,c,1,1,200,b"]
    run_dir = _ingest(tmp_path / "out", [_write(tmp_path, rows)], tz="Europe/Berlin")
    days = ingest.request_days(run_dir)
    assert [(day, [r[0] for r in _rows(p, "request_id")]) for day, p in days] == [
        (DAY3, ["a"]),
        (DAY4, ["b"]),
    ]


def test_bytes_do_not_depend_on_threads_or_input_order(tmp_path: Path) -> None:
    # enough rows for several row groups and a parallel sort
    rows = [
        f"2025-03-0{3 + i % 2}T{(i * 7) % 24:02d}:{i % 60:02d}:{(i * 13) % 60:02d}.{i:06d}Z,"
        f"m-{i % 3},c{(i * 31) % 17},{i % 977},{i % 101},200,id{i}"
        for i in range(280_000)
    ]
    first = _write(tmp_path, rows[:170_000], "a.csv")
    second = _write(tmp_path, rows[170_000:], "b.csv")
    one = _ingest(tmp_path / "one", [first, second], threads=1)
    two = _ingest(tmp_path / "two", [second, first], threads=2)
    assert list(_digests(one)) == ["day=2025-03-03/part-0.parquet", "day=2025-03-04/part-0.parquet"]
    assert _digests(one) == _digests(two)


def test_every_column_is_optional_whatever_the_rejected_rows(tmp_path: Path) -> None:
    # a clean log's columns hold no NULL; a rejected row elsewhere puts NULLs into what the
    # day files are read from: the day files must not tell the two apart
    clean = [row for row in ROWS if ",r7" not in row]
    rejected = [row for row in ROWS if ",r7" in row]  # last: no other row's number moves
    with_reject = _ingest(tmp_path / "reject", [_write(tmp_path, clean + rejected, "with.csv")])
    without = _ingest(tmp_path / "clean", [_write(tmp_path, clean, "clean.csv")])
    assert _digests(with_reject) == _digests(without)
    for _, path in ingest.request_days(without):
        schema = pq.ParquetFile(path).schema
        required = [
            schema.column(i).path
            for i in range(len(schema))
            if schema.column(i).max_definition_level == 0
        ]
        assert required == []
        assert _rows(path, "count(arrival_us), count(*)")[0][0] > 0


def test_open_requests_reads_only_the_days_asked_for(tmp_path: Path) -> None:
    run_dir = _ingest(tmp_path / "out", [_write(tmp_path, ROWS)])
    con = ingest.connect(run_dir, EngineOptions(threads=1))
    try:
        ingest.open_requests(con, run_dir, days=[DAY4])
        assert sorted(r[0] for r in con.table("requests").select("request_id").fetchall()) == [
            "r1",
            "r3",
            "r8",
        ]
        ingest.open_requests(con, run_dir)
        assert con.table("requests").count("*").fetchall() == [(7,)]
        # the documented way to prune by day from SQL
        pruned = con.sql(
            "select count(*), min(day), max(day) from read_parquet($files, "
            "hive_partitioning = true, hive_types = {'day': DATE}) where day = DATE '2025-03-03'",
            params={"files": str(run_dir.path(REQUESTS) / "*" / "*.parquet")},
        )
        assert pruned.fetchall() == [(4, DAY3, DAY3)]
    finally:
        con.close()


def test_a_failed_ingest_leaves_the_previous_table_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    log = _write(tmp_path, ROWS)
    run_dir = _ingest(out, [log])
    before = _digests(run_dir)
    packed = zstandard.ZstdCompressor().compress(log.read_bytes() * 50)
    cut = tmp_path / "cut.csv.zst"
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(InputError, match="truncated"):
        _ingest(out, [log, cut])
    assert _digests(run_dir) == before
    assert run_dir.is_current("ingest")
    assert not (run_dir.temp_dir / ingest.STAGED_PARTS).exists()
