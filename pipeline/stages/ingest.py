"""Ingest: raw log files -> accepted requests, quarantined rejects and an exact account.

Writes `ingest/requests.parquet` (contract requests@1), `rejects.csv` and `summary.json`.
Every input record is either accepted or quarantined with a reason, and
`rows_read == rows_accepted + rows_rejected` is checked before anything is reported.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from pipeline import sqlrun
from pipeline.config import TIME_UNIT_US, EngineOptions, IngestOptions
from pipeline.errors import ConfigError, InputError
from pipeline.rundir import RunDir, sha256_of, write_json
from pipeline.schema import REJECT_REASONS
from pipeline.sources import SourceFile, SourceRows, resolve_inputs, source_rows

if TYPE_CHECKING:
    from pathlib import Path

STAGED_DIR = "ingest/staged"
DUPLICATES = "ingest/duplicates.parquet"
MODEL_CATEGORIES = "ingest/model_categories.parquet"
MAX_EPOCH_US = 7_258_118_400_000_000  # 2200-01-01: later "seconds" are nearly always ms or us


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What ingest wrote and the reconciled row counts."""

    staged: Path
    rejects: Path
    summary: Path
    rows_read: int
    rows_accepted: int
    rows_rejected: int


def connect(run_dir: RunDir, engine: EngineOptions, tz: str = "UTC") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with servechar's macros, spilling into the run directory."""
    try:
        con = sqlrun.connect(
            threads=engine.threads,
            memory_limit=engine.memory_limit,
            temp_dir=run_dir.temp_dir,
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


def run(
    run_dir: RunDir,
    inputs: list[str],
    options: IngestOptions,
    engine: EngineOptions,
) -> IngestResult:
    """Read, check and quarantine every input row; see the module docstring."""
    started = time.perf_counter()
    sources = resolve_inputs(inputs)
    run_dir.root.mkdir(parents=True, exist_ok=True)
    staged_dir = run_dir.path(STAGED_DIR)
    shutil.rmtree(staged_dir, ignore_errors=True)
    staged_dir.mkdir(parents=True)

    con = connect(run_dir, engine, options.tz)
    try:
        con.register("input_files", _input_files_table(sources))
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
        column_maps: dict[str, dict[str, str]] = {}
        for source in sources:
            column_maps[str(source.path)] = _stage_file(con, source, options, staged_dir)

        has_reject_tables = any(s.format in ("csv", "tsv", "jsonl") for s in sources)
        if has_reject_tables:
            sqlrun.query(con, "ingest/structural_rejects").to_table("structural")
        else:
            sqlrun.execute(con, "ingest/create_empty_structural")
        con.read_parquet(str(staged_dir / "*.parquet")).create_view("staged")

        sqlrun.query(con, "ingest/model_categories").write_parquet(
            str(run_dir.path(MODEL_CATEGORIES))
        )
        sqlrun.query(con, "ingest/duplicates").write_parquet(str(run_dir.path(DUPLICATES)))
        con.read_parquet(str(run_dir.path(DUPLICATES))).create_view("duplicates")
        _collect_duplicate_raw_texts(con, sources, options)

        rejects_path = run_dir.path("rejects.csv")
        sqlrun.query(con, "ingest/rejects").write_csv(str(rejects_path), header=True)
        counts = sqlrun.query(con, "ingest/row_counts").fetchall()
    finally:
        con.close()

    summary = _summary(sources, counts)
    summary_path = write_json(run_dir.path("summary.json"), summary)
    run_dir.update_manifest(
        "ingest",
        {
            "options": options.model_dump(),
            "engine": engine.model_dump(),
            "inputs": [
                {
                    "path": str(s.path),
                    "format": s.format,
                    "compression": s.compression,
                    "bytes": s.path.stat().st_size,
                    "sha256": sha256_of(s.path),
                    "columns": column_maps[str(s.path)],
                }
                for s in sources
            ],
            "outputs": [str(staged_dir), str(rejects_path), str(summary_path)],
            "seconds": round(time.perf_counter() - started, 3),
            "rows_read": summary["rows_read"],
        },
    )
    result = IngestResult(
        staged_dir,
        rejects_path,
        summary_path,
        summary["rows_read"],
        summary["rows_accepted"],
        summary["rows_rejected"],
    )
    _check_reject_share(result, summary, options.max_reject_fraction)
    return result


def _stage_file(
    con: duckdb.DuckDBPyConnection, source: SourceFile, options: IngestOptions, staged_dir: Path
) -> dict[str, str]:
    """Check one file's rows and write them, verdicts included, as one staged part."""
    loaded = source_rows(con, source, options.column_map, options.default_model)
    loaded.rows.create_view("source_rows", replace=True)
    staged = sqlrun.query(
        con,
        "ingest/stg_requests",
        {
            "file_index": source.file_index,
            "unit_us": TIME_UNIT_US[options.time_unit],
            "max_epoch_us": MAX_EPOCH_US,
        },
    )
    part = staged_dir / f"part-{source.file_index:05d}.parquet"
    try:
        staged.write_parquet(str(part))
    except duckdb.Error as exc:
        raise InputError(
            f"{source.path}: reading failed: {str(exc).splitlines()[0]}",
            hint="The file may be truncated or not in the format its name says.",
        ) from None
    # The raw text of the rows that failed, while the file is still loaded.
    con.read_parquet(str(part)).create_view("staged_part", replace=True)
    sqlrun.query(con, "ingest/part_rejects").create_view("wanted_rows", replace=True)
    _collect_raw_texts(con, loaded, source)
    return loaded.matched


def _collect_raw_texts(
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
            loaded = source_rows(con, source, options.column_map, options.default_model)
            sqlrun.query(
                con, "ingest/duplicate_rows", {"file_index": source.file_index}
            ).create_view("wanted_rows", replace=True)
            _collect_raw_texts(con, loaded, source)


def open_requests(con: duckdb.DuckDBPyConnection, run_dir: RunDir) -> None:
    """Register the `requests` view (contract requests@1) over ingest's artefacts."""
    staged = run_dir.require(STAGED_DIR, "ingest")
    con.read_parquet(str(staged / "*.parquet")).create_view("staged", replace=True)
    con.read_parquet(str(run_dir.require(DUPLICATES, "ingest"))).create_view(
        "duplicates", replace=True
    )
    con.read_parquet(str(run_dir.require(MODEL_CATEGORIES, "ingest"))).create_view(
        "model_categories", replace=True
    )
    sqlrun.query(con, "ingest/requests").create_view("requests", replace=True)


def read_requests(run_dir: RunDir, engine: EngineOptions | None = None) -> pa.Table:
    """The accepted requests of a run as an Arrow table (for notebooks and tests)."""
    con = connect(run_dir, engine or EngineOptions())
    try:
        open_requests(con, run_dir)
        return con.table("requests").to_arrow_table()
    finally:
        con.close()


def _input_files_table(sources: list[SourceFile]) -> pa.Table:
    return pa.table(
        {
            "file_index": pa.array([s.file_index for s in sources], pa.int32()),
            "read_path": pa.array([s.read_path for s in sources], pa.string()),
            "display_path": pa.array([s.display for s in sources], pa.string()),
            "header_lines": pa.array([s.header_lines for s in sources], pa.int64()),
        }
    )


def _summary(sources: list[SourceFile], counts: list[tuple[int, str, int]]) -> dict[str, object]:
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
    return {
        "rows_read": rows_read,
        "rows_accepted": rows_accepted,
        "rows_rejected": rows_rejected,
        "rejects_by_reason": dict(sorted(by_reason.items())),
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
            hint=f"See {result.rejects} for each row and its reason; fix the input or the column "
            "mapping (--map), or raise --max-reject-fraction.",
        )
    if result.rows_accepted == 0:
        raise InputError("no row was accepted", hint=f"See {result.rejects}.")
