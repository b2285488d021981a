"""Ingest: raw log files -> the typed request table, quarantined rejects and an exact account.

Writes the request table `ingest/requests/day=YYYY-MM-DD/part-0.parquet` (contract requests@2,
docs/requests.md: accepted rows only, duplicates removed, one file per UTC day sorted by model,
client and arrival), `rejects.csv` and `summary.json`. Every input record is either accepted
or quarantined with a reason, and `rows_read == rows_accepted + rows_rejected` is checked
before anything is reported.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
from duckdb import CaseExpression, ColumnExpression

from pipeline import sqlrun
from pipeline.artefacts import IDENTITY, REQUESTS, REQUESTS_DAY_FILE, REQUESTS_FORMAT
from pipeline.config import EngineOptions, IngestOptions
from pipeline.errors import ConfigError, InputError
from pipeline.presets import PRESETS, Preset, client_column, matching_presets
from pipeline.rundir import RunDir, canonical, sha256_of, stage, write_json
from pipeline.schema import MAX_TOKENS, MISSING_CLIENT_ID, NO_CLIENT_COLUMN_ID, REJECT_REASONS
from pipeline.sources import (
    SourceFile,
    SourceRows,
    escaped_lines,
    file_stem,
    head_columns,
    is_uri,
    read_errors,
    resolve_inputs,
    source_rows,
    verify_compressed,
)
from pipeline.spreadsheet import write_rejects_csv

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "IDENTITY",
    "IngestResult",
    "connect",
    "open_requests",
    "request_days",
    "run",
    "write_request_day",
]

DAY_US = 86_400_000_000
STAGED_PARTS = "ingest-staged"  # in the run's temp directory: every row with its verdict
MAX_EPOCH_US = 7_258_118_400_000_000  # 2200-01-01: later "seconds" are nearly always ms or us


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What ingest wrote and the reconciled row counts."""

    requests: Path
    rejects: Path
    summary: Path
    rows_read: int
    rows_accepted: int
    rows_rejected: int


def connect(run_dir: RunDir, engine: EngineOptions, tz: str = "UTC") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with servechar's macros, spilling into the run directory."""
    return connect_in(run_dir.temp_dir, engine, tz)


