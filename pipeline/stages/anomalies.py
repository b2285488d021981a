"""Anomalies: the merged per-minute summaries -> `anomalies.json` (docs/anomalies.md).

Per model and per top client, seven series (requests and tokens per minute, the shares of
5xx and 429 answers, TTFT p50 and p99, end-to-end p99; each only where the log has the field)
are binned (`--bin-minutes`), scored by `fitting.anomalies.detect`, and their events written
with the clients that account for each model-level event. DuckDB reads the merged per-minute
counts (`minute_counts`) and latency histograms (`minute_latency`) the aggregate stage wrote;
Python gets one row per (series, bin).
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline import sqlrun, summaries
from pipeline.artefacts import ANOMALIES, ANOMALIES_FORMAT, META, SUMMARIES
from pipeline.errors import ConfigError
from pipeline.naming import check_anonymization, pseudonym
from pipeline.rundir import RunDir, json_ready, stage, write_json
from pipeline.stages.aggregate import parse_origin
from pipeline.stages.ingest import connect

if TYPE_CHECKING:
    from pathlib import Path

    import duckdb

    from fitting.anomalies import DetectorSettings, Scale, SeriesAnomalies, SeriesJob
    from pipeline.config import AnomaliesOptions, EngineOptions

US_PER_MINUTE = 60_000_000
SIGNIFICANT_DIGITS = 6
SHIFT_HOURS = 6  # the shortest level shift, and the running median's window
MIN_HISTORY_HOURS = 4  # bins with a value a series needs before its scored part
# --since needs a whole daily cycle before it: with less, the baseline cannot know the time of
# day, and an evening's normal decline scores as a dip (the one-day sample gave 11 such events)
SINCE_HISTORY_HOURS = 24
SHARE_OF_CHANGE_CLIENTS = 3
# A p99 over a bin's few dozen requests is its slowest one or two: a heavy right tail of
# noise that Gaussian-calibrated fences would flag every few hours. Its fences are wider.
TAIL_FENCE_EXTRA_K = 1.5
MINUTE_SUMMARIES = ("minute_counts", "minute_latency")  # the summary topics scored here


@dataclass(frozen=True, slots=True)
class Metric:
    """A series the detector scores: its name in anomalies.json, how it varies, its columns."""

    name: str
    scale: Scale
    value: str  # the bin_series column (a count per bin, a numerator, or a percentile)
    denominator: str  # the column that says how many requests stand behind a bin's value
    present: str  # the column whose total is 0 when the log lacks the metric's field
    percentile: float = 0.0  # latency metrics: the quantile (requests slower count as excess)
    min_event_bins: int = 1  # a tail percentile's single bin is often one slow request


METRICS = (
    Metric("requests_per_minute", "count", "n_requests", "n_requests", "n_requests"),
    Metric("tokens_per_minute", "count", "n_tokens", "n_success", "n_tokens"),
    Metric("share_5xx", "share", "n_5xx", "n_with_status", "n_with_status"),
    Metric("share_429", "share", "n_429", "n_with_status", "n_with_status"),
    Metric("ttft_p50_ms", "latency", "ttft_p50_ms", "n_ttft", "n_ttft", 0.5),
    Metric("ttft_p99_ms", "latency", "ttft_p99_ms", "n_ttft", "n_ttft", 0.99, 2),
    Metric("e2e_p99_ms", "latency", "e2e_p99_ms", "n_e2e", "n_e2e", 0.99, 2),
)
PER_MINUTE = {"requests_per_minute", "tokens_per_minute"}


@dataclass(frozen=True, slots=True)
class AnomaliesResult:
    """Where anomalies.json went, how many series were scored and how many events found."""

    path: Path
    n_series: int
    n_events: int
    seconds: float


@stage("anomalies")
def run(run_dir: RunDir, options: AnomaliesOptions, engine: EngineOptions) -> AnomaliesResult:
    """Score every series of docs/anomalies.md and write `anomalies.json`."""
    started = time.perf_counter()
    meta = run_dir.read_json(META, "aggregate", ("origin_us", "first_arrival", "last_arrival"))
    origin_us = int(meta["origin_us"])
    bins = bin_range(options, origin_us, meta["first_arrival"], meta["last_arrival"])
    check_anonymization(run_dir, options.anonymize, "anomalies")
    con = connect(run_dir, engine)
    try:
        open_minute_summaries(con, run_dir)
        document = detect_anomalies(con, options, bins, engine.threads)
    finally:
        con.close()
    write_json(run_dir.output(ANOMALIES), json_ready(document, SIGNIFICANT_DIGITS))
    path = run_dir.path(ANOMALIES)
    seconds = time.perf_counter() - started
    n_series = sum(1 for s in document["series"]["analysed"] if s["status"] == "ok")
    run_dir.update_manifest(
        "anomalies",
        {
            "options": {**options.model_dump(), "salt": "***" if options.salt else None},
            "engine": engine.model_dump(),
            "outputs": [str(path)],
            "seconds": round(seconds, 3),
        },
    )
    return AnomaliesResult(path, n_series, len(document["events"]), seconds)


# --- the per-minute summaries --------------------------------------------------------------------


def open_minute_summaries(con: duckdb.DuckDBPyConnection, run_dir: RunDir) -> None:
    """Views `summary_minute_counts` and `summary_minute_latency` over the merged per-minute
    summaries the aggregate stage wrote (docs/summaries.md): never the request table."""
    directory = run_dir.require(SUMMARIES, "aggregate")
    summaries.open_merged(con, directory, [summaries.Topic(name) for name in MINUTE_SUMMARIES])


# --- detection over every series -----------------------------------------------------------------


def settings_for(options: AnomaliesOptions) -> DetectorSettings:
    """The detector's settings in bins of `options.bin_minutes`."""
    from fitting.anomalies import DetectorSettings

    per_hour = 60 // options.bin_minutes
    return DetectorSettings(
        bins_per_hour=per_hour,
        fence_k=options.fence_k,
        min_relative_change=options.min_relative_change,
        min_share_change=options.min_share_change,
        rolling_window_bins=max(3, SHIFT_HOURS * per_hour) | 1,
        min_shift_bins=max(4, SHIFT_HOURS * per_hour),
        min_valid_bins=max(4, MIN_HISTORY_HOURS * per_hour),
    )


