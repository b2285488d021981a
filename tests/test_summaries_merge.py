"""Mergeable summaries: a log split at any instants, summarised part by part and merged, gives
byte for byte the summaries, artefacts, fits.json and profiles of one pass over the whole log.

The log crosses midnight, has bursts with exact ties, failed requests, reasoning and multimodal
clients and one model on a coarse (1 s) clock. Split instants are drawn by hypothesis (fixed
seeds: derandomized) from anywhere in the log, from the arrival instants themselves (a cut
inside a burst) and from midnight. Every topic under sql/summaries/ is covered by the
parametrisation, including topics added later.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline import sqlrun, summaries
from pipeline.config import (
    AggregateOptions,
    EngineOptions,
    ExportOptions,
    FitOptions,
    IngestOptions,
)
from pipeline.errors import InputError, QueryError, SummaryError
from pipeline.rundir import RunDir
from pipeline.stages import aggregate, export, fit, ingest
from pipeline.stages.ingest import connect, open_requests
from pipeline.synthetic import ClientSpec, generate

START = datetime(2025, 3, 3, 22, 40, tzinfo=UTC)  # the log runs across midnight
DURATION_S = 2 * 3600
MIDNIGHT_US = int(datetime(2025, 3, 4, tzinfo=UTC).timestamp() * 1_000_000)
ENGINE = EngineOptions(threads=2, memory_limit="500MB")
CLIENTS = [
    ClientSpec("acme", "chat", rate_rps=0.25, family="gamma", shape=0.4, failure_rate=0.05),
    ClientSpec("globex", "chat", rate_rps=0.1, family="weibull_min", shape=0.7),
    ClientSpec("hooli", "reasoner", category="reason", rate_rps=0.1, shape=0.8),
    ClientSpec("wayne", "vision", category="multimodal", rate_rps=0.06, shape=1.2),
    ClientSpec("tick", "clock", rate_rps=0.3, shape=0.6),  # stamped on whole seconds below
]
ARTEFACTS = (
    "aggregate/trace_windows.parquet",
    "aggregate/interarrivals.parquet",
    "aggregate/distributions.parquet",
    "aggregate/tick_dispersion.parquet",
    "aggregate/time_quality.json",
    "aggregate/meta.json",
    "fit/window_fits.parquet",
    "fit/client_fits.parquet",
    "fits.json",
)


def _log(path: Path) -> Path:
    log = generate(CLIENTS, duration_s=DURATION_S, seed=7, start=START)
    log = log.with_columns(
        pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_unit="us")
    )
    # the clock model on a 1 s grid: many exact ties between consecutive arrivals
    log = log.with_columns(
        pl.when(pl.col("model") == "clock")
        .then(pl.col("timestamp").dt.truncate("1s"))
        .otherwise(pl.col("timestamp"))
        .alias("timestamp")
    )
    # a burst of 40 requests of one client within 20 ms, some at the very same microsecond,
    # five minutes before midnight
    burst_at = datetime(2025, 3, 3, 23, 55, tzinfo=UTC)
    offsets_us = np.sort(np.random.default_rng(3).integers(0, 20_000, 40)) // 400 * 400
    template = log.filter(pl.col("client_id") == "acme").head(1)
    burst = pl.concat(
        [
            template.with_columns(
                pl.lit(burst_at + timedelta(microseconds=int(o)))
                .dt.cast_time_unit("us")
                .dt.replace_time_zone(None)
                .alias("timestamp"),
                pl.lit(f"burst-{i}").alias("request_id"),
            )
            for i, o in enumerate(offsets_us)
        ]
    )
    log = pl.concat([log, burst.select(log.columns)], how="vertical_relaxed").sort("timestamp")
    log.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")).write_csv(path)
    return path


@contextmanager
def _opened(ingested: Path, engine: EngineOptions = ENGINE) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the ingested run with its requests open, closed on leaving."""
    con = connect(RunDir(ingested), engine)
    try:
        open_requests(con, RunDir(ingested))
        yield con
    finally:
        con.close()


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("summaries-merge")
    out = root / "ingested"
    ingest.run(RunDir(out), [str(_log(root / "log.csv"))], IngestOptions(), ENGINE)
    return out


