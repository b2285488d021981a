"""Aggregate: requests -> per client-window arrival statistics and per dataset-window distributions.

Each UTC day of the request table is summarised (pipeline/summaries.py), the parts
merged exactly into `aggregate/summaries/`, and today's artefacts (trace windows,
inter-arrival times, distributions, time quality) derived from the merged summaries alone.
All of the per-request work runs in DuckDB (out of core); Python only sees per-window rows and,
in the fit stage, the inter-arrival times streamed window by window.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pipeline import sqlrun, summaries
from pipeline.artefacts import (
    DISTRIBUTIONS,
    INTERARRIVALS,
    META,
    SUMMARIES,
    TICK_DISPERSION,
    TIME_QUALITY,
    TRACE_WINDOWS,
)
from pipeline.config import AggregateOptions
from pipeline.errors import ConfigError, InputError
from pipeline.rundir import RunDir, stage, write_json
from pipeline.stages.ingest import IDENTITY, connect, open_requests
from pipeline.timequality import TOPICS as TIME_QUALITY_TOPICS
from pipeline.timequality import time_quality

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    import duckdb

    from pipeline.config import EngineOptions

MIN_TICKS = 10  # fewer ticks give no usable variance of counts per tick
US_PER_DAY = 86_400_000_000


@dataclass(frozen=True, slots=True)
class AggregateResult:
    """Paths written by the aggregate stage and the time origin used."""

    trace_windows: Path
    interarrivals: Path
    distributions: Path
    meta: Path
    origin_us: int
    time_quality: Path
    summaries: Path  # the merged summaries and their parts (docs/summaries.md)


def parse_origin(text: str) -> int:
    """`--origin` as epoch microseconds: ISO-8601 (naive = UTC) or epoch seconds."""
    try:
        return round(float(text) * 1_000_000)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"--origin {text!r} is neither epoch seconds nor ISO-8601",
            hint="For example --origin 2024-05-01T00:00:00Z or --origin 1714521600.",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1_000_000)


def summary_params(
    options: AggregateOptions, origin_us: int, span: summaries.RequestSpan
) -> dict[str, Any]:
    """The parameters (anchors included) every part of this run is summarised with."""
    return summaries.summary_params(
        origin_us=origin_us,
        window_s=options.window_s,
        dataset_window_s=options.dataset_window_s,
        ratio_points=options.reason_ratio_points,
        model_first_us=span.model_first_us,
    )


def requests_time_quality(
    con: duckdb.DuckDBPyConnection, directory: Path, origin_us: int, identity: str
) -> dict[str, Any]:
    """time_quality.json of the `requests` view summarised as one part into `directory` (for
    `inspect`, which has no run directory)."""
    span = summaries.request_span(con)
    selected = [t for t in summaries.topics() if t.name in TIME_QUALITY_TOPICS]
    whole = summaries.PartRange(span.first_us, span.last_us + 1)
    params = summary_params(AggregateOptions(), origin_us, span)
    summaries.summarise(con, [whole], params, directory, selected)
    summaries.open_merged(con, directory, selected)
    return time_quality(con, origin_us, identity)


def default_origin(first_arrival_us: int) -> int:
    """The UTC midnight at or before the first arrival, so windows read as time of day."""
    return (first_arrival_us // US_PER_DAY) * US_PER_DAY


@stage("aggregate")
def run(
    run_dir: RunDir,
    options: AggregateOptions,
    engine: EngineOptions,
    parts: Sequence[summaries.PartRange] | None = None,
    stored_parts: Mapping[str, Path] | None = None,
) -> AggregateResult:
    """Compute trace windows, inter-arrival times and length distributions.

    `parts` are the disjoint time ranges summarised one by one (default: one per UTC day);
    the outputs are the same for any split that covers every request. `stored_parts` maps a
    part's label to earlier summaries of exactly its requests (a refresh store's day), reused
    where their parameters and anchors allow (`summaries.reuse_part`).
    """
    started = time.perf_counter()
    con = connect(run_dir, engine)
    try:
        open_requests(con, run_dir)
        # --engine spark: the span and the per-day summaries on Spark, the merge here
        on_spark = None
        if engine.engine == "spark":
            from pipeline.spark.summaries import SparkSummaries

            on_spark = SparkSummaries(run_dir, engine)
        span = on_spark.span() if on_spark else summaries.request_span(con)
        first_us, last_us, n_requests = span.first_us, span.last_us, span.n_requests
        if not n_requests:
            raise InputError(f"{run_dir.root} holds no accepted requests", hint="Re-run ingest.")
        origin_us = parse_origin(options.origin) if options.origin else default_origin(first_us)
        if origin_us > first_us:
            raise ConfigError(
                f"--origin {options.origin} is after the first request ({_iso(first_us)})",
                hint=f"Use an origin at or before {_iso(first_us)}, or leave --origin out.",
            )
        span_days = (last_us - origin_us) / US_PER_DAY
        if span_days > options.max_span_days:
            raise InputError(
                f"the log spans {span_days:,.1f} days from the origin {_iso(origin_us)} to the "
                f"last request {_iso(last_us)}, more than --max-span-days "
                f"{options.max_span_days:g}",
                hint="A few stray timestamps (or a wrong --time-unit) usually cause this; check "
                "the first and last rows, or raise --max-span-days.",
            )

        # one read of each UTC day's requests; everything below reads the merged summaries
        summaries_dir = run_dir.output(SUMMARIES)
        shutil.rmtree(summaries_dir, ignore_errors=True)
        summaries_dir.mkdir(parents=True)
        merged = (on_spark.summarise if on_spark else summaries.summarise)(
            con,
            summaries.day_parts(span.days) if parts is None else parts,
            summary_params(options, origin_us, span),
            summaries_dir,
            stored=stored_parts,
        )
        if merged.n_requests != n_requests:
            raise InputError(
                f"the parts summarised hold {merged.n_requests:,} of the {n_requests:,} "
                "accepted requests",
                hint="Give parts that cover the whole log, from its first to its last arrival.",
            )
        summaries.open_merged(con, summaries_dir)

        window_us = options.window_s * 1_000_000
        sqlrun.query(con, "aggregate/merged_clients").to_table("clients")
        sqlrun.query(con, "aggregate/trace_windows", {"window_us": window_us}).to_table(
            "trace_windows"
        )
        paths = {
            name: run_dir.output(name) for name in (TRACE_WINDOWS, INTERARRIVALS, DISTRIBUTIONS)
        }
        con.table("trace_windows").write_parquet(str(paths[TRACE_WINDOWS]))
        # through a table, whose statistics tell the Parquet writer iat_s holds no NULL
        summaries.write_exact(
            con, sqlrun.query(con, "aggregate/interarrivals"), paths[INTERARRIVALS]
        )
        sqlrun.query(
            con, "aggregate/distributions", {"ratio_points": options.reason_ratio_points}
        ).write_parquet(str(paths[DISTRIBUTIONS]))
        identity_path = run_dir.path(IDENTITY)
        identity = (
            run_dir.read_json(IDENTITY, "ingest")["identity"]
            if identity_path.exists()
            else "client_id"  # a run directory ingested before identity.json existed
        )
        quality = time_quality(con, origin_us, identity)
        quantized = sorted(m for m, f in quality["models"].items() if f["is_quantized"])
        sqlrun.query(
            con,
            "aggregate/tick_dispersion",
            {
                "origin_us": origin_us,
                "models": quantized,
                "ticks_us": [
                    round(quality["models"][m]["timestamp_resolution_s"] * 1e6) for m in quantized
                ],
                "min_ticks": MIN_TICKS,
            },
        ).write_parquet(str(run_dir.output(TICK_DISPERSION)))
    finally:
        con.close()

    meta = {
        "origin_us": origin_us,
        "origin": _iso(origin_us),
        "first_arrival": _iso(first_us),
        "last_arrival": _iso(last_us),
        "n_requests": n_requests,
        "window_s": options.window_s,
        "dataset_window_s": options.dataset_window_s,
        "reason_ratio_points": options.reason_ratio_points,
    }
    write_json(run_dir.output(META), meta)
    write_json(run_dir.output(TIME_QUALITY), quality)
    paths = {name: run_dir.path(name) for name in paths}
    meta_path, quality_path = run_dir.path(META), run_dir.path(TIME_QUALITY)
    run_dir.update_manifest(
        "aggregate",
        {
            "options": options.model_dump(),
            "engine": engine.model_dump(),
            **({"spark": on_spark.task_record()} if on_spark else {}),
            "origin": meta["origin"],
            "outputs": [str(p) for p in paths.values()]
            + [str(meta_path), str(quality_path), str(run_dir.path(SUMMARIES))],
            "reused_parts": {label: list(t) for label, t in sorted(merged.reused.items())},
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
    return AggregateResult(
        paths[TRACE_WINDOWS],
        paths[INTERARRIVALS],
        paths[DISTRIBUTIONS],
        meta_path,
        origin_us,
        quality_path,
        run_dir.path(SUMMARIES),
    )


def _iso(epoch_us: int) -> str:
    return datetime.fromtimestamp(epoch_us / 1_000_000, tz=UTC).isoformat().replace("+00:00", "Z")
