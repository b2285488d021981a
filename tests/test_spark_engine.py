"""`--engine spark`: the per-day summaries on Spark give byte-identical outputs to DuckDB.

One local Spark session (`local[2]`) serves every test. Without pyspark or Java the tests
skip, unless SERVECHAR_REQUIRE_SPARK=1 (set by .ci/run), where they fail.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from pipeline import SAMPLE_LOG, RunOptions, run_all, summaries
from pipeline.cli import app
from pipeline.config import EngineOptions, IngestOptions
from pipeline.errors import ConfigError, SummaryError
from pipeline.synthetic import ClientSpec, generate
from tests.conftest import public_trace

if TYPE_CHECKING:
    from collections.abc import Iterator

REQUIRED = os.environ.get("SERVECHAR_REQUIRE_SPARK") == "1"
SPARK = EngineOptions(engine="spark", spark_master="local[2]")
runner = CliRunner()

# A ground-truth log over three UTC days (starting mid-day), one client carrying most of it.
MULTI_DAY = [
    ClientSpec("whale", "md-large", rate_rps=0.12, family="gamma", shape=0.5),
    ClientSpec("steady", "md-large", rate_rps=0.02, family="gamma", shape=3.0, failure_rate=0.05),
    ClientSpec(
        "thinker", "md-reason", category="reason", rate_rps=0.015, family="weibull_min", shape=0.8
    ),
    ClientSpec("rare", "md-large", rate_rps=0.002, family="gamma", shape=1.0),
]
MULTI_DAY_START = datetime(2025, 3, 3, 13, 30, tzinfo=UTC)
MULTI_DAY_SECONDS = 60 * 3600  # 13:30 on day 1 to 01:30 on day 4: four UTC days


@pytest.fixture(scope="session")
def spark() -> object:
    """The tests' one Spark session; executors run this interpreter (and its servechar)."""
    reason = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        reason = "pyspark is not installed (pip install -e '.[dev,spark]')"
    if reason is None and not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        reason = "no Java runtime for Spark (install openjdk-17-jre-headless)"
    if reason is not None:
        if REQUIRED:
            pytest.fail(f"SERVECHAR_REQUIRE_SPARK=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pipeline.spark.session import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


RUN_OUTPUTS = ("summary.json", "rejects.csv", "fits.json", "stats.json", "anomalies.json")
AGGREGATE_OUTPUTS = (
    "aggregate/trace_windows.parquet",
    "aggregate/interarrivals.parquet",
    "aggregate/distributions.parquet",
    "aggregate/tick_dispersion.parquet",
    "aggregate/meta.json",
    "aggregate/time_quality.json",
)


def _same_outputs(one: Path, other: Path, names: tuple[str, ...]) -> None:
    for name in names:
        a, b = one / name, other / name
        assert a.exists(), f"{a} is missing"
        if a.is_dir():
            assert _digest(a) == _digest(b), f"{name} differs between the engines"
        else:
            assert a.read_bytes() == b.read_bytes(), f"{name} differs between the engines"


def _same_summaries(one: Path, other: Path) -> None:
    """The merged summaries (and anchors, manifest) byte for byte; each part file's rows as a
    multiset (a part file is read back through a table, so neither its row order nor its
    Parquet nullability flags are part of the contract: docs/summaries.md)."""
    import pyarrow.parquet as pq

    one, other = one / "aggregate/summaries", other / "aggregate/summaries"
    merged = sorted(p.name for p in one.iterdir() if p.is_file())
    assert merged == sorted(p.name for p in other.iterdir() if p.is_file())
    assert len(merged) > 2
    for name in merged:
        assert (one / name).read_bytes() == (other / name).read_bytes(), name
    parts = sorted(str(p.relative_to(one)) for p in one.glob("*/part-*"))
    assert parts == sorted(str(p.relative_to(other)) for p in other.glob("*/part-*"))
    for name in parts:
        if name.endswith(".json"):
            assert (one / name).read_bytes() == (other / name).read_bytes(), name
            continue
        a, b = pq.read_table(one / name), pq.read_table(other / name)
        keys = [(c, "ascending") for c in a.column_names if not pa.types.is_list(a[c].type)]
        assert a.sort_by(keys).equals(b.cast(a.schema).sort_by(keys)), name


def _run_both(tmp_path: Path, inputs: list[str], name: str) -> tuple[Path, Path]:
    on_duckdb, on_spark = tmp_path / f"{name}-duckdb", tmp_path / f"{name}-spark"
    run_all(inputs, on_duckdb, RunOptions())
    run_all(inputs, on_spark, RunOptions(engine=SPARK))
    return on_duckdb, on_spark


def _check_run(on_duckdb: Path, on_spark: Path) -> dict[str, object]:
    """Byte-identical outputs, the same fingerprints (the engine decides no reuse), and the
    engine and the day tasks in the one manifest."""
    _same_outputs(on_duckdb, on_spark, (*RUN_OUTPUTS, "profiles", *AGGREGATE_OUTPUTS))
    _same_summaries(on_duckdb, on_spark)
    for stage in ("ingest", "aggregate", "fit", "export", "characterize"):
        stamps = [
            json.loads((d / "stamps" / f"{stage}.json").read_text()) for d in (on_duckdb, on_spark)
        ]
        assert stamps[0]["fingerprint"] == stamps[1]["fingerprint"], stage
    manifest = json.loads((on_spark / "manifest.json").read_text())["stages"]["aggregate"]
    assert manifest["engine"]["engine"] == "spark"
    assert manifest["engine"]["spark_master"] == "local[2]"
    meta = json.loads((on_spark / "aggregate/meta.json").read_text())
    days = manifest["spark"]["days"]
    assert sum(d["n_requests"] for d in days.values()) == meta["n_requests"]
    assert (
        json.loads((on_duckdb / "manifest.json").read_text())["stages"]["aggregate"]["engine"][
            "engine"
        ]
        == "duckdb"
    )
    return days


def test_sample_run_is_identical(spark: object, tmp_path: Path) -> None:
    days = _check_run(*_run_both(tmp_path, [str(SAMPLE_LOG)], "sample"))
    assert list(days) == ["2025-03-03"]


def test_published_trace_is_identical(spark: object, tmp_path: Path) -> None:
    trace = public_trace("azure_llm_2023/AzureLLMInferenceTrace_code.csv")
    azure = IngestOptions(preset="azure-llm")
    on_duckdb, on_spark = tmp_path / "azure-duckdb", tmp_path / "azure-spark"
    run_all([str(trace)], on_duckdb, RunOptions(ingest=azure))
    run_all([str(trace)], on_spark, RunOptions(ingest=azure, engine=SPARK))
    _check_run(on_duckdb, on_spark)


@pytest.fixture(scope="module")
def multi_day_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], int]:
    """The multi-day log as one file, and split into seven files (one gzip, rows dealt out
    round-robin so every file holds every day and the big client)."""
    log = generate(MULTI_DAY, duration_s=MULTI_DAY_SECONDS, seed=16, start=MULTI_DAY_START)
    root = tmp_path_factory.mktemp("multi_day")
    whole = root / "whole.csv"
    log.write_csv(whole)
    pieces = []
    for index in range(7):
        piece = log.gather_every(7, offset=index)
        path = root / "split" / f"piece-{index}.csv"
        path.parent.mkdir(exist_ok=True)
        if index == 3:
            path = path.with_suffix(".csv.gz")
            with gzip.open(path, "wb") as handle:
                handle.write(piece.write_csv().encode())
        else:
            piece.write_csv(path)
        pieces.append(path)
    return whole, pieces, log.height


