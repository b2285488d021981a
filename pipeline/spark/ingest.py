"""Ingest on Spark: every step that touches rows runs in Spark tasks, with the project's own
DuckDB code; only small tables reach the driver.

What runs where (docs/spark-ingest.md):

- One task per input file (`binaryFile` source, `mapInArrow`): the file's bytes are written to
  the task's scratch directory under the file's own name and checked there by the code
  `--engine duckdb` runs, in a DuckDB of the task: `verify_compressed` (a cut or damaged
  .gz/.zst stops the run), `load_source` + `ingest/stg_requests` (every row check), the raw
  text of the rows that failed, and the CSV reader's structural rejects with their bytes.
  The rows that passed stay in Spark (a DISK_ONLY-persisted DataFrame of one Parquet part
  per file); the driver receives the rejected rows, the file's verdict counts
  (`ingest/staged_counts`), time notes (`ingest/time_notes`) and model traits
  (`ingest/model_traits`), each of them a sum or union over files.
- Duplicates: the passed rows' `ingest/duplicate_candidates` are hash-partitioned by
  request_id and `ingest/duplicates` runs per partition (an id's duplicates depend only on
  the rows with that id); the list comes to the driver for the account and rejects.csv, and
  the files holding duplicates are read once more by tasks for their raw texts.
- Driver, in DuckDB: `ingest/model_categories` over the files' traits, the row account,
  rejects.csv and summary.json (all over rejected rows and counts only).
- Day files: each file's accepted requests (`ingest/accepted_requests`, with the duplicates and
  categories shipped to the task) are split by UTC day; the parts of a day meet in one task
  (`groupBy(day).applyInArrow`) that writes the day's Parquet with `ingest/request_keys` +
  `ingest/request_day`, as the DuckDB engine does; the driver receives the days' files one
  partition at a time and writes them under the run directory.

A failed check in a task (a cut file, a missing column) comes back as data, not as a Spark
exception, and the driver raises the same `PipelineError` the DuckDB engine raises, naming
the input's own path; of several failing files, the first in path order is reported, as the
DuckDB engine (which stops at it) would.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import io
import json
import re
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import errors, sqlrun
from pipeline.artefacts import REQUESTS_DAY_FILE
from pipeline.errors import InputError, PipelineError
from pipeline.sources import FORMATS, SourceFile, format_of
from pipeline.spark.session import spark_conf, spark_session
from pipeline.spark.tasks import task_duckdb, task_threads
from pipeline.stages import ingest

if TYPE_CHECKING:
    from collections.abc import Iterator

    import duckdb
    from pyspark.sql import DataFrame, Row, SparkSession

    from pipeline.config import EngineOptions, IngestOptions

__all__ = [
    "MAX_FILE_BYTES",
    "SparkSource",
    "ingest_files",
    "resolve_uris",
]

# Spark's binaryFile source holds a file in one byte array (Java arrays end below 2 GiB).
MAX_FILE_BYTES = 2**31 - 1 - 64
_BATCH_RECORDS = "spark.sql.execution.arrow.maxRecordsPerBatch"
_RESULT_SCHEMA = pa.schema(
    [
        ("file_index", pa.int32()),
        ("error_kind", pa.string()),
        ("error_message", pa.string()),
        ("error_hint", pa.string()),
        ("column_map", pa.string()),
        ("passed", pa.binary()),  # the rows that passed the checks: they stay in Spark
        ("rejected", pa.binary()),
        ("staged_counts", pa.binary()),
        ("model_traits", pa.binary()),
        ("time_notes", pa.string()),
        ("structural", pa.binary()),
        ("raw_texts", pa.binary()),
        ("seconds", pa.float64()),
        ("sha256", pa.string()),
        ("size", pa.int64()),
    ]
)
_CANDIDATES = pa.schema(
    [
        ("file_index", pa.int32()),
        ("source_row", pa.int64()),
        ("request_id", pa.string()),
        ("arrival_us", pa.int64()),
    ]
)
_DUPLICATES = pa.schema(
    [("file_index", pa.int32()), ("source_row", pa.int64()), ("request_id", pa.string())]
)
_DAY_PARTS = pa.schema([("day_number", pa.int64()), ("part", pa.binary())])
_DAY_FILES = pa.schema([("day_number", pa.int64()), ("content", pa.binary())])
_SPARK_TYPES = {pa.int32(): "int", pa.int64(): "bigint", pa.float64(): "double"}


def _ddl(schema: pa.Schema) -> str:
    """The schema for Spark ("string", "binary" are spelled alike)."""
    return ", ".join(f"{f.name} {_SPARK_TYPES.get(f.type, str(f.type))}" for f in schema)


@dataclass(frozen=True, slots=True)
class SparkSource(SourceFile):
    """An input found by Spark's listing: read through its URI, its size as listed."""

    uri: str = ""
    size: int = 0

    @property
    def read_path(self) -> str:
        return self.uri


