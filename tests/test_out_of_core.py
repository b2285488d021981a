"""Larger than the memory limit: DuckDB spills, results do not change; too little is an error."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipeline import RunOptions, run_all, sqlrun, summaries
from pipeline.cli import app
from pipeline.config import EngineOptions
from pipeline.synthetic import ClientSpec, generate


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_a_tight_memory_limit_spills_and_gives_identical_profiles(tmp_path: Path) -> None:
    specs = [
        ClientSpec(f"c{i}", f"m{i % 3}", rate_rps=1.0 + i, family="gamma", shape=0.5 + i / 10)
        for i in range(6)
    ]
    log = tmp_path / "log.csv"
    generate(specs, duration_s=6 * 3600, seed=3).write_csv(log)
    roomy, tight = tmp_path / "roomy", tmp_path / "tight"
    run_all([str(log)], roomy, RunOptions())
    # 128MB, of which DuckDB gets 96MB: a DuckDB sort of rows that carry text needs about 50MB
    # whatever their number (the request table's sort, the shared sample's ordered write); the
    # ~450k rows (about 100MB as staged rows) still do not fit, so ingest and the summaries
    # spill.
    run_all([str(log)], tight, RunOptions(engine=EngineOptions(memory_limit="128MB", threads=1)))
    assert _digest(tight / "profiles") == _digest(roomy / "profiles")
    assert (tight / "fits.json").read_bytes() == (roomy / "fits.json").read_bytes()


def test_too_little_memory_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--out", str(tmp_path / "o"), "--memory-limit", "4MB"])
    assert result.exit_code == 1
    assert "out of memory" in result.output and "--memory-limit" in result.output


def test_duckdb_gets_a_share_of_the_process_budget(tmp_path: Path) -> None:
    # --memory-limit bounds the process; DuckDB's own limit covers only what it manages
    assert sqlrun.duckdb_memory_limit("2GB") == "1200000000B"
    assert sqlrun.duckdb_memory_limit("500 mb") == "300000000B"
    assert sqlrun.duckdb_memory_limit("1GiB") == f"{int(2**30 * 0.6)}B"
    assert sqlrun.duckdb_memory_limit("80%") == "80%"  # DuckDB's own syntax, passed on
    con = sqlrun.connect(threads=1, memory_limit="2GB", temp_dir=tmp_path)
    assert con.execute("select current_setting('memory_limit')").fetchall() == [("1.1 GiB",)]


def _long_lists(con: duckdb.DuckDBPyConnection, n_rows: int) -> duckdb.DuckDBPyRelation:
    return con.sql(
        "select g, list(v order by v) as arrival_us "
        "from (select range as v, range % $n as g from range($n * 100)) "
        "group by g order by g",
        params={"n": n_rows},
    )


def _row_groups(con: duckdb.DuckDBPyConnection, path: Path) -> list[int]:
    found = con.execute(
        "select row_group_num_rows from parquet_metadata(?) where column_id = 0 "
        "order by row_group_id",
        [str(path)],
    ).fetchall()
    return [n for (n,) in found]


def test_long_lists_are_written_in_bounded_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 20,000 rows of 100 elements: 102 values a row, so 3,921 rows a group (DuckDB rounds a
    # row group up to whole vectors of 2,048 rows: 4,096)
    monkeypatch.setattr(summaries, "ROW_GROUP_VALUES", 400_000)
    written = {}
    for threads in (1, 3):
        con = sqlrun.connect(threads=threads, memory_limit="500MB", temp_dir=tmp_path / "tmp")
        path = tmp_path / f"threads-{threads}.parquet"
        summaries.write_exact(con, _long_lists(con, 20_000), path)
        assert _row_groups(con, path) == [4096] * 4 + [20_000 - 4 * 4096]
        assert con.execute(
            "select count(*), sum(len(arrival_us)), min(g), max(g) from read_parquet(?)",
            [str(path)],
        ).fetchall() == [(20_000, 2_000_000, 0, 19_999)]
        written[threads] = path.read_bytes()
    assert written[1] == written[3]


def test_short_lists_keep_duckdbs_row_groups(tmp_path: Path) -> None:
    con = sqlrun.connect(threads=2, memory_limit="500MB", temp_dir=tmp_path / "tmp")
    exact, plain = tmp_path / "exact.parquet", tmp_path / "plain.parquet"
    summaries.write_exact(con, _long_lists(con, 2_000), exact)
    _long_lists(con, 2_000).to_table("plain")
    con.table("plain").write_parquet(str(plain))
    assert _row_groups(con, exact) == [2_000]
    assert exact.read_bytes() == plain.read_bytes()