def test_multi_day_split_log(
    spark: object, tmp_path: Path, multi_day_files: tuple[Path, list[Path], int]
) -> None:
    whole, pieces, n_rows = multi_day_files
    on_duckdb, on_spark = _run_both(tmp_path, [str(p) for p in reversed(pieces)], "split")
    days = _check_run(on_duckdb, on_spark)
    assert list(days) == ["2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06"]
    meta = json.loads((on_spark / "aggregate/meta.json").read_text())
    assert meta["n_requests"] == n_rows  # the generated log has no bad rows
    # the split log on Spark gives what the one file gives on DuckDB
    one_file = tmp_path / "whole-duckdb"
    run_all([str(whole)], one_file, RunOptions())
    _same_outputs(one_file, on_spark, ("fits.json", "stats.json", "profiles"))


def test_span_on_spark_equals_duckdb(
    spark: object, tmp_path: Path, multi_day_files: tuple[Path, list[Path], int]
) -> None:
    from pipeline.rundir import RunDir
    from pipeline.spark.summaries import SparkSummaries
    from pipeline.stages import ingest

    _whole, pieces, _n = multi_day_files
    run_dir = RunDir(tmp_path / "span")
    ingest.run(run_dir, [str(p) for p in pieces], IngestOptions(), EngineOptions())
    con = ingest.connect(run_dir, EngineOptions())
    ingest.open_requests(con, run_dir)
    expected = summaries.request_span(con)
    con.close()
    on_spark = SparkSummaries(run_dir, SPARK).span()
    assert on_spark == expected
    assert len(expected.days) == 4 and set(expected.model_first_us) == {"md-large", "md-reason"}


