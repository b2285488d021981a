"""Refresh: new log dumps update a store of UTC days, and each refresh publishes a version.

A *store* keeps, per UTC day, the typed request rows of that day from every dump that had
some (duplicates across dumps removed by the rule of one run: the earliest arrival of a
request id is kept), the row account of each dump, and the day's summaries (docs/summaries.md)
as the last version computed them. A refresh ingests only the new dump (the normal ingest
stage, in a scratch directory), merges its rows into their days, and builds
`versions/<n>/`, a complete run directory like `servechar run --out` writes, from the last
`days` days ending at the latest day with data; aggregate reuses every stored day summary
whose requests and parameters are unchanged. `latest` is switched (a new link renamed over
the old) only once the version is complete. Layout and rules: docs/refresh.md.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import hashlib
import heapq
import itertools
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import RunOptions, _run_stages, sqlrun
from pipeline.artefacts import IDENTITY, REJECTS, REQUESTS, REQUESTS_DAY_FILE, REQUESTS_FORMAT
from pipeline.artefacts import SUMMARY as SUMMARY_NAME
from pipeline.errors import ConfigError, InputError
from pipeline.rundir import (
    KILL_AT_ENV,
    RunDir,
    canonical,
    sha256_of,
    stage,
    write_json,
)
from pipeline.runlock import locked
from pipeline.sources import SourceFile, resolve_inputs
from pipeline.spreadsheet import safe_cell

if TYPE_CHECKING:
    from collections.abc import Callable

    import duckdb
    import pyarrow as pa

    from pipeline import RunResult
    from pipeline.stages.ingest import IngestResult

STORE_FORMAT = "servechar.store/1"
DEFAULT_DAYS = 14
US_PER_DAY = 86_400_000_000
STORE_FILE = "store.json"
DUMPS = "dumps"
DAYS = "days"
VERSIONS = "versions"
LATEST = "latest"
DAY_ROWS = "requests.parquet"
DAY_RECORD = "day.json"
DAY_SUMMARIES = "summaries"  # the day's part summaries, as the last version computed them
SUMMARIES_SOURCE = "source.json"  # which rows those summaries were computed from
COMMIT = ".commit"  # a finished, not yet applied update of the store (rolled forward)
COMMIT_NEW = ".commit.new"  # an update being prepared (discarded when found)
SCRATCH = ".scratch"
DIFF_DIR = "diff"  # in a version: diff.json/diff.html against the version it replaced
MOVES = "moves.json"
CROSS_DUPLICATES = "cross_duplicates.parquet"  # in a dump's record: rows it found duplicated
STRUCTURAL_REASONS = ("wrong_field_count", "malformed_row")  # rejects the CSV reader made
WINDOW_FIT_CACHE = "window_fits.parquet"  # the last version's window fits (fit stage)
_EPOCH = dt.date(1970, 1, 1)
_VERSION_NAME = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What a refresh did."""

    store: Path
    dump: str  # the dump's content hash
    redelivered: bool  # the dump was already in the store: nothing of it was added
    changed_days: tuple[str, ...]  # days whose rows the dump changed
    version: Path | None  # the version published, None when nothing changed
    diff_material: bool | None  # the diff against the replaced version (None: no diff)
    days: tuple[str, ...]  # the version's days
    reused_parts: int  # day summaries (topic x day) taken from the store
    run: RunResult | None


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What a prune removed and kept (ISO dates)."""

    store: Path
    removed_days: tuple[str, ...]
    kept_days: tuple[str, ...]


def refresh(
    store: str | Path,
    inputs: list[str],
    options: RunOptions | None = None,
    *,
    days: int = DEFAULT_DAYS,
    on_stage: Callable[[str], None] | None = None,
) -> RefreshResult:
    """Add the dump `inputs` to `store` and publish a version of the last `days` days."""
    if days < 1:
        raise ConfigError(f"--days {days} is not a positive number of days", hint="E.g. --days 14.")
    options = options or RunOptions()
    root = Path(store)
    _refuse_run_directory(root)
    with locked(root, create=True):
        _roll_forward(root)
        _remove_unfinished_versions(root)
        state = _read_state(root, options)
        _publish_finished_version(root, state)
        sources = resolve_inputs(inputs, root)
        dump = dump_hash([sha256_of(s.path) for s in sources])
        redelivered = (root / DUMPS / dump / "dump.json").is_file()
        changed: tuple[str, ...] = ()
        if not redelivered:
            changed = _absorb(root, state, dump, [str(s.path) for s in sources], options)
            state = _read_state(root, options)
        latest = latest_version(root)
        if latest is not None and _generation_of(latest) == state["generation"]:
            return RefreshResult(root, dump, redelivered, changed, None, None, (), 0, None)
        return _publish_version(root, state, dump, redelivered, changed, options, days, on_stage)


def dump_hash(file_hashes: list[str]) -> str:
    """A dump's identity: the SHA-256 of its files' SHA-256s, sorted (names and order do not
    matter; the same bytes delivered again are the same dump)."""
    return hashlib.sha256("\n".join(sorted(file_hashes)).encode("ascii")).hexdigest()


def latest_version(store: Path) -> Path | None:
    link = store / LATEST
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def stored_days(store: Path) -> list[str]:
    """The store's days (ISO dates) holding rows, in order."""
    found = (store / DAYS).glob(f"*/{DAY_ROWS}")
    return sorted(p.parent.name for p in found)


