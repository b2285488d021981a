"""The aggregate stage's per-day summaries on Spark, computed by the project's own DuckDB code.

Spark reads the request table (`spark.read.parquet`, so any storage Spark reads); each UTC day
is one file of it (`day=YYYY-MM-DD/part-0.parquet`), read whole by one Spark partition, without a
shuffle (grouping the rows with `groupBy("day").applyInArrow` moved every row through Spark's
shuffle and sort: on 1M rows, 175-195 s of wall time for the day tasks against 130 s without).
Each day is one `mapInArrow` task, which

1. writes the day's rows back as the request table's day file, with ingest's own query and
   writer (`ingest/request_day`, `write_request_day`: same rows, order and types; the task
   checks the row count and returns the column types, which the driver compares with the
   day file it has),
2. runs `summaries.summarise_part` on it with a local DuckDB (spilling to the task's
   temporary directory), and
3. returns each topic's part file and sidecar as bytes.

The driver writes the parts under `aggregate/summaries/<topic>/` and merges them with
`summaries.merge`, exactly as the DuckDB engine does; everything after the merge is unchanged.
So every summary has one definition (the SQL files of `sql/summaries/`), not a Spark SQL copy.
The span (origin and per-model anchors) comes from `summaries/request_span` run by DuckDB on
each Spark partition's (model, arrival_us) rows and reduced on the driver (`summaries.span_of`).

A day is one task: it must fit that task's DuckDB (which spills to the executor's disk).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import sqlrun, summaries
from pipeline.artefacts import REQUESTS
from pipeline.errors import SummaryError
from pipeline.spark.session import raised_in_task, spark_conf, spark_failures, spark_session
from pipeline.spark.tasks import task_duckdb

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    import duckdb
    from pyspark.sql import DataFrame, SparkSession

    from pipeline.config import EngineOptions
    from pipeline.rundir import RunDir

SPAN_SCHEMA = "model string, day long, first_us long, last_us long, n_requests long"
PART_SCHEMA = (
    "label string, topic string, part binary, sidecar string, n_requests long, "
    "day_types string, seconds double"
)
DAY_COLUMN = "day"  # the request table's `day=YYYY-MM-DD` directories, as Spark reads them
EPOCH_DAY = dt.date(1970, 1, 1)
# Spark packs files into a partition while their sizes plus this opening cost stay under the
# partition size: with both at 1 TiB every file is a partition of its own and is never split.
ONE_FILE_PER_PARTITION = {
    "spark.sql.files.maxPartitionBytes": str(2**40),
    "spark.sql.files.openCostInBytes": str(2**40),
}


@dataclass(frozen=True, slots=True)
class TaskSettings:
    """How each task's local DuckDB runs (one Spark task is one core)."""

    threads: int = 1
    memory_limit: str = "2GB"


@dataclass(frozen=True, slots=True)
class DayTask:
    """What one day's task did: its rows, the column types of the day file it rebuilt, its
    time."""

    label: str
    n_requests: int
    day_types: str
    seconds: float


def read_request_table(spark: SparkSession, table: str) -> DataFrame:
    """The request table (`ingest/requests`, any path Spark reads) with its `day` column."""
    return spark.read.parquet(table)


def request_span(requests: DataFrame, settings: TaskSettings) -> summaries.RequestSpan:
    """`summaries.request_span` of the request table: the same query per Spark partition,
    its rows reduced on the driver."""

    def span_rows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        frames = list(batches)
        if not frames:
            return
        with task_duckdb(settings.memory_limit, settings.threads) as con:
            con.register("requests", pa.Table.from_batches(frames))
            yield from sqlrun.query(con, "summaries/request_span").to_arrow_table().to_batches()

    rows = requests.select("model", "arrival_us").mapInArrow(span_rows, SPAN_SCHEMA).collect()
    return summaries.span_of((r.model, r.day, r.first_us, r.last_us, r.n_requests) for r in rows)