@pytest.fixture(scope="module")
def span(ingested: Path) -> summaries.RequestSpan:
    with _opened(ingested) as con:
        return summaries.request_span(con)


def _params(span: summaries.RequestSpan) -> dict:
    return aggregate.summary_params(
        AggregateOptions(), aggregate.default_origin(span.first_us), span
    )


def _parts(span: summaries.RequestSpan, cuts: list[int]) -> list[summaries.PartRange]:
    bounds = [span.first_us, *sorted(set(cuts)), span.last_us + 1]
    return [summaries.PartRange(a, b) for a, b in itertools.pairwise(bounds) if a < b]


def _merged_bytes(
    ingested: Path,
    directory: Path,
    parts: list[summaries.PartRange],
    topic: str,
    params: dict,
    threads: int = 2,
) -> bytes:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    engine = EngineOptions(threads=threads, memory_limit=ENGINE.memory_limit)
    with _opened(ingested, engine) as con:
        merged = summaries.summarise(con, parts, params, directory, [summaries.Topic(topic)])
    return merged.files[topic].read_bytes()


def _cut_strategy(
    span: summaries.RequestSpan, arrivals: list[int], idle: list[int]
) -> st.SearchStrategy:
    instant = st.one_of(
        st.integers(span.first_us + 1, span.last_us),  # anywhere (mid-window)
        st.sampled_from(arrivals),  # at an arrival: inside a burst, between tied arrivals
        st.sampled_from(idle),  # inside one of a model's longest idle gaps
        st.just(MIDNIGHT_US),
    )
    return st.lists(instant, min_size=1, max_size=4, unique=True)


