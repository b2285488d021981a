"""`servechar inspect`: what a log file holds, without running the pipeline.

Reads the file's first rows (a head sample, so it is quick on any size), finds the presets
whose columns it has, parses the sample the way ingest would (same readers, preset, SQL
checks) and reports time span, resolution and a few parsed rows.
"""

from __future__ import annotations

import gzip
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import sqlrun
from pipeline.config import EngineOptions, IngestOptions
from pipeline.presets import matching_presets
from pipeline.rundir import RunDir
from pipeline.sources import (
    SourceFile,
    head_columns,
    head_text,
    resolve_inputs,
    verify_compressed,
)
from pipeline.stages.aggregate import default_origin, requests_time_quality
from pipeline.stages.ingest import connect, load_source, stg_params

SAMPLE_ROWS = 20_000
WHOLE_FILE_BYTES = 8 * 1024 * 1024  # smaller files are read whole
SHOWN_ROWS = 5


@dataclass(frozen=True)
class Inspection:
    """What `inspect` found in one file."""

    path: str
    format: str
    columns: list[str]
    matching_presets: list[str]
    preset: str | None
    sample_rows: int
    is_whole_file: bool
    rows_accepted: int
    rejects_by_reason: dict[str, int]
    time_quality: dict[str, Any]
    rows: list[dict[str, Any]]


def inspect_file(path: str, options: IngestOptions) -> Inspection:
    """Inspect the head of one log file; `options.preset` None means the best matching one."""
    sources = resolve_inputs([path])
    source = sources[0]
    columns = head_columns(source)
    matches = matching_presets(columns)
    preset = options.preset or (matches[0] if matches else None)
    if preset != options.preset:
        options = options.model_copy(update={"preset": preset})
    with tempfile.TemporaryDirectory(prefix="servechar-inspect-") as tmp:
        sample, whole = _head_sample(source, Path(tmp))
        con = connect(RunDir(Path(tmp)), EngineOptions(threads=1, memory_limit="500MB"))
        try:
            con.register("input_files", _files_table(sample))
            loaded = load_source(con, sample, options)
            loaded.rows.create_view("source_rows", replace=True)
            staged = sqlrun.query(
                con,
                "ingest/stg_requests",
                stg_params(0, options),
            )
            staged.to_table("staged_sample")
            con.table("staged_sample").filter("reject_reason is null").create_view("requests")
            n_rows = con.table("staged_sample").count("*").fetchall()[0][0]
            rejects = dict(
                con.table("staged_sample")
                .filter("reject_reason is not null")
                .aggregate("reject_reason, count(*)")
                .order("reject_reason")
                .fetchall()
            )
            accepted = con.table("requests")
            n_accepted = accepted.count("*").fetchall()[0][0]
            quality: dict[str, Any] = {"models": {}}
            shown: list[dict[str, Any]] = []
            if n_accepted:
                first_us = accepted.min("arrival_us").fetchall()[0][0]
                identity = "client_id" if "client_id" in loaded.matched else "single_client"
                quality = requests_time_quality(
                    con, Path(tmp) / "summaries", default_origin(first_us), identity
                )
                fields = (
                    "arrival_us, model, client_id, input_tokens, output_tokens, status, "
                    "ttft_ms, e2e_ms, session_id"
                )
                table = accepted.order("source_row").limit(SHOWN_ROWS).select(fields)
                shown = [dict(zip(table.columns, r, strict=True)) for r in table.fetchall()]
        finally:
            con.close()
    return Inspection(
        path=source.display,
        format=source.format,
        columns=columns,
        matching_presets=matches,
        preset=preset,
        sample_rows=n_rows,
        is_whole_file=whole,
        rows_accepted=n_accepted,
        rejects_by_reason=rejects,
        time_quality=quality,
        rows=shown,
    )


def describe(found: Inspection) -> list[str]:
    """What `servechar inspect` prints."""
    scope = "whole file" if found.is_whole_file else f"first {found.sample_rows:,} rows"
    lines = [
        f"file: {found.path} ({found.format})",
        f"columns: {', '.join(found.columns)}",
        f"matching presets: {', '.join(found.matching_presets) or 'none'}",
        f"read as: {found.preset or 'canonical column names (no preset)'}",
        f"rows ({scope}): {found.sample_rows:,}, accepted {found.rows_accepted:,}"
        + "".join(f", {reason} {n:,}" for reason, n in found.rejects_by_reason.items()),
        f"clients: {found.time_quality.get('identity', 'n/a')}",
    ]
    for model, facts in found.time_quality["models"].items():
        clock = "quantized" if facts["is_quantized"] else "continuous"
        lines.append(
            f"model {model!r}: {facts['requests']:,} requests, covers {facts['covers']}, "
            f"resolution {facts['timestamp_resolution_s']:g} s ({clock}), "
            f"{facts['distinct_arrival_times']:,} distinct times, "
            f"longest idle gap {facts['longest_idle_gap_s']:g} s"
        )
        if facts["is_partial_day"]:
            lines.append("  less than a day: the origin stays at UTC midnight")
        if facts["idle_gaps"]:
            gaps = ", ".join(
                f"{gap['length_s']:g} s at {gap['start_s']:g} s" for gap in facts["idle_gaps"]
            )
            lines.append(f"  longest idle gaps: {gaps}")
        if facts["sub_resolution_note"]:
            lines.append(f"  note: {facts['sub_resolution_note']}")
    lines.extend(
        "  " + ", ".join(f"{k}={v}" for k, v in row.items() if v is not None) for row in found.rows
    )
    return lines


def _head_sample(source: SourceFile, tmp: Path) -> tuple[SourceFile, bool]:
    """The file itself if small, else its first SAMPLE_ROWS records in a temporary file."""
    if source.format == "parquet" or source.path.stat().st_size < WHOLE_FILE_BYTES:
        verify_compressed(source)  # "whole file" must not be a cut file's first part
        return source, True
    text = head_text(source, 64 * 1024 * 1024)
    lines = text.splitlines(keepends=True)[: SAMPLE_ROWS + source.header_lines]
    head = tmp / f"head{''.join(source.path.suffixes[:1]) or '.txt'}.gz"
    with gzip.open(head, "wt", encoding="utf-8") as handle:
        handle.writelines(lines)
    return SourceFile(0, head, source.format, "gzip", source.display), False


def _files_table(source: SourceFile) -> Any:
    import pyarrow as pa

    return pa.table(
        {
            "file_index": pa.array([0], pa.int32()),
            "read_path": pa.array([source.read_path], pa.string()),
            "display_path": pa.array([source.display], pa.string()),
            "header_lines": pa.array([source.header_lines], pa.int64()),
        }
    )