def test_aggregate_on_spark_after_duckdb_ingest(spark: object, tmp_path: Path) -> None:
    """`servechar aggregate --engine spark` on a DuckDB ingest; the CLI records the master."""
    out = tmp_path / "cli"
    assert runner.invoke(app, ["ingest", "--out", str(out)]).exit_code == 0
    reference = tmp_path / "reference"
    shutil.copytree(out, reference)
    assert runner.invoke(app, ["aggregate", "--out", str(reference)]).exit_code == 0
    result = runner.invoke(
        app, ["aggregate", "--out", str(out), "--engine", "spark", "--spark-master", "local[2]"]
    )
    assert result.exit_code == 0, result.output
    _same_outputs(reference, out, AGGREGATE_OUTPUTS)
    _same_summaries(reference, out)


def test_day_rows_through_spark_keep_values_and_types(spark: object, tmp_path: Path) -> None:
    """A day's rows read by Spark and handed to an Arrow task rebuild the ingest's day file:
    the same rows, order, values and types (Parquet nullability flags aside)."""
    import pyarrow.parquet as pq

    from pipeline.rundir import RunDir
    from pipeline.spark.summaries import (
        TaskSettings,
        read_request_table,
        rebuild_day_file,
    )
    from pipeline.spark.tasks import task_duckdb
    from pipeline.stages import ingest

    out = tmp_path / "days"
    ingest.run(RunDir(out), [str(SAMPLE_LOG)], IngestOptions(), EngineOptions())  # one UTC day
    original = out / "ingest/requests/day=2025-03-03/part-0.parquet"
    day_schema = pq.read_schema(original)
    part = summaries.day_parts([(date(2025, 3, 3) - date(1970, 1, 1)).days])[0]

    def rebuilt_bytes(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        path = Path(tempfile.mkdtemp()) / "part-0.parquet"
        with task_duckdb(TaskSettings().memory_limit, TaskSettings().threads) as con:
            rebuild_day_file(con, pa.Table.from_batches(list(batches)), day_schema, part, path)
        yield from pa.table({"file": pa.array([path.read_bytes()], pa.binary())}).to_batches()

    frame = read_request_table(spark, str(out / "ingest/requests"))  # (one small file)
    [row] = frame.mapInArrow(rebuilt_bytes, "file binary").collect()
    (tmp_path / "rebuilt.parquet").write_bytes(row.file)
    rebuilt = pq.read_table(tmp_path / "rebuilt.parquet")
    expected = pq.read_table(original)
    assert rebuilt.schema.names == expected.schema.names
    assert [f.type for f in rebuilt.schema] == [f.type for f in expected.schema]
    assert rebuilt.cast(expected.schema).equals(expected)


def test_changed_day_types_are_caught(tmp_path: Path) -> None:
    """The driver refuses summaries of rows whose types changed on the way through Spark."""
    import pyarrow.parquet as pq

    from pipeline.spark.summaries import DayTask, check_day_files

    day_file = tmp_path / "part-0.parquet"
    pq.write_table(pa.table({"arrival_us": pa.array([1], pa.int64())}), day_file)
    same = DayTask("2025-03-03", 1, "arrival_us int64", 1.0)
    check_day_files({"2025-03-03": same}, {"2025-03-03": day_file})
    changed = DayTask("2025-03-03", 1, "arrival_us timestamp[us, tz=UTC]", 1.0)
    with pytest.raises(SummaryError, match="came back as"):
        check_day_files({"2025-03-03": changed}, {"2025-03-03": day_file})


def test_without_pyspark_the_cli_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` raises ImportError
    out = ["--out", str(tmp_path / "o")]
    for command in (["run", *out], ["ingest", *out], ["aggregate", *out], ["refresh", "s", "x"]):
        result = runner.invoke(app, [*command, "--engine", "spark"])
        assert result.exit_code == 1, (command, result.output)
        assert "Error: --engine spark needs pyspark" in result.output
        assert "Hint: Install the Spark extra: pip install 'servechar[spark]'" in result.output
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "o").exists()  # stopped before any stage


def test_engine_option_errors(tmp_path: Path) -> None:
    result = runner.invoke(app, ["aggregate", "--out", str(tmp_path), "--engine", "polars"])
    assert result.exit_code == 1
    assert "Error: --engine:" in result.output and "'duckdb'" in result.output
    result = runner.invoke(app, ["aggregate", "--out", str(tmp_path), "--spark-master", "local"])
    assert result.exit_code == 1
    assert "Error: --spark-master local is given, but the engine is duckdb" in result.output


def test_session_without_java_is_an_error(spark: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.spark import session

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(session.shutil, "which", lambda _name: None)
    with pytest.raises(ConfigError, match="no Java runtime") as raised:
        session.spark_session("local[1]")
    assert "openjdk-17-jre-headless" in (raised.value.hint or "")


def test_refresh_on_spark_reuses_unchanged_days(
    spark: object, tmp_path: Path, multi_day_files: tuple[Path, list[Path], int]
) -> None:
    """`refresh --engine spark`: a dump of the first three days, then one of the last day;
    the second version reuses the three stored days on the driver, summarises the new one on
    Spark, and equals the DuckDB engine's version."""
    import polars as pl

    from pipeline.refresh import refresh

    whole, _pieces, _n = multi_day_files
    log = pl.read_csv(whole)
    stamp = pl.col("timestamp").str.to_datetime(time_zone="UTC")
    cut = datetime(2025, 3, 6, tzinfo=UTC)
    first, last = tmp_path / "first.csv", tmp_path / "last.csv"
    log.filter(stamp < cut).write_csv(first)
    log.filter(stamp >= cut).write_csv(last)
    versions = {}
    for name, options in (("duckdb", RunOptions()), ("spark", RunOptions(engine=SPARK))):
        store = tmp_path / f"store-{name}"
        refresh(store, [str(first)], options)
        versions[name] = refresh(store, [str(last)], options).version
    on_duckdb, on_spark = versions["duckdb"], versions["spark"]
    assert on_duckdb is not None and on_spark is not None
    _same_outputs(on_duckdb, on_spark, ("fits.json", "stats.json", "profiles", *AGGREGATE_OUTPUTS))
    manifest = json.loads((on_spark / "manifest.json").read_text())["stages"]["aggregate"]
    assert sorted(manifest["reused_parts"]) == ["2025-03-03", "2025-03-04", "2025-03-05"]
    assert list(manifest["spark"]["days"]) == ["2025-03-06"]


def test_a_failed_task_reads_as_the_error_it_raised() -> None:
    """A task's SummaryError reaches the CLI as that error, not as Spark's wrapped traceback;
    any other failure as a SummaryError naming it."""
    from pipeline.spark.summaries import _task_errors_as_ours

    class PythonException(Exception):  # what pyspark raises for a failed Python task
        __module__ = "pyspark.errors.exceptions.captured"

    def failing(text: str) -> Iterator[int]:
        yield 1
        raise PythonException(text)

    worker = (
        "An exception was thrown from the Python worker.\nTraceback (most recent call last):\n"
        '  File "summaries.py", line 200, in _summarise_day\n'
    )
    rows = _task_errors_as_ours(
        failing(worker + "pipeline.errors.SummaryError: day 2025-03-03: 2 of its 9 rows arrived")
    )
    assert next(rows) == 1
    with pytest.raises(SummaryError, match=r"^day 2025-03-03: 2 of its 9 rows arrived$"):
        next(rows)
    rows = _task_errors_as_ours(failing(worker + "duckdb.OutOfMemoryException: out of memory"))
    next(rows)
    with pytest.raises(SummaryError, match=r"a Spark task failed: duckdb\.OutOfMemoryException"):
        next(rows)


def _spark_error(module: str, text: str) -> Exception:
    """An exception as pyspark or py4j raise it (only their module name is looked at)."""
    kind = type("SparkSideError", (Exception,), {"__module__": module})
    return kind(text)


@pytest.mark.parametrize(
    ("module", "text"),
    [
        ("py4j.protocol", "An error occurred while calling o97.collectToPython."),
        ("pyspark.errors.exceptions.captured", "java.lang.OutOfMemoryError: Java heap space"),
    ],
)
def test_spark_running_out_of_memory_reads_as_a_resource_error(module: str, text: str) -> None:
    from pipeline.errors import ResourceError
    from pipeline.spark.session import spark_failures

    with pytest.raises(ResourceError) as raised, spark_failures():
        raise _spark_error(module, text)
    assert "--driver-memory" in (raised.value.hint or "")
    assert "split the input" in (raised.value.hint or "")


def test_spark_failures_leave_servechar_errors_and_others_alone() -> None:
    from pipeline.errors import InputError
    from pipeline.spark.session import spark_failures

    with pytest.raises(InputError, match="bad file"), spark_failures():
        raise InputError("bad file")
    with pytest.raises(KeyError), spark_failures():
        raise KeyError("x")


def test_spark_failures_raise_the_servechar_error_a_task_raised() -> None:
    """An ingest task's own error reaches the CLI as that error, not as 'Spark failed'."""
    from pipeline.errors import InputError, ResourceError
    from pipeline.spark.session import spark_failures

    worker = (
        "An exception was thrown from the Python worker.\nTraceback (most recent call last):\n"
        '  File "ingest.py", line 600, in _day_file\n'
        "pipeline.errors.InputError: day 2025-03-03: the parts disagree\n"
    )
    with pytest.raises(InputError, match=r"^day 2025-03-03: the parts disagree$"), spark_failures():
        raise _spark_error("pyspark.errors.exceptions.captured", worker)
    other = worker.replace("pipeline.errors.InputError", "ValueError")
    with (
        pytest.raises(ResourceError, match="Spark failed: An exception was thrown"),
        spark_failures(),
    ):
        raise _spark_error("pyspark.errors.exceptions.captured", other)


def test_local_sessions_get_a_driver_heap_unless_the_user_gave_one(monkeypatch) -> None:
    from pipeline.spark import session

    monkeypatch.delenv("SPARK_DRIVER_MEMORY", raising=False)
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "pyspark-shell")
    assert not session._driver_memory_given()
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--driver-memory 8g pyspark-shell")
    assert session._driver_memory_given()
    monkeypatch.delenv("PYSPARK_SUBMIT_ARGS")
    monkeypatch.setenv("SPARK_DRIVER_MEMORY", "6g")
    assert session._driver_memory_given()
