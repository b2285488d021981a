"""The fidelity scorecard (`servechar validate`): generated workloads against the real log.

For every model, a per-client workload is generated from the exported profiles and a naive one
(Poisson arrivals at each window's aggregate rate, lengths from the model's pooled
distribution), both at the real log's aggregate rate per trace window; each is scored against
the original requests (read from ingest's artefacts through DuckDB: per-second counts and value
tables in SQL, per-request arrays of one model only for the queue simulation). The result is
`validation.json`; `reports.validation` turns it into the report's section.

With `train_until`, the profiles are refitted on the log before that time (the ingest artefacts
are filtered into `validate/train/`, and aggregate, fit and export run there with the run's own
options and origin), and the scores compare the generated workload with the log after it.
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fitting import scorecard
from fitting.capacity import (
    DEFAULT_TARGET_P99_S,
    required_throughput,
    under_provisioning_pct,
)
from fitting.generation import Workload, generate_clients, generate_naive, pooled_distributions
from fitting.workload import correlation
from pipeline import sqlrun
from pipeline.artefacts import META, REQUESTS, VALIDATION, VALIDATION_FORMAT, VALIDATION_TRAIN
from pipeline.config import AggregateOptions, EngineOptions, ExportOptions, FitOptions
from pipeline.errors import ConfigError, InputError
from pipeline.generate import ModelProfiles, check_seed, load_profiles
from pipeline.rundir import RunDir, json_ready, stage, write_json
from pipeline.runlock import locked

if TYPE_CHECKING:
    import duckdb
    from numpy.typing import NDArray

TRAIN_DIR = VALIDATION_TRAIN
TOP_CLIENTS = 5
SIG_DIGITS = 6  # numbers in validation.json: enough to compare, short enough to read
FANO_CURVE_SCALES_S = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
IAT_GRID_S = np.logspace(-3, 3, 61)  # 1 ms .. 1000 s
TOKEN_GRID = np.unique(np.round(np.logspace(0, 6, 61)))  # 1 .. 1e6 tokens
WORKLOADS = ("real", "generated", "naive")


@dataclass(frozen=True)
class ValidateOptions:
    seed: int = 0
    faithful: bool = False
    target_p99_s: float = DEFAULT_TARGET_P99_S
    train_until: str | None = None
    top_clients: int = TOP_CLIENTS


@dataclass(frozen=True)
class ValidateResult:
    path: Path
    models: list[dict[str, Any]]
    report: Path | None = None  # report.html, rebuilt with the fidelity section


def run(run_dir: RunDir, options: ValidateOptions, engine: EngineOptions) -> ValidateResult:
    """Score per-client and naive workloads against the real requests; write validation.json,
    then rebuild the report (when the run has one) with its fidelity section."""
    with locked(run_dir.root):
        result = _validate(run_dir, options, engine)
        if run_dir.is_current("characterize"):
            from pipeline.stages import report as report_stage

            result = replace(result, report=report_stage.run(run_dir).path)
    return result


@stage("validate")
def _validate(run_dir: RunDir, options: ValidateOptions, engine: EngineOptions) -> ValidateResult:
    from pipeline.stages.aggregate import parse_origin
    from pipeline.stages.ingest import connect, open_requests

    started = time.perf_counter()
    if not options.target_p99_s > 0:
        raise ConfigError(f"--target-p99 must be positive, got {options.target_p99_s}")
    if options.top_clients < 0:
        raise ConfigError(f"--top-clients must be 0 or more, got {options.top_clients}")
    check_seed(options.seed)
    meta = run_dir.read_json(META, "aggregate")
    origin_us, window_s = int(meta["origin_us"]), int(meta["window_s"])
    last_us = _epoch_us(meta["last_arrival"])
    profile_dir = run_dir
    train_end_s: int | None = None
    if options.train_until is not None:
        try:
            until_us = parse_origin(options.train_until)
        except ConfigError:
            raise ConfigError(
                f"--train-until {options.train_until!r} is neither epoch seconds nor ISO-8601",
                hint="For example --train-until 2025-03-03T12:00:00Z.",
            ) from None
        train_end_s = _train_end(until_us, origin_us, last_us, window_s, options.train_until)
        if until_us <= _epoch_us(meta["first_arrival"]):
            raise ConfigError(
                f"--train-until {options.train_until} is not after the first request "
                f"({meta['first_arrival']}): there is nothing to fit",
                hint="Split later, for example in the middle of the log.",
            )
        profile_dir = _fit_training_profiles(run_dir, origin_us, train_end_s, engine)
    models = load_profiles(profile_dir)
    if profile_dir is not run_dir and _was_anonymized(run_dir):
        models = [_chunk_names(model) for model in models]
    end_s = (last_us - origin_us) // 1_000_000 // window_s * window_s + window_s
    # From the first trace window with requests: hours of silence before a log starts would
    # swamp every per-second statistic (a day-long origin for a one-hour log).
    first_s = (_epoch_us(meta["first_arrival"]) - origin_us) // 1_000_000 // window_s * window_s
    score_start = train_end_s if train_end_s is not None else int(first_s)
    con = connect(run_dir, engine)
    try:
        open_requests(con, run_dir)
        _materialise_requests(con)
        rng = np.random.default_rng(options.seed)
        scored = [
            _score_model(con, profiles, options, rng, origin_us, window_s, score_start, end_s)
            for profiles in models
        ]
        results = [model for model in scored if model is not None]  # None: no requests
        if not results:
            raise InputError(
                f"{run_dir.root}: no model has requests in the scored period",
                hint="Move --train-until earlier.",
            )
    finally:
        con.close()
    document = {
        "format": VALIDATION_FORMAT,
        "options": {
            "seed": options.seed,
            "faithful": options.faithful,
            "target_p99_s": options.target_p99_s,
            "train_until": options.train_until,
            "top_clients": options.top_clients,
        },
        "window_s": window_s,
        "scored_from_s": score_start,
        "scored_until_s": end_s,
        "models": results,
    }
    write_json(run_dir.output(VALIDATION), clean_json(document))
    path = run_dir.path(VALIDATION)
    run_dir.update_manifest(
        "validate",
        {
            "options": document["options"],
            "outputs": [str(path)],
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
    return ValidateResult(path, results)


def _epoch_us(iso: str) -> int:
    """Epoch microseconds of aggregate's ISO-8601 text, exactly (no float seconds)."""
    from datetime import UTC, datetime, timedelta

    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _train_end(until_us: int, origin_us: int, last_us: int, window_s: int, text: str) -> int:
    """The held-out split in seconds from the origin, on a trace-window boundary."""
    end_s = (until_us - origin_us) // 1_000_000
    if end_s % window_s or end_s <= 0 or until_us > last_us:
        raise ConfigError(
            f"--train-until {text} must fall on a trace-window boundary (every {window_s} s "
            "from the origin) after the first window and before the last request",
            hint="For example the origin plus a whole number of hours.",
        )
    return int(end_s)