def connect_in(
    temp_dir: Path, engine: EngineOptions, tz: str = "UTC", threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    """`connect` spilling into `temp_dir` (a Spark task's own scratch directory), with
    `threads` instead of the engine's when given."""
    try:
        con = sqlrun.connect(
            threads=threads or engine.threads,
            memory_limit=engine.memory_limit,
            temp_dir=temp_dir,
            tz=tz,
        )
    except duckdb.Error as exc:
        raise ConfigError(
            f"DuckDB rejected the engine settings (tz={tz!r}, memory_limit="
            f"{engine.memory_limit!r}): {str(exc).splitlines()[0]}",
            hint="Use an IANA time zone such as Europe/Berlin and a size such as 2GB.",
        ) from None
    sqlrun.execute(con, "macros/parse")
    return con


def _made_of(arguments: dict[str, object]) -> dict[str, object]:
    """What ingest's outputs depend on: the options and the inputs' contents (not their paths
    or their order)."""
    run_dir: RunDir = arguments["run_dir"]  # type: ignore[assignment]
    inputs: list[str] = arguments["inputs"]  # type: ignore[assignment]
    if any(is_uri(item) for item in inputs):  # listed and hashed by Spark: as the run recorded
        manifest = json.loads(run_dir.manifest_path.read_text(encoding="utf-8"))
        recorded = manifest["stages"]["ingest"]["inputs"]
        files = [[r["format"], r["compression"], r["sha256"]] for r in recorded]
    else:
        sources = resolve_inputs(inputs, run_dir.root)
        files = [[s.format, s.compression, sha256_of(s.path)] for s in sources]
    return {
        "options": canonical(arguments["options"]),
        "inputs": sorted(
            files,
            key=lambda item: [part or "" for part in item],  # plain files have no compression
        ),
    }


@stage("ingest", material=_made_of, creates_root=True)
def run(
    run_dir: RunDir,
    inputs: list[str],
    options: IngestOptions,
    engine: EngineOptions,
) -> IngestResult:
    """Read, check and quarantine every input row; see the module docstring."""
    started = time.perf_counter()
    if engine.engine == "spark" and any(is_uri(item) for item in inputs):
        from pipeline.spark.ingest import resolve_uris

        sources = resolve_uris(inputs, engine)
    else:
        sources = resolve_inputs(inputs, run_dir.root)
    run_dir.root.mkdir(parents=True, exist_ok=True)

    parts = run_dir.temp_dir / STAGED_PARTS
    shutil.rmtree(parts, ignore_errors=True)  # what a killed run left
    parts.mkdir(parents=True)
    con = connect(run_dir, engine, options.tz)
    try:
        con.register("input_files", input_files_table(sources))
        con.register(
            "category_overrides",
            pa.table(
                {
                    "model": pa.array(sorted(options.category_overrides), pa.string()),
                    "category": pa.array(
                        [options.category_overrides[m] for m in sorted(options.category_overrides)],
                        pa.string(),
                    ),
                }
            ),
        )

        sqlrun.execute(con, "ingest/create_raw_texts")
        requests = run_dir.output(REQUESTS)
        if engine.engine == "spark":
            # every step over the rows in Spark tasks; small tables here (pipeline/spark)
            from pipeline.spark import ingest as on_spark
            from pipeline.spark.session import spark_failures

            with spark_failures():
                done = on_spark.ingest_files(con, sources, options, engine, parts, requests)
        else:
            done = _ingest_in_process(con, sources, options, parts, requests)
        rejects_path = run_dir.path("rejects.csv")
        write_rejects_csv(con, run_dir.output("rejects.csv"))
    finally:
        con.close()
        shutil.rmtree(parts, ignore_errors=True)
    column_maps, counts, notes, days = done.column_maps, done.counts, done.notes, done.days

    summary = _summary(sources, counts, notes, options)
    write_json(run_dir.output("summary.json"), summary)
    summary_path = run_dir.path("summary.json")
    run_dir.update_manifest(
        "ingest",
        {
            "options": options.model_dump(),
            "engine": engine.model_dump(),
            "inputs": [
                {
                    "path": s.read_path,
                    "format": s.format,
                    "compression": s.compression,
                    "bytes": bytes_read,
                    "sha256": sha256,
                    "columns": column_maps[str(s.path)],
                }
                for s in sources
                for bytes_read, sha256 in [done.file_facts.get(s.file_index) or _file_facts(s.path)]
            ],
            "outputs": [str(run_dir.path(REQUESTS)), str(rejects_path), str(summary_path)],
            "request_table": {"format": REQUESTS_FORMAT, "days": [day.isoformat() for day in days]},
            "seconds": round(time.perf_counter() - started, 3),
            "rows_read": summary["rows_read"],
            **({"spark_tasks": done.spark_tasks} if engine.engine == "spark" else {}),
        },
    )
    result = IngestResult(
        run_dir.path(REQUESTS),
        rejects_path,
        summary_path,
        summary["rows_read"],
        summary["rows_accepted"],
        summary["rows_rejected"],
    )
    write_json(run_dir.output(IDENTITY), _identity(options, column_maps))
    run_dir.publish()  # the rejects stay readable when the check below stops the run
    _check_reject_share(result, summary, options.max_reject_fraction)
    return result


@dataclass(frozen=True, slots=True)
class IngestedFiles:
    """What checking every file gave, besides the tables ingest's last queries read."""

    column_maps: dict[str, dict[str, str]]  # each file's column mapping, by path
    counts: list[tuple[int, str, int]]  # ingest/row_counts
    notes: dict[str, int]  # ingest/time_notes
    days: list[dt.date]  # of the request table, written
    spark_tasks: list[dict[str, object]] = field(default_factory=list)
    file_facts: dict[int, tuple[int, str]] = field(default_factory=dict)
    # file_index -> (bytes, sha256) as Spark read them (none: read here)


def _ingest_in_process(
    con: duckdb.DuckDBPyConnection,
    sources: list[SourceFile],
    options: IngestOptions,
    parts: Path,
    requests: Path,
) -> IngestedFiles:
    """Check every file, find the duplicates, count, and write the request table, all in
    this process's DuckDB (pipeline/spark/ingest.py is the twin on Spark)."""
    column_maps = _check_files(con, sources, options, parts)
    staged_parts(con, parts / "*.parquet").create_view("staged")
    sqlrun.query(con, "ingest/staged_counts").create_view("staged_counts")
    sqlrun.query(con, "ingest/model_traits").create_view("model_traits")
    sqlrun.query(con, "ingest/model_categories").to_table("model_categories")
    sqlrun.query(con, "ingest/duplicate_candidates").create_view("duplicate_candidates")
    sqlrun.query(con, "ingest/duplicates").to_table("duplicates")
    _collect_duplicate_raw_texts(con, sources, options)
    counts = sqlrun.query(con, "ingest/row_counts").fetchall()
    notes = dict(sqlrun.query(con, "ingest/time_notes").fetchall())
    sqlrun.query(con, "ingest/accepted_requests").create_view("accepted_requests")
    days = _write_request_table(con, requests)
    return IngestedFiles(column_maps, counts, notes, days)


def _file_facts(path: Path) -> tuple[int, str]:
    return path.stat().st_size, sha256_of(path)


def _check_files(
    con: duckdb.DuckDBPyConnection, sources: list[SourceFile], options: IngestOptions, parts: Path
) -> dict[str, dict[str, str]]:
    """Every file's row checks in this process: each file's staged part in `parts`, the tables
    `raw_texts` (filled) and `structural`; returns each file's column mapping by path."""
    column_maps: dict[str, dict[str, str]] = {}
    for source in sources:
        column_maps[str(source.path)] = stage_file(con, source, options, parts)
    collect_structural_rejects(con, sources)
    return column_maps


def collect_structural_rejects(con: duckdb.DuckDBPyConnection, sources: list[SourceFile]) -> None:
    """The table `structural`: records the CSV reader of these files could not split."""
    if any(s.format in ("csv", "tsv", "jsonl") for s in sources):
        sqlrun.query(con, "ingest/structural_rejects").to_table("structural")
        keep_raw_bytes(con, sources)
    else:
        sqlrun.execute(con, "ingest/create_empty_structural")


def _identity(options: IngestOptions, column_maps: dict[str, dict[str, str]]) -> dict[str, object]:
    """Who a "client" is in this run: a client column, a session, or one client for all."""
    preset = PRESETS[options.preset] if options.preset else None
    columns = sorted({m["client_id"] for m in column_maps.values() if "client_id" in m})
    session_column = preset.column_map.get("session_id") if preset else None
    if not columns:
        identity = "single_client"
    elif options.client_key == "session_id" or (session_column and columns == [session_column]):
        identity = "session_id"
    else:
        identity = "client_id"
    return {
        "identity": identity,
        "client_columns": columns,
        "single_client_id": NO_CLIENT_COLUMN_ID if identity == "single_client" else None,
        "preset": options.preset,
    }


def load_source(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    options: IngestOptions,
    *,
    numbered: bool = True,
) -> SourceRows:
    """One file as `source_rows`: the preset's and the user's mapping, then its transform.

    `numbered=False`: see `sources.source_rows` (the presets' transforms keep every row, in
    order)."""
    preset = PRESETS[options.preset] if options.preset else None
    column_map = dict(options.column_map)
    labels = {}
    if options.client_key:
        column_map["client_id"] = client_column(preset, options.client_key)
        labels["client_id"] = f"--client-key {options.client_key}"
    default_model = options.default_model
    if preset is not None:
        _check_preset_fits(source, preset, column_map)
        if default_model is None and preset.model_from_file:
            default_model = file_stem(source)
    loaded = source_rows(
        con,
        source,
        column_map,
        default_model,
        preset_map=preset.column_map if preset else None,
        option_labels=labels,
        numbered=numbered,
    )
    if preset is not None and preset.transform:
        loaded.rows.create_view("preset_input", replace=True)
        rows = sqlrun.query(con, preset.transform, dict(preset.transform_params))
        return SourceRows(rows, loaded.raw_text, loaded.matched, loaded.numbered)
    return loaded


def _check_preset_fits(source: SourceFile, preset: Preset, column_map: dict[str, str]) -> None:
    """A file that lacks the preset's signature columns: name what it has and what would fit."""
    columns = head_columns(source)
    # A column the user maps explicitly stands in for the preset's own.
    overridden = {preset.column_map[c] for c in column_map if c in preset.column_map}
    missing = [c for c in preset.missing(columns) if c not in overridden]
    conflicting = preset.conflicting(columns)
    if source.format in preset.formats and not missing and not conflicting:
        return
    if source.format not in preset.formats:
        problem = f"it reads {', '.join(preset.formats)} files, not {source.format}"
    elif missing:
        problem = f"no column {', '.join(missing)}"
    else:
        problem = f"it has {', '.join(conflicting)}, the mark of another format"
    fitting = [name for name in matching_presets(columns) if source.format in PRESETS[name].formats]
    raise InputError(
        f"{source.path} does not look like preset {preset.name}: {problem} "
        f"(columns found: {', '.join(columns) or 'none'})",
        hint=(
            f"Presets that fit this file: {', '.join(fitting)}."
            if fitting
            else "No preset fits this file; map its columns with --map CANONICAL=THEIRS."
        ),
    )


def stg_params(file_index: int, options: IngestOptions) -> dict[str, object]:
    """The parameters of `ingest/stg_requests` for one file."""
    return {
        "file_index": file_index,
        "unit_us": options.unit_us,
        "max_epoch_us": MAX_EPOCH_US,
        "local_times": options.tz.upper() not in ("UTC", "ETC/UTC", "Z"),
        "ambiguous": options.ambiguous,
        "max_tokens": MAX_TOKENS,
        "missing_client_id": MISSING_CLIENT_ID,
    }


def stage_file(
    con: duckdb.DuckDBPyConnection, source: SourceFile, options: IngestOptions, parts: Path
) -> dict[str, str]:
    """Check one file's rows and write them, verdicts included, as one staged part.

    The parts are scratch (the run's temp directory): the request table is written from them
    once every file is in, since duplicates are known only then. Parquet rather than a table
    of the connection, so that the rows wait on disk and the memory limit goes to the reads
    and the sort. Read it with `staged_parts`.
    The file is checked as it is scanned (read unnumbered: the part keeps its order, which
    numbers its records), not loaded into a table first: at 4.5M rows that copy of the
    text cost a sixth of ingest. Only a file with rejected rows is read a second time,
    numbered, for the raw text of those rows.
    A compressed file is checked to its end in a second thread while DuckDB reads it (both
    release the GIL), so a cut or damaged file stops the run instead of losing its tail.
    """
    part = parts / f"part-{source.file_index:05d}.parquet"
    with ThreadPoolExecutor(max_workers=1) as pool:
        verified = pool.submit(verify_compressed, source)
        try:
            loaded = load_source(con, source, options, numbered=False)
            loaded.rows.create_view("source_rows", replace=True)
            staged = sqlrun.query(
                con, "ingest/stg_requests", stg_params(source.file_index, options)
            )
            with read_errors(source):  # the scan of the file runs here
                staged.write_parquet(str(part))
        except InputError:
            verified.result()  # a damaged file explains a failed read best
            raise
        verified.result()
    staged_parts(con, part).create_view("staged_part", replace=True)
    sqlrun.query(con, "ingest/part_rejects").create_view("wanted_rows", replace=True)
    if con.table("wanted_rows").limit(1).fetchall():  # the raw text of the rows that failed
        if not loaded.numbered:
            loaded = load_source(con, source, options)
        collect_raw_texts(con, loaded, source)
    return loaded.matched


def staged_parts(con: duckdb.DuckDBPyConnection, path: Path) -> duckdb.DuckDBPyRelation:
    """The staged parts at `path` (a part or a glob of them), every row with its number."""
    return sqlrun.query(con, "ingest/staged_parts", {"path": str(path)})


def collect_raw_texts(
    con: duckdb.DuckDBPyConnection, loaded: SourceRows, source: SourceFile
) -> None:
    """Add the raw text of the records in the view `wanted_rows` to the raw_texts table."""
    loaded.raw_texts(con).create_view("found_raw_texts", replace=True)
    sqlrun.execute(con, "ingest/insert_raw_texts", {"file_index": source.file_index})


def _collect_duplicate_raw_texts(
    con: duckdb.DuckDBPyConnection, sources: list[SourceFile], options: IngestOptions
) -> None:
    """Duplicates are known only after every file: read back just the files that hold them."""
    files = {row[0] for row in sqlrun.query(con, "ingest/duplicate_files").fetchall()}
    for source in sources:
        if source.file_index in files:
            loaded = load_source(con, source, options)
            sqlrun.query(
                con, "ingest/duplicate_rows", {"file_index": source.file_index}
            ).create_view("wanted_rows", replace=True)
            collect_raw_texts(con, loaded, source)


def _write_request_table(con: duckdb.DuckDBPyConnection, directory: Path) -> list[dt.date]:
    """Write the view `accepted_requests` as the request table: one sorted file per UTC day.

    One file per day, written day by day, rather than DuckDB's PARTITION_BY (one file per
    thread and directory): the layout and every byte are the same whatever the thread count.
    Each day is sorted on its own, so the sort's memory is a day's, and DuckDB spills it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    numbers = [
        row[0] for row in sqlrun.query(con, "ingest/request_days", {"day_us": DAY_US}).fetchall()
    ]
    sqlrun.query(con, "ingest/request_keys").to_table("request_keys")
    days = []
    for number in numbers:
        day = day_of(number)
        path = directory / day_dir(day) / REQUESTS_DAY_FILE
        path.parent.mkdir()
        write_request_day(day_rows(con, "ingest/request_day", number), path)
        days.append(day)
    return days


def write_day_alone(con: duckdb.DuckDBPyConnection, number: int, path: Path) -> None:
    """Write day `number` of the view `accepted_requests` (which may hold just that day) as its
    request-table file, as `_write_request_table` does: a day's own client numbering orders
    its rows as the whole log's does (a Spark task writing one day)."""
    sqlrun.query(con, "ingest/request_keys").to_table("request_keys")
    try:
        write_request_day(day_rows(con, "ingest/request_day", number), path)
    finally:
        con.execute("drop table if exists request_keys")


def day_rows(con: duckdb.DuckDBPyConnection, query: str, number: int) -> duckdb.DuckDBPyRelation:
    """`query` (`ingest/request_day`, or `ingest/day_part` on Spark) over UTC day `number`."""
    return sqlrun.query(con, query, {"start_us": number * DAY_US, "end_us": (number + 1) * DAY_US})


def write_request_day(rows: duckdb.DuckDBPyRelation, path: Path) -> None:
    """One day's file of the request table, in the relation's order (requests@2).

    Every column is marked optional in the file's Parquet schema. DuckDB marks a column
    required when the statistics of what it read show no NULL, so a file's bytes would
    depend on rows that are not in it (the rejected rows of the staged parts, how many input
    files there were, which engine wrote it). Each column goes through a CASE whose ELSE is
    NULL, which makes its statistics say "may be NULL" and leaves its values as they are;
    switching statistics propagation off instead did the same but slowed each day's sort by
    a fifth (the sort compresses its keys by their statistics).
    """
    rows.project(*[_may_be_null(column) for column in rows.columns]).write_parquet(
        str(path), compression="snappy"
    )


def _may_be_null(column: str) -> duckdb.Expression:
    """The column as it is, under statistics that allow NULL (see `write_request_day`)."""
    value = ColumnExpression(column)
    return CaseExpression(value.isnotnull(), value).alias(column)


_EPOCH_DAY = dt.date(1970, 1, 1)


def day_of(number: int) -> dt.date:
    """The UTC day of a day number (days since 1970-01-01, as `ingest/request_days`)."""
    return _EPOCH_DAY + dt.timedelta(days=number)


def day_dir(day: dt.date) -> str:
    """The request table's directory of one day."""
    return f"day={day.isoformat()}"


def request_days(run_dir: RunDir) -> list[tuple[dt.date, Path]]:
    """The request table's days and their files, in day order (contract requests@2).

    Each file holds the accepted requests that arrived on that UTC day, sorted by model,
    client_id, arrival_us (then file_index, source_row); read one with
    `read_parquet(path, hive_partitioning=False)` (else DuckDB adds a `day` column from the
    directory name), some or all of them with `open_requests`.
    """
    table = run_dir.require(REQUESTS, "ingest")
    found = []
    for directory in sorted(table.glob("day=*")):
        day = dt.date.fromisoformat(directory.name.removeprefix("day="))
        found.append((day, directory / REQUESTS_DAY_FILE))
    return found


def open_requests(
    con: duckdb.DuckDBPyConnection, run_dir: RunDir, days: Iterable[dt.date] | None = None
) -> None:
    """Register the view `requests` (contract requests@2) over the request table.

    `days` restricts it to those UTC days (the files of other days are not read). The rows
    come day by day, each day sorted by model, client_id and arrival_us.
    """
    wanted = None if days is None else set(days)
    files = [str(p) for day, p in request_days(run_dir) if wanted is None or day in wanted]
    if files:
        # the day is the directory's name, not a column: the view keeps the contract's columns
        con.read_parquet(files, hive_partitioning=False).create_view("requests", replace=True)
    else:
        sqlrun.query(con, "ingest/no_requests").create_view("requests", replace=True)


def read_requests(run_dir: RunDir, engine: EngineOptions | None = None) -> pa.Table:
    """The accepted requests of a run as an Arrow table (for notebooks and tests), in the
    request table's order."""
    con = connect(run_dir, engine or EngineOptions())
    try:
        open_requests(con, run_dir)
        return con.table("requests").to_arrow_table()
    finally:
        con.close()


def input_files_table(sources: list[SourceFile]) -> pa.Table:
    return pa.table(
        {
            "file_index": pa.array([s.file_index for s in sources], pa.int32()),
            "read_path": pa.array([s.read_path for s in sources], pa.string()),
            "display_path": pa.array([s.display for s in sources], pa.string()),
            "header_lines": pa.array([s.header_lines for s in sources], pa.int64()),
        }
    )


def keep_raw_bytes(con: duckdb.DuckDBPyConnection, sources: list[SourceFile]) -> None:
    """Lines that are not UTF-8: their raw_text from the file's bytes, escaped, not the '?'s."""
    wanted: dict[int, set[int]] = {}
    for file_index, line in sqlrun.query(con, "ingest/invalid_encoding_lines").fetchall():
        wanted.setdefault(file_index, set()).add(line)
    rows: list[tuple[int, int, str]] = []
    for source in sources:
        if source.file_index in wanted:
            found = escaped_lines(source, wanted[source.file_index])
            rows.extend((source.file_index, line, text) for line, text in sorted(found.items()))
    if not rows:
        return
    escaped = pa.table(
        {
            "file_index": pa.array([r[0] for r in rows], pa.int32()),
            "line": pa.array([r[1] for r in rows], pa.int64()),
            "raw_text": pa.array([r[2] for r in rows], pa.string()),
        }
    )
    con.register("escaped_lines", escaped)
    sqlrun.execute(con, "ingest/update_raw_bytes")


_UNIT_NAMES = {"ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}


def _time_warnings(notes: dict[str, int], options: IngestOptions) -> list[str]:
    """Numbers that read as epoch ms/us/ns at another unit: say which unit, and the option."""
    warnings = []
    for unit, name in _UNIT_NAMES.items():
        n = notes.get(f"likely_unit_{unit}", 0)
        if n:
            current = options.time_unit or (
                PRESETS[options.preset].time_unit if options.preset else "s"
            )
            warnings.append(
                f"{n:,} numeric timestamps are after 2200 read as {current} but look like epoch "
                f"{name} (rejected as timestamp_out_of_range): use --time-unit {unit}"
            )
    return warnings


def _summary(
    sources: list[SourceFile],
    counts: list[tuple[int, str, int]],
    notes: dict[str, int] | None = None,
    options: IngestOptions | None = None,
) -> dict[str, object]:
    files = []
    by_reason: dict[str, int] = {}
    for source in sources:
        verdicts = {verdict: n for index, verdict, n in counts if index == source.file_index}
        accepted = verdicts.pop("accepted", 0)
        rejected = sum(verdicts.values())
        for reason, n in verdicts.items():
            by_reason[reason] = by_reason.get(reason, 0) + n
        files.append(
            {
                "path": source.display,
                "rows_read": accepted + rejected,
                "rows_accepted": accepted,
                "rows_rejected": rejected,
                "rejects_by_reason": dict(sorted(verdicts.items())),
            }
        )
    rows_accepted = sum(f["rows_accepted"] for f in files)  # type: ignore[misc]
    rows_rejected = sum(f["rows_rejected"] for f in files)  # type: ignore[misc]
    rows_read = sum(n for _, _, n in counts)
    if rows_read != rows_accepted + rows_rejected:  # an internal invariant, not a user error
        raise AssertionError(
            f"row accounting broke: {rows_read} != {rows_accepted} + {rows_rejected}"
        )
    unknown = set(by_reason) - set(REJECT_REASONS)
    if unknown:
        raise AssertionError(f"undocumented reject reasons {sorted(unknown)}")
    notes = notes or {}
    options = options or IngestOptions()
    return {
        "rows_read": rows_read,
        "rows_accepted": rows_accepted,
        "rows_rejected": rows_rejected,
        "rejects_by_reason": dict(sorted(by_reason.items())),
        "ambiguous_local_times_resolved": notes.get("ambiguous_resolved", 0),
        "warnings": _time_warnings(notes, options),
        "files": files,
    }


def _check_reject_share(result: IngestResult, summary: dict[str, object], limit: float) -> None:
    if result.rows_read == 0:
        raise InputError(
            "the input holds no request rows",
            hint="Check that the files are not empty and have a header row (CSV/TSV).",
        )
    share = result.rows_rejected / result.rows_read
    if share > limit:
        files = summary["files"]
        assert isinstance(files, list)
        worst = max(files, key=lambda f: f["rows_rejected"])
        top_reason = max(worst["rejects_by_reason"].items(), key=lambda kv: kv[1])[0]
        raise InputError(
            f"{result.rows_rejected:,} of {result.rows_read:,} rows ({share:.1%}) were rejected, "
            f"above --max-reject-fraction {limit:g}; most in {worst['path']} "
            f"({worst['rows_rejected']:,} rows, mostly {top_reason}: {REJECT_REASONS[top_reason]})",
            hint=" ".join(
                [
                    *summary["warnings"],  # type: ignore[misc]
                    f"See {result.rejects} for each row and its reason; fix the input or the "
                    "column mapping (--map), or raise --max-reject-fraction.",
                ]
            ),
        )
    if result.rows_accepted == 0:
        raise InputError("no row was accepted", hint=f"See {result.rejects}.")