@dataclass(frozen=True, slots=True)
class Bins:
    """The whole bins of the log (the first and the last bin are partly outside it) and the
    first one scored."""

    origin_us: int
    bin_us: int
    first: int  # bin index from the origin of the first whole bin
    n: int
    score_from: int  # position (from `first`) of the first bin scored


def bin_range(
    options: AnomaliesOptions, origin_us: int, first_arrival: str, last_arrival: str
) -> Bins:
    """The bins to score, from the log's first and last arrival; `--since` checked here,
    before any scan."""
    bin_us = options.bin_minutes * US_PER_MINUTE
    first = (parse_origin(first_arrival) - origin_us) // bin_us + 1
    n = max(0, (parse_origin(last_arrival) - origin_us) // bin_us - first)
    # A log shorter than the history a baseline needs is scored as "insufficient_data".
    return Bins(origin_us, bin_us, first, n, _score_from(options, origin_us, bin_us, first, n))


def detect_anomalies(
    con: duckdb.DuckDBPyConnection,
    options: AnomaliesOptions,
    bins: Bins,
    threads: int | None = None,
) -> dict[str, Any]:
    """The anomalies.json document from the views of `open_minute_summaries`.

    `threads` (`--threads`): at most this many processes decompose the series at once.
    """
    from fitting.anomalies import SeriesJob, has_weekly_baseline

    sqlrun.query(con, "anomalies/top_clients", {"top_clients": options.top_clients}).to_table(
        "top_clients"
    )
    table = sqlrun.query(
        con, "anomalies/bin_series", {"bin_minutes": options.bin_minutes}
    ).fetchnumpy()
    origin_us, bin_us, first_bin, n_bins = bins.origin_us, bins.bin_us, bins.first, bins.n
    score_from = bins.score_from
    settings = settings_for(options)
    tail_settings = dataclasses.replace(settings, fence_k=settings.fence_k + TAIL_FENCE_EXTRA_K)
    series: list[tuple[str, str | None, Metric]] = []
    jobs: list[SeriesJob] = []
    available: set[str] = set()
    for (model, client), rows in _series_groups(table):
        name = client if client is None else _client_name(client, options)
        if client is None:  # a model's clients have the fields the model has
            available = _available_metrics(rows)
        for metric in METRICS:
            if metric.name not in available:
                continue
            values, weights = _dense(rows, metric, first_bin, n_bins, options.min_requests)
            series.append((model, name, metric))
            jobs.append(
                SeriesJob(
                    values,
                    metric.scale,
                    tail_settings if metric.percentile > 0.5 else settings,
                    weights,
                    score_from,
                    metric.min_event_bins,
                )
            )
    weekly = has_weekly_baseline(n_bins, score_from, settings)
    results = detect_series(jobs, processes=_processes(threads) if weekly else 1)
    events: list[dict[str, Any]] = []
    analysed: list[dict[str, Any]] = []
    timelines: list[dict[str, Any]] = []
    for (model, name, metric), job, result in zip(series, jobs, results, strict=True):
        analysed.append(_analysed(model, name, metric, result))
        for event in result.events:
            events.append(
                _event(con, options, model, name, metric, event, first_bin, bin_us, origin_us)
            )
        if name is None and metric.name == "requests_per_minute":
            timelines.append(_timeline(model, job.values, result, first_bin, bin_us, origin_us))
    events.sort(key=lambda e: (e["model"], e["client"] or "", e["start"], e["metric"], e["kind"]))
    return {
        "format": ANOMALIES_FORMAT,
        "events": events,
        "series": {
            "bin_minutes": options.bin_minutes,
            "start": _iso(origin_us + first_bin * bin_us),
            "end": _iso(origin_us + (first_bin + n_bins) * bin_us),
            "scored_from": _iso(origin_us + (first_bin + score_from) * bin_us),
            "min_requests": options.min_requests,
            "fence_k": options.fence_k,
            "analysed": analysed,
            "timelines": timelines,
        },
    }


def _processes(threads: int | None) -> int:
    """Worker processes for the weekly decompositions: `--threads`, else every core."""
    cores = os.cpu_count() or 1
    return max(1, min(threads or cores, cores))


def detect_series(jobs: list[SeriesJob], processes: int = 1) -> list[SeriesAnomalies]:
    """`detect` on every job, in the jobs' order; in `processes` worker processes when more
    than one.

    Two weeks or more of a series are decomposed with statsmodels' MSTL, about 0.8 s a series
    at 20 days (132 series of the 100M-row log: 105 s), and it holds the GIL: threads gave
    nothing, processes use the other cores. Each series is detected on its own, so the
    results are the same in any process. Workers are spawned, not forked (the parent holds
    DuckDB's threads), so each imports numpy and statsmodels first: worth it only for the
    weekly decompositions, whose callers ask for processes.
    """
    from fitting.anomalies import detect_job

    if processes < 2 or len(jobs) < 2:
        return [detect_job(job) for job in jobs]
    workers = min(processes, len(jobs))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(detect_job, jobs))