def prune(store: str | Path, keep_days: int) -> PruneResult:
    """Remove the stored days before the last `keep_days` days ending at the latest day with
    data. Versions are complete run directories of their own and stay intact."""
    if keep_days < 1:
        raise ConfigError(
            f"--keep-days {keep_days} is not a positive number of days",
            hint="E.g. --keep-days 28.",
        )
    root = Path(store)
    if not (root / STORE_FILE).is_file():
        raise InputError(f"{root} is not a servechar store (no {STORE_FILE})", hint=_STORE_HINT)
    with locked(root):
        _roll_forward(root)
        present = stored_days(root)
        if not present:
            return PruneResult(root, (), ())
        first_kept = dt.date.fromisoformat(present[-1]) - dt.timedelta(days=keep_days - 1)
        removed = tuple(d for d in present if dt.date.fromisoformat(d) < first_kept)
        for day in removed:
            # the rows first: a day without rows is not a day, whatever else is left of it
            (root / DAYS / day / DAY_ROWS).unlink()
            shutil.rmtree(root / DAYS / day)
        return PruneResult(root, removed, tuple(d for d in present if d not in removed))


_STORE_HINT = "Create one with `servechar refresh STORE INPUT...`."


def _refuse_run_directory(root: Path) -> None:
    if (root / "stamps").is_dir() or (root / "manifest.json").is_file():
        raise ConfigError(
            f"{root} is a run directory, not a refresh store",
            hint="Give refresh a directory of its own (it keeps days and versions in it).",
        )


def _store_options(options: RunOptions) -> dict[str, Any]:
    """The options every version of a store is built with (the engine's change no output)."""
    return {
        name: canonical(getattr(options, name))
        for name in ("ingest", "aggregate", "fit", "export", "characterize")
    }


def _read_state(root: Path, options: RunOptions) -> dict[str, Any]:
    path = root / STORE_FILE
    wanted = _store_options(options)
    if not path.is_file():
        state = {"format": STORE_FORMAT, "generation": 0, "n_files": 0, "options": wanted}
        write_json(path, state)
        return state
    state = json.loads(path.read_text(encoding="utf-8"))
    if state.get("format") != STORE_FORMAT:
        raise InputError(f"{path} is {state.get('format')!r}, not {STORE_FORMAT!r}")
    if state["options"] != wanted:
        differing = sorted(
            f"{stage_name}.{key}"
            for stage_name in wanted
            for key in set(wanted[stage_name]) | set(state["options"].get(stage_name, {}))
            if wanted[stage_name].get(key) != state["options"].get(stage_name, {}).get(key)
        )
        raise ConfigError(
            f"{root} was built with other options ({', '.join(differing)}); its days and "
            "versions would not compare",
            hint="Refresh with the store's options (store.json), or start another store.",
        )
    return state


# --- absorbing a dump ----------------------------------------------------------------------