def summarise_days(
    requests: DataFrame,
    day_schema: pa.Schema,
    parts: Sequence[summaries.PartRange],
    params: Mapping[str, Any],
    directory: Path,
    settings: TaskSettings,
) -> dict[str, DayTask]:
    """Summarise each UTC day in `parts` on Spark into `directory/<topic>/part-<day>.*`.

    `day_schema` is the Arrow schema of the request table's day files: the task casts the rows
    Spark hands it back to it (Spark has no unsigned or time-zone-less types of its own), so the
    day file it rebuilds holds the ingest's rows, values and types. Returns each day's task
    record.
    """
    wanted = {part.label: part for part in parts}
    for label, part in wanted.items():
        if part != summaries.day_parts([part.start_us // summaries.US_PER_DAY])[0]:
            raise SummaryError(f"part {label} is not a UTC day: the Spark engine summarises days")
    dates = [dt.date.fromisoformat(label) for label in sorted(wanted)]
    chosen = requests.where(requests[DAY_COLUMN].isin(dates))

    def summarise_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        frames = list(batches)
        if frames:
            yield from _summarise_day(
                pa.Table.from_batches(frames), day_schema, params, settings
            ).to_batches()

    # One day file is one Spark partition (see ONE_FILE_PER_PARTITION), so a day's rows reach
    # its task without a shuffle; a day split across partitions is caught below.
    tasks: dict[str, DayTask] = {}
    seen: set[tuple[str, str]] = set()
    with spark_conf(requests.sparkSession, ONE_FILE_PER_PARTITION):
        results = chosen.mapInArrow(summarise_partition, PART_SCHEMA)
        for row in _task_errors_as_ours(results.toLocalIterator(prefetchPartitions=False)):
            if row.label not in wanted:
                raise SummaryError(f"a Spark task summarised day {row.label}, not asked for")
            if (row.label, row.topic) in seen:
                raise SummaryError(
                    f"day {row.label} was read by more than one Spark task: its summaries would "
                    "count part of the day each",
                    hint="Keep spark.sql.files.maxPartitionBytes above a day file's size.",
                )
            seen.add((row.label, row.topic))
            out = directory / row.topic / f"part-{row.label}.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(row.part)
            out.with_suffix(".json").write_text(row.sidecar, encoding="utf-8")
            tasks[row.label] = DayTask(row.label, row.n_requests, row.day_types, row.seconds)
    missing = sorted(set(wanted) - set(tasks))
    if missing:
        raise SummaryError(
            f"the Spark tasks returned no summaries for the days {', '.join(missing)}",
            hint="The request table changed while the stage ran: run ingest again.",
        )
    return tasks


def rebuild_day_file(
    con: duckdb.DuckDBPyConnection,
    group: pa.Table,
    day_schema: pa.Schema,
    part: summaries.PartRange,
    path: Path,
) -> int:
    """Write a day's rows as Spark gave them (`group`, with its `day` column) as the request
    table's day file at `path`, with ingest's own query and writer: the same rows in the same
    order, of the same types. Returns the row count.

    (Its Parquet columns are all `optional`: DuckDB marks a column `required` only when the
    writing plan's statistics prove it has no NULL, which an Arrow scan never does. Values and
    types are the ingest's; tests/test_spark_engine.py compares them.)
    """
    from pipeline.stages.ingest import DAY_US, write_day_alone  # executors import it lazily

    rows = group.drop_columns([DAY_COLUMN]).select(day_schema.names).cast(day_schema)
    con.register("accepted_requests", rows)
    try:
        write_day_alone(con, part.start_us // DAY_US, path)
    finally:
        con.unregister("accepted_requests")
    written = pq.ParquetFile(path).metadata.num_rows
    if written != rows.num_rows:
        raise SummaryError(
            f"day {part.label}: {rows.num_rows - written} of its {rows.num_rows} rows arrived "
            "outside the day their directory names",
            hint="The request table was not written by servechar ingest: run ingest again.",
        )
    return written


def column_types(schema: pa.Schema) -> str:
    """A schema's column names and types, nullability aside (what a day file's rows are)."""
    return ", ".join(f"{f.name} {f.type}" for f in schema)


def _summarise_day(
    group: pa.Table, day_schema: pa.Schema, params: Mapping[str, Any], settings: TaskSettings
) -> pa.Table:
    """One day's part files (the body of a Spark task)."""
    started = time.perf_counter()
    days = group.column(DAY_COLUMN).unique()
    if len(days) != 1:
        raise SummaryError(f"a Spark partition holds the rows of several days: {days}")
    day = days[0].as_py()
    part = summaries.day_parts([(day - EPOCH_DAY).days])[0]
    with tempfile.TemporaryDirectory(prefix="servechar-day-") as scratch:
        root = Path(scratch)
        day_file = root / "requests" / f"day={day.isoformat()}" / "part-0.parquet"
        day_file.parent.mkdir(parents=True)
        with task_duckdb(settings.memory_limit, settings.threads, root / "spill") as con:
            rebuild_day_file(con, group, day_schema, part, day_file)
            del group  # the rows are in the day file now
            # as `open_requests` does, over the one day file
            con.read_parquet(str(day_file), hive_partitioning=False).create_view("requests")
            done = summaries.summarise_part(con, part, params, root / "summaries")
        types = column_types(pq.read_schema(day_file))
        names = sorted(done.files)
        parts = [done.files[name].read_bytes() for name in names]
        sidecars = [
            done.files[name].with_suffix(".json").read_text(encoding="utf-8") for name in names
        ]
    seconds = time.perf_counter() - started
    return pa.table(
        {
            "label": [part.label] * len(names),
            "topic": names,
            "part": pa.array(parts, pa.binary()),
            "sidecar": sidecars,
            "n_requests": pa.array([done.n_requests] * len(names), pa.int64()),
            "day_types": [types] * len(names),
            "seconds": [seconds] * len(names),
        }
    )


def _task_errors_as_ours(rows: Iterator[Any]) -> Iterator[Any]:
    """`rows`, with a Spark task's failure raised as the error the task raised (a
    `pipeline.errors` error keeps its class and message, anything else becomes a
    SummaryError naming it), not as Spark's wrapped Python traceback."""
    try:
        yield from rows
    except Exception as exc:
        if not type(exc).__module__.startswith(("pyspark", "py4j")):
            raise
        raised = raised_in_task(str(exc))
        if raised is not None:
            raise raised from None
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        named = re.compile(r"^[\w.]+(Error|Exception): ")
        failed = next((line for line in reversed(lines) if named.match(line)), type(exc).__name__)
        raise SummaryError(
            f"a Spark task failed: {failed}",
            hint="See the Spark executor's log; with --debug the whole Spark error is shown.",
        ) from exc


def check_day_files(tasks: Mapping[str, DayTask], day_files: Mapping[str, Path]) -> None:
    """Each task's rebuilt day file must have the columns and types of the request table's
    own (Spark has no unsigned or time-zone-less types: a change would show here)."""
    for label, task in sorted(tasks.items()):
        path = day_files.get(label)
        if path is None or not path.is_file():
            continue  # a request table Spark reads but this machine does not
        expected = column_types(pq.read_schema(path))
        if task.day_types != expected:
            raise SummaryError(
                f"day {label}: the rows Spark read came back as ({task.day_types}), not as the "
                f"request table's {path} ({expected})",
                hint="Run the stage with --engine duckdb, and report this with the file's schema.",
            )


class SparkSummaries:
    """The aggregate stage's span and per-day summaries on Spark, for one run directory.

    `span` and `summarise` stand in for `summaries.request_span` and `summaries.summarise`;
    what they return is the same, and the merge is `summaries.merge` itself.
    """

    def __init__(self, run_dir: RunDir, engine: EngineOptions) -> None:
        from pipeline.stages.ingest import request_days

        self.day_files = {day.isoformat(): path for day, path in request_days(run_dir)}
        if not self.day_files:
            raise SummaryError(
                f"{run_dir.path(REQUESTS)} holds no day files", hint="Run ingest again."
            )
        # every day file has the contract's schema (requests@2); the tasks cast to it
        self.day_schema = pq.read_schema(next(iter(self.day_files.values())))
        self.settings = TaskSettings(threads=engine.threads or 1, memory_limit=engine.memory_limit)
        self.requests = read_request_table(
            spark_session(engine.spark_master), str(run_dir.path(REQUESTS))
        )
        self.tasks: dict[str, DayTask] = {}
        self.span_seconds = self.days_seconds = 0.0

    def task_record(self) -> dict[str, Any]:
        """The manifest's record: the wall time of the span and of the day tasks, and each day
        task's rows and seconds (what a cluster run is projected from)."""
        return {
            "span_seconds": round(self.span_seconds, 3),
            "days_seconds": round(self.days_seconds, 3),
            "days": {
                label: {"n_requests": t.n_requests, "seconds": round(t.seconds, 3)}
                for label, t in sorted(self.tasks.items())
            },
        }

    def span(self) -> summaries.RequestSpan:
        started = time.perf_counter()
        with spark_failures():
            found = request_span(self.requests, self.settings)
        self.span_seconds = time.perf_counter() - started
        return found

    def summarise(
        self,
        con: duckdb.DuckDBPyConnection,
        parts: Sequence[summaries.PartRange],
        params: Mapping[str, Any],
        directory: Path,
        stored: Mapping[str, Path] | None = None,
    ) -> summaries.MergedSummaries:
        """Each day on Spark, except days whose every topic a stored part gives (reused on the
        driver, as `summaries.summarise_part` would), then the local merge."""
        reused = {}
        pending = []
        for part in parts:
            taken = _reuse_whole_day(con, part, params, directory, (stored or {}).get(part.label))
            if taken:
                reused[part.label] = taken
            else:
                pending.append(part)
        if pending:
            started = time.perf_counter()
            with spark_failures():
                self.tasks = summarise_days(
                    self.requests, self.day_schema, pending, params, directory, self.settings
                )
            self.days_seconds = time.perf_counter() - started
            check_day_files(self.tasks, self.day_files)
        return dataclasses.replace(summaries.merge(con, directory), reused=reused)


def _reuse_whole_day(
    con: duckdb.DuckDBPyConnection,
    part: summaries.PartRange,
    params: Mapping[str, Any],
    directory: Path,
    stored: Path | None,
) -> tuple[str, ...]:
    """Every topic of `part` from `stored` (the topics' names), or () when any topic must be
    summarised again (the day then goes to Spark whole)."""
    if stored is None:
        return ()
    counts = set()
    for topic in summaries.topics():
        used = summaries.bound_params(topic.part_query, params, topic.name)
        out = directory / topic.name / f"part-{part.label}.parquet"
        counts.add(summaries.reuse_part(con, topic, part, used, stored, out))
    if None in counts or len(counts) != 1:
        return ()
    return tuple(t.name for t in summaries.topics())