def _series_groups(
    table: dict[str, np.ndarray],
) -> list[tuple[tuple[str, str | None], dict[str, np.ndarray]]]:
    """The rows of each (model, client) series; the model's aggregate (client None) first."""
    models = table["model"]
    clients = np.asarray([c if isinstance(c, str) else "" for c in table["client_id"]])
    is_model = np.asarray([not isinstance(c, str) for c in table["client_id"]])
    groups = []
    for model in sorted(set(models.tolist())):
        of_model = models == model
        keys = [(model, None)] + [
            (model, c) for c in sorted(set(clients[of_model & ~is_model].tolist()))
        ]
        for key in keys:
            mask = of_model & (is_model if key[1] is None else (~is_model & (clients == key[1])))
            groups.append((key, {name: column[mask] for name, column in table.items()}))
    return groups


def _available_metrics(rows: dict[str, np.ndarray]) -> set[str]:
    """The metrics the log has a field for (a model with no status has no error shares)."""
    return {m.name for m in METRICS if np.nansum(rows[m.present].astype(np.float64)) > 0}


def _dense(
    rows: dict[str, np.ndarray], metric: Metric, first_bin: int, n_bins: int, min_requests: int
) -> tuple[np.ndarray, np.ndarray]:
    """(values, requests behind them) per bin; nan where too few requests stand behind it."""
    index = rows["bin_index"].astype(np.int64) - first_bin
    inside = (index >= 0) & (index < n_bins)
    index = index[inside]
    weights = np.zeros(n_bins)
    weights[index] = rows[metric.denominator][inside].astype(np.float64)
    raw = np.asarray(rows[metric.value][inside], dtype=np.float64)
    if metric.scale == "count":
        values = np.zeros(n_bins)
        values[index] = np.nan_to_num(raw)
        return values, weights
    values = np.full(n_bins, np.nan)
    if metric.scale == "share":
        values[index] = raw / np.maximum(weights[index], 1.0)
    else:
        values[index] = raw
    values[weights < min_requests] = np.nan
    return values, weights