def resolve_uris(inputs: list[str], engine: EngineOptions) -> list[SourceFile]:
    """Inputs given as URIs (and paths beside them) listed by Spark: files, directories
    (recursively, their log files only), globs; numbered in path order like `resolve_inputs`.

    Spark's listing skips names starting with '_' or '.', as Spark does everywhere.
    """
    spark = spark_session(engine.spark_master)
    found: dict[str, int] = {}
    for item in inputs:
        try:
            listed = (
                spark.read.format("binaryFile")
                .option("recursiveFileLookup", "true")
                .load(item)
                .select("path", "length")
                .collect()
            )
        except Exception as exc:  # any filesystem's failure, reported with the item's name
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(
                f"Spark cannot list {item}: {first}",
                hint="Check the path; s3a:// needs the hadoop-aws package and credentials "
                "configured for Spark (spark.jars.packages, spark.hadoop.fs.s3a.*).",
            ) from None
        matches = {row["path"]: row["length"] for row in listed}
        directory = not any(ch in item for ch in "*?[{") and all(
            _spark_key(uri) != _spark_key(item) for uri in matches
        )
        if directory:  # as resolve_inputs: a directory's other files are not logs
            matches = {uri: n for uri, n in matches.items() if format_of(_uri_name(uri))}
        if not matches:
            raise InputError(
                f"no log file matches {item}",
                hint=f"Check the path or pattern; known extensions: {', '.join(FORMATS)} "
                "(optionally .gz or .zst).",
            )
        found.update(matches)
    sources: list[SourceFile] = []
    for uri in sorted(found):
        name = PurePosixPath(urllib.parse.urlparse(uri).path)
        kind = format_of(_uri_name(uri))
        if kind is None:
            raise InputError(
                f"{uri}: unknown file type",
                hint=f"Name it with one of {', '.join(FORMATS)} (optionally .gz or .zst).",
            )
        path = Path(urllib.parse.unquote(str(name)))
        sources.append(
            SparkSource(len(sources), path, kind[0], kind[1], uri, uri=uri, size=found[uri])
        )
    return sources


def _uri_name(uri: str) -> Path:
    """The file name of a URI, for `format_of`."""
    return Path(PurePosixPath(urllib.parse.urlparse(uri).path).name)


@dataclass(frozen=True, slots=True)
class _FileJob:
    """What a task needs to check one file: the driver's SourceFile, minus the path it has
    on the driver, plus the records whose raw text is wanted (duplicates; None: staging)."""

    file_index: int
    name: str
    format: str
    compression: str | None
    display: str
    original: str  # the path errors name (the driver's path, not the task's copy)
    wanted_rows: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class _FileChecked:
    """A task's result for one file, without its staged rows (those that passed stay in Spark,
    those that failed are written to the driver's scratch as they arrive): its column mapping,
    and its small tables as Parquet bytes."""

    column_map: dict[str, str]
    staged_counts: bytes
    model_traits: bytes
    time_notes: dict[str, int]
    structural: bytes
    raw_texts: bytes
    seconds: float  # the task's time for this file
    sha256: str  # of the file's bytes as read
    size: int