def _absorb(
    root: Path, state: dict[str, Any], dump: str, inputs: list[str], options: RunOptions
) -> tuple[str, ...]:
    """Ingest the dump, merge its rows into their days, and commit; the days it changed."""
    from pipeline.stages import ingest

    scratch = RunDir(root / SCRATCH / dump[:16])
    shutil.rmtree(scratch.root, ignore_errors=True)
    ingested = ingest.run(scratch, inputs, options.ingest, options.engine)
    offset = int(state["n_files"])
    summary = json.loads(ingested.summary.read_text(encoding="utf-8"))
    identity = json.loads(scratch.path(IDENTITY).read_text(encoding="utf-8"))
    _check_identity(root, identity)

    staging = root / COMMIT_NEW
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    con = ingest.connect(scratch, options.engine)
    moves: list[str] = []
    try:
        incoming = [str(p) for _d, p in ingest.request_days(scratch)]
        con.read_parquet(incoming, hive_partitioning=False).select(
            f"* replace (file_index + {offset} as file_index)"
        ).to_table("incoming")
        present = stored_days(root)
        if present:
            files = [str(root / DAYS / d / DAY_ROWS) for d in present]
            con.read_parquet(files).create_view("stored")
        else:
            con.table("incoming").limit(0).create_view("stored")
        sqlrun.query(con, "refresh/rivals").to_table("losers")
        accepted_by_day = {
            _iso(number): n
            for number, n in con.sql(
                f"select arrival_us // {US_PER_DAY} as d, count(*) from incoming group by d"
            ).fetchall()
        }
        touched = {
            _iso(n)
            for (n,) in con.sql(
                f"select distinct arrival_us // {US_PER_DAY} from incoming anti join losers "
                "using (file_index, source_row) union select distinct arrival_us // "
                f"{US_PER_DAY} from losers where side = 'stored'"
            ).fetchall()
        }
        for day in sorted(touched):
            start = _day_number(day) * US_PER_DAY
            stored_file = root / DAYS / day / DAY_ROWS
            if stored_file.is_file():
                con.read_parquet(str(stored_file)).create_view("stored_day", replace=True)
            else:
                con.table("incoming").limit(0).create_view("stored_day", replace=True)
            out = staging / DAYS / day / DAY_ROWS
            out.parent.mkdir(parents=True)
            rows = sqlrun.query(
                con, "refresh/day_rows", {"start_us": start, "end_us": start + US_PER_DAY}
            )
            ingest.write_request_day(rows, out)
            con.read_parquet(str(out)).create_view("day_file", replace=True)
            kept = dict(sqlrun.query(con, "refresh/kept_by_file").fetchall())
            write_json(
                staging / DAYS / day / DAY_RECORD,
                {
                    "day": day,
                    "n_requests": sum(kept.values()),
                    "sha256": sha256_of(out),
                    "kept_by_file": {str(k): v for k, v in sorted(kept.items())},
                },
            )
            moves += [f"{DAYS}/{day}/{DAY_ROWS}", f"{DAYS}/{day}/{DAY_RECORD}"]
        ((n_superseded,),) = con.sql(
            "select count(*) from losers where side = 'incoming'"
        ).fetchall()
        cross = _cross_dump_duplicates(
            con, root, resolve_inputs(inputs, root), offset, ingested.rejects, options
        )
    finally:
        con.close()

    dump_dir = staging / DUMPS / dump
    dump_dir.mkdir(parents=True)
    shutil.copyfile(ingested.summary, dump_dir / SUMMARY_NAME)
    shutil.copyfile(ingested.rejects, dump_dir / REJECTS)
    import pyarrow.parquet as pq

    pq.write_table(cross, dump_dir / CROSS_DUPLICATES)
    write_json(dump_dir / "identity.json", identity)
    write_json(
        dump_dir / "dump.json",
        {
            "format": STORE_FORMAT,
            "sha256": dump,
            "first_file_index": offset,
            "files": [
                {
                    "path": f["path"],
                    "file_index": offset + i,
                    "format": s.format,
                    "compression": s.compression,
                    "bytes": s.path.stat().st_size,
                    "sha256": sha256_of(Path(s.path)),
                    "rows_read": f["rows_read"],
                    "rows_accepted": f["rows_accepted"],
                    "rows_rejected": f["rows_rejected"],
                }
                for i, (f, s) in enumerate(
                    zip(summary["files"], resolve_inputs(inputs, root), strict=True)
                )
            ],
            "accepted_by_day": dict(sorted(accepted_by_day.items())),
            "duplicates_of_stored": int(n_superseded),
            "changed_days": sorted(touched),
        },
    )
    moves += [f"{DUMPS}/{dump}"]
    state = {
        **state,
        # a dump that changed no day (all its rows already stored) leaves the versions current
        "generation": int(state["generation"]) + (1 if touched else 0),
        "n_files": offset + len(summary["files"]),
    }
    write_json(staging / STORE_FILE, state)
    moves.append(STORE_FILE)  # last: the update counts once this is in place
    write_json(staging / MOVES, moves)
    os.replace(staging, root / COMMIT)
    _fault_point("refresh:commit")
    _roll_forward(root)
    shutil.rmtree(scratch.root, ignore_errors=True)
    return tuple(sorted(touched))


