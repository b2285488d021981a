"""Ingest's per-file row checks as Spark tasks: the project's own staging code, run by Spark.

What runs where (docs/spark-ingest.md):

- On Spark, one task per input file (`binaryFile` source, `mapInArrow`): the file's bytes are
  written to the task's scratch directory under the file's own name and checked there by the
  code `--engine duckdb` runs, in a DuckDB of the task: `verify_compressed` (a cut or damaged
  .gz/.zst stops the run), `load_source` + `ingest/stg_requests` (every row check), the raw
  text of the rows that failed, and the CSV reader's structural rejects with their bytes. The
  task returns the staged rows, the structural rejects and the raw texts as Parquet bytes.
- On the driver, in DuckDB over those staged rows, as with `--engine duckdb`: what needs every
  file (duplicate request ids across files, the model categories, the row account, the time
  notes, rejects.csv) and the request table's sorted day files. The files holding duplicates
  are read once more by Spark tasks for the duplicates' raw texts.

So the driver receives every staged row (as compressed Parquet, one file's at a time) and
runs the cross-file part on one machine; that part is not distributed yet.

A failed check in a task (a cut file, a missing column) comes back as data, not as a Spark
exception, and the driver raises the same `PipelineError` the DuckDB engine raises, naming
the input's own path; of several failing files, the first in path order is reported, as the
DuckDB engine (which stops at it) would.
"""

from __future__ import annotations

import contextlib
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
from pipeline.errors import InputError, PipelineError
from pipeline.sources import FORMATS, SourceFile, format_of
from pipeline.spark.session import spark_session
from pipeline.stages import ingest

if TYPE_CHECKING:
    from collections.abc import Iterator

    import duckdb
    from pyspark.sql import DataFrame, Row, SparkSession

    from pipeline.config import EngineOptions, IngestOptions

__all__ = [
    "MAX_FILE_BYTES",
    "SparkChecks",
    "SparkSource",
    "check_files",
    "collect_duplicate_raw_texts",
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
        ("staged", pa.binary()),
        ("structural", pa.binary()),
        ("raw_texts", pa.binary()),
        ("seconds", pa.float64()),
        ("sha256", pa.string()),
        ("size", pa.int64()),
    ]
)
_SPARK_TYPES = {pa.int32(): "int", pa.int64(): "bigint", pa.float64(): "double"}
_RESULT_DDL = ", ".join(
    f"{field.name} {_SPARK_TYPES.get(field.type, str(field.type))}" for field in _RESULT_SCHEMA
)  # the same schema for Spark ("string", "binary" are spelled alike)


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
    """A task's result for one file (its staged rows already written): its column mapping,
    its structural rejects and raw texts as Parquet bytes."""

    column_map: dict[str, str]
    structural: bytes
    raw_texts: bytes
    seconds: float  # the task's time for this file
    sha256: str  # of the file's bytes as read
    size: int


@dataclass(frozen=True, slots=True)
class SparkChecks:
    """What `check_files` found besides the tables: each file's column mapping by path, and
    each file's task time (for the manifest: where the time went)."""

    column_maps: dict[str, dict[str, str]]
    task_seconds: list[dict[str, object]]
    files: dict[int, tuple[int, str]]  # file_index -> (bytes, sha256) of what Spark read


def check_files(
    con: duckdb.DuckDBPyConnection,
    sources: list[SourceFile],
    options: IngestOptions,
    engine: EngineOptions,
    parts: Path,
) -> SparkChecks:
    """Every file's row checks on Spark: write each file's staged part into `parts`, fill the
    tables `raw_texts` and `structural` of `con`; returns each file's column mapping by path
    (as `ingest._check_files`, its in-process twin)."""
    jobs = [_job(source) for source in sources]
    results = _run_tasks(engine, sources, jobs, options, parts)
    sqlrun.execute(con, "ingest/create_empty_structural")
    column_maps: dict[str, dict[str, str]] = {}
    task_seconds: list[dict[str, object]] = []
    files: dict[int, tuple[int, str]] = {}
    for source, result in zip(sources, results, strict=True):
        files[source.file_index] = (result.size, result.sha256)
        task_seconds.append({"path": source.display, "seconds": round(result.seconds, 3)})
        _insert(con, result.structural, "structural")
        _insert(con, result.raw_texts, "raw_texts")
        column_maps[str(source.path)] = result.column_map
    return SparkChecks(column_maps, task_seconds, files)