def ingest_files(
    con: duckdb.DuckDBPyConnection,
    sources: list[SourceFile],
    options: IngestOptions,
    engine: EngineOptions,
    parts: Path,
    requests: Path,
) -> ingest.IngestedFiles:
    """Every row step on Spark (see the module docstring); `con` ends with the tables
    `ingest.write_rejects_csv` reads (`staged` holding the rejected rows only), and the day
    files are written under `requests` (`ingest._ingest_in_process`'s twin)."""
    from pyspark import StorageLevel

    spark = spark_session(engine.spark_master)
    jobs = [_job(source) for source in sources]
    with _one_file_per_batch(spark):
        checked = _file_tasks(spark, sources, jobs, options, engine).persist(StorageLevel.DISK_ONLY)
    try:
        with _one_file_per_batch(spark):
            results = _collect_results(sources, checked.drop("passed"), parts)
        sqlrun.execute(con, "ingest/create_empty_structural")
        notes: dict[str, int] = {}
        for result in results:
            _insert(con, result.structural, "structural")
            _insert(con, result.raw_texts, "raw_texts")
            for note, n in result.time_notes.items():  # time_notes is a count per note
                notes[note] = notes.get(note, 0) + n
        ingest.staged_parts(con, parts / "*.parquet").create_view("staged")  # rejected rows
        _table(con, "staged_counts", [r.staged_counts for r in results])
        _table(con, "model_traits", [r.model_traits for r in results])
        sqlrun.query(con, "ingest/model_categories").to_table("model_categories")

        duplicates = _find_duplicates(spark, checked)
        order = [("file_index", "ascending"), ("source_row", "ascending")]
        con.from_arrow(duplicates.sort_by(order)).to_table("duplicates")
        _collect_duplicate_raw_texts(con, sources, options, engine)
        counts = sqlrun.query(con, "ingest/row_counts").fetchall()
        categories = con.table("model_categories").to_arrow_table()
        with _one_file_per_batch(spark):
            days = _write_day_files(checked, duplicates, categories, engine, requests)
    finally:
        checked.unpersist()
    return ingest.IngestedFiles(
        column_maps={str(s.path): r.column_map for s, r in zip(sources, results, strict=True)},
        counts=counts,
        notes=notes,
        days=days,
        spark_tasks=[
            {"path": s.display, "seconds": round(r.seconds, 3)}
            for s, r in zip(sources, results, strict=True)
        ],
        file_facts={
            s.file_index: (r.size, r.sha256) for s, r in zip(sources, results, strict=True)
        },
    )


def _collect_duplicate_raw_texts(
    con: duckdb.DuckDBPyConnection,
    sources: list[SourceFile],
    options: IngestOptions,
    engine: EngineOptions,
) -> None:
    """The raw texts of the duplicates (table `duplicates`), read on Spark from just the files
    that hold them, into the table `raw_texts` (`ingest._collect_duplicate_raw_texts`'s twin)."""
    files = {row[0] for row in sqlrun.query(con, "ingest/duplicate_files").fetchall()}
    if not files:
        return
    chosen = [s for s in sources if s.file_index in files]
    jobs = []
    for source in chosen:
        rows = sqlrun.query(con, "ingest/duplicate_rows", {"file_index": source.file_index})
        wanted = tuple(row[0] for row in rows.fetchall())
        jobs.append(_job(source, wanted))
    spark = spark_session(engine.spark_master)
    with _one_file_per_batch(spark):
        frame = _file_tasks(spark, chosen, jobs, options, engine)
        for result in _collect_results(chosen, frame, parts=None):
            _insert(con, result.raw_texts, "raw_texts")


def _job(source: SourceFile, wanted_rows: tuple[int, ...] | None = None) -> _FileJob:
    return _FileJob(
        source.file_index,
        source.path.name,
        source.format,
        source.compression,
        source.display,
        source.read_path if isinstance(source, SparkSource) else str(source.path),
        wanted_rows,
    )


def _file_tasks(
    spark: SparkSession,
    sources: list[SourceFile],
    jobs: list[_FileJob],
    options: IngestOptions,
    engine: EngineOptions,
) -> DataFrame:
    """One Spark task per file (not run yet): one result record per file."""
    for source in sources:
        size = source.size if isinstance(source, SparkSource) else source.path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                f"{source.display} is {size:,} bytes; --engine spark reads each input file whole, "
                f"and Spark's binaryFile source holds at most {MAX_FILE_BYTES:,} bytes per file",
                hint="Split the log into files below 2 GiB (for example one per hour or day), "
                "or use --engine duckdb for this file.",
            )
    by_uri = {_spark_key(source.read_path): job for source, job in zip(sources, jobs, strict=True)}
    task = functools.partial(_check_batches, by_uri, options, engine)
    files = _file_bytes(spark, [s.read_path for s in sources])
    return files.mapInArrow(task, _ddl(_RESULT_SCHEMA))