def _was_anonymized(run_dir: RunDir) -> bool:
    manifest = run_dir.read_json("manifest.json", "export")
    return bool(manifest.get("stages", {}).get("export", {}).get("options", {}).get("anonymize"))


def _chunk_names(model: ModelProfiles) -> ModelProfiles:
    """Training profiles of an anonymised run are named by chunk (the salt is not stored)."""
    clients = tuple(
        replace(client, name=f"chunk-{chunk}") for chunk, client in enumerate(model.clients)
    )
    return replace(model, clients=clients)


def _fit_training_profiles(
    run_dir: RunDir, origin_us: int, train_end_s: int, engine: EngineOptions
) -> RunDir:
    """Aggregate, fit and export the requests before the split into `validate/train/`."""
    from pipeline.stages import aggregate, export, fit
    from pipeline.stages.ingest import connect, request_days, write_request_day

    manifest = run_dir.read_json("manifest.json", "ingest")
    stages = manifest.get("stages", {})
    train = RunDir(run_dir.path(TRAIN_DIR))
    shutil.rmtree(train.root, ignore_errors=True)
    until_us = origin_us + train_end_s * 1_000_000
    train.path(REQUESTS).mkdir(parents=True)
    con = connect(run_dir, engine)
    try:
        for _, path in request_days(run_dir):
            con.read_parquet(str(path), hive_partitioning=False).create_view(
                "day_requests", replace=True
            )
            rows = sqlrun.query(con, "validate/requests_before", {"until_us": until_us})
            if rows.limit(1).fetchall():
                kept = train.path(str(path.relative_to(run_dir.root)))
                kept.parent.mkdir(parents=True)
                write_request_day(rows, kept)
    finally:
        con.close()
    train.record_stage(
        "ingest",
        {"ingest": run_dir.fingerprint("ingest"), "train_end_s": train_end_s},
        [REQUESTS],
    )
    aggregate_options = dict(stages.get("aggregate", {}).get("options", {}))
    aggregate_options["origin"] = str(origin_us / 1_000_000)
    aggregate.run(train, AggregateOptions(**aggregate_options), engine)
    fit.run(train, FitOptions(**stages.get("fit", {}).get("options", {})), threads=engine.threads)
    export.run(train, ExportOptions())
    return train