def _cross_dump_duplicates(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    sources: list[SourceFile],
    offset: int,
    rejects: Path,
    options: RunOptions,
) -> pa.Table:
    """The rejects.csv rows of the requests that lost to a request of another dump with the
    same id (the view `losers`), as one run lists a duplicate: its file, line, reason
    `duplicate_request_id`, `request_id=<id>` and its raw text, plus its store-wide
    `file_index`. A loser may be a row of this dump or a stored row of an earlier dump (this
    dump holds an earlier arrival of its id); an earlier dump's file is read back for the raw
    text when it is still where it was delivered, with the same bytes, else the raw text is
    left empty. Cells are kept as the log has them (made safe when a version writes them).
    """
    import pyarrow as pa

    losers = con.sql(
        "select file_index, source_row, request_id from losers order by file_index, source_row"
    ).fetchall()
    stored = {} if not losers or losers[0][0] >= offset else _stored_files(root)
    columns: dict[str, list[Any]] = {
        name: [] for name in ("file_index", "source_file", "line", "reason", "detail", "raw_text")
    }
    structural: dict[Path, dict[str, list[int]]] = {}  # by rejects.csv, read once each
    for file_index, group in itertools.groupby(losers, key=lambda row: row[0]):
        rows = [(source_row, request_id) for _f, source_row, request_id in group]
        source: SourceFile | None
        if file_index >= offset:
            source = sources[file_index - offset]
            display, file_format, owner_rejects = source.display, source.format, rejects
        else:
            record, owner_rejects = stored[file_index]
            display, file_format = record["path"], record["format"]
            source = _readable_again(record, root)
        if owner_rejects not in structural:
            structural[owner_rejects] = _structural_lines(owner_rejects)
        lines = _record_lines(
            [r for r, _i in rows],
            structural[owner_rejects].get(safe_cell(display), []),
            file_format,
        )
        texts = {} if source is None else _raw_texts(con, source, [r for r, _i in rows], options)
        for (source_row, request_id), line in zip(rows, lines, strict=True):
            columns["file_index"].append(file_index)
            columns["source_file"].append(display)
            columns["line"].append(line)
            columns["reason"].append("duplicate_request_id")
            columns["detail"].append(f"request_id={request_id}")
            columns["raw_text"].append(texts.get(source_row))
    types = {"file_index": pa.int64(), "line": pa.int64()}
    return pa.table({n: pa.array(v, types.get(n, pa.string())) for n, v in columns.items()})