def collect_duplicate_raw_texts(
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
    for result in _run_tasks(engine, chosen, jobs, options, parts=None):
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


def _run_tasks(
    engine: EngineOptions,
    sources: list[SourceFile],
    jobs: list[_FileJob],
    options: IngestOptions,
    parts: Path | None,
) -> list[_FileChecked]:
    """One Spark task per file; the results in `sources`' order, or the first file's Error.

    Each file's staged rows are written into `parts` as they arrive, so the driver holds one
    file's at a time (the other tables are the rejects only)."""
    for source in sources:
        size = source.size if isinstance(source, SparkSource) else source.path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                f"{source.display} is {size:,} bytes; --engine spark reads each input file whole, "
                f"and Spark's binaryFile source holds at most {MAX_FILE_BYTES:,} bytes per file",
                hint="Split the log into files below 2 GiB (for example one per hour or day), "
                "or use --engine duckdb for this file.",
            )
    spark = spark_session(engine.spark_master)
    by_uri = {_spark_key(source.read_path): job for source, job in zip(sources, jobs, strict=True)}
    task = functools.partial(_check_batches, by_uri, options, engine)
    found: dict[int, _FileChecked] = {}
    failed: dict[int, Row] = {}
    with _one_file_per_batch(spark):
        frame = _file_bytes(spark, [s.read_path for s in sources]).mapInArrow(task, _RESULT_DDL)
        for row in frame.toLocalIterator(prefetchPartitions=False):
            index = row["file_index"]
            if row["error_kind"] is not None:
                failed[index] = row
                continue
            if parts is not None:
                (parts / f"part-{index:05d}.parquet").write_bytes(row["staged"])
            found[index] = _FileChecked(
                json.loads(row["column_map"]),
                bytes(row["structural"]),
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


def _file_bytes(spark: SparkSession, paths: list[str]) -> DataFrame:
    """(path, content) of each file, through Spark's binaryFile source."""
    # Hadoop reads the paths as glob patterns: a name holding [ or * must not expand.
    escaped = [_GLOB_CHARS.sub(r"\\\g<0>", p) for p in paths]
    return spark.read.format("binaryFile").load(escaped).select("path", "content")


@contextlib.contextmanager
def _one_file_per_batch(spark: SparkSession) -> Iterator[None]:
    """Arrow batches of one record, so that a task holds one file's bytes at a time."""
    before = spark.conf.get(_BATCH_RECORDS, None)
    spark.conf.set(_BATCH_RECORDS, "1")
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(_BATCH_RECORDS)
        else:
            spark.conf.set(_BATCH_RECORDS, before)


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
        con = ingest.connect_in(Path(scratch, "duckdb"), engine, options.tz, _task_threads())
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
    staged = b""
    column_map: dict[str, str] = {}
    if job.wanted_rows is None:
        parts = scratch / "staged"
        parts.mkdir()
        column_map = ingest.stage_file(con, source, options, parts)
        staged = (parts / f"part-{source.file_index:05d}.parquet").read_bytes()
        ingest.collect_structural_rejects(con, [source])
    else:
        loaded = ingest.load_source(con, source, options)
        con.register("wanted_rows", pa.table({"source_row": pa.array(job.wanted_rows, pa.int64())}))
        ingest.collect_raw_texts(con, loaded, source)
        sqlrun.execute(con, "ingest/create_empty_structural")
    return {
        "file_index": source.file_index,
        "column_map": json.dumps(column_map),
        "staged": staged,
        "structural": _parquet_bytes(con.table("structural").to_arrow_table()),
        "raw_texts": _parquet_bytes(con.table("raw_texts").to_arrow_table()),
    }


def _task_threads() -> int | None:
    """DuckDB threads in a task: the cores Spark gave it (`spark.task.cpus`), not the host's."""
    from pyspark import TaskContext

    context = TaskContext.get()
    return context.cpus() if context is not None else None


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _insert(con: duckdb.DuckDBPyConnection, data: bytes, table: str) -> None:
    """Append a task's Parquet bytes to a table of the driver's DuckDB."""
    rows = pq.read_table(io.BytesIO(data))
    if rows.num_rows:
        con.from_arrow(rows).insert_into(table)


_GLOB_CHARS = re.compile(r"[*?\[\]{}\\]")