def _score_model(
    con: duckdb.DuckDBPyConnection,
    profiles: ModelProfiles,
    options: ValidateOptions,
    rng: np.random.Generator,
    origin_us: int,
    window_s: int,
    start_s: int,
    end_s: int,
) -> dict[str, Any] | None:
    span = {
        "category": profiles.category,
        "model": profiles.model,
        "origin_us": origin_us,
        "start_s": start_s,
        "end_s": end_s,
    }
    n_seconds = end_s - start_s
    real_counts, real_tokens = _real_per_second(con, span, None, n_seconds)
    real = _model_requests(con, span)
    if real["arrival_s"].size == 0:
        return None
    window_starts = np.arange(start_s, end_s, window_s, dtype=np.int64)
    window_counts = real_counts.reshape(-1, window_s).sum(axis=1)
    rates = window_counts / window_s
    sources = _profile_windows(profiles.timestamps, window_starts)
    generated = generate_clients(
        profiles.clients,
        profiles.category,
        window_s=window_s,
        window_starts=window_starts.tolist(),
        target_rates=rates.tolist(),
        end_s=end_s,
        rng=rng,
        faithful=options.faithful,
        profile_windows=sources.tolist(),
    )
    naive = generate_naive(
        pooled_distributions(profiles.clients, window_s),
        profiles.category,
        window_s=window_s,
        window_starts=window_starts.tolist(),
        target_rates=rates.tolist(),
        end_s=end_s,
        rng=rng,
    )
    shifted = {"generated": _shift(generated, start_s), "naive": _shift(naive, start_s)}

    arrivals: dict[str, Any] = {
        "real": scorecard.arrival_scores(
            real_counts, real_tokens, scorecard.interarrival_cv(real["arrival_s"])
        )
    }
    per_window: dict[str, float] = {}
    series: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]] = {
        "real": (real_counts, real_tokens)
    }
    for name, workload in shifted.items():
        counts = scorecard.per_second(workload.time_s, n_seconds)
        tokens = scorecard.per_second(workload.time_s, n_seconds, _tokens(workload))
        series[name] = (counts, tokens)
        arrivals[name] = scorecard.arrival_scores(
            counts, tokens, scorecard.interarrival_cv(workload.time_s)
        )
        per_window[name] = scorecard.window_rate_error(
            window_counts, counts.reshape(-1, window_s).sum(axis=1)
        )

    real_fields = _real_fields(con, span)
    fields = _field_scores(real_fields, shifted)
    capacity = {
        "real": required_throughput(
            real["arrival_s"], real["tokens"], target_s=options.target_p99_s
        )
    }
    for name, workload in shifted.items():
        capacity[name] = required_throughput(
            workload.time_s, _tokens(workload), target_s=options.target_p99_s
        )
    success = real["is_success"]
    spearman = {
        "real": correlation(real["input_tokens"][success], real["output_tokens"][success]).spearman
    }
    for name, workload in shifted.items():
        spearman[name] = (
            correlation(workload.fields["input_tokens"], workload.fields["output_tokens"]).spearman
            if workload.time_s.size
            else math.nan
        )
    ranked = _ranked_clients(con, span, options)
    clients = _client_scores(
        con, profiles, span, shifted["generated"], options, float(real_counts.sum()), ranked
    )
    share_distance = _client_share_distance(con, span, ranked, shifted["generated"], profiles)
    return {
        "category": profiles.category,
        "model": profiles.model,
        "arrivals": {name: asdict(score) for name, score in arrivals.items()},
        "window_rate_error": per_window,
        "arrival_errors": {
            name: _arrival_errors(arrivals["real"], arrivals[name]) for name in shifted
        },
        "fields": fields,
        "spearman_input_output": spearman,
        "capacity": {
            **{name: asdict(value) for name, value in capacity.items()},
            "under_provisioning_pct": {
                name: under_provisioning_pct(capacity["real"], capacity[name]) for name in shifted
            },
        },
        "clients": clients,
        "client_share_distance": share_distance,
        "curves": _curves(real["arrival_s"], shifted, series, real_fields),
    }


