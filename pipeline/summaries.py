"""Mergeable summaries: every part of the request table summarised once, then merged exactly.

A *part* is the set of requests whose arrivals lie in a half-open range [start, end) (a UTC day
in a run). For each part the requests are the view `part_requests` over the part's own file of
the request table, and every topic's query `sql/summaries/part/<topic>.sql` runs over it, writing
`<topic>/part-<label>.parquet` beside a small `part-<label>.json` that records the part's
range and the parameters (anchors included) it was summarised with. The merge then runs
`sql/summaries/merge/<topic>.sql` over the union of a topic's parts (the view
`parts_<topic>`; a merge may read another topic's parts view, e.g. for the first and last
arrivals that give the gap a part boundary cuts) and writes `<topic>.parquet`.

Contract `servechar.summaries/2`: docs/summaries.md. Adding a topic is adding the two SQL files
with the same name; the runner binds, of its parameters, exactly those a query declares.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline import sqlrun
from pipeline.errors import QueryError, SummaryError
from pipeline.rundir import write_json
from pipeline.timequality import N_IDLE_GAPS, TICK_CANDIDATES_US

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

SUMMARIES_FORMAT = "servechar.summaries/2"
PART_DIR = "summaries/part"
MERGE_DIR = "summaries/merge"
PART_TABLE = "part_requests"
MANIFEST_NAME = "manifest.json"
ANCHORS_NAME = "anchors.json"
US_PER_DAY = 86_400_000_000
# the shared request sample (topic request_sample): its seed, and k of its bottom-k per model and
# success class (characterize's default --sample-cap, so every cap up to it is a prefix)
SAMPLE_SEED = 0
SAMPLE_SIZE = 200_000
PART_QUERIES_AT_ONCE = 3
"""A part's topic queries run up to this many at a time (`sqlrun.queries_at_once`: fewer on a
small memory limit, one with one thread), each on its own cursor: DuckDB leaves a core idle
in parts of each (window sorts, the Parquet writer), which another topic's query fills. Each
query's rows are fully ordered, so the files are the same in any interleaving."""
_TOPIC_NAME = re.compile(r"[a-z][a-z0-9_]*")
_INPUTS_HEADER = re.compile(r"^--\s*inputs:\s*(.*)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Topic:
    """One summary topic: its part query and its merge query share the topic's name."""

    name: str

    @property
    def part_query(self) -> str:
        return f"{PART_DIR}/{self.name}"

    @property
    def merge_query(self) -> str:
        return f"{MERGE_DIR}/{self.name}"

    @property
    def parts_view(self) -> str:
        return f"parts_{self.name}"

    @property
    def merged_view(self) -> str:
        return f"summary_{self.name}"


def merge_inputs(topic: Topic, prefix: str = "parts_") -> list[str]:
    """The topics whose parts (`parts_`) or merged summaries (`summary_`) `topic`'s merge
    reads, from its `inputs:` header."""
    text, _declared = sqlrun.load_sql(topic.merge_query)
    header = _INPUTS_HEADER.search(text)
    tables = [t.strip() for t in header.group(1).split(",")] if header else []
    return [t.removeprefix(prefix) for t in tables if t.startswith(prefix)]


def merge_order(chosen: Iterable[Topic]) -> list[Topic]:
    """`chosen` in an order where a merge that reads another topic's merged summary runs
    after that topic's merge (name order otherwise)."""
    pending = sorted(chosen, key=lambda t: t.name)
    done: list[Topic] = []
    while pending:
        ready = [t for t in pending if set(merge_inputs(t, "summary_")) <= {d.name for d in done}]
        if not ready:
            raise QueryError(
                f"summary merges read each other's results in a cycle: {[t.name for t in pending]}"
            )
        done.append(ready[0])
        pending.remove(ready[0])
    return done


def with_dependencies(selected: Iterable[Topic]) -> list[Topic]:
    """`selected` and every topic whose parts their merges read, in name order."""
    wanted = {t.name for t in selected}
    pending = list(wanted)
    while pending:
        topic = Topic(pending.pop())
        for name in merge_inputs(topic) + merge_inputs(topic, "summary_"):
            if name not in wanted:
                wanted.add(name)
                pending.append(name)
    return [Topic(name) for name in sorted(wanted)]


@dataclass(frozen=True, slots=True, order=True)
class PartRange:
    """Requests with start_us <= arrival_us < end_us."""

    start_us: int
    end_us: int

    @property
    def label(self) -> str:
        """A UTC day reads as its date; any other range as its bounds in microseconds."""
        if self.start_us % US_PER_DAY == 0 and self.end_us - self.start_us == US_PER_DAY:
            return datetime.fromtimestamp(self.start_us // 1_000_000, tz=UTC).date().isoformat()
        return f"{self.start_us}-{self.end_us}"

    def overlaps(self, other: PartRange) -> bool:
        return self.start_us < other.end_us and other.start_us < self.end_us


@dataclass(frozen=True, slots=True)
class RequestSpan:
    """What is known of the request table before any part is read."""

    first_us: int
    last_us: int
    n_requests: int
    model_first_us: dict[str, int]  # each model's first arrival: the time grid's anchor
    days: tuple[int, ...]  # UTC days (since the epoch) holding requests: the run's parts


@dataclass(frozen=True, slots=True)
class PartSummary:
    """What summarising one part wrote."""

    part: PartRange
    n_requests: int
    files: dict[str, Path]  # topic -> part file
    reused: tuple[str, ...] = ()  # topics taken from a stored part instead of the requests


@dataclass(frozen=True, slots=True)
class MergedSummaries:
    """The merged summaries of a set of parts, one file per topic."""

    directory: Path
    parts: tuple[PartRange, ...]
    n_requests: int
    files: dict[str, Path] = field(default_factory=dict)  # topic -> merged file
    reused: dict[str, tuple[str, ...]] = field(default_factory=dict)  # part label -> topics


def topics() -> list[Topic]:
    """Every topic: a part query and a merge query of the same name, in name order."""
    names = sqlrun.sql_names()
    part = {n.removeprefix(PART_DIR + "/") for n in names if n.startswith(PART_DIR + "/")}
    merge = {n.removeprefix(MERGE_DIR + "/") for n in names if n.startswith(MERGE_DIR + "/")}
    if part != merge:
        raise QueryError(
            f"summary topics need a part and a merge query each; unmatched: {sorted(part ^ merge)}",
            hint="Add the missing sql/summaries/part/<topic>.sql or merge/<topic>.sql.",
        )
    for name in part:
        if not _TOPIC_NAME.fullmatch(name):  # names become view names in the merge
            raise QueryError(f"summary topic name {name!r} is not lower_snake_case")
    return [Topic(name) for name in sorted(part)]


def request_span(con: duckdb.DuckDBPyConnection) -> RequestSpan:
    """First and last arrival, count, per-model first arrivals and days of `requests`."""
    return span_of(sqlrun.query(con, "summaries/request_span").fetchall())


SpanRow = tuple[str, int, int, int, int]
"""A row of `summaries/request_span`: model, day, first_us, last_us, n_requests."""


def span_of(rows: Iterable[SpanRow]) -> RequestSpan:
    """The span from `summaries/request_span` rows of any disjoint subsets of the requests
    (one row per (model, day) and subset: the rows of one (model, day) combine by min, max
    and sum, so the span does not depend on how the requests were split)."""
    model_first: dict[str, int] = {}
    first_us, last_us, n_requests, days = None, None, 0, set()
    for model, day, first, last, n in rows:
        model_first[model] = min(first, model_first.get(model, first))
        first_us = first if first_us is None else min(first_us, first)
        last_us = last if last_us is None else max(last_us, last)
        n_requests += n
        days.add(day)
    return RequestSpan(
        first_us=first_us or 0,
        last_us=last_us or 0,
        n_requests=n_requests,
        model_first_us=dict(sorted(model_first.items())),
        days=tuple(sorted(days)),
    )


def summary_params(
    *,
    origin_us: int,
    window_s: int,
    dataset_window_s: int,
    ratio_points: int,
    model_first_us: Mapping[str, int],
    sample_seed: int = SAMPLE_SEED,
    sample_size: int = SAMPLE_SIZE,
) -> dict[str, Any]:
    """Every parameter a part or merge query may use (each uses the subset it declares).

    `origin_us` and `anchor_models`/`anchor_first_us` are anchors: instants that depend on the
    whole log, fixed before any part is read and recorded with every part.
    """
    models = sorted(model_first_us)
    return {
        "origin_us": origin_us,
        "window_us": window_s * 1_000_000,
        "dataset_window_us": dataset_window_s * 1_000_000,
        "ratio_points": ratio_points,
        "n_gaps": N_IDLE_GAPS,
        "tick_candidates_us": list(TICK_CANDIDATES_US),
        "anchor_models": models,
        "anchor_first_us": [model_first_us[m] for m in models],
        "sample_seed": sample_seed,
        "sample_size": sample_size,
    }


def day_parts(days: Iterable[int]) -> list[PartRange]:
    """One part per UTC day (days as day numbers since the epoch), in time order."""
    return [PartRange(d * US_PER_DAY, (d + 1) * US_PER_DAY) for d in sorted(set(days))]


def bound_params(query: str, params: Mapping[str, Any], topic: str) -> dict[str, Any]:
    """Of `params`, exactly those `sql/<query>.sql` declares; a declared name without a value
    is an error naming the topic."""
    _text, declared = sqlrun.load_sql(query)
    missing = sorted(declared - set(params))
    if missing:
        raise QueryError(
            f"summary topic {topic!r}: {query}.sql uses {missing}, which the summary runner "
            f"does not provide (it provides {sorted(params)})",
            hint="Use one of the provided parameters, or add the value to the runner's params.",
        )
    return {name: params[name] for name in sorted(declared)}


def load_part(con: duckdb.DuckDBPyConnection, part: PartRange) -> int:
    """The part's requests as the view `part_requests`; its row count.

    The only place that knows where a part's requests come from (the request table filtered
    on arrival time, which opens only the day's file). A view, not a table read once: each
    topic reads just the columns it needs of the day's Parquet file, which costs no more than
    loading the day (1M-row log: 8.7-9.3 s of CPU for the stage either way), and nothing of
    the day is held in memory, so a day larger than `--memory-limit` spills in each query
    instead of failing (a loaded day pinned the memory the topics' sorts need).
    """
    _drop_part_requests(con)
    bounds = {"start_us": part.start_us, "end_us": part.end_us}
    sqlrun.query(con, "summaries/part_requests", bounds).create_view(PART_TABLE)
    return con.table(PART_TABLE).count("*").fetchall()[0][0]


def _drop_part_requests(con: duckdb.DuckDBPyConnection) -> None:
    found = con.execute(
        "select table_type from information_schema.tables where table_name = ?", [PART_TABLE]
    ).fetchall()
    for (kind,) in found:
        con.execute(f"drop {'view' if kind == 'VIEW' else 'table'} {PART_TABLE}")


MINUTE_US = 60_000_000
DAY_US = 86_400_000_000
ORIGIN_INDEXED: dict[str, dict[str, str | int]] = {
    "arrival_times": {"window_index": "window_us"},
    "arrival_windows": {"window_index": "window_us"},
    "length_values": {"dataset_index": "dataset_window_us"},
    "minute_counts": {"minute_index": MINUTE_US},
    "window_counts": {"window_index": "window_us"},
    "token_counts": {"dataset_index": "dataset_window_us", "day_index": DAY_US},
    "modality_mix": {"period_index": "dataset_window_us"},
}
"""Topics whose only dependence on the origin is an index `(arrival_us - origin_us) // width`
(column -> the parameter of its width, or the width in microseconds where the query fixes
it). When the origin moves by whole widths, a stored part is the same part summarised at the
new origin with that column shifted, exactly."""
ANCHOR_LISTS = ("anchor_models", "anchor_first_us")


def reuse_part(
    con: duckdb.DuckDBPyConnection,
    topic: Topic,
    part: PartRange,
    params: Mapping[str, Any],
    stored: Path,
    out: Path,
) -> int | None:
    """Take `topic`'s summary of `part` from the directory `stored` (laid out like a run's
    summaries, holding parts of the same requests) when it is exactly what summarising the
    part with `params` would give; its request count, or None (summarise it again).

    Exact when the recorded parameters equal `params`, except for (a) model anchors of models
    the part does not hold, and (b) an origin moved by whole window widths in a topic of
    `ORIGIN_INDEXED` (the index column is shifted).
    """
    sidecar = stored / topic.name / f"part-{part.label}.json"
    source = sidecar.with_suffix(".parquet")
    if not (sidecar.is_file() and source.is_file()):
        return None
    record = json.loads(sidecar.read_text(encoding="utf-8"))
    if (
        record.get("format") != SUMMARIES_FORMAT
        or record.get("topic") != topic.name
        or (record.get("part_start_us"), record.get("part_end_us")) != (part.start_us, part.end_us)
        or set(record.get("params", {})) != set(params)
    ):
        return None
    old = record["params"]
    differing = {name for name in params if old[name] != params[name]}
    relation = con.read_parquet(str(source))
    if differing & set(ANCHOR_LISTS):
        if "model" not in relation.columns:
            return None
        present = {row[0] for row in relation.select("model").distinct().fetchall()}
        if _anchors_of(old, present) != _anchors_of(params, present):
            return None
        differing -= set(ANCHOR_LISTS)
    shifts: dict[str, int] = {}
    if "origin_us" in differing:
        moved = params["origin_us"] - old["origin_us"]
        widths = {
            column: width if isinstance(width, int) else params[width]
            for column, width in ORIGIN_INDEXED.get(topic.name, {}).items()
        }
        if not widths or any(moved % width for width in widths.values()):
            return None
        shifts = {column: moved // width for column, width in widths.items()}
        differing.discard("origin_us")
    if differing:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    if shifts:
        types = dict(zip(relation.columns, relation.types, strict=True))
        shifted = ", ".join(
            f"cast({column} - {int(by)} as {types[column]}) as {column}"
            for column, by in sorted(shifts.items())
        )
        relation.select(f"* replace ({shifted})").write_parquet(str(out))
    else:
        shutil.copyfile(source, out)
    write_json(out.with_suffix(".json"), {**record, "params": dict(params)})
    return int(record["n_requests"])


def _anchors_of(params: Mapping[str, Any], models: set[str]) -> dict[str, int]:
    return {
        m: f
        for m, f in zip(params["anchor_models"], params["anchor_first_us"], strict=True)
        if m in models
    }


def summarise_part(
    con: duckdb.DuckDBPyConnection,
    part: PartRange,
    params: Mapping[str, Any],
    directory: Path,
    selected: Sequence[Topic] | None = None,
    stored: Path | None = None,
) -> PartSummary:
    """Summarise one part into `directory/<topic>/part-<label>.parquet` (+ `.json`).

    `stored`: a directory of earlier summaries of the same requests (a refresh store's day);
    the topics `reuse_part` can take from it are not summarised again.
    """
    chosen = with_dependencies(selected) if selected else topics()
    files: dict[str, Path] = {}
    counts: set[int] = set()
    pending = []
    for topic in chosen:
        used = bound_params(topic.part_query, params, topic.name)
        out = directory / topic.name / f"part-{part.label}.parquet"
        found = None if stored is None else reuse_part(con, topic, part, used, stored, out)
        if found is None:
            pending.append((topic, used, out))
        else:
            files[topic.name] = out
            counts.add(found)
    reused = tuple(sorted(files))
    if not pending and len(counts) == 1:
        return PartSummary(part, counts.pop(), files, reused)
    n_requests = load_part(con, part)
    if counts - {n_requests}:
        raise SummaryError(
            f"the stored summaries of part {part.label} count {sorted(counts)} requests, the "
            f"request table {n_requests}",
            hint="The store's day changed without its summaries being dropped: remove them.",
        )

    def write_topic(topic: Topic, used: dict[str, Any], out: Path) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with con.cursor() as cursor:  # sees the view part_requests; runs beside the others
            # a part file is read back through a table (merge), so its statistics do not matter
            sqlrun.query(cursor, topic.part_query, used).write_parquet(str(out))
        write_json(
            out.with_suffix(".json"),
            {
                "format": SUMMARIES_FORMAT,
                "topic": topic.name,
                "part_start_us": part.start_us,
                "part_end_us": part.end_us,
                "n_requests": n_requests,
                "params": used,
            },
        )

    try:
        at_once = sqlrun.queries_at_once(con, PART_QUERIES_AT_ONCE)
        pool = ThreadPoolExecutor(at_once, thread_name_prefix="summaries")
        try:
            # list(): a query's error is raised here (the first in topic order)
            list(pool.map(lambda job: write_topic(*job), pending))
        finally:
            pool.shutdown(cancel_futures=True)  # after an error, start no other topic
        files.update({topic.name: out for topic, _used, out in pending})
    finally:
        _drop_part_requests(con)
    return PartSummary(part, n_requests, files, reused)


def merge(
    con: duckdb.DuckDBPyConnection,
    directory: Path,
    selected: Sequence[Topic] | None = None,
) -> MergedSummaries:
    """Merge every topic's part files under `directory` into `directory/<topic>.parquet`.

    Each topic's parts are the view `parts_<topic>` while its merge query runs.

    Refuses (SummaryError) parts of another contract version, parts whose time ranges overlap,
    and parts of one topic summarised with different parameters (anchors included).
    """
    chosen = with_dependencies(selected) if selected else topics()
    records = {topic.name: _part_records(directory, topic) for topic in chosen}
    ranges: dict[PartRange, int] = {}
    for topic in chosen:
        recorded = records[topic.name]
        if not recorded:
            raise SummaryError(
                f"summary topic {topic.name!r} has no part files in {directory / topic.name}",
                hint="Summarise every part before merging.",
            )
        _check_same_params(topic.name, recorded)
        for _path, record in recorded:
            part = PartRange(record["part_start_us"], record["part_end_us"])
            ranges[part] = record["n_requests"]
        # (the merged file is written through a table: its bytes do not depend on the files)
        con.read_parquet([str(p) for p, _r in recorded]).create_view(topic.parts_view, replace=True)
    parts = sorted(ranges)
    for earlier, later in itertools.pairwise(parts):
        if earlier.overlaps(later):
            raise SummaryError(
                f"the parts {earlier.label} and {later.label} overlap in time "
                f"([{earlier.start_us}, {earlier.end_us}) and [{later.start_us}, "
                f"{later.end_us}) us): merging them would count requests twice",
                hint="Summarise disjoint time ranges, or remove the stale part files.",
            )
    for topic in chosen:
        if {PartRange(r["part_start_us"], r["part_end_us"]) for _p, r in records[topic.name]} != (
            set(parts)
        ):
            raise SummaryError(
                f"summary topic {topic.name!r} lacks some parts the other topics have",
                hint="Summarise every part with every topic before merging.",
            )
    files = {}
    for topic in merge_order(chosen):
        out = directory / f"{topic.name}.parquet"
        # the merge binds the parameters its parts were summarised with (checked equal above)
        used = bound_params(topic.merge_query, records[topic.name][0][1]["params"], topic.name)
        write_exact(con, sqlrun.query(con, topic.merge_query, used), out)
        # a later merge may read this one's result
        con.read_parquet(str(out)).create_view(topic.merged_view, replace=True)
        files[topic.name] = out
    n_requests = sum(ranges.values())
    all_params: dict[str, Any] = {}
    for topic in chosen:
        all_params.update(records[topic.name][0][1]["params"])
    write_json(directory / ANCHORS_NAME, dict(sorted(all_params.items())))
    write_json(
        directory / MANIFEST_NAME,
        {
            "format": SUMMARIES_FORMAT,
            "topics": [t.name for t in chosen],
            "parts": [
                {"label": p.label, "start_us": p.start_us, "end_us": p.end_us, "n_requests": n}
                for p, n in sorted(ranges.items())
            ],
            "n_requests": n_requests,
        },
    )
    return MergedSummaries(directory, tuple(parts), n_requests, files)


ROW_GROUP_VALUES = 2_000_000
"""At most about this many values (scalars plus list elements) in one Parquet row group of a
file `write_exact` writes. The Parquet writer holds a whole row group in memory, and a summary
with list columns (`model_streams`' idle gaps: one row per model, its list as long as the
model's idle periods) could make one row group of millions of elements on a large log; files
without long lists keep DuckDB's default row groups (122,880 rows), so their bytes do not
change."""
DEFAULT_ROW_GROUP_ROWS = 122_880


def write_exact(
    con: duckdb.DuckDBPyConnection, relation: duckdb.DuckDBPyRelation, path: Path
) -> None:
    """Write `relation` (which must be ORDERed) as Parquet through a temporary table.

    DuckDB marks a Parquet column `required` when its statistics show no NULL, and statistics
    that pass through a query depend on the plan (one part file or several). A table's
    statistics are its data's, so equal contents give equal bytes. The row groups are sized
    from the table's contents (`ROW_GROUP_VALUES`), never from the memory limit or the thread
    count.
    """
    con.execute("drop table if exists summary_output")
    relation.to_table("summary_output")
    try:
        table = con.table("summary_output")
        rows = row_group_rows(table)
        if rows is None:
            table.write_parquet(str(path))
        else:
            table.write_parquet(str(path), row_group_size=rows)
    finally:
        con.execute("drop table if exists summary_output")


def row_group_rows(table: duckdb.DuckDBPyRelation) -> int | None:
    """Rows per Parquet row group that keep a group near `ROW_GROUP_VALUES` values, or None
    when DuckDB's default already does (no list column, or short lists). DuckDB rounds the
    rows up to whole vectors (2,048 rows)."""
    lists = [c for c, t in zip(table.columns, table.types, strict=True) if t.id == "list"]
    if not lists:
        return None
    counted = [duckdb.FunctionExpression("count", duckdb.StarExpression())] + [
        duckdb.FunctionExpression(
            "sum", duckdb.FunctionExpression("len", duckdb.ColumnExpression(c))
        )
        for c in lists
    ]
    n_rows, *elements = table.aggregate(counted).fetchall()[0]
    values = n_rows * len(table.columns) + sum(int(e or 0) for e in elements)
    if not n_rows or values * DEFAULT_ROW_GROUP_ROWS <= ROW_GROUP_VALUES * n_rows:
        return None
    return max(1, ROW_GROUP_VALUES * n_rows // values)


def summarise(
    con: duckdb.DuckDBPyConnection,
    parts: Sequence[PartRange],
    params: Mapping[str, Any],
    directory: Path,
    selected: Sequence[Topic] | None = None,
    stored: Mapping[str, Path] | None = None,
) -> MergedSummaries:
    """Summarise each part, then merge: the whole of the runner.

    `stored` maps a part's label to a directory of earlier summaries of that part's requests
    (see `summarise_part`).
    """
    reused = {}
    for part in parts:
        done = summarise_part(
            con, part, params, directory, selected, (stored or {}).get(part.label)
        )
        if done.reused:
            reused[part.label] = done.reused
    return dataclasses.replace(merge(con, directory, selected), reused=reused)


def open_merged(
    con: duckdb.DuckDBPyConnection, directory: Path, selected: Sequence[Topic] | None = None
) -> None:
    """Views `summary_<topic>` over the merged files in `directory` (of `selected` and the
    topics their merges read)."""
    for topic in with_dependencies(selected) if selected else topics():
        path = directory / f"{topic.name}.parquet"
        if not path.is_file():
            raise SummaryError(f"no merged summary {path}", hint="Run the aggregate stage again.")
        con.read_parquet(str(path)).create_view(topic.merged_view, replace=True)


def _part_records(directory: Path, topic: Topic) -> list[tuple[Path, dict[str, Any]]]:
    records = []
    for path in sorted((directory / topic.name).glob("part-*.parquet")):
        sidecar = path.with_suffix(".json")
        if not sidecar.is_file():
            raise SummaryError(
                f"part file {path} has no {sidecar.name} (its range and parameters)",
                hint="A part was summarised by an interrupted run: summarise it again.",
            )
        record = json.loads(sidecar.read_text(encoding="utf-8"))
        if record.get("format") != SUMMARIES_FORMAT or record.get("topic") != topic.name:
            raise SummaryError(
                f"{sidecar} is {record.get('format')!r} for topic {record.get('topic')!r}, "
                f"not {SUMMARIES_FORMAT!r} for {topic.name!r}",
                hint="Summarise the part again with this version of servechar.",
            )
        records.append((path, record))
    return records


def _check_same_params(topic: str, records: list[tuple[Path, dict[str, Any]]]) -> None:
    first_path, first = records[0]
    for path, record in records[1:]:
        if record["params"] != first["params"]:
            differing = sorted(
                name
                for name in set(first["params"]) | set(record["params"])
                if first["params"].get(name) != record["params"].get(name)
            )
            raise SummaryError(
                f"summary topic {topic!r}: parts {first_path.name} and {path.name} were "
                f"summarised with different anchors or parameters ({', '.join(differing)}); "
                "their summaries do not merge",
                hint="Summarise every part with the same anchors (aggregate/summaries/"
                "anchors.json) and options.",
            )
