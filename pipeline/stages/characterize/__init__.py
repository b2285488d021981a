"""Characterize: a run directory's artefacts -> `stats.json`, the numbers behind the report.

The per-request work (counts per bin, sums, percentiles, ranks) runs in DuckDB over ingest's
artefacts; Python gets per-client and per-bin rows and small deterministic samples, and hands
them to the pure statistics in `fitting/`. The schema is documented in docs/stats.md.
Statistics that do not apply to a log are recorded as ``{"available": false, "reason": ...}``.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline import sqlrun, summaries
from pipeline.artefacts import (
    INTERARRIVALS,
    META,
    STATS,
    STATS_FORMAT,
    SUMMARIES,
    SUMMARY,
    TRACE_WINDOWS,
    WINDOW_FITS,
)
from pipeline.naming import check_anonymization
from pipeline.rundir import RunDir, json_ready, stage, write_json
from pipeline.stages.aggregate import US_PER_DAY
from pipeline.stages.characterize.burstiness import (
    FANO_SCALES_S,
    _burstiness,
    load_cv_cdfs,
    load_fano_sums,
)
from pipeline.stages.characterize.clients import (
    _detailed_client_keys,
    _model_section,
    _stability,
    _variance_concentration,
    load_category_summary,
    load_client_length_drift,
    load_client_summary,
    load_client_windows,
    load_correlation_sums,
    load_model_summary,
    load_rates,
)
from pipeline.stages.characterize.common import (
    HOUR_S,
    TOP_K,
    US_PER_S,
    Context,
)
from pipeline.stages.characterize.drift import _drift, load_drift
from pipeline.stages.characterize.interarrivals import (
    _interarrivals,
    load_fit_winners,
    load_iat_samples,
    load_window_vuong,
)
from pipeline.stages.characterize.latency import _latency, load_latency
from pipeline.stages.characterize.lengths import _lengths, load_length_samples
from pipeline.stages.characterize.multimodal import _multimodal, load_multimodal
from pipeline.stages.characterize.overview import _categories, _overview, coverage
from pipeline.stages.characterize.periodicity import _periodicity
from pipeline.stages.characterize.reasoning import _reasoning, load_reason_samples, load_reasoning
from pipeline.stages.characterize.sessions import _sessions, load_sessions
from pipeline.stages.characterize.status import _status, load_status
from pipeline.stages.characterize.values import load_value_tables, register_sample
from pipeline.stages.ingest import connect

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pipeline.config import CharacterizeOptions, EngineOptions
    from pipeline.stages.characterize.common import ModelInfo
    from pipeline.stages.characterize.document import ModelStats, StatsDocument


FORMAT = STATS_FORMAT
SECTIONS_AT_ONCE = 2
"""Models whose sections are computed at a time (threads): each model's statistics read only
what was loaded before, and numpy and scipy release the GIL in their heavy parts."""
SIGNIFICANT_DIGITS = 10  # floats in stats.json: enough for any figure, stable across platforms


@dataclass(frozen=True, slots=True)
class CharacterizeResult:
    """Where stats.json went, its size, and how long each section took."""

    stats: Path
    size_bytes: int
    seconds: dict[str, float]


@stage("characterize")
def run(run_dir: RunDir, options: CharacterizeOptions, engine: EngineOptions) -> CharacterizeResult:
    """Compute every statistic of docs/stats.md and write `stats.json`."""
    started = time.perf_counter()
    meta = run_dir.read_json(META, "aggregate")
    summary = run_dir.read_json(SUMMARY, "ingest")
    trace_windows = run_dir.require(TRACE_WINDOWS, "aggregate")
    interarrivals = run_dir.require(INTERARRIVALS, "aggregate")
    window_fits = run_dir.require(WINDOW_FITS, "fit")
    summaries_dir = run_dir.require(SUMMARIES, "aggregate")
    check_anonymization(run_dir, options.anonymize, "characterize")
    con = connect(run_dir, engine)
    try:
        summaries.open_merged(con, summaries_dir)  # views summary_<topic>
        sqlrun.query(con, "aggregate/merged_clients").to_table("clients")
        con.read_parquet(str(trace_windows)).create_view("trace_windows")
        con.read_parquet(str(interarrivals)).create_view("interarrivals")
        con.read_parquet(str(window_fits)).create_view("window_fits")
        context = Context(con, meta, options)

        timer = _Timer()
        with timer("clients"):
            models = context.load_clients()
            client_rows = load_client_summary(context)
            model_rows = load_model_summary(context)
        with timer("categories"):
            category_rows = load_category_summary(context)
        with timer("correlation"):
            correlations = load_correlation_sums(context)
        with timer("rate"):
            detailed = {
                info.model_key: _detailed_client_keys(info, client_rows, options) for info in models
            }
            context.register_detailed(detailed)
            rates = load_rates(context, models, model_rows, detailed)
            hourly = context.bin_counts(HOUR_S)
        with timer("samples"):
            register_sample(context)
            iat_samples = load_iat_samples(context)
            length_samples = load_length_samples(context)
            winners = load_fit_winners(context)
            vuong_windows = load_window_vuong(context)
        with timer("drift"):
            dataset_us = int(meta["dataset_window_s"]) * US_PER_S
            drift_windows = load_drift(context, dataset_us)
            drift_days = load_drift(context, US_PER_DAY)
        with timer("optional"):
            values = load_value_tables(context, "characterize/model_values")
            reasoning_rows = load_reasoning(values)
            reason_samples = load_reason_samples(context)
            multimodal_rows = load_multimodal(context, values)
            status_rows = load_status(context)
            latency_rows = load_latency(context, values)
            session_rows = load_sessions(context)
        with timer("fano"):
            fano = load_fano_sums(context)
        with timer("windows"):
            cv_cdfs = load_cv_cdfs(context)
            client_windows = load_client_windows(context)
            length_drift = load_client_length_drift(
                context, int(meta["dataset_window_s"]) * US_PER_S
            )

        def model_section(info: ModelInfo) -> ModelStats:
            model_row, rate = model_rows[info.model_key], rates[info.model_key]
            with timer("tables"):
                section = _model_section(info, model_row, client_rows, correlations, rate, options)
            with timer("burstiness"):
                section["burstiness"] = _burstiness(info, model_row, rate, fano, cv_cdfs)
            with timer("periodicity"):
                section["periodicity"] = _periodicity(
                    hourly.get(info.model_key, {}), model_row, meta["origin_us"]
                )
            with timer("interarrivals"):
                section["interarrivals"] = _interarrivals(
                    info, rate, iat_samples, winners, vuong_windows.get(info.model_key)
                )
            with timer("lengths"):
                section["lengths"] = _lengths(length_samples.get(info.model_key))
            with timer("drift"):
                section["drift"] = _drift(
                    drift_windows.get(info.model_key),
                    drift_days.get(info.model_key),
                    int(meta["dataset_window_s"]),
                )
            with timer("optional"):
                key = info.model_key
                section["reasoning"] = _reasoning(reasoning_rows.get(key), reason_samples.get(key))
                section["multimodal"] = _multimodal(
                    multimodal_rows.get(key), int(meta["dataset_window_s"])
                )
                section["status"] = _status(info, status_rows.get(key), rate)
                section["latency"] = _latency(latency_rows.get(key))
                section["sessions"] = _sessions(session_rows.get(key))
            with timer("stability"):
                section["stability"] = _stability(
                    info, rate, client_windows, length_drift, section["clients"]
                )
                section["variance_concentration"] = _variance_concentration(
                    section["stability"], section["clients"]
                )
            return section

        # in the models' order, whichever finishes first
        at_once = min(engine.threads or SECTIONS_AT_ONCE, SECTIONS_AT_ONCE)  # --threads
        with ThreadPoolExecutor(at_once, thread_name_prefix="characterize") as pool:
            model_sections: list[ModelStats] = list(pool.map(model_section, models))
        seconds = timer.seconds
        stats: StatsDocument = {
            "format": FORMAT,
            "options": {
                "top_clients": options.top_clients,
                "sample_cap": options.sample_cap,
                "seed": options.seed,
                "fano_scales_s": list(FANO_SCALES_S),
                "top_k": list(TOP_K),
            },
            "overview": _overview(meta, summary, models, model_rows, len(client_rows)),
            "categories": _categories(category_rows, models),
            "models": model_sections,
        }
    finally:
        con.close()

    staged = write_json(run_dir.output(STATS), json_ready(stats, SIGNIFICANT_DIGITS), compact=True)
    path, size = run_dir.path(STATS), staged.stat().st_size
    run_dir.update_manifest(
        "characterize",
        {
            "options": {**options.model_dump(), "salt": "***" if options.salt else None},
            "engine": engine.model_dump(),
            "outputs": [str(path)],
            "stats_bytes": size,
            "section_seconds": seconds,
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
    return CharacterizeResult(path, size, seconds)


class _Timer:
    """Seconds spent per section name, summed over models (for the manifest)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.lock = threading.Lock()  # sections of several models are timed at once

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            with self.lock:
                self.seconds[name] = round(self.seconds.get(name, 0.0) + elapsed, 3)


__all__ = ["FORMAT", "STATS", "CharacterizeResult", "coverage", "run"]