SCORED_COLUMNS = (
    "arrival_us",
    "category",
    "model",
    "client_id",
    "input_tokens",
    "output_tokens",
    "reason_tokens",
    "is_success",
    "file_index",
    "source_row",
)


def _materialise_requests(con: duckdb.DuckDBPyConnection) -> None:
    """Replace the `requests` view by a table of the columns the scores read.

    The view anti-joins duplicates and joins categories on every scan; the scores scan it
    a few times per model and client, so it is resolved once (DuckDB spills it when large).
    """
    con.table("requests").select(*SCORED_COLUMNS).to_table("scored_requests")
    con.table("scored_requests").create_view("requests", replace=True)


def _profile_windows(stamps: NDArray[np.int64], window_starts: NDArray[np.int64]) -> NDArray:
    """The profile window each scored window uses: itself when the profile has it, else the
    same time of day on the latest profiled day, else the last profiled window."""
    result = np.empty_like(window_starts)
    available = set(stamps.tolist())
    for i, start in enumerate(window_starts.tolist()):
        candidate = start
        while candidate not in available and candidate >= 86_400:
            candidate -= 86_400
        result[i] = candidate if candidate in available else stamps[-1]
    return result


def _shift(workload: Workload, start_s: int) -> Workload:
    return Workload(workload.time_s - start_s, workload.client, workload.fields)


def _tokens(workload: Workload) -> NDArray[np.float64]:
    return workload.tokens() if workload.time_s.size else np.zeros(0)


def _real_per_second(
    con: duckdb.DuckDBPyConnection, span: dict[str, Any], client_id: str | None, n_seconds: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    table = sqlrun.query(con, "validate/per_second", {**span, "client_id": client_id}).fetchnumpy()
    counts = np.zeros(n_seconds)
    tokens = np.zeros(n_seconds)
    seconds = np.asarray(table["second"], dtype=np.int64)
    counts[seconds] = table["n_requests"]
    tokens[seconds] = np.nan_to_num(np.asarray(table["tokens"], dtype=np.float64))
    return counts, tokens


def _model_requests(con: duckdb.DuckDBPyConnection, span: dict[str, Any]) -> dict[str, NDArray]:
    table = sqlrun.query(con, "validate/model_requests", span).fetchnumpy()
    return {
        "arrival_s": np.asarray(table["arrival_s"], dtype=np.float64),
        "tokens": np.asarray(table["tokens"], dtype=np.float64),
        "input_tokens": np.asarray(table["input_tokens"], dtype=np.float64),
        "output_tokens": np.asarray(table["output_tokens"], dtype=np.float64),
        "is_success": np.asarray(table["is_success"], dtype=bool),
    }


def _real_fields(
    con: duckdb.DuckDBPyConnection, span: dict[str, Any], client_id: str | None = None
) -> dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]:
    params = {**span, "client_id": client_id}
    table = sqlrun.query(con, "validate/field_values", params).fetchnumpy()
    names = np.asarray(table["field"], dtype=object)
    values = np.asarray(table["token_count"], dtype=np.float64)
    counts = np.asarray(table["n"], dtype=np.float64)
    return {
        str(name): (values[names == name], counts[names == name]) for name in sorted(set(names))
    }