@pytest.fixture(scope="module")
def idle(ingested: Path) -> list[int]:
    """The middle of each model's 5 longest gaps between consecutive arrivals."""
    with _opened(ingested) as con:
        gaps = con.sql(
            "select model, arrival_us, arrival_us - lag(arrival_us) over "
            "(partition by model order by arrival_us) as gap_us from requests"
        )
        rows = gaps.filter("gap_us is not null").order("gap_us desc, arrival_us").fetchall()
    middles: dict[str, list[int]] = {}
    for model, arrival_us, gap_us in rows:
        if len(middles.setdefault(model, [])) < 5:
            middles[model].append(arrival_us - gap_us // 2)
    return sorted(m for ms in middles.values() for m in ms)


@pytest.fixture(scope="module")
def arrivals(ingested: Path) -> list[int]:
    with _opened(ingested) as con:
        rows = con.sql("select arrival_us from requests order by arrival_us").fetchall()
    return [r[0] for r in rows]


def test_the_log_has_what_the_property_is_about(
    ingested: Path, span: summaries.RequestSpan, arrivals: list[int]
) -> None:
    assert span.days == (
        MIDNIGHT_US // summaries.US_PER_DAY - 1,
        MIDNIGHT_US // summaries.US_PER_DAY,
    )
    assert len(arrivals) - len(set(arrivals)) >= 20  # ties
    quality = _one_pass_quality(ingested)
    assert quality["clock"]["is_quantized"] and not quality["chat"]["is_quantized"]


def _one_pass_quality(ingested: Path) -> dict:
    out = ingested.parent / "quality-run"
    if not out.exists():
        shutil.copytree(ingested, out)
        aggregate.run(RunDir(out), AggregateOptions(), ENGINE)
    return json.loads((out / "aggregate" / "time_quality.json").read_text())["models"]


@pytest.mark.parametrize("topic", [t.name for t in summaries.topics()])
def test_split_summaries_merge_to_the_one_pass_bytes(
    topic: str,
    ingested: Path,
    span: summaries.RequestSpan,
    arrivals: list[int],
    idle: list[int],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    params = _params(span)
    work = tmp_path_factory.mktemp(f"split-{topic}")
    whole = _merged_bytes(ingested, work / "whole", _parts(span, []), topic, params, threads=1)

    @settings(
        derandomize=True,
        max_examples=6,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(cuts=_cut_strategy(span, arrivals, idle), threads=st.sampled_from([1, 2]))
    @example(cuts=[MIDNIGHT_US], threads=2)  # the run's own parts: one per UTC day
    @example(cuts=idle[::5][:4], threads=1)  # inside the longest idle gap of four models
    def check(cuts: list[int], threads: int) -> None:
        parts = _parts(span, cuts)
        merged = _merged_bytes(ingested, work / "split", parts, topic, params, threads)
        assert merged == whole, f"{topic}: parts {[p.label for p in parts]} merge differently"

    check()


def test_topics_run_side_by_side_give_the_bytes_of_one_at_a_time(
    ingested: Path,
    span: summaries.RequestSpan,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # every topic of every day, with three queries in flight or one: same part and merged files
    params = _params(span)
    parts = _parts(span, [MIDNIGHT_US])
    engine = EngineOptions(threads=2, memory_limit="2GB")
    trees = {}
    for at_once in (1, 3):
        monkeypatch.setattr(summaries, "PART_QUERIES_AT_ONCE", at_once)
        directory = tmp_path / f"at-once-{at_once}"
        directory.mkdir()
        with _opened(ingested, engine) as con:
            assert sqlrun.queries_at_once(con, summaries.PART_QUERIES_AT_ONCE) == at_once
            summaries.summarise(con, parts, params, directory)
        trees[at_once] = {
            str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*.parquet"))
        }
    assert len(trees[1]) == len(summaries.topics()) * (len(parts) + 1)
    assert trees[3] == trees[1]


def test_queries_side_by_side_only_where_memory_and_threads_allow(tmp_path: Path) -> None:
    def at_once(threads: int, budget: str) -> int:
        con = sqlrun.connect(threads=threads, memory_limit=budget, temp_dir=tmp_path)
        try:
            return sqlrun.queries_at_once(con, 3)
        finally:
            con.close()

    # DuckDB gets 60 % of the budget; each query in flight needs 256 MiB of it
    assert at_once(2, "2GB") == 3  # 1.2 GB: four would fit, three asked for
    assert at_once(2, "1GB") == 2  # 600 MB
    assert at_once(2, "300MB") == 1  # 180 MB: one, as before
    assert at_once(1, "2GB") == 1  # --threads 1 asks for one thread
    assert sqlrun.size_bytes("1.1 GiB") == int(1.1 * 2**30)
    assert sqlrun.size_bytes("73.2 MiB") == int(73.2 * 2**20)
    assert sqlrun.size_bytes("80%") is None


def _digest(run: Path) -> dict[str, str]:
    files = [run / name for name in ARTEFACTS]
    files += sorted(p for p in (run / "profiles").rglob("*") if p.is_file())
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _downstream(ingested: Path, out: Path, parts: list[summaries.PartRange]) -> dict[str, str]:
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(ingested, out)
    run_dir = RunDir(out)
    aggregate.run(run_dir, AggregateOptions(), ENGINE, parts=parts)
    fit.run(run_dir, FitOptions())
    export.run(run_dir, ExportOptions())
    return _digest(out)


def test_split_runs_give_the_one_pass_artefacts_fits_and_profiles(
    ingested: Path,
    span: summaries.RequestSpan,
    arrivals: list[int],
    idle: list[int],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    work = tmp_path_factory.mktemp("downstream")
    one_pass = _downstream(ingested, work / "one", _parts(span, []))
    assert len(one_pass) > len(ARTEFACTS)  # profiles were written

    @settings(
        derandomize=True,
        max_examples=3,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(cuts=_cut_strategy(span, arrivals, idle))
    @example(cuts=[MIDNIGHT_US])
    def check(cuts: list[int]) -> None:
        split = _downstream(ingested, work / "split", _parts(span, cuts))
        differing = sorted(k for k in one_pass if split.get(k) != one_pass[k])
        assert not differing, f"cuts {cuts}: {differing} differ from one pass"

    check()


def test_parts_summarised_with_other_anchors_do_not_merge(
    ingested: Path, span: summaries.RequestSpan, tmp_path: Path
) -> None:
    params = _params(span)
    early, late = _parts(span, [MIDNIGHT_US])
    with _opened(ingested) as con:
        summaries.summarise_part(con, early, params, tmp_path)
        shifted = {**params, "origin_us": params["origin_us"] - 3_600_000_000}
        summaries.summarise_part(con, late, shifted, tmp_path)
        with pytest.raises(SummaryError, match=r"summary topic 'arrival_times'.*origin_us"):
            summaries.merge(con, tmp_path)
        # anchors of one model's time grid moved: the time_grid topic is named
        moved = {**params, "anchor_first_us": [a + 1 for a in params["anchor_first_us"]]}
        summaries.summarise_part(con, late, moved, tmp_path, [summaries.Topic("time_grid")])
        with pytest.raises(SummaryError, match=r"'time_grid'.*anchor_first_us"):
            summaries.merge(con, tmp_path, [summaries.Topic("time_grid")])


def test_overlapping_parts_are_refused(
    ingested: Path, span: summaries.RequestSpan, tmp_path: Path
) -> None:
    params = _params(span)
    with _opened(ingested) as con:
        summaries.summarise_part(
            con, summaries.PartRange(span.first_us, MIDNIGHT_US + 1), params, tmp_path
        )
        summaries.summarise_part(
            con, summaries.PartRange(MIDNIGHT_US, span.last_us + 1), params, tmp_path
        )
        with pytest.raises(SummaryError, match="overlap"):
            summaries.merge(con, tmp_path)


def test_parts_of_the_previous_contract_are_refused(
    ingested: Path, span: summaries.RequestSpan, tmp_path: Path
) -> None:
    """A part written by servechar.summaries/1 (arrival_times as one list per window) next to
    parts of this version: the merge names the part and asks to summarise it again."""
    params = _params(span)
    early, late = _parts(span, [MIDNIGHT_US])
    with _opened(ingested) as con:
        summaries.summarise_part(con, early, params, tmp_path)
        summaries.summarise_part(con, late, params, tmp_path)
        old = tmp_path / "arrival_times" / f"part-{late.label}.parquet"
        con.read_parquet(str(old)).aggregate(
            "category, model, client_id, window_index, "
            "list(arrival_us order by arrival_us) as arrival_us",
            "category, model, client_id, window_index",
        ).write_parquet(str(old))
        sidecar = old.with_suffix(".json")
        record = json.loads(sidecar.read_text(encoding="utf-8"))
        sidecar.write_text(json.dumps({**record, "format": "servechar.summaries/1"}))
        with pytest.raises(SummaryError, match=r"part-.*servechar\.summaries/1") as refused:
            summaries.merge(con, tmp_path)
        assert "Summarise the part again" in refused.value.hint
        assert not (tmp_path / "arrival_times.parquet").exists()


def test_merged_arrivals_hold_every_request_and_its_window_gap(
    ingested: Path, span: summaries.RequestSpan, tmp_path: Path
) -> None:
    """One row per accepted request, cut at midnight and in a burst; gap_us is the distance to
    the previous arrival of the same client window as one pass over the requests sees it."""
    params = _params(span)
    with _opened(ingested) as con:
        for part in _parts(span, [MIDNIGHT_US - 300_000_000 + 7_000, MIDNIGHT_US]):
            summaries.summarise_part(
                con, part, params, tmp_path, [summaries.Topic("arrival_times")]
            )
        summaries.merge(con, tmp_path, [summaries.Topic("arrival_times")])
        merged = con.read_parquet(str(tmp_path / "arrival_times.parquet"))
        assert merged.columns == [
            "category",
            "model",
            "client_id",
            "window_index",
            "arrival_us",
            "gap_us",
        ]
        expected = con.sql(
            "select category, model, client_id, "
            "(arrival_us - $o) // $w as window_index, arrival_us, "
            "arrival_us - lag(arrival_us) over (partition by category, model, client_id, "
            "(arrival_us - $o) // $w order by arrival_us) as gap_us from requests "
            "order by category, model, client_id, window_index, arrival_us, gap_us nulls first",
            params={"o": params["origin_us"], "w": params["window_us"]},
        ).fetchall()
        assert merged.fetchall() == expected
        assert len(expected) == con.sql("select count(*) from requests").fetchall()[0][0]


@settings(derandomize=True, max_examples=25, deadline=None)
@given(gaps=st.lists(st.integers(0, 30), min_size=1, max_size=80))
def test_percentiles_from_value_counts_equal_quantile_disc(gaps: list[int]) -> None:
    """time_quality's p05 and median from the gap value -> count table are DuckDB's
    quantile_disc over the positive gaps (the rank rule in sql/aggregate/time_quality.sql)."""
    arrivals = np.cumsum([1_000_000_000, *gaps]).tolist()
    con = duckdb.connect()
    try:
        con.sql(
            "select unnest($a::bigint[]) as arrival_us, 'm' as model", params={"a": arrivals}
        ).to_table("requests_table")
        con.table("requests_table").create_view("requests")
        span = summaries.request_span(con)
        params = aggregate.summary_params(AggregateOptions(), 0, span)
        with tempfile.TemporaryDirectory() as tmp:
            selected = [summaries.Topic("model_gaps")]
            summaries.summarise(
                con,
                [summaries.PartRange(span.first_us, span.last_us + 1)],
                params,
                Path(tmp),
                selected,
            )
            summaries.open_merged(con, Path(tmp), selected)
            derived = sqlrun.query(con, "aggregate/time_quality", {"origin_us": 0}).fetchall()
    finally:
        con.close()
    (row,) = derived
    positive = [g for g in gaps if g > 0]
    direct = duckdb.sql(
        "select quantile_disc(g, 0.05), quantile_disc(g, 0.5) from unnest($g::bigint[]) as t(g)",
        params={"g": positive},
    ).fetchall()[0]
    assert (row[5], row[6]) == direct
    assert row[4] == gaps.count(0) and row[3] == len(gaps)


def test_parts_that_miss_requests_are_refused(
    ingested: Path, span: summaries.RequestSpan, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    shutil.copytree(ingested, out)
    first_day_only = [summaries.PartRange(span.first_us, MIDNIGHT_US)]
    with pytest.raises(InputError, match=r"parts summarised hold .* of the"):
        aggregate.run(RunDir(out), AggregateOptions(), ENGINE, parts=first_day_only)
    assert not (out / "aggregate" / "trace_windows.parquet").exists()  # nothing published


def test_a_part_query_using_an_unknown_parameter_names_its_topic() -> None:
    with pytest.raises(QueryError, match=r"topic 'time_grid'.*anchor_first_us"):
        summaries.bound_params("summaries/part/time_grid", {"tick_candidates_us": []}, "time_grid")


def test_every_part_query_reads_only_the_part_requests() -> None:
    # what lets a part's queries run side by side on cursors: a cursor sees the connection's
    # views (part_requests) but none of its temporary tables
    for topic in summaries.topics():
        text, _declared = sqlrun.load_sql(topic.part_query)
        header = re.search(r"^--\s*inputs:\s*(.*)$", text, re.MULTILINE)
        assert header and header[1].strip() == "part_requests", topic.name
