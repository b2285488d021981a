"""Input files: finding them, and presenting each as `source_rows` in canonical columns.

Every format ends up as the same relation, all text, so that one SQL file
(`sql/ingest/stg_requests.sql`) does every check:

- `_source_row`: the record's position (CSV: data record number; JSON Lines: line number;
  Parquet: row number; NULL for a CSV or Parquet file read `numbered=False`, whose rows keep
  the file's order, so that their place in what is written from them numbers them),
  `_is_valid_record` (JSON Lines: the line is a JSON object) and
  `_type_error` (JSON Lines: which field holds an array, object or boolean where a number or
  text is expected; NULL otherwise);
- one text column per canonical name, NULL where the file has no such column.

Column names from the user and the file only ever reach DuckDB as expression objects or
parameters, never as SQL text.
"""

from __future__ import annotations

import glob
import gzip
import json
import os
import re
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import duckdb
import zstandard
from duckdb import (
    CaseExpression,
    CoalesceOperator,
    ColumnExpression,
    ConstantExpression,
    FunctionExpression,
    SQLExpression,
)

from pipeline import sqlrun
from pipeline.errors import OUT_OF_MEMORY_HINT, InputError, ResourceError
from pipeline.rundir import is_run_directory, run_artefact_of
from pipeline.schema import (
    CANONICAL_COLUMNS,
    ITEM_LIST_COLUMNS,
    JSON_VALUE_COLUMNS,
    NO_CLIENT_COLUMN_ID,
    REQUIRED_COLUMNS,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd"}
_JSON_SAMPLE_LINES = 1000


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One input file and how to read it."""

    file_index: int
    path: Path
    format: str
    compression: str | None
    display: str = ""  # the path as the user wrote it (or as a glob or directory expanded it)

    @property
    def read_path(self) -> str:
        return str(self.path)

    @property
    def header_lines(self) -> int:
        return 1 if self.format in ("csv", "tsv") else 0


def format_of(path: Path) -> tuple[str, str | None] | None:
    """(format, compression) from the file name, or None if it is not a log file."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = None
    if suffixes and suffixes[-1] in COMPRESSIONS:
        compression = COMPRESSIONS[suffixes.pop()]
    if suffixes and suffixes[-1] in FORMATS:
        return FORMATS[suffixes[-1]], compression
    return None


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(item: str) -> bool:
    """An input named by URI (`s3a://b/logs/*.csv`, `hdfs://...`, `file:///...`): Spark's
    filesystems read it (`--engine spark`), this process does not."""
    return bool(_URI.match(item))


def resolve_inputs(inputs: list[str], run_dir: Path | None = None) -> list[SourceFile]:
    """Expand files, globs and directories (recursively): de-duplicated, sorted by path.

    A run directory's own outputs (`run_dir`'s, or any other's) are never read as logs."""
    found: list[Path] = []
    for item in inputs:
        if is_uri(item):
            raise InputError(
                f"input {item} is a URI, which only --engine spark reads",
                hint="Run with --engine spark, or copy the files to a local directory.",
            )
        path = Path(item)
        _refuse_run_output(path, run_dir)
        if path.is_dir():
            matches = sorted(p for p in _log_files_under(path, run_dir) if format_of(p))
            if not matches:
                raise InputError(
                    f"directory {item} holds no log files",
                    hint=f"Known extensions: {', '.join(FORMATS)} (optionally .gz or .zst).",
                )
            found.extend(matches)
        elif any(ch in item for ch in "*?["):
            matches = sorted(
                Path(p)
                for p in glob.glob(item, recursive=True)
                if Path(p).is_file() and run_artefact_of(Path(p), run_dir) is None
            )
            if not matches:
                raise InputError(f"no file matches {item}", hint="Check the pattern and quote it.")
            found.extend(matches)
        elif path.is_file():
            found.append(path)
        else:
            raise InputError(f"input {item} does not exist", hint="Check the path.")
    # Files are numbered in path order, not command-line order, so that the outputs (and
    # which of two duplicate rows is kept) do not depend on the order the inputs were given.
    unique: dict[Path, Path] = {}
    for path in found:
        resolved = path.resolve()
        unique[resolved] = min(unique.get(resolved, path), path, key=str)
    sources = []
    for index, (path, given) in enumerate(sorted(unique.items(), key=lambda kv: str(kv[0]))):
        kind = format_of(path)
        if kind is None:
            raise InputError(
                f"{given}: unknown file type",
                hint=f"Name it with one of {', '.join(FORMATS)} (optionally .gz or .zst).",
            )
        sources.append(SourceFile(index, path, kind[0], kind[1], str(given)))
    return sources


def _refuse_run_output(path: Path, run_dir: Path | None) -> None:
    """A run directory, or a file it wrote, named as an input is a mistake: say so."""
    if path.is_dir() and (is_run_directory(path) or _same_dir(path, run_dir)):
        raise InputError(
            f"{path} is a servechar run directory, not a log",
            hint="Pass the log files (or their directory); a run's outputs are never read as logs.",
        )
    owner = run_artefact_of(path, run_dir) if path.exists() else None
    if owner is not None:
        raise InputError(
            f"{path} is an output of the run directory {owner[0]}, not a log",
            hint="Pass the log files (or their directory); a run's outputs are never read as logs.",
        )


def _log_files_under(directory: Path, run_dir: Path | None) -> list[Path]:
    """Every file under `directory`, skipping run directories (the current one included)."""
    files = []
    for parent, subdirs, names in os.walk(directory):
        subdirs[:] = sorted(
            d
            for d in subdirs
            if not (is_run_directory(Path(parent, d)) or _same_dir(Path(parent, d), run_dir))
        )
        files.extend(Path(parent, name) for name in names if Path(parent, name).is_file())
    return files


def _same_dir(path: Path, other: Path | None) -> bool:
    return other is not None and os.path.abspath(path) == os.path.abspath(other)


def _check_readable(source: SourceFile) -> None:
    try:
        with source.path.open("rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise InputError(f"{source.path}: cannot read ({exc.strerror})") from None
    if source.compression == "gzip" and head[:2] != b"\x1f\x8b":
        raise InputError(f"{source.path}: named .gz but is not gzip data", hint="Rename the file.")
    if source.compression == "zstd" and head != b"\x28\xb5\x2f\xfd":
        raise InputError(f"{source.path}: named .zst but is not zstd data", hint="Rename the file.")
    if source.format == "jsonl":
        first = _first_text_char(source)
        if first == "[":
            raise InputError(
                f"{source.path}: holds a JSON array, not JSON Lines (one object per line)",
                hint=f"Convert it first: jq -c '.[]' {source.path.name} > requests.jsonl",
            )


_VERIFY_CHUNK = 1 << 20


def verify_compressed(source: SourceFile) -> None:
    """Decompress the whole file and check that every frame (gzip member) ends properly.

    DuckDB's zstd reader stops quietly at a cut frame, so a truncated file would read as its
    first part; this pass finds a cut or damaged stream (and gzip's CRC) before anything is
    reported. Plain files have nothing to check.
    """
    _check_readable(source)  # a file that is not compressed at all says so first
    try:
        if source.compression == "gzip":
            with gzip.open(source.path, "rb") as handle:
                while handle.read(_VERIFY_CHUNK):
                    pass
        elif source.compression == "zstd":
            _verify_zstd(source.path)
    except (OSError, EOFError, ValueError, zstandard.ZstdError) as exc:
        raise InputError(
            f"{source.path}: the {source.compression} data is truncated or damaged ({exc})",
            hint="Copy or download the file again; a cut file would silently lose its rows.",
        ) from None


def _verify_zstd(path: Path) -> None:
    decompressor = zstandard.ZstdDecompressor()
    frame = decompressor.decompressobj()
    in_frame = False
    with path.open("rb") as raw:
        while chunk := raw.read(_VERIFY_CHUNK):
            while chunk:
                frame.decompress(chunk)
                in_frame = not frame.eof
                chunk = frame.unused_data if frame.eof else b""
                if frame.eof:
                    frame = decompressor.decompressobj()
    if in_frame:
        raise ValueError("the last zstd frame ends before its end mark")


def check_header(source: SourceFile, delimiter: str) -> None:
    """A CSV/TSV header naming one column twice is an error: which one would be meant?"""
    import csv
    import io

    header = next(csv.reader(io.StringIO(head_text(source)), delimiter=delimiter), [])
    seen: set[str] = set()
    for name in (field.strip() for field in header):
        if name in seen:
            raise InputError(
                f"{source.path}: the header names column {name!r} twice",
                hint="Rename one of the columns so that each name is unique.",
            )
        seen.add(name)


def head_text(source: SourceFile, n_bytes: int = 65536) -> str:
    """The first bytes of the (decompressed) file as text.

    Read leniently (no end-of-stream or CRC check): a damaged file is reported by
    `verify_compressed`, with a clearer message than a failed peek at its header.
    """
    if source.compression == "zstd":
        with source.path.open("rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as z:
            return z.read(n_bytes).decode("utf-8", "replace")
    if source.compression == "gzip":
        inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
        head = b""
        with source.path.open("rb") as raw:
            while len(head) < n_bytes and (chunk := raw.read(65536)):
                try:
                    head += inflate.decompress(chunk, n_bytes - len(head))
                except zlib.error:
                    break
        return head.decode("utf-8", "replace")
    with source.path.open("rb") as handle:
        return handle.read(n_bytes).decode("utf-8", "replace")


def escaped_lines(source: SourceFile, wanted: set[int]) -> dict[int, str]:
    """Physical lines (1-based) of the decompressed file, every byte kept.

    For lines that are not valid UTF-8: invalid bytes become `\\xNN` and a backslash `\\\\`,
    so the text can be written anywhere and still says exactly which bytes the line held.
    """
    found: dict[int, str] = {}
    last = max(wanted, default=0)
    with _open_decompressed(source) as handle:
        for number, raw in enumerate(handle, start=1):
            if number in wanted:
                line = raw.rstrip(b"\r\n").replace(b"\\", b"\\\\")
                found[number] = line.decode("utf-8", "backslashreplace")
            if number >= last:
                break
    return found


def _open_decompressed(source: SourceFile) -> BinaryIO:
    if source.compression == "zstd":
        import io

        raw = source.path.open("rb")
        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.BufferedReader(reader)  # type: ignore[arg-type]
    if source.compression == "gzip":
        return gzip.open(source.path, "rb")  # type: ignore[return-value]
    return source.path.open("rb")


def _first_text_char(source: SourceFile) -> str:
    return head_text(source, 256).lstrip()[:1]


def _header_delimiter(source: SourceFile) -> str:
    """The delimiter of a .csv file: the most frequent candidate in its header line.

    DuckDB's sniffer looks at data rows too, and one malformed row can mislead it; the header
    is the one line whose shape the user controls.
    """
    header = head_text(source).splitlines()[0] if head_text(source).strip() else ""
    counts = {d: header.count(d) for d in (",", ";", "|", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def match_columns(
    source: SourceFile,
    found: list[str],
    column_map: Mapping[str, str],
    *,
    has_default_model: bool,
    present: set[str] | None = None,
    preset_map: Mapping[str, str] | None = None,
    option_labels: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Canonical name -> file column: explicit map, preset map, exact name, or unique match.

    The explicit map (`--map`) must name columns of the file; a preset's map is used where the
    file has the column (its optional columns may be absent). `option_labels` names the
    option behind an explicit mapping in errors (`--client-key tenant`), `--map` by default.
    """
    available = set(found) if present is None else present
    preset_map = preset_map or {}
    option_labels = option_labels or {}
    lower: dict[str, list[str]] = {}
    for name in found:
        lower.setdefault(name.lower(), []).append(name)
    matched: dict[str, str] = {}
    for canonical in CANONICAL_COLUMNS:
        if canonical in column_map:
            theirs = column_map[canonical]
            if theirs not in available:
                option = option_labels.get(canonical, f"--map {canonical}={theirs}")
                raise InputError(
                    f"{source.path}: {option} names no column of this file "
                    f"(columns found: {', '.join(found) or 'none'})",
                    hint="Column names are case-sensitive; nested JSON fields are dotted paths "
                    '(identity.arn) or JSON paths ($.attributes."user.id").',
                )
            matched[canonical] = theirs
        elif preset_map.get(canonical) in available:
            matched[canonical] = preset_map[canonical]
        elif canonical in preset_map and canonical in REQUIRED_COLUMNS:
            continue  # the preset's required column is missing: reported below
        elif canonical in available:
            matched[canonical] = canonical
        elif len(lower.get(canonical, [])) == 1:
            matched[canonical] = lower[canonical][0]
    missing = [
        c for c in REQUIRED_COLUMNS if c not in matched and not (c == "model" and has_default_model)
    ]
    if missing:
        suggestion = " ".join(f"--map {c}=YOUR_COLUMN" for c in missing)
        extra = " or --model NAME" if "model" in missing else ""
        raise InputError(
            f"{source.path}: no column for required {', '.join(missing)} "
            f"(columns found: {', '.join(found) or 'none'})",
            hint=f"Map your columns with {suggestion}{extra}, or a --map-file.",
        )
    return matched


def _canonical_projection(
    matched: Mapping[str, str],
    value_of: Mapping[str, duckdb.Expression],
    default_model: str | None,
    type_error: duckdb.Expression | None = None,
) -> list[duckdb.Expression]:
    text = duckdb.sqltype("VARCHAR")
    no_error = ConstantExpression(None)
    columns = [(no_error if type_error is None else type_error).cast(text).alias("_type_error")]
    for canonical in CANONICAL_COLUMNS:
        if canonical in matched:
            expr = value_of[canonical]
        elif canonical == "model" and default_model is not None:
            expr = ConstantExpression(default_model)
        elif canonical == "client_id":
            expr = ConstantExpression(NO_CLIENT_COLUMN_ID)
        else:
            expr = ConstantExpression(None)
        columns.append(expr.cast(text).alias(canonical))
    return columns


@dataclass(frozen=True)
class SourceRows:
    """One file, loaded into the table `raw_rows` (its rowid numbers the records), or, read
    `numbered=False`, a scan of the file itself (`_source_row` NULL, no `raw_rows`).

    `rows` is the `source_rows` relation; `raw_text` rebuilds a record's original text from
    the `raw_rows` columns, and is evaluated only for the few records that need it (rejects),
    since building it for every row costs as much as parsing the row.
    """

    rows: duckdb.DuckDBPyRelation
    raw_text: duckdb.Expression
    matched: dict[str, str]
    numbered: bool = True

    def raw_texts(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
        """(source_row, raw_text) of the records listed in the view `wanted_rows(source_row)`.

        The filter runs before the projection, so the text is built for those records only.
        """
        if not self.numbered:
            raise ValueError("raw texts need the file loaded numbered (into raw_rows)")
        return (
            con.table("raw_rows")
            .filter(SQLExpression("rowid + 1 in (select source_row from wanted_rows)"))
            .project(
                SQLExpression("rowid + 1").alias("source_row"), self.raw_text.alias("raw_text")
            )
        )


def source_rows(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    column_map: Mapping[str, str],
    default_model: str | None,
    preset_map: Mapping[str, str] | None = None,
    option_labels: Mapping[str, str] | None = None,
    *,
    numbered: bool = True,
) -> SourceRows:
    """The file as the `source_rows` relation, with its raw text and column mapping.

    `numbered=False`: a CSV or Parquet file is not loaded into `raw_rows` first but scanned
    where `rows` is consumed (read errors then surface there: consume it under
    `read_errors`); `_source_row` is NULL and the raw texts are not available. JSON Lines
    are loaded and numbered either way (blank lines are skipped, so a scan's order would not
    number them).
    """
    _check_readable(source)
    maps = {
        "column_map": column_map,
        "preset_map": preset_map or {},
        "option_labels": option_labels or {},
    }
    with read_errors(source):
        if source.format in ("csv", "tsv"):
            return _csv_rows(con, source, default_model=default_model, numbered=numbered, **maps)
        if source.format == "jsonl":
            return _jsonl_rows(con, source, default_model=default_model, **maps)
        return _parquet_rows(con, source, default_model=default_model, numbered=numbered, **maps)


@contextmanager
def read_errors(source: SourceFile) -> Iterator[None]:
    """DuckDB's errors while reading `source` as the user's errors, naming the file (and for
    an over-long line, the line)."""
    try:
        yield
    except duckdb.OutOfMemoryException as exc:
        raise ResourceError(
            f"{source.path}: out of memory while reading: {str(exc).splitlines()[0]}",
            hint=OUT_OF_MEMORY_HINT,
        ) from None
    except duckdb.Error as exc:
        too_long = _LINE_LIMIT.search(str(exc))
        if too_long:
            limit = int(too_long.group(1))
            number, size = _first_long_line(source, limit)
            raise InputError(
                f"{source.path}: line {number} is {size:,} bytes, above the CSV reader's limit "
                f"of {limit:,} bytes per line; the reader cannot go on past it",
                hint="A request log line is far shorter: remove or shorten that line (it may "
                "hold a whole prompt or a runaway field), or split the file there.",
            ) from None
        raise InputError(
            f"{source.path}: cannot be read as {source.format}: {str(exc).splitlines()[0]}",
            hint="Check that the file's extension matches its content.",
        ) from None


_LINE_LIMIT = re.compile(r"Maximum line size of (\d+) bytes exceeded")


def _first_long_line(source: SourceFile, limit: int) -> tuple[int, int]:
    """(line number, bytes) of the first physical line longer than `limit` bytes."""
    with _open_decompressed(source) as handle:
        for number, raw in enumerate(handle, start=1):
            if len(raw.rstrip(b"\r\n")) > limit:
                return number, len(raw.rstrip(b"\r\n"))
    return 0, 0


def _csv_rows(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    *,
    column_map: Mapping[str, str],
    preset_map: Mapping[str, str],
    option_labels: Mapping[str, str],
    default_model: str | None,
    numbered: bool,
) -> SourceRows:
    delimiter = "\t" if source.format == "tsv" else _header_delimiter(source)
    check_header(source, delimiter)
    rel = sqlrun.query(con, "sources/read_csv", {"path": source.read_path, "delim": delimiter})
    if numbered:
        rel = _materialised(con, rel)
    found = [c for c in rel.columns if c != "rowid"]
    matched = match_columns(
        source,
        found,
        column_map,
        has_default_model=default_model is not None,
        preset_map=preset_map,
        option_labels=option_labels,
    )
    raw = FunctionExpression(
        "concat_ws",
        ConstantExpression(delimiter),
        *[CoalesceOperator(ColumnExpression(c), ConstantExpression("")) for c in found],
    )
    return SourceRows(_tabular_rows(rel, matched, default_model, numbered), raw, matched, numbered)


def _tabular_rows(
    rel: duckdb.DuckDBPyRelation,
    matched: Mapping[str, str],
    default_model: str | None,
    numbered: bool,
) -> duckdb.DuckDBPyRelation:
    """`source_rows` of a file with named columns (CSV/TSV, Parquet)."""
    values = {canonical: ColumnExpression(theirs) for canonical, theirs in matched.items()}
    return rel.project(
        SQLExpression("rowid + 1" if numbered else "null::bigint").alias("_source_row"),
        ConstantExpression(True).alias("_is_valid_record"),
        *_canonical_projection(matched, values, default_model),
    )


def _materialised(
    con: duckdb.DuckDBPyConnection, rel: duckdb.DuckDBPyRelation
) -> duckdb.DuckDBPyRelation:
    """The file read once into the table `raw_rows`, its rowid numbering records in file order.

    A parallel read into a table keeps the file's order (DuckDB inserts by batch index), so
    rowid is the record number; `row_number() over ()` would serialise everything after it.
    DuckDB spills the table to the run's temp directory when it outgrows the memory limit.
    """
    sqlrun.execute(con, "sources/drop_raw_rows")
    rel.to_table("raw_rows")
    return con.table("raw_rows").project(SQLExpression("rowid"), SQLExpression("*"))


def json_path(name: str, *, nested: bool) -> str:
    """A JSON path for a key (quoted, so any key is safe); dotted names may mean nesting.

    A name that is already a JSON path (`$.attributes."gen_ai.request.model"`, for keys that
    hold dots themselves) is used as it is.
    """
    if name.startswith("$."):
        return name
    parts = name.split(".") if nested else [name]
    return "$." + ".".join(json.dumps(part) for part in parts)


def _jsonl_rows(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    *,
    column_map: Mapping[str, str],
    preset_map: Mapping[str, str],
    option_labels: Mapping[str, str],
    default_model: str | None,
) -> SourceRows:
    lines = _materialised(con, sqlrun.query(con, "sources/read_lines", {"path": source.read_path}))
    sample = lines.filter("json_valid(line)").limit(_JSON_SAMPLE_LINES)
    keys = sorted(
        {row[0] for row in sample.project(SQLExpression("unnest(json_keys(line))")).fetchall()}
    )
    # A mapped name that is not a top-level key may be a nested path ("input.tokenCount").
    present = set(keys)
    for theirs in [*column_map.values(), *preset_map.values()]:
        if theirs not in present and "." in theirs:
            path = json_path(theirs, nested=True)
            exists = sample.project(
                FunctionExpression(
                    "json_exists", ColumnExpression("line"), ConstantExpression(path)
                )
            ).fetchall()
            if any(row[0] for row in exists):
                present.add(theirs)
    matched = match_columns(
        source,
        keys,
        column_map,
        has_default_model=default_model is not None,
        present=present,
        preset_map=preset_map,
        option_labels=option_labels,
    )
    names = list(matched.items())
    paths = [json_path(theirs, nested=theirs not in keys) for _, theirs in names]
    numbered = lines.filter("trim(coalesce(line, '')) <> ''").project(  # blank: no record
        SQLExpression("rowid + 1").alias("_source_row"),
        ColumnExpression("line"),
        # valid JSON that is not an object (an array, a string, a number) is no record either
        SQLExpression("coalesce(json_valid(line) and starts_with(ltrim(line), '{'), false)").alias(
            "_is_valid_record"
        ),
    )
    line = ColumnExpression("line")
    extracted = numbered.project(
        ColumnExpression("_source_row"),
        ColumnExpression("line"),
        ColumnExpression("_is_valid_record"),
        CaseExpression(
            ColumnExpression("_is_valid_record"),
            FunctionExpression("json_extract_string", line, ConstantExpression(paths)),
        ).alias("_fields"),
    )
    # JSON types are looked up only on lines where a field's text could be a list, an object
    # or a boolean: a second parse of every line would cost as much as the extraction.
    could_be_mistyped = " or ".join(
        f"starts_with(_fields[{i}], '[') or starts_with(_fields[{i}], '{{') "
        f"or _fields[{i}] in ('true', 'false')"
        for i in range(1, len(paths) + 1)
    )
    typed = extracted.project(
        ColumnExpression("_source_row"),
        ColumnExpression("_is_valid_record"),
        ColumnExpression("_fields"),
        CaseExpression(
            SQLExpression(could_be_mistyped or "false"),
            FunctionExpression("json_type", line, ConstantExpression(paths)),
        ).alias("_types"),
    )

    def field(name: str, position: int) -> duckdb.Expression:
        return FunctionExpression(
            "list_extract", ColumnExpression(name), ConstantExpression(position + 1)
        )

    values = {
        canonical: field("_fields", position) for position, (canonical, _) in enumerate(names)
    }
    rel = typed.project(
        ColumnExpression("_source_row"),
        ColumnExpression("_is_valid_record"),
        *_canonical_projection(
            matched, values, default_model, _json_type_error(names, lambda i: field("_types", i))
        ),
    )
    return SourceRows(rel, ColumnExpression("line"), matched)


_SCALAR_JSON_TYPES = ("VARCHAR", "BIGINT", "UBIGINT", "DOUBLE", "NULL")


def _json_type_error(
    names: list[tuple[str, str]], type_at: Callable[[int], duckdb.Expression]
) -> duckdb.Expression | None:
    """The first field whose JSON type cannot hold its canonical column, as a reject detail.

    Numbers and text are both read as text (a number may be quoted, an id may be a number);
    an object, a boolean, or an array outside the per-item token lists is a wrong type.
    """
    result: CaseExpression | None = None
    for position, (canonical, theirs) in enumerate(names):
        allowed = _SCALAR_JSON_TYPES + (("ARRAY",) if canonical in ITEM_LIST_COLUMNS else ())
        if canonical in JSON_VALUE_COLUMNS:  # JSON as given; staging checks its shape
            continue
        kind = type_at(position)
        condition = kind.isnotin(*[ConstantExpression(t) for t in allowed])
        detail = FunctionExpression(
            "concat",
            ConstantExpression(f"{canonical} (field {theirs}) is a JSON "),
            kind,
            ConstantExpression(", not a number or text"),
        )
        result = (
            CaseExpression(condition, detail) if result is None else result.when(condition, detail)
        )
    if result is None:
        return None
    # most lines were never typed (no list, object or boolean in them): skip the chain
    return CaseExpression(ColumnExpression("_types").isnull(), ConstantExpression(None)).otherwise(
        result
    )


def _parquet_rows(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    *,
    column_map: Mapping[str, str],
    preset_map: Mapping[str, str],
    option_labels: Mapping[str, str],
    default_model: str | None,
    numbered: bool,
) -> SourceRows:
    rel = sqlrun.query(con, "sources/read_parquet", {"path": source.read_path})
    if numbered:
        rel = _materialised(con, rel)
    found = [c for c in rel.columns if c != "rowid"]
    matched = match_columns(
        source,
        found,
        column_map,
        has_default_model=default_model is not None,
        preset_map=preset_map,
        option_labels=option_labels,
    )
    _check_parquet_types(source, rel, matched)
    raw = FunctionExpression(
        "json_object",
        *[arg for c in found for arg in (ConstantExpression(c), ColumnExpression(c))],
    ).cast(duckdb.sqltype("VARCHAR"))
    return SourceRows(_tabular_rows(rel, matched, default_model, numbered), raw, matched, numbered)


def _check_parquet_types(
    source: SourceFile, rel: duckdb.DuckDBPyRelation, matched: Mapping[str, str]
) -> None:
    """A mapped Parquet column of a nested or boolean type holds no number or text at all."""
    types = dict(zip(rel.columns, (str(t) for t in rel.types), strict=True))
    for canonical, theirs in matched.items():
        kind = types[theirs]
        nested = kind.endswith("[]") or kind.startswith(("STRUCT", "MAP", "UNION"))
        if canonical in JSON_VALUE_COLUMNS:  # kept as its JSON text; staging checks its shape
            continue
        if kind == "BOOLEAN" or (
            nested and not (canonical in ITEM_LIST_COLUMNS and kind.endswith("[]"))
        ):
            raise InputError(
                f"{source.path}: column {theirs} (for {canonical}) has type {kind}, "
                "not a number or text",
                hint=f"Map {canonical} to another column with --map {canonical}=COLUMN.",
            )


_HEAD_RECORDS = 200


def _parquet_columns(source: SourceFile) -> list[str]:
    """The schema's column names; a damaged or truncated file is an error naming it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(source.path).names)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(
            f"{source.display}: not a readable Parquet file ({str(exc).splitlines()[0]})",
            hint="The file may be truncated or damaged; copy or export it again.",
        ) from None


def _flattened_keys(record: dict[str, object], prefix: str = "") -> list[str]:
    """Keys of a JSON object, nested objects' keys joined with dots (`input.inputTokenCount`)."""
    keys = []
    for key, value in record.items():
        name = f"{prefix}{key}"
        keys.append(name)
        if isinstance(value, dict):
            keys.extend(_flattened_keys(value, f"{name}."))
    return keys


def head_columns(source: SourceFile) -> list[str]:
    """The columns of a file from its first records, without loading it.

    CSV/TSV: the header's fields. JSON Lines: every key of the first records, nested keys
    dotted (so presets can be recognised by nested fields). Parquet: the schema's names.
    """
    _check_readable(source)
    if source.format == "parquet":
        return _parquet_columns(source)
    text = head_text(source)
    if source.format in ("csv", "tsv"):
        import csv
        import io

        delimiter = "\t" if source.format == "tsv" else _header_delimiter(source)
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
        return [name.strip() for name in header]
    lines = text.splitlines()[:_HEAD_RECORDS]
    if len(text) >= 65536 and lines:
        lines = lines[:-1]  # the last line may be cut at the byte limit
    keys: dict[str, None] = {}
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            keys.update(dict.fromkeys(_flattened_keys(record)))
    return list(keys)


def file_stem(source: SourceFile) -> str:
    """The file name without its format and compression suffixes (a model name for presets)."""
    name = source.path.name
    for suffix in reversed(source.path.suffixes):
        if suffix.lower() in FORMATS or suffix.lower() in COMPRESSIONS:
            name = name[: -len(suffix)]
        else:
            break
    return name or source.path.name