def _field_scores(
    real: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]],
    workloads: dict[str, Workload],
) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for field, (values, counts) in real.items():
        if values.size == 0:
            continue
        result[field] = {}
        for name, workload in workloads.items():
            generated = workload.fields.get(field)
            if generated is None or generated.size == 0:
                continue
            gen_values, gen_counts = np.unique(generated, return_counts=True)
            result[field][name] = asdict(
                scorecard.field_scores(values, counts, gen_values, gen_counts)
            )
    return result


def _arrival_errors(real: scorecard.ArrivalScores, other: scorecard.ArrivalScores) -> dict:
    """Relative error of each burstiness measure (the scorecard's headline numbers)."""
    errors = {
        "cv_interarrival": scorecard.relative_error(real.cv_interarrival, other.cv_interarrival),
        "peak_to_mean_1s": scorecard.relative_error(real.peak_to_mean_1s, other.peak_to_mean_1s),
        "p99_requests_per_s": scorecard.relative_error(
            real.p99_requests_per_s, other.p99_requests_per_s
        ),
        "p99_tokens_per_s": scorecard.relative_error(real.p99_tokens_per_s, other.p99_tokens_per_s),
    }
    for scale, value in real.fano.items():
        errors[f"fano_{scale}s"] = scorecard.relative_error(value, other.fano[scale])
    return errors


def _ranked_clients(
    con: duckdb.DuckDBPyConnection, span: dict[str, Any], options: ValidateOptions
) -> list[tuple[str, int, int]]:
    """(client_id, requests, chunk) as export numbered them (on the training part if held out)."""
    held_out = options.train_until is not None  # then the scored span starts at the split
    train_end_us = span["origin_us"] + span["start_s"] * 1_000_000 if held_out else 2**62
    return sqlrun.query(
        con,
        "validate/client_chunks",
        {"category": span["category"], "model": span["model"], "train_end_us": train_end_us},
    ).fetchall()


def _client_share_distance(
    con: duckdb.DuckDBPyConnection,
    span: dict[str, Any],
    ranked: list[tuple[str, int, int]],
    generated: Workload,
    profiles: ModelProfiles,
) -> float:
    """Total variation distance between the real and generated shares of every client.

    Clients are matched by chunk; a client seen only after a held-out split has no profile
    and counts as a real-only share."""
    chunk_of = {client_id: chunk for client_id, _, chunk in ranked}
    n_profiles = len(profiles.clients)
    real = sqlrun.query(con, "validate/client_counts", span).fetchall()
    unmatched = [n for client_id, n in real if chunk_of.get(client_id, n_profiles) >= n_profiles]
    real_counts = np.zeros(n_profiles + len(unmatched))
    for client_id, n in real:
        chunk = chunk_of.get(client_id, n_profiles)
        if chunk < n_profiles:
            real_counts[chunk] = n
    real_counts[n_profiles:] = unmatched
    generated_counts = np.zeros_like(real_counts)
    generated_counts[:n_profiles] = np.bincount(generated.client, minlength=n_profiles)
    return scorecard.share_distance(real_counts, generated_counts)