def _collect_results(
    sources: list[SourceFile], frame: DataFrame, parts: Path | None
) -> list[_FileChecked]:
    """The files' results in `sources`' order, or the first file's Error.

    Each file's rejected rows are written into `parts` as they arrive, so the driver holds
    one file's at a time."""
    found: dict[int, _FileChecked] = {}
    failed: dict[int, Row] = {}
    for row in frame.toLocalIterator(prefetchPartitions=False):
        index = row["file_index"]
        if row["error_kind"] is not None:
            failed[index] = row
            continue
        if parts is not None:
            (parts / f"part-{index:05d}.parquet").write_bytes(row["rejected"])
        found[index] = _FileChecked(
            json.loads(row["column_map"] or "{}"),
            bytes(row["staged_counts"] or b""),
            bytes(row["model_traits"] or b""),
            json.loads(row["time_notes"] or "{}"),
            bytes(row["structural"] or b""),
            bytes(row["raw_texts"]),
            row["seconds"],
            row["sha256"],
            row["size"],
        )
    for source in sources:  # the first file in path order that failed, as DuckDB stops at it
        if source.file_index in failed:
            error = failed[source.file_index]
            kind = getattr(errors, str(error["error_kind"]), PipelineError)
            raise kind(str(error["error_message"]), hint=error["error_hint"])
        if source.file_index not in found:
            raise InputError(
                f"{source.display}: Spark did not read this file",
                hint="Spark skips files whose names start with '_' or '.': rename the file.",
            )
    return [found[source.file_index] for source in sources]


def _table(con: duckdb.DuckDBPyConnection, name: str, parts: list[bytes]) -> None:
    """A table of `con` from the files' Parquet parts of one query's rows."""
    tables = [pq.read_table(io.BytesIO(part)) for part in parts]
    # a column may be required in one file's part and optional in another's (no NULL there)
    schema = pa.schema([field.with_nullable(True) for field in tables[0].schema])
    rows = pa.concat_tables([table.cast(schema) for table in tables])
    con.from_arrow(rows).to_table(name)


def _find_duplicates(spark: SparkSession, checked: DataFrame) -> pa.Table:
    """`ingest/duplicates` per hash bucket of request_id, over every file's candidates."""
    from pyspark import StorageLevel

    with _one_file_per_batch(spark):  # a record of `checked` holds a file's rows
        candidates = (
            checked.select("passed")
            .mapInArrow(_candidate_batches, _ddl(_CANDIDATES))
            .persist(StorageLevel.DISK_ONLY)
        )
        candidates.count()  # built here, under the one-record batches
    try:
        buckets = spark.sparkContext.defaultParallelism
        found = (
            candidates.repartition(buckets, "request_id")
            .mapInArrow(_bucket_duplicates, _ddl(_DUPLICATES))
            .toArrow()
        )
    finally:
        candidates.unpersist()
    return found.cast(_DUPLICATES)


def _write_day_files(
    checked: DataFrame,
    duplicates: pa.Table,
    categories: pa.Table,
    engine: EngineOptions,
    directory: Path,
) -> list[dt.date]:
    """The request table: each file's accepted requests split by UTC day in its task, each
    day's parts sorted and written as the day's file in one task; the driver writes the
    files it receives (as `ingest._write_request_table`)."""
    split = functools.partial(_day_part_batches, duplicates, categories, engine)
    parts = checked.select("passed").mapInArrow(split, _ddl(_DAY_PARTS))

    def day_file(table: pa.Table) -> pa.Table:
        return _day_file(engine, table)

    files = parts.groupBy("day_number").applyInArrow(day_file, _ddl(_DAY_FILES))
    directory.mkdir(parents=True, exist_ok=True)
    days = []
    for row in files.toLocalIterator(prefetchPartitions=False):
        day = ingest.day_of(row["day_number"])
        path = directory / ingest.day_dir(day) / REQUESTS_DAY_FILE
        path.parent.mkdir()
        path.write_bytes(row["content"])
        days.append(day)
    return sorted(days)


def _file_bytes(spark: SparkSession, paths: list[str]) -> DataFrame:
    """(path, content) of each file, through Spark's binaryFile source."""
    # Hadoop reads the paths as glob patterns: a name holding [ or * must not expand.
    escaped = [_GLOB_CHARS.sub(r"\\\g<0>", p) for p in paths]
    return spark.read.format("binaryFile").load(escaped).select("path", "content")