def _score_from(
    options: AnomaliesOptions, origin_us: int, bin_us: int, first_bin: int, n_bins: int
) -> int:
    """The first bin `--since` scores (0 without it), after checking it leaves a history."""
    if options.since is None:
        return 0
    try:
        since_us = parse_origin(options.since)
    except ConfigError:
        raise ConfigError(
            f"--since {options.since!r} is neither epoch seconds nor ISO-8601",
            hint="For example --since 2025-03-05T00:00:00Z.",
        ) from None
    start_us = origin_us + first_bin * bin_us
    end_us = start_us + n_bins * bin_us
    since_bin = -(-(since_us - origin_us) // bin_us) - first_bin  # the first whole bin after it
    if since_bin >= n_bins:
        raise ConfigError(
            f"--since {options.since} is not before the log's last whole bin ({_iso(end_us)})",
            hint="Give an instant inside the log.",
        )
    history_bins = max(
        settings_for(options).min_valid_bins, SINCE_HISTORY_HOURS * 3600 * 10**6 // bin_us
    )
    if since_bin < history_bins:
        raise ConfigError(
            f"--since {options.since} leaves too little history before it: the baseline needs "
            f"a whole day ({SINCE_HISTORY_HOURS} h) of the log before it, so that the time of "
            f"day is not scored as a spike or dip (the log starts at {_iso(start_us)})",
            hint="Give a later instant, or leave --since out to score the whole log.",
        )
    return int(since_bin)


def _analysed(
    model: str, client: str | None, metric: Metric, result: SeriesAnomalies
) -> dict[str, Any]:
    return {
        "model": model,
        "client": client,
        "metric": metric.name,
        "method": result.method,
        "status": result.status,
        "n_bins": result.n_bins,
        "n_valid": result.n_valid,
        "n_scored": result.n_scored,
        "n_events": len(result.events),
        "message": result.message,
    }


def _in_unit(value: float, metric: Metric, bin_minutes: int) -> float:
    return value / bin_minutes if metric.name in PER_MINUTE else value


def _event(
    con: duckdb.DuckDBPyConnection,
    options: AnomaliesOptions,
    model: str,
    client: str | None,
    metric: Metric,
    event: Any,
    first_bin: int,
    bin_us: int,
    origin_us: int,
) -> dict[str, Any]:
    start_bin, end_bin = first_bin + event.start, first_bin + event.end
    shares = None
    if client is None:
        shares = _share_of_change(con, options, model, metric, event, start_bin, end_bin)
    return {
        "model": model,
        "client": client,
        "metric": metric.name,
        "kind": event.kind,
        "start": _iso(origin_us + start_bin * bin_us),
        "end": _iso(origin_us + end_bin * bin_us),
        "observed": _in_unit(event.observed, metric, options.bin_minutes),
        "expected": _in_unit(event.expected, metric, options.bin_minutes),
        "score": event.score,
        "share_of_change": shares,
    }


def _share_of_change(
    con: duckdb.DuckDBPyConnection,
    options: AnomaliesOptions,
    model: str,
    metric: Metric,
    event: Any,
    start_bin: int,
    end_bin: int,
) -> list[dict[str, Any]]:
    """The clients that account for a model-level event: each client's excess over what it
    usually contributes, as a share of the excess of all clients that moved the same way.

    Rates and tokens: what the client sent minus its share of the whole log times the model's
    expected total. Error shares: its 5xx (429) answers minus the model's expected share of its
    requests. Latency: its requests slower than the expected percentile minus the share that
    is slower in normal times (half for a p50, 1 % for a p99).
    """
    expected = float(event.expected)
    params = {
        "model": model,
        "bin_minutes": options.bin_minutes,
        "start_bin": start_bin,
        "end_bin": end_bin,
        "ttft_ms": expected if metric.value.startswith("ttft") else math.inf,
        "e2e_ms": expected if metric.value.startswith("e2e") else math.inf,
    }
    rows = sqlrun.query(con, "anomalies/client_change", params).fetchall()
    n_bins = end_bin - start_bin
    total = sum(r[5] for r in rows) or 1
    total_tokens = sum(r[6] for r in rows) or 1
    excess: dict[str, float] = {}
    for (
        client_id,
        n_inside,
        tokens_inside,
        n_429,
        n_5xx,
        n_total,
        tokens_total,
        n_ttft,
        n_ttft_slow,
        n_e2e,
        n_e2e_slow,
    ) in rows:
        if metric.name == "requests_per_minute":
            value = n_inside - n_total / total * expected * n_bins
        elif metric.name == "tokens_per_minute":
            value = tokens_inside - tokens_total / total_tokens * expected * n_bins
        elif metric.name == "share_5xx":
            value = n_5xx - expected * n_inside
        elif metric.name == "share_429":
            value = n_429 - expected * n_inside
        elif metric.value.startswith("ttft"):
            value = n_ttft_slow - (1 - metric.percentile) * n_ttft
        else:
            value = n_e2e_slow - (1 - metric.percentile) * n_e2e
        excess[str(client_id)] = float(value)
    sign = 1.0 if event.observed >= event.expected else -1.0
    moved = {c: sign * v for c, v in excess.items() if sign * v > 0}
    whole = sum(moved.values())
    if whole <= 0:
        return []
    ranked = sorted(moved.items(), key=lambda cv: (-cv[1], cv[0]))[:SHARE_OF_CHANGE_CLIENTS]
    return [{"client": _client_name(c, options), "share": v / whole} for c, v in ranked]


def _timeline(
    model: str,
    values: np.ndarray,
    result: SeriesAnomalies,
    first_bin: int,
    bin_us: int,
    origin_us: int,
) -> dict[str, Any]:
    """The model's request rate and its baseline, for the report's timeline figure."""
    minutes = bin_us / US_PER_MINUTE
    return {
        "model": model,
        "start": _iso(origin_us + first_bin * bin_us),
        "offset_s": (first_bin * bin_us) / 1e6,
        "bin_s": bin_us / 1e6,
        "observed": (values / minutes).tolist(),
        "expected": (result.expected / minutes).tolist(),
    }


def _client_name(client_id: str, options: AnomaliesOptions) -> str:
    """The id anomalies.json shows: the export stage's pseudonym under --anonymize."""
    return pseudonym(client_id, options.salt or "") if options.anonymize else client_id


def _iso(epoch_us: int) -> str:
    return datetime.fromtimestamp(epoch_us / 1e6, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