def _client_scores(
    con: duckdb.DuckDBPyConnection,
    profiles: ModelProfiles,
    span: dict[str, Any],
    generated: Workload,
    options: ValidateOptions,
    real_total: float,
    ranked: list[tuple[str, int, int]],
) -> list[dict[str, Any]]:
    """Top clients by real requests: arrival scores, real against generated, and shares.

    Real clients are matched to profiles by chunk number (export's ranking), so that an
    anonymised export is scored under its pseudonyms and never shows the real ids.
    """
    total_generated = max(generated.time_s.size, 1)
    n_seconds = span["end_s"] - span["start_s"]
    rows = []
    for client_id, _, chunk in ranked[: options.top_clients]:
        if chunk >= len(profiles.clients):
            continue
        counts, tokens = _real_per_second(con, span, client_id, n_seconds)
        mask = generated.client == chunk
        times = generated.time_s[mask]
        gen_counts = scorecard.per_second(times, n_seconds)
        gen_tokens = scorecard.per_second(
            times, n_seconds, generated.tokens()[mask] if times.size else None
        )
        moments = sqlrun.query(
            con, "validate/interarrival_moments", {**span, "client_id": client_id}
        ).fetchall()[0]
        mine = Workload(
            times, generated.client[mask], {k: v[mask] for k, v in generated.fields.items()}
        )
        rows.append(
            {
                "fields": _field_scores(_real_fields(con, span, client_id), {"generated": mine}),
                "chunk": int(chunk),
                "client_id": profiles.clients[chunk].name,
                "share": {
                    "real": float(counts.sum() / real_total) if real_total else math.nan,
                    "generated": float(times.size / total_generated),
                },
                "arrivals": {
                    "real": asdict(scorecard.arrival_scores(counts, tokens, _cv(*moments))),
                    "generated": asdict(
                        scorecard.arrival_scores(
                            gen_counts, gen_tokens, scorecard.interarrival_cv(times)
                        )
                    ),
                },
            }
        )
    return rows


def _cv(n_gaps: int, mean_gap_s: float | None, sd_gap_s: float | None) -> float:
    """CV of inter-arrival times from their moments (as `scorecard.interarrival_cv`)."""
    if n_gaps < 2 or not mean_gap_s or sd_gap_s is None:
        return math.nan
    return sd_gap_s / mean_gap_s


def _curves(
    real_arrivals: NDArray[np.float64],
    workloads: dict[str, Workload],
    series: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]],
    real_fields: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]],
) -> dict[str, Any]:
    """Points of the overlaid distributions that the report draws (real, generated, naive)."""
    times = {"real": real_arrivals, **{n: w.time_s for n, w in workloads.items()}}
    iat_ccdf = {}
    for name, t in times.items():
        gaps = np.diff(t)
        iat_ccdf[name] = (
            scorecard.ccdf_on_grid(gaps, np.ones_like(gaps), IAT_GRID_S).tolist()
            if gaps.size
            else []
        )
    fano = {
        name: list(scorecard.fano_from_counts(counts, FANO_CURVE_SCALES_S).values())
        for name, (counts, _) in series.items()
    }
    token_cdf: dict[str, dict[str, list[float]]] = {}
    for field in ("input_tokens", "output_tokens"):
        token_cdf[field] = {}
        if field in real_fields and real_fields[field][0].size:
            values, counts = real_fields[field]
            token_cdf[field]["real"] = (
                1 - scorecard.ccdf_on_grid(values, counts, TOKEN_GRID)
            ).tolist()
        for name, workload in workloads.items():
            generated = workload.fields.get(field)
            if generated is not None and generated.size:
                cdf = 1 - scorecard.ccdf_on_grid(generated, np.ones_like(generated), TOKEN_GRID)
                token_cdf[field][name] = cdf.tolist()
    n_seconds = len(next(iter(series.values()))[0]) if series else 0
    return {
        "interarrival_ccdf": {"x_s": IAT_GRID_S.tolist(), **iat_ccdf},
        "fano_vs_scale": {
            "scale_s": list(FANO_CURVE_SCALES_S),
            # whole bins of the span at each scale: the report leaves out too few to trust
            "n_bins": [n_seconds // scale for scale in FANO_CURVE_SCALES_S],
            **fano,
        },
        "token_cdf": {"x_tokens": TOKEN_GRID.tolist(), **token_cdf},
    }


def clean_json(value: Any) -> Any:
    """validation.json and whatif.json numbers: `SIG_DIGITS` significant digits, null for NaN."""
    return json_ready(value, SIG_DIGITS)