def _one_file_per_batch(spark: SparkSession) -> contextlib.AbstractContextManager[None]:
    """Arrow batches of one record, so that a task holds one file's bytes at a time."""
    return spark_conf(spark, {_BATCH_RECORDS: "1"})


def _spark_key(path: str) -> str:
    """A path as the key of Spark's `path` column: a local file by its path
    (`file:/a/b%20c.csv` -> `/a/b c.csv`), any other by its URI."""
    parsed = urllib.parse.urlparse(path)
    return urllib.parse.unquote(parsed.path) if parsed.scheme in ("", "file") else path


# --- in the Spark task ------------------------------------------------------------------


def _check_batches(
    jobs: dict[str, _FileJob],
    options: IngestOptions,
    engine: EngineOptions,
    batches: Iterator[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    """mapInArrow: one result record per input file."""
    for batch in batches:
        paths = batch.column("path").to_pylist()
        for position, uri in enumerate(paths):
            job = jobs[_spark_key(uri)]
            content = batch.column("content")[position].as_buffer()
            result = _check_one(job, content, options, engine)
            yield pa.RecordBatch.from_pylist([result], schema=_RESULT_SCHEMA)


def _check_one(
    job: _FileJob, content: pa.Buffer, options: IngestOptions, engine: EngineOptions
) -> dict[str, object]:
    """One file through the DuckDB engine's own staging code, in this task's scratch space."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="servechar-task-") as scratch:
        local = Path(scratch, "input", job.name)
        local.parent.mkdir()
        with local.open("wb") as handle:
            handle.write(content)
        facts = {"sha256": hashlib.sha256(content).hexdigest(), "size": content.size}
        del content
        source = SourceFile(job.file_index, local, job.format, job.compression, job.display)
        con = ingest.connect_in(Path(scratch, "duckdb"), engine, options.tz, task_threads())
        try:
            checked = _checked(con, source, job, options, Path(scratch))
            return {**checked, **facts, "seconds": time.perf_counter() - started}
        except PipelineError as exc:
            # name the input as the driver knows it, not this task's copy
            own = str(local)
            return {
                "file_index": job.file_index,
                "error_kind": type(exc).__name__,
                "error_message": exc.message.replace(own, job.original),
                "error_hint": None if exc.hint is None else exc.hint.replace(own, job.original),
            }
        finally:
            con.close()


def _checked(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    job: _FileJob,
    options: IngestOptions,
    scratch: Path,
) -> dict[str, object]:
    con.register("input_files", ingest.input_files_table([source]))
    sqlrun.execute(con, "ingest/create_raw_texts")
    if job.wanted_rows is not None:  # the duplicates' raw texts
        loaded = ingest.load_source(con, source, options)
        con.register("wanted_rows", pa.table({"source_row": pa.array(job.wanted_rows, pa.int64())}))
        ingest.collect_raw_texts(con, loaded, source)
        return {"file_index": source.file_index, "raw_texts": _query_bytes(con, "raw_texts")}
    parts = scratch / "staged"
    parts.mkdir()
    column_map = ingest.stage_file(con, source, options, parts)
    ingest.collect_structural_rejects(con, [source])
    ingest.staged_parts(con, parts / f"part-{source.file_index:05d}.parquet").create_view("staged")
    return {
        "file_index": source.file_index,
        "column_map": json.dumps(column_map),
        "passed": _query_bytes(con, "ingest/passed_rows", compression="zstd"),
        "rejected": _query_bytes(con, "ingest/rejected_rows", compression="zstd"),
        "staged_counts": _query_bytes(con, "ingest/staged_counts"),
        "model_traits": _query_bytes(con, "ingest/model_traits"),
        "time_notes": json.dumps(dict(sqlrun.query(con, "ingest/time_notes").fetchall())),
        "structural": _query_bytes(con, "structural"),
        "raw_texts": _query_bytes(con, "raw_texts"),
    }


def _query_bytes(con: duckdb.DuckDBPyConnection, name: str, compression: str = "snappy") -> bytes:
    """A query's rows (or a table's, for a name without '/') as Parquet bytes, written by
    DuckDB so that the types come back as they were."""
    return _parquet_bytes(sqlrun.query(con, name) if "/" in name else con.table(name), compression)


def _parquet_bytes(rows: duckdb.DuckDBPyRelation, compression: str) -> bytes:
    """A relation's rows as Parquet bytes, written by DuckDB."""
    with tempfile.TemporaryDirectory(prefix="servechar-part-") as scratch:
        path = Path(scratch, "part.parquet")
        rows.write_parquet(str(path), compression=compression)
        return path.read_bytes()


def _candidate_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """mapInArrow: each file's `ingest/duplicate_candidates`."""
    for batch in batches:
        for part in batch.column("passed").to_pylist():
            with task_duckdb() as con, _parquet_view(con, "staged", [part]):
                rows = sqlrun.query(con, "ingest/duplicate_candidates").to_arrow_table()
            yield from rows.cast(_CANDIDATES).to_batches()


def _bucket_duplicates(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """mapInArrow over one hash bucket of request_id: `ingest/duplicates` on its candidates,
    which are every candidate of the bucket's ids."""
    candidates = pa.Table.from_batches(list(batches), schema=_CANDIDATES)
    with task_duckdb() as con:
        con.register("duplicate_candidates", candidates)
        rows = sqlrun.query(con, "ingest/duplicates").to_arrow_table()
    yield from rows.cast(_DUPLICATES).to_batches()


def _day_part_batches(
    duplicates: pa.Table,
    categories: pa.Table,
    engine: EngineOptions,
    batches: Iterator[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    """mapInArrow: each file's accepted requests (`ingest/accepted_requests`), one Parquet
    part per UTC day (`ingest/request_days`, `ingest/day_part`), unsorted: the day's task
    sorts them all."""
    for batch in batches:
        for part in batch.column("passed").to_pylist():
            with task_duckdb(engine.memory_limit) as con, _parquet_view(con, "staged", [part]):
                con.register("duplicates", duplicates)
                con.register("model_categories", categories)
                yield from _split_by_day(con)


def _split_by_day(con: duckdb.DuckDBPyConnection) -> Iterator[pa.RecordBatch]:
    sqlrun.query(con, "ingest/accepted_requests").to_table("accepted_requests")
    numbers = sqlrun.query(con, "ingest/request_days", {"day_us": ingest.DAY_US}).fetchall()
    for (number,) in numbers:
        part = _parquet_bytes(ingest.day_rows(con, "ingest/day_part", number), "zstd")
        yield pa.RecordBatch.from_pylist([{"day_number": number, "part": part}], schema=_DAY_PARTS)


def _day_file(engine: EngineOptions, table: pa.Table) -> pa.Table:
    """applyInArrow over one UTC day's parts: the day's file of the request table, written
    by the DuckDB engine's own `write_request_day` from `ingest/request_day`."""
    number = table.column("day_number")[0].as_py()
    parts = table.column("part").to_pylist()
    with (
        task_duckdb(engine.memory_limit) as con,
        _parquet_view(con, "accepted_requests", parts),
        tempfile.TemporaryDirectory(prefix="servechar-day-") as scratch,
    ):
        path = Path(scratch, REQUESTS_DAY_FILE)
        ingest.write_day_alone(con, number, path)
        content = path.read_bytes()
    return pa.table({"day_number": [number], "content": [content]}, schema=_DAY_FILES)


@contextlib.contextmanager
def _parquet_view(con: duckdb.DuckDBPyConnection, name: str, parts: list[bytes]) -> Iterator[None]:
    """The view `name` over Parquet parts written to a scratch directory."""
    with tempfile.TemporaryDirectory(prefix="servechar-parts-") as scratch:
        files = []
        for number, part in enumerate(parts):
            path = Path(scratch, f"part-{number:05d}.parquet")
            path.write_bytes(part)
            files.append(str(path))
        con.read_parquet(files).create_view(name)
        yield


def _insert(con: duckdb.DuckDBPyConnection, data: bytes, table: str) -> None:
    """Append a task's Parquet bytes to a table of the driver's DuckDB."""
    if not data:
        return
    rows = pq.read_table(io.BytesIO(data))
    if rows.num_rows:
        con.from_arrow(rows).insert_into(table)


_GLOB_CHARS = re.compile(r"[*?\[\]{}\\]")