def _stored_files(root: Path) -> dict[int, tuple[dict[str, Any], Path]]:
    """Every stored dump's files by store-wide number: (file record, the dump's rejects.csv)."""
    files = {}
    for path in sorted((root / DUMPS).glob("*/dump.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        for listed in record["files"]:
            files[listed["file_index"]] = (listed, path.parent / REJECTS)
    return files


def _readable_again(record: dict[str, Any], root: Path) -> SourceFile | None:
    """An earlier dump's file, if it is still where it was delivered with the same bytes."""
    path = Path(record["path"])
    if not path.is_file() or sha256_of(path) != record["sha256"]:
        return None
    return resolve_inputs([record["path"]], root)[0]


def _structural_lines(rejects: Path) -> dict[str, list[int]]:
    """The lines of the structural rejects (records the CSV reader could not split) a dump's
    rejects.csv lists, by its `source_file` cell, ascending."""
    lines: dict[str, list[int]] = {}
    with rejects.open(encoding="utf-8", newline="") as handle:
        for row in itertools.islice(csv.reader(handle), 1, None):
            if row[2] in STRUCTURAL_REASONS:
                lines.setdefault(row[0], []).append(int(row[1]))
    return {cell: sorted(found) for cell, found in lines.items()}


def _record_lines(source_rows: list[int], structural: list[int], file_format: str) -> list[int]:
    """The line of each record, numbered as ingest/rejects.sql numbers a content reject: its
    record number, plus the header, plus the records the CSV reader could not split before it
    (`structural`: the file's structural reject lines, ascending)."""
    header = 1 if file_format in ("csv", "tsv") else 0
    # a structural reject k (1-based, in line order) has line - k records before it
    before = [line - k - header for k, line in enumerate(structural, start=1)]
    return [row + header + bisect.bisect_left(before, row) for row in source_rows]


def _raw_texts(
    con: duckdb.DuckDBPyConnection, source: SourceFile, rows: list[int], options: RunOptions
) -> dict[int, str]:
    """(source_row -> raw text) of `rows` of one file, read back as ingest reads rejects."""
    import pyarrow as pa

    from pipeline.stages.ingest import load_source

    loaded = load_source(con, source, options.ingest)
    con.register("wanted_source_rows", pa.table({"source_row": pa.array(rows, pa.int64())}))
    con.table("wanted_source_rows").create_view("wanted_rows", replace=True)
    return dict(loaded.raw_texts(con).fetchall())


def _check_identity(root: Path, identity: dict[str, Any]) -> None:
    """Every dump of a store must mean the same thing by "client" (they all agree: one is
    enough to compare with)."""
    known = sorted((root / DUMPS).glob("*/identity.json"))
    if not known:
        return
    other = json.loads(known[0].read_text(encoding="utf-8"))
    if other != identity:
        raise InputError(
            f"this dump identifies clients by {identity['identity']} "
            f"({', '.join(identity['client_columns']) or 'no column'}), the dump "
            f"{known[0].parent.name[:12]} by {other['identity']}: their clients would not be "
            "the same",
            hint="Deliver dumps with the same columns (or the same --client-key/--preset).",
        )


def _roll_forward(root: Path) -> None:
    """Apply a committed update left by a killed refresh; discard an unfinished one."""
    shutil.rmtree(root / COMMIT_NEW, ignore_errors=True)
    shutil.rmtree(root / SCRATCH, ignore_errors=True)
    commit = root / COMMIT
    if not commit.is_dir():
        return
    for relative in json.loads((commit / MOVES).read_text(encoding="utf-8")):
        source, target = commit / relative, root / relative
        if not source.exists():
            continue  # moved before the kill
        if relative.endswith(DAY_ROWS):  # the day's summaries describe its old rows
            shutil.rmtree(target.parent / DAY_SUMMARIES, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(source, target)
    shutil.rmtree(commit)


# --- publishing a version ------------------------------------------------------------------


def _publish_version(
    root: Path,
    state: dict[str, Any],
    dump: str,
    redelivered: bool,
    changed: tuple[str, ...],
    options: RunOptions,
    days: int,
    on_stage: Callable[[str], None] | None,
) -> RefreshResult:
    present = stored_days(root)
    if not present:
        raise InputError(f"{root} holds no accepted requests", hint=_STORE_HINT)
    first = dt.date.fromisoformat(present[-1]) - dt.timedelta(days=days - 1)
    span = [d for d in present if dt.date.fromisoformat(d) >= first]
    previous = latest_version(root)
    numbers = [int(p.name) for p in (root / VERSIONS).glob("*") if _VERSION_NAME.fullmatch(p.name)]
    number = max(numbers, default=0) + 1
    out = root / VERSIONS / str(number)
    stored_parts = {}
    for day in span:
        summaries_dir = root / DAYS / day / DAY_SUMMARIES
        if _summaries_current(root, day):
            stored_parts[day] = summaries_dir
    with locked(out, create=True):
        result = _run_stages(
            [],
            out,
            options,
            on_stage,
            ingest_step=lambda run_dir: assemble(run_dir, root, span, options),
            stored_parts=stored_parts,
            window_cache=root / WINDOW_FIT_CACHE,
        )
        run_dir = RunDir(out)
        manifest = json.loads(run_dir.manifest_path.read_text(encoding="utf-8"))
        reused = manifest["stages"]["aggregate"].get("reused_parts", {})
        _keep_day_summaries(root, run_dir, span)
        verdict = None
        if previous is not None:  # what changed since the version this one replaces
            from pipeline.diff import diff_runs

            found = diff_runs(previous, out, out / DIFF_DIR)
            verdict = {"material": found.material, "clients": found.counts}
        run_dir.update_manifest(
            "refresh",
            {
                "format": STORE_FORMAT,
                "store_generation": state["generation"],
                "days": span,
                "dumps": _lineage(root, span),
                "dump_of_this_refresh": {"sha256": dump, "redelivered": redelivered},
                "changed_days": list(changed),
                "replaced": f"{VERSIONS}/{previous.name}" if previous else None,
                "diff": None if verdict is None else {"path": DIFF_DIR, **verdict},
                "reused_parts": reused,
            },
        )
    _fault_point("refresh:switch")
    _switch_latest(root, number)
    n_reused = sum(len(t) for t in reused.values())
    material = None if verdict is None else verdict["material"]
    return RefreshResult(
        root, dump, redelivered, changed, out, material, tuple(span), n_reused, result
    )


def _switch_latest(root: Path, number: int) -> None:
    """Point `latest` at the version: a new link renamed over the old one (atomic)."""
    new = root / f".{LATEST}.new"
    new.unlink(missing_ok=True)
    new.symlink_to(Path(VERSIONS) / str(number), target_is_directory=True)
    os.replace(new, root / LATEST)


def _generation_of(version: Path) -> int | None:
    manifest = version / "manifest.json"
    if not manifest.is_file():
        return None
    record = json.loads(manifest.read_text(encoding="utf-8")).get("stages", {}).get("refresh")
    return None if record is None else record.get("store_generation")


def _publish_finished_version(root: Path, state: dict[str, Any]) -> None:
    """A refresh killed between finishing its version and switching `latest`: the version is
    complete and of the store's current days, so publish it now."""
    finished = [
        p
        for p in (root / VERSIONS).glob("*")
        if _VERSION_NAME.fullmatch(p.name) and _generation_of(p) is not None
    ]
    if not finished:
        return
    newest = max(finished, key=lambda p: int(p.name))
    if newest != latest_version(root) and _generation_of(newest) == state["generation"]:
        _switch_latest(root, int(newest.name))


def _remove_unfinished_versions(root: Path) -> None:
    """A version a killed refresh left without its lineage was never published: remove it."""
    latest = latest_version(root)
    for path in sorted((root / VERSIONS).glob("*")):
        if _VERSION_NAME.fullmatch(path.name) and path != latest and _generation_of(path) is None:
            shutil.rmtree(path)


def _summaries_current(root: Path, day: str) -> bool:
    source = root / DAYS / day / DAY_SUMMARIES / SUMMARIES_SOURCE
    record = json.loads((root / DAYS / day / DAY_RECORD).read_text(encoding="utf-8"))
    return source.is_file() and json.loads(source.read_text(encoding="utf-8")).get(
        "sha256"
    ) == record.get("sha256")


def _keep_day_summaries(root: Path, run_dir: RunDir, span: list[str]) -> None:
    """Store each day's part summaries of this version for the next refresh (hard links)."""
    from pipeline.artefacts import SUMMARIES

    built = run_dir.path(SUMMARIES)
    for day in span:
        target = root / DAYS / day / DAY_SUMMARIES
        fresh = root / DAYS / day / f".{DAY_SUMMARIES}.new"
        shutil.rmtree(fresh, ignore_errors=True)
        for part in sorted(built.glob(f"*/part-{day}.*")):
            (fresh / part.parent.name).mkdir(parents=True, exist_ok=True)
            _link_or_copy(part, fresh / part.parent.name / part.name)
        record = json.loads((root / DAYS / day / DAY_RECORD).read_text(encoding="utf-8"))
        write_json(fresh / SUMMARIES_SOURCE, {"sha256": record["sha256"]})
        shutil.rmtree(target, ignore_errors=True)
        os.replace(fresh, target)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _lineage(root: Path, span: list[str]) -> list[dict[str, Any]]:
    """The dumps with rows in the span: hash, files, row account, days."""
    found = []
    for path in sorted((root / DUMPS).glob("*/dump.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        in_span = sorted(set(record["accepted_by_day"]) & set(span))
        if not in_span:
            continue
        account = json.loads((path.parent / SUMMARY_NAME).read_text(encoding="utf-8"))
        found.append(
            {
                "sha256": record["sha256"],
                "files": record["files"],
                "rows_read": account["rows_read"],
                "rows_accepted": account["rows_accepted"],
                "rows_rejected": account["rows_rejected"],
                "days": in_span,
            }
        )
    return sorted(found, key=lambda d: d["files"][0]["file_index"])


def _dumps_in_span(root: Path, span: list[str]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    chosen = []
    for path in sorted((root / DUMPS).glob("*/dump.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        if set(record["accepted_by_day"]) & set(span):
            account = json.loads((path.parent / SUMMARY_NAME).read_text(encoding="utf-8"))
            chosen.append((record, account))
    return sorted(chosen, key=lambda pair: pair[0]["first_file_index"])


def version_account(root: Path, span: list[str]) -> dict[str, Any]:
    """The version's summary.json: the row accounts of the dumps with rows in the span.

    Per file: rows read and rejected as its dump's ingest counted them; rows another dump
    already held (same request id, a later or equal arrival) move from accepted to rejected as
    `duplicate_request_id`, as in one run; accepted rows on days outside the span are counted
    apart (`rows_outside_span`), so rows_read = rows_accepted + rows_rejected +
    rows_outside_span, and rows_accepted is the version's request count.
    """
    kept_in_span: dict[int, int] = {}
    kept_anywhere: dict[int, int] = {}
    for day in stored_days(root):
        record = json.loads((root / DAYS / day / DAY_RECORD).read_text(encoding="utf-8"))
        for index, n in record["kept_by_file"].items():
            kept_anywhere[int(index)] = kept_anywhere.get(int(index), 0) + n
            if day in span:
                kept_in_span[int(index)] = kept_in_span.get(int(index), 0) + n
    files, by_reason = [], {}
    warnings: list[str] = []
    resolved = 0
    for record, account in _dumps_in_span(root, span):
        warnings += account.get("warnings", [])
        resolved += account.get("ambiguous_local_times_resolved", 0)
        for reason, n in account["rejects_by_reason"].items():
            by_reason[reason] = by_reason.get(reason, 0) + n
        for listed, stored in zip(account["files"], record["files"], strict=True):
            index = stored["file_index"]
            duplicates = listed["rows_accepted"] - kept_anywhere.get(index, 0)
            reasons = dict(listed["rejects_by_reason"])
            if duplicates:
                reasons["duplicate_request_id"] = reasons.get("duplicate_request_id", 0) + (
                    duplicates
                )
                by_reason["duplicate_request_id"] = (
                    by_reason.get("duplicate_request_id", 0) + duplicates
                )
            accepted = kept_in_span.get(index, 0)
            files.append(
                {
                    "path": listed["path"],
                    "rows_read": listed["rows_read"],
                    "rows_accepted": accepted,
                    "rows_rejected": listed["rows_rejected"] + duplicates,
                    "rows_outside_span": kept_anywhere.get(index, 0) - accepted,
                    "rejects_by_reason": dict(sorted(reasons.items())),
                }
            )
    return {
        "rows_read": sum(f["rows_read"] for f in files),
        "rows_accepted": sum(f["rows_accepted"] for f in files),
        "rows_rejected": sum(f["rows_rejected"] for f in files),
        "rows_outside_span": sum(f["rows_outside_span"] for f in files),
        "rejects_by_reason": dict(sorted(by_reason.items())),
        "ambiguous_local_times_resolved": resolved,
        "warnings": warnings,
        "files": files,
    }


def _assembled_from(arguments: dict[str, Any]) -> dict[str, Any]:
    root: Path = arguments["store"]
    return {
        "options": canonical(arguments["options"].ingest),
        "days": {
            day: json.loads((root / DAYS / day / DAY_RECORD).read_text(encoding="utf-8"))["sha256"]
            for day in arguments["span"]
        },
    }


@stage("ingest", material=_assembled_from, creates_root=True)
def assemble(run_dir: RunDir, store: Path, span: list[str], options: RunOptions) -> IngestResult:
    """The ingest stage of a version: the store's days of the span as the request table (hard
    links), their dumps' row account, rejects and client identity (docs/refresh.md)."""
    from pipeline.stages.ingest import IngestResult

    table = run_dir.output(REQUESTS)
    for day in span:
        target = table / f"day={day}" / REQUESTS_DAY_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        _link_or_copy(store / DAYS / day / DAY_ROWS, target)
    account = version_account(store, span)
    write_json(run_dir.output(SUMMARY_NAME), account)
    chosen = _dumps_in_span(store, span)
    _version_rejects(store, [record for record, _a in chosen], run_dir.output(REJECTS))
    identity = store / DUMPS / chosen[0][0]["sha256"] / "identity.json"
    shutil.copyfile(identity, run_dir.output(IDENTITY))
    run_dir.update_manifest(
        "ingest",
        {
            "options": options.ingest.model_dump(),
            "assembled_from_store": str(store),
            "inputs": [f for record, _a in chosen for f in record["files"]],
            "outputs": [
                str(run_dir.path(REQUESTS)),
                str(run_dir.path(REJECTS)),
                str(run_dir.path(SUMMARY_NAME)),
            ],
            "request_table": {"format": REQUESTS_FORMAT, "days": span},
            "rows_read": account["rows_read"],
        },
    )
    return IngestResult(
        run_dir.path(REQUESTS),
        run_dir.path(REJECTS),
        run_dir.path(SUMMARY_NAME),
        account["rows_read"],
        account["rows_accepted"],
        account["rows_rejected"],
    )


def _version_rejects(store: Path, dumps: list[dict[str, Any]], out: Path) -> None:
    """The dumps' rejects.csv files as one (one header), with the rows duplicated across dumps
    (every dump's `cross_duplicates.parquet`) listed under their files as one run lists them:
    in file and line order."""
    import pyarrow.parquet as pq

    in_span = {f["file_index"] for record in dumps for f in record["files"]}
    cross: dict[int, list[tuple[int, list[str]]]] = {}
    for path in sorted((store / DUMPS).glob(f"*/{CROSS_DUPLICATES}")):
        for row in pq.read_table(path).to_pylist():
            if row["file_index"] in in_span:
                cells = [safe_cell(row["source_file"]), str(row["line"]), row["reason"]]
                cells += [safe_cell(row["detail"]), safe_cell(row["raw_text"] or "")]
                cross.setdefault(row["file_index"], []).append((row["line"], cells))
    with out.open("w", encoding="utf-8", newline="") as target:
        writer = None
        for record in dumps:
            index_of = {safe_cell(f["path"]): f["file_index"] for f in record["files"]}
            first = record["files"][0]["file_index"]
            with (store / DUMPS / record["sha256"] / REJECTS).open(
                encoding="utf-8", newline=""
            ) as handle:
                reader = csv.reader(handle)
                header = next(reader, None)
                if header is None:
                    continue
                if writer is None:
                    writer = csv.writer(target, lineterminator="\n")
                    writer.writerow(header)
                # a dump's rejects.csv is in file and line order (ingest/rejects.sql): the
                # cross-dump rows are merged into it as it is read, not the file held and sorted
                listed = ((index_of.get(row[0], first), int(row[1]), row) for row in reader)
                found = sorted(
                    (
                        (index, line, cells)
                        for index in index_of.values()
                        for line, cells in cross.get(index, [])
                    ),
                    key=_file_and_line,
                )
                merged = heapq.merge(listed, found, key=_file_and_line)
                writer.writerows(row for _i, _l, row in merged)


def _file_and_line(row: tuple[int, int, list[str]]) -> tuple[int, int]:
    return row[0], row[1]


def _fault_point(point: str) -> None:
    """Fault injection for the tests (`SERVECHAR_TEST_KILL_AT=refresh:commit|switch`)."""
    if os.environ.get(KILL_AT_ENV) == point:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def _iso(day_number: int) -> str:
    return (_EPOCH + dt.timedelta(days=int(day_number))).isoformat()


def _day_number(day: str) -> int:
    return (dt.date.fromisoformat(day) - _EPOCH).days
