"""Characterize: a run directory's artefacts -> `stats.json`, the numbers behind the report.

The per-request work (counts per bin, sums, percentiles, ranks) runs in DuckDB over ingest's
artefacts; Python gets per-client and per-bin rows and small deterministic samples, and hands
them to the pure statistics in `fitting/`. The schema is documented in docs/stats.md.
Statistics that do not apply to a log are recorded as ``{"available": false, "reason": ...}``.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from fitting.arrivals import FAMILIES, fit_interarrivals
from fitting.distributions import (
    empirical_ccdf,
    fit_exponential,
    fit_lognormal,
    log_grid,
    survival,
    vuong_test,
)
from fitting.lengths import distribution_distances, fit_pareto_lognormal
from fitting.periodicity import autocorrelation, periodicity, stl_components
from fitting.workload import (
    bimodality,
    correlation,
    fano_from_sums,
    gini,
    latency_model,
    lorenz_curve,
    pearson_from_moments,
    share_by_load_bins,
    top_k_shares,
)
from pipeline import sqlrun
from pipeline.errors import ConfigError
from pipeline.naming import pseudonym
from pipeline.rundir import RunDir, json_ready, stage, write_json
from pipeline.stages.aggregate import INTERARRIVALS, META, TRACE_WINDOWS, US_PER_DAY
from pipeline.stages.fit import DEFAULT_TIE_FLOOR_S, WINDOW_FITS
from pipeline.stages.ingest import connect, open_requests

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    import duckdb

    from pipeline.config import CharacterizeOptions, EngineOptions

STATS = "stats.json"
FORMAT = "servechar.stats/1"
TOP_K = (1, 5, 10, 20)
FANO_SCALES_S = (1, 10, 60, 600, 3600)
US_PER_S = 1_000_000
MINUTE_S = 60
HOUR_S = 3_600
HOURS_PER_WEEK = 168
ACF_MAX_LAG_HOURS = 168  # a week of hourly lags
MAX_RATE_BINS = 10_080  # a week of minutes; longer logs get wider bins
CDF_POINTS = 200  # points of a CDF curve; enough for a figure at any log size
Z_CRITICAL_5PCT = 1.959963984540054  # two-sided 5 % of the standard normal (Vuong)
LR_CRITICAL_5PCT_1DF = 3.841458820694124  # chi-square(1) 95 % quantile, Wilks' test at 5 %
LARGE_SHIFT_KS = 0.1  # drift flag: a tenth of the requests would change side of some length
RATIO_BINS = 50
MODALITIES = ("image", "audio", "video")
LOAD_BINS = 10  # deciles of the window rate for the 429 share against load
MIN_FIT_VALUES = 50  # fewer values give fits too loose to report
# The mixture EM costs ~0.13 s per 1,000 values; 20k order statistics keep the tail's shape.
MIXTURE_CAP = 20_000
BIMODALITY_CAP = 20_000  # the two-Gaussian EM is ~50 ms per 1,000 values
SIGNIFICANT_DIGITS = 10  # floats in stats.json: enough for any figure, stable across platforms


@dataclass(frozen=True, slots=True)
class CharacterizeResult:
    """Where stats.json went, its size, and how long each section took."""

    stats: Path
    size_bytes: int
    seconds: dict[str, float]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model's identity and the client rows (in client_key order) that belong to it."""

    model_key: int
    category: str
    model: str
    client_keys: np.ndarray  # int64, ascending
    client_ids: list[str]


@stage("characterize")
def run(run_dir: RunDir, options: CharacterizeOptions, engine: EngineOptions) -> CharacterizeResult:
    """Compute every statistic of docs/stats.md and write `stats.json`."""
    started = time.perf_counter()
    meta = run_dir.read_json(META, "aggregate")
    summary = run_dir.read_json("summary.json", "ingest")
    trace_windows = run_dir.require(TRACE_WINDOWS, "aggregate")
    interarrivals = run_dir.require(INTERARRIVALS, "aggregate")
    window_fits = run_dir.require(WINDOW_FITS, "fit")
    _check_anonymization(run_dir, options)
    con = connect(run_dir, engine)
    try:
        open_requests(con, run_dir)
        sqlrun.query(con, "aggregate/clients").to_table("clients")
        sqlrun.query(con, "characterize/keyed_requests", {"origin_us": meta["origin_us"]}).to_table(
            "char_requests"
        )  # once: every section scans it, and it can spill
        con.read_parquet(str(trace_windows)).create_view("trace_windows")
        con.read_parquet(str(interarrivals)).create_view("interarrivals")
        con.read_parquet(str(window_fits)).create_view("window_fits")
        context = _Context(con, meta, options)

        timer = _Timer()
        with timer("clients"):
            models = context.load_clients()
            client_rows = context.client_summary()
            model_rows = context.model_summary()
        with timer("categories"):
            category_rows = _dicts(sqlrun.query(con, "characterize/category_summary"))
        with timer("correlation"):
            correlations = context.correlation_sums()
        with timer("rate"):
            detailed = {
                info.model_key: _detailed_client_keys(info, client_rows, options) for info in models
            }
            context.register_detailed(detailed)
            rates = context.rates(models, model_rows, detailed)
            hourly = context.bin_counts(HOUR_S)
        with timer("samples"):
            iat_samples = context.iat_samples()
            length_samples = context.length_samples()
            winners = context.fit_winners()
            vuong_windows = context.window_vuong()
        with timer("drift"):
            dataset_us = int(meta["dataset_window_s"]) * US_PER_S
            drift_windows = context.drift(dataset_us)
            drift_days = context.drift(US_PER_DAY)
        with timer("optional"):
            reasoning_rows = context.rows_by_model("characterize/reasoning")
            reason_samples = context.reason_samples()
            multimodal_rows = context.multimodal(dataset_us)
            status_rows = context.status()
            latency_rows = context.latency()
            session_rows = context.rows_by_model("characterize/session_gaps")
        with timer("fano"):
            fano = context.fano_sums()
        with timer("windows"):
            cv_cdfs = context.cv_cdfs()
            client_windows = context.client_windows()
            length_drift = context.client_length_drift(int(meta["dataset_window_s"]) * US_PER_S)

        model_sections = []
        for info in models:
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
            model_sections.append(section)
        seconds = timer.seconds
        stats = {
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


def _check_anonymization(run_dir: RunDir, options: CharacterizeOptions) -> None:
    """Refuse to write original client ids when the export stage replaced them."""
    manifest = (
        json.loads(run_dir.manifest_path.read_text(encoding="utf-8"))
        if run_dir.manifest_path.exists()
        else {}
    )
    export_options = manifest.get("stages", {}).get("export", {}).get("options", {})
    if export_options.get("anonymize") and not options.anonymize:
        raise ConfigError(
            f"the profiles in {run_dir.root} were exported with --anonymize, but characterize "
            "was asked for the original client ids",
            hint="Pass --anonymize with the same --salt (or SERVECHAR_SALT) as the export.",
        )


class _Timer:
    """Seconds spent per section name, summed over models (for the manifest)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.seconds[name] = round(self.seconds.get(name, 0.0) + elapsed, 3)


class _Context:
    """The DuckDB connection and run metadata shared by the section queries."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, meta: dict[str, Any], options: CharacterizeOptions
    ) -> None:
        self.con = con
        self.meta = meta
        self.options = options

    def load_clients(self) -> list[ModelInfo]:
        rows = self.con.table("clients").fetchall()  # ordered by client_key
        by_model: dict[int, list[tuple[Any, ...]]] = {}
        for row in rows:
            by_model.setdefault(int(row[1]), []).append(row)
        models = []
        for model_key in sorted(by_model):
            group = by_model[model_key]
            models.append(
                ModelInfo(
                    model_key,
                    group[0][2],
                    group[0][3],
                    np.array([int(r[0]) for r in group], dtype=np.int64),
                    [self.client_name(r[4]) for r in group],
                )
            )
        return models

    def client_name(self, client_id: str) -> str:
        """The id stats.json shows: the export stage's pseudonym under --anonymize."""
        if self.options.anonymize:
            return pseudonym(client_id, self.options.salt or "")
        return client_id

    def client_summary(self) -> dict[int, dict[str, Any]]:
        relation = sqlrun.query(self.con, "characterize/client_summary")
        return {int(row["client_key"]): row for row in _dicts(relation)}

    def model_summary(self) -> dict[int, dict[str, Any]]:
        relation = sqlrun.query(self.con, "characterize/model_summary")
        return {int(row["model_key"]): row for row in _dicts(relation)}

    def correlation_sums(self) -> dict[tuple[str, int], dict[str, Any]]:
        relation = sqlrun.query(self.con, "characterize/correlation_sums")
        result = {}
        for row in _dicts(relation):
            n = int(row["n"])
            moments = [int(row[k]) for k in ("sx", "sy", "sxx", "syy", "sxy")]
            ranks = [int(row[k]) for k in ("srx", "sry", "srxx", "sryy", "srxy")]
            level = "client" if int(row["level"]) == 0 else "model"
            result[(level, int(row["unit_key"]))] = {
                "n": n,
                "pearson": pearson_from_moments(n, *moments),
                "spearman": pearson_from_moments(n, *ranks),
            }
        return result

    def rates(
        self,
        models: list[ModelInfo],
        model_rows: dict[int, dict[str, Any]],
        detailed: dict[int, list[int]],
    ) -> dict[int, dict[str, Any]]:
        """Per model: the rate per minute (or wider bins) and per trace window, for the model
        and its detailed clients (registered as `detailed_clients` beforehand)."""
        window_s = int(self.meta["window_s"])
        spans = {
            key: (int(row["first_offset_us"]), int(row["last_offset_us"]))
            for key, row in model_rows.items()
        }
        longest_s = max(((last - first) / US_PER_S for first, last in spans.values()), default=0)
        bin_s = MINUTE_S * max(1, math.ceil(longest_s / MINUTE_S / MAX_RATE_BINS))
        model_counts = {size: self.bin_counts(size) for size in (bin_s, window_s)}
        client_counts = {size: self.client_bin_counts(size) for size in (bin_s, window_s)}
        result = {}
        for info in models:
            first_us, last_us = spans[info.model_key]
            keys = detailed[info.model_key]
            result[info.model_key] = {
                "span_us": (first_us, last_us),
                "window_s": window_s,
                "bin_s": bin_s,
                "detailed_keys": keys,
            }
            for name, size in (("minute", bin_s), ("window", window_s)):
                result[info.model_key][f"per_{name}"] = _filled_curve(
                    model_counts[size].get(info.model_key, {}), first_us, last_us, size
                )
                result[info.model_key][f"clients_per_{name}"] = {
                    info.client_ids[_position(info, key)]: _filled_curve(
                        client_counts[size].get(key, {}), first_us, last_us, size
                    )
                    for key in keys
                }
        return result

    def client_bin_counts(self, bin_s: int) -> dict[int, dict[int, int]]:
        """Detailed clients' request counts per origin-aligned bin."""
        relation = sqlrun.query(
            self.con, "characterize/client_bin_counts", {"bin_us": bin_s * US_PER_S}
        )
        counts: dict[int, dict[int, int]] = {}
        for client_key, bin_index, n in relation.fetchall():
            counts.setdefault(int(client_key), {})[int(bin_index)] = int(n)
        return counts

    def fano_sums(self) -> dict[tuple[int, int, int], tuple[int, int]]:
        """(model_key, client_key or -1, scale_s) -> (sum of counts, sum of squared counts)."""
        relation = sqlrun.query(
            self.con,
            "characterize/fano_sums",
            {"scales_us": [scale * US_PER_S for scale in FANO_SCALES_S]},
        )
        return {
            (int(model), int(client), int(scale_us) // US_PER_S): (int(s1), int(s2))
            for model, client, scale_us, _n_bins, s1, s2 in relation.fetchall()
        }

    def cv_cdfs(self) -> dict[tuple[int, str], dict[str, Any]]:
        """(model_key, weighting) -> the thinned CDF of window CVs and the share above CV 1."""
        relation = sqlrun.query(self.con, "characterize/cv_cdf", {"points": CDF_POINTS})
        result: dict[tuple[int, str], dict[str, Any]] = {}
        for model_key, weighting, cv, cumulative, total, above in relation.fetchall():
            entry = result.setdefault(
                (int(model_key), weighting),
                {"x": [], "y": [], "share_above_1": int(above) / int(total)},
            )
            entry["x"].append(float(cv))
            entry["y"].append(int(cumulative) / int(total))
        return result

    def register_detailed(self, detailed: dict[int, list[int]]) -> None:
        """The detailed clients of every model, as the table `detailed_clients` (client_key)."""
        keys = sorted(key for keys in detailed.values() for key in keys)
        self.con.register("detailed_clients", pa.table({"client_key": pa.array(keys, pa.int64())}))

    def _sample_params(self) -> dict[str, int]:
        return {"cap": self.options.sample_cap, "seed": self.options.seed}

    def iat_samples(self) -> dict[tuple[str, int], tuple[int, np.ndarray]]:
        """(level, unit key) -> (intervals in total, sorted sampled inter-arrival seconds)."""
        table = sqlrun.query(
            self.con, "characterize/iat_samples", self._sample_params()
        ).to_arrow_table()
        level = np.asarray(table.column("level").to_pylist())
        unit = table.column("unit_key").to_numpy()
        n = table.column("n").to_numpy()
        values = table.column("iat_s").to_numpy()
        result = {}
        for lev in ("model", "client"):
            for key in np.unique(unit[level == lev]):
                mine = (level == lev) & (unit == key)
                result[(lev, int(key))] = (int(n[mine][0]), np.sort(values[mine]))
        return result

    def length_samples(self) -> dict[int, tuple[int, np.ndarray, np.ndarray]]:
        """model_key -> (successful requests, sampled input tokens, sampled output tokens)."""
        table = sqlrun.query(
            self.con, "characterize/length_samples", self._sample_params()
        ).to_arrow_table()
        models = table.column("model_key").to_numpy()
        n = table.column("n").to_numpy()
        inputs = table.column("input_tokens").to_numpy().astype(np.float64)
        outputs = table.column("output_tokens").to_numpy().astype(np.float64)
        result = {}
        for key in np.unique(models):
            mine = models == key
            # sorted: the query returns rows in no particular order, and float sums must not
            # depend on it
            result[int(key)] = (int(n[mine][0]), np.sort(inputs[mine]), np.sort(outputs[mine]))
        return result

    def fit_winners(self) -> dict[int, dict[str, np.ndarray]]:
        table = sqlrun.query(self.con, "characterize/window_fit_winners").to_arrow_table()
        models = table.column("model_key").to_numpy()
        columns = {
            "best_by_aic": np.asarray(table.column("best_by_aic").to_pylist(), dtype=object),
            "best_by_ks": np.asarray(table.column("best_by_ks").to_pylist(), dtype=object),
            "lr_expon": table.column("lr_expon").to_numpy(),
        }
        return {
            int(key): {name: values[models == key] for name, values in columns.items()}
            for key in np.unique(models)
        }

    def rows_by_model(self, name: str) -> dict[int, dict[str, Any]]:
        return {int(row["model_key"]): row for row in _dicts(sqlrun.query(self.con, name))}

    def drift(self, period_us: int) -> dict[int, dict[str, Any]]:
        """Per model: summaries per period and exact count tables per (field, period)."""
        params = {"period_us": period_us}
        result: dict[int, dict[str, Any]] = {}
        for row in _dicts(sqlrun.query(self.con, "characterize/drift_summary", params)):
            entry = result.setdefault(int(row["model_key"]), {"summaries": [], "counts": {}})
            entry["summaries"].append(row)
        table = sqlrun.query(self.con, "characterize/drift_counts", params).to_arrow_table()
        models = table.column("model_key").to_numpy()
        fields = np.asarray(table.column("field").to_pylist(), dtype=object)
        periods = table.column("period_index").to_numpy()
        values = table.column("value").to_numpy().astype(np.float64)
        counts = table.column("n").to_numpy().astype(np.float64)
        # rows are sorted by (model, field, period): split at the group boundaries
        change = np.flatnonzero(
            (np.diff(models) != 0) | (fields[1:] != fields[:-1]) | (np.diff(periods) != 0)
        )
        starts = np.concatenate([[0], change + 1]) if models.size else np.zeros(0, np.int64)
        ends = np.concatenate([starts[1:], [models.size]]) if models.size else starts
        for start, end in zip(starts, ends, strict=True):
            entry = result.setdefault(int(models[start]), {"summaries": [], "counts": {}})
            entry["counts"][(fields[start], int(periods[start]))] = (
                values[start:end],
                counts[start:end],
            )
        return result

    def reason_samples(self) -> dict[int, tuple[int, np.ndarray, np.ndarray]]:
        table = sqlrun.query(
            self.con, "characterize/reason_samples", self._sample_params()
        ).to_arrow_table()
        models = table.column("model_key").to_numpy()
        n = table.column("n").to_numpy()
        reason = table.column("reason_tokens").to_numpy().astype(np.float64)
        answer = table.column("answer_tokens").to_numpy().astype(np.float64)
        return {
            int(k): (int(n[models == k][0]), reason[models == k], answer[models == k])
            for k in np.unique(models)
        }

    def multimodal(self, period_us: int) -> dict[int, list[dict[str, Any]]]:
        relation = sqlrun.query(self.con, "characterize/multimodal", {"period_us": period_us})
        result: dict[int, list[dict[str, Any]]] = {}
        for row in _dicts(relation):
            result.setdefault(int(row["model_key"]), []).append(row)
        return result

    def status(self) -> dict[int, dict[str, Any]]:
        """Per model: status codes per client, and requests and 429s per trace window for the
        model (client key -1) and its detailed clients."""
        result: dict[int, dict[str, Any]] = {}
        for model_key, client_key, status, n in sqlrun.query(
            self.con, "characterize/status_codes"
        ).fetchall():
            entry = result.setdefault(int(model_key), {"codes": [], "windows": {}})
            entry["codes"].append((int(client_key), status, int(n)))
        relation = sqlrun.query(
            self.con, "characterize/status_windows", {"window_us": self.meta["window_s"] * US_PER_S}
        )
        for model_key, client_key, window_index, n, *by_class in relation.fetchall():
            windows = result[int(model_key)]["windows"].setdefault(int(client_key), [])
            windows.append(StatusWindow(int(window_index), int(n), *(int(c) for c in by_class)))
        return result

    def latency(self) -> dict[int, dict[str, Any]]:
        result: dict[int, dict[str, Any]] = {}
        for row in _dicts(sqlrun.query(self.con, "characterize/latency")):
            result.setdefault(int(row["model_key"]), {})[row["metric"]] = row
        table = sqlrun.query(
            self.con, "characterize/latency_samples", self._sample_params()
        ).to_arrow_table()
        models = table.column("model_key").to_numpy()
        columns = {
            name: table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
            for name in ("input_tokens", "output_tokens", "ttft_ms", "e2e_ms")
        }
        for key in np.unique(models):
            mine = models == key
            result.setdefault(int(key), {})["sample"] = {
                name: values[mine] for name, values in columns.items()
            }
        return result

    def client_length_drift(self, period_us: int) -> dict[int, float]:
        relation = sqlrun.query(
            self.con, "characterize/client_length_drift", {"period_us": period_us}
        )
        return {int(key): float(ks) for key, ks in relation.fetchall()}

    def window_vuong(self) -> dict[int, list[tuple[str, str, float | None]]]:
        """Per model: (best, second best, Vuong z) of every fitted window."""
        result: dict[int, list[tuple[str, str, float | None]]] = {}
        for model_key, _window, first, second, _n, z in sqlrun.query(
            self.con, "characterize/window_vuong"
        ).fetchall():
            result.setdefault(int(model_key), []).append((first, second, z))
        return result

    def client_windows(self) -> dict[int, dict[str, Any]]:
        relation = sqlrun.query(self.con, "characterize/client_windows")
        return {int(row["client_key"]): row for row in _dicts(relation)}

    def bin_counts(self, bin_s: int) -> dict[int, dict[int, int]]:
        relation = sqlrun.query(
            self.con, "characterize/model_bin_counts", {"bin_us": bin_s * US_PER_S}
        )
        counts: dict[int, dict[int, int]] = {}
        for model_key, bin_index, n in relation.fetchall():
            counts.setdefault(int(model_key), {})[int(bin_index)] = int(n)
        return counts


# --- sections ----------------------------------------------------------------------------------


def _categories(rows: list[dict[str, Any]], models: list[ModelInfo]) -> dict[str, Any]:
    """The per-category roll-up (language, multimodal, reason), keyed by category."""
    n_requests = sum(int(row["n_requests"]) for row in rows)
    result = {}
    for row in rows:
        category = row["category"]
        result[category] = {
            "models": sorted(info.model for info in models if info.category == category),
            "n_models": int(row["n_models"]),
            "n_clients": int(row["n_clients"]),
            "n_requests": int(row["n_requests"]),
            "n_success": int(row["n_success"]),
            "request_share": int(row["n_requests"]) / n_requests,
            "input_tokens": _summary_of(row, "input"),
            "output_tokens": _summary_of(row, "output"),
        }
    return result


def _overview(
    meta: dict[str, Any],
    summary: dict[str, Any],
    models: list[ModelInfo],
    model_rows: dict[int, dict[str, Any]],
    n_clients: int,
) -> dict[str, Any]:
    n_requests = sum(int(r["n_requests"]) for r in model_rows.values())
    first_offset_us = min(int(r["first_offset_us"]) for r in model_rows.values())
    last_offset_us = max(int(r["last_offset_us"]) for r in model_rows.values())
    table = [
        {
            "category": info.category,
            "model": info.model,
            "n_requests": int(model_rows[info.model_key]["n_requests"]),
            "request_share": int(model_rows[info.model_key]["n_requests"]) / n_requests,
            "n_clients": len(info.client_ids),
        }
        for info in models
    ]
    table.sort(key=lambda row: (-row["n_requests"], row["category"], row["model"]))
    return {
        "rows_read": summary["rows_read"],
        "rows_accepted": summary["rows_accepted"],
        "rows_rejected": summary["rows_rejected"],
        "rejects_by_reason": summary["rejects_by_reason"],
        "n_requests": n_requests,
        "n_success": sum(int(r["n_success"]) for r in model_rows.values()),
        "n_models": len(models),
        "n_clients": n_clients,
        "origin": meta["origin"],
        "first_arrival": meta["first_arrival"],
        "last_arrival": meta["last_arrival"],
        "span_s": (last_offset_us - first_offset_us) / US_PER_S,
        "window_s": meta["window_s"],
        "dataset_window_s": meta["dataset_window_s"],
        "coverage": coverage(first_offset_us, last_offset_us, meta["origin_us"]),
        "models": table,
    }


def coverage(first_offset_us: int, last_offset_us: int, origin_us: int) -> dict[str, Any]:
    """Which part of the (UTC) day a log covers, from its first and last arrival offsets."""
    us_per_hour = 3_600 * US_PER_S
    origin_in_day_us = origin_us % US_PER_DAY
    first_abs, last_abs = first_offset_us + origin_in_day_us, last_offset_us + origin_in_day_us
    first_hour, last_hour = first_abs // us_per_hour, last_abs // us_per_hour
    hours = sorted({int(h % 24) for h in range(first_hour, min(last_hour, first_hour + 24) + 1)})
    return {
        "first_offset_s": first_offset_us / US_PER_S,
        "last_offset_s": last_offset_us / US_PER_S,
        "start_hour_utc": (first_abs % US_PER_DAY) / us_per_hour,
        "end_hour_utc": (last_abs % US_PER_DAY) / us_per_hour,
        "n_days": int(last_abs // US_PER_DAY - first_abs // US_PER_DAY + 1),
        "hours_active": hours,
        "covers_full_day": len(hours) == 24,
    }


def _model_section(
    info: ModelInfo,
    model_row: dict[str, Any],
    client_rows: dict[int, dict[str, Any]],
    correlations: dict[tuple[str, int], dict[str, Any]],
    rate: dict[str, Any],
    options: CharacterizeOptions,
) -> dict[str, Any]:
    first_us, last_us = int(model_row["first_offset_us"]), int(model_row["last_offset_us"])
    span_s = max((last_us - first_us) / US_PER_S, 0.0)
    detailed = set(rate["detailed_keys"])
    rows = [client_rows[int(key)] for key in info.client_keys]
    tokens = [int(r["input_tokens_sum"]) + int(r["output_tokens_sum"]) for r in rows]
    total_requests = int(model_row["n_requests"])
    total_tokens = sum(tokens)
    table = []
    for position, row in enumerate(rows):
        key = int(info.client_keys[position])
        n_requests = int(row["n_requests"])
        table.append(
            {
                "client_id": info.client_ids[position],
                "n_requests": n_requests,
                "request_share": n_requests / total_requests,
                "n_success": int(row["n_success"]),
                "input_tokens_sum": int(row["input_tokens_sum"]),
                "output_tokens_sum": int(row["output_tokens_sum"]),
                "token_share": tokens[position] / total_tokens if total_tokens else None,
                "input_tokens": _summary_of(row, "input"),
                "output_tokens": _summary_of(row, "output"),
                "correlation": correlations.get(("client", key), _no_correlation()),
                "rate_rps_mean": n_requests / span_s if span_s > 0 else None,
                "detailed": key in detailed,
            }
        )
    table.sort(key=lambda r: (-r["n_requests"], r["client_id"]))
    for rank, row in enumerate(table, start=1):
        row["rank"] = rank
    request_counts = [r["n_requests"] for r in table]
    return {
        "category": info.category,
        "model": info.model,
        "n_requests": total_requests,
        "n_success": int(model_row["n_success"]),
        "n_clients": len(info.client_ids),
        "first_offset_s": first_us / US_PER_S,
        "last_offset_s": last_us / US_PER_S,
        "detailed_clients": [
            r["client_id"] for r in table if r["detailed"]
        ],  # already in rank order
        "clients": table,
        "concentration": {
            "by_requests": _concentration(request_counts),
            "by_tokens": _concentration(tokens),
            "rank": {"x": list(range(1, len(table) + 1)), "y": request_counts},
        },
        "rate": {
            "bin_s": rate["bin_s"],
            **_peak(rate["per_minute"]),
            "mean_rps": total_requests / span_s if span_s > 0 else None,
            "per_minute": rate["per_minute"],
            "per_window": rate["per_window"],
            "clients_per_window": rate["clients_per_window"],
            "clients_per_minute": rate["clients_per_minute"],
        },
        "correlation": correlations.get(("model", info.model_key), _no_correlation()),
        "input_tokens": _summary_of(model_row, "input"),
        "output_tokens": _summary_of(model_row, "output"),
    }


def _burstiness(
    info: ModelInfo,
    model_row: dict[str, Any],
    rate: dict[str, Any],
    fano: dict[tuple[int, int, int], tuple[int, int]],
    cv_cdfs: dict[tuple[int, str], dict[str, Any]],
) -> dict[str, Any]:
    """CV of inter-arrival times across client windows, and Fano factors by time scale."""
    span_us = int(model_row["last_offset_us"]) - int(model_row["first_offset_us"])

    def fano_curve(client_key: int) -> dict[str, Any]:
        results = [
            fano_from_sums(
                scale,
                span_us // (scale * US_PER_S),
                *fano.get((info.model_key, client_key, scale), (0, 0)),
            )
            for scale in FANO_SCALES_S
        ]
        return {
            "x": list(FANO_SCALES_S),
            "y": [r.fano_factor for r in results],
            "n_bins": [r.n_windows for r in results],
            "mean_count": [r.mean_count for r in results],
        }

    weighted = cv_cdfs.get((info.model_key, "requests"))
    if weighted is None:
        unavailable = _unavailable("no client window has 2 or more inter-arrival intervals")
        cv_cdf, cv_cdf_unweighted = unavailable, unavailable
        share_above_1, weighted_median = None, None
    else:
        cv_cdf = {"x": weighted["x"], "y": weighted["y"]}
        unweighted = cv_cdfs[(info.model_key, "windows")]
        cv_cdf_unweighted = {"x": unweighted["x"], "y": unweighted["y"]}
        share_above_1 = weighted["share_above_1"]
        # the first point at or above half the weight: a thinning level, so always kept
        weighted_median = next(
            x for x, y in zip(weighted["x"], weighted["y"], strict=True) if y >= 0.5
        )
    return {
        "cv_cdf": cv_cdf,
        "cv_cdf_unweighted": cv_cdf_unweighted,
        "share_cv_above_1": share_above_1,
        "cv_median_weighted": weighted_median,
        "fano": {
            "scales_s": list(FANO_SCALES_S),
            "aggregate": fano_curve(-1),
            "clients": {
                info.client_ids[_position(info, key)]: fano_curve(key)
                for key in rate["detailed_keys"]
            },
        },
    }


# A log that starts 3 s past the hour (its first request came then) still covers that hour:
# an hour missing less than this is whole, not partial.
WHOLE_HOUR_SLACK_S = 60


def _periodicity(
    hour_counts: dict[int, int], model_row: dict[str, Any], origin_us: int
) -> dict[str, Any]:
    """Hour-of-day profile, and STL at daily (2+ days) and weekly (2+ weeks) period.

    An hour bin's rate is its requests over the part of the hour the log covers (from the
    model's first to its last arrival): the first and last hours are usually partial, and
    dividing them by a whole hour would draw them as lulls.
    """
    hour_us = HOUR_S * US_PER_S
    first_us, last_us = int(model_row["first_offset_us"]), int(model_row["last_offset_us"])
    first_bin, last_bin = first_us // hour_us, last_us // hour_us
    bins = np.arange(first_bin, last_bin + 1, dtype=np.int64)
    counts = np.array([hour_counts.get(int(b), 0) for b in bins], dtype=np.float64)
    # the last arrival's own microsecond counts as covered, so no bin with a request is empty
    covered_s = (
        np.minimum((bins + 1) * hour_us, last_us + 1) - np.maximum(bins * hour_us, first_us)
    ) / US_PER_S
    rates = counts / covered_s
    is_full = covered_s >= HOUR_S - WHOLE_HOUR_SLACK_S
    origin_hour = (origin_us % US_PER_DAY) // hour_us
    hour_of_day = (origin_hour + bins) % 24
    profile: list[float | None] = []
    profile_covered: list[float] = []
    for hour in range(24):
        in_hour = hour_of_day == hour
        covered = float(covered_s[in_hour].sum())
        # requests over covered seconds: a partial hour weighs by the time it covers
        profile.append(float(counts[in_hour].sum() / covered) if covered > 0 else None)
        profile_covered.append(covered)
    days_of_hour = [int(np.count_nonzero(hour_of_day == hour)) for hour in range(24)]
    partial = [
        0 < covered < HOUR_S * days - WHOLE_HOUR_SLACK_S
        for covered, days in zip(profile_covered, days_of_hour, strict=True)
    ]
    # busiest/quietest and the peak ratios over hours with a whole hour covered (a few
    # covered seconds make a noisy rate); over every hour only when none has
    enough = [covered >= HOUR_S - WHOLE_HOUR_SLACK_S for covered in profile_covered]
    trusted = [
        rate if ok or not any(enough) else None for rate, ok in zip(profile, enough, strict=True)
    ]

    def stl(period: int, label: str, minimum: str) -> dict[str, Any]:
        if rates.size < 2 * period:
            return _unavailable(
                f"the log's arrivals fall in {rates.size} clock hour(s); a {label} "
                f"decomposition needs {minimum} "
                f"({2 * period} hours)"
            )
        result = periodicity(rates, period)
        parts = stl_components(rates, period)
        busiest = int((origin_hour + first_bin + result.busiest_phase) % period)
        quietest = int((origin_hour + first_bin + result.quietest_phase) % period)
        return {
            "available": True,
            "period_bins": period,
            "bin_s": HOUR_S,
            # STL on exactly 2 periods leaves almost no residual (strengths near 1): read the
            # strengths with the number of periods behind them
            "n_periods": rates.size / period,
            "seasonal_strength": result.seasonal_strength,
            "trend_strength": result.trend_strength,
            "autocorrelation_at_period": result.autocorrelation_at_period,
            "peak_to_mean": result.peak_to_mean,
            "peak_to_trough": result.peak_to_trough,
            # hour of the day (daily) or hour of the week from the origin's weekday (weekly)
            "busiest_hour_utc": busiest,
            "quietest_hour_utc": quietest,
            "components": {
                "x": [float(b * HOUR_S) for b in range(first_bin, last_bin + 1)],
                "observed": rates.tolist(),
                "trend": parts.trend.tolist(),
                "seasonal": parts.seasonal.tolist(),
                "resid": parts.resid.tolist(),
            },
        }

    whole = periodicity(rates[is_full] if any(is_full) else rates, 24)  # needs no full period
    return {
        "hourly_profile": {
            "x": list(range(24)),
            "y": profile,
            "covered_s": profile_covered,
            "partial": partial,
        },
        "acf_hourly": {
            "x": list(range(min(ACF_MAX_LAG_HOURS, rates.size - 1) + 1)),
            "y": autocorrelation(rates, ACF_MAX_LAG_HOURS).tolist(),
        },
        # of the hour-of-day profile, so that logs shorter than 2 days have them too
        "busiest_hour_utc": _arg_extreme(trusted, max),
        "quietest_hour_utc": _arg_extreme(trusted, min),
        "peak_to_mean": whole.peak_to_mean,
        "peak_to_trough": whole.peak_to_trough,
        "daily": stl(24, "daily", "2 days"),
        "weekly": stl(HOURS_PER_WEEK, "weekly", "2 weeks"),
    }


def _interarrivals(
    info: ModelInfo,
    rate: dict[str, Any],
    samples: dict[tuple[str, int], tuple[int, np.ndarray]],
    winners: dict[int, dict[str, np.ndarray]],
    vuong_windows: list[tuple[str, str, float | None]] | None,
) -> dict[str, Any]:
    """IAT distributions with the four families overlaid, and which family wins how often."""
    wins = winners.get(info.model_key)
    if wins is None or wins["lr_expon"].size == 0:
        family_wins: dict[str, Any] = _unavailable(
            "no trace window had enough requests for the fit stage to fit it"
        )
    else:
        family_wins = {
            "available": True,
            "n_windows": int(wins["lr_expon"].size),
            "by_aic": {f: int(np.sum(wins["best_by_aic"] == f)) for f in FAMILIES},
            "by_ks": {f: int(np.sum(wins["best_by_ks"] == f)) for f in FAMILIES},
            "lr_test": {
                "test": "Wilks: Exponential nested in the better of Gamma and Weibull (1 df)",
                "alpha": 0.05,
                "n_windows": int(wins["lr_expon"].size),
                "exponential_rejected": int(np.sum(wins["lr_expon"] > LR_CRITICAL_5PCT_1DF)),
            },
            "vuong_top_two": _vuong_counts(vuong_windows or []),
        }
    return {
        "aggregate": _iat_distribution(samples.get(("model", info.model_key))),
        "clients": {
            info.client_ids[_position(info, key)]: _iat_distribution(samples.get(("client", key)))
            for key in rate["detailed_keys"]
        },
        "family_wins": family_wins,
    }


def _vuong_counts(windows: list[tuple[str, str, float | None]]) -> dict[str, Any]:
    """How often Vuong's test separates each window's two best families, and which wins."""
    significant = [(a, b, z) for a, b, z in windows if z is not None and abs(z) > Z_CRITICAL_5PCT]
    winners = {family: 0 for family in FAMILIES}
    for first, second, z in significant:
        winners[first if z > 0 else second] += 1
    return {
        "alpha": 0.05,
        "n_windows": len(windows),
        "significant": len(significant),
        "winner": winners,
    }


def _iat_distribution(sample: tuple[int, np.ndarray] | None) -> dict[str, Any]:
    """Empirical CCDF of a sample of inter-arrival times with the four families fitted."""
    if sample is None or sample[1].size < MIN_FIT_VALUES:
        have = 0 if sample is None else sample[1].size
        return _unavailable(f"{have} inter-arrival times; the fits need {MIN_FIT_VALUES}")
    n_total, values = sample
    fitted = fit_interarrivals(values, np.array([values.size]), tie_floor=DEFAULT_TIE_FLOOR_S)
    if bool(fitted.degenerate[0]):
        return _unavailable("every inter-arrival time is (nearly) the same")
    floored = np.maximum(values, DEFAULT_TIE_FLOOR_S)
    grid = log_grid(floored)
    fits = {}
    for family in FAMILIES:
        result = fitted.fits[family]
        params = {name: float(v[0]) for name, v in result.params.items()}
        fits[family] = {
            "params": params,
            "loglik": float(result.loglik[0]),
            "aic": float(result.aic[0]),
            "ks": float(result.ks[0]),
            "ccdf": survival(family, params, grid).tolist(),
        }
    by_aic = sorted(FAMILIES, key=lambda f: (fits[f]["aic"], f))
    first, second = by_aic[0], by_aic[1]
    vuong = vuong_test(
        _logpdf(first, fits[first]["params"], floored),
        _logpdf(second, fits[second]["params"], floored),
    )
    return {
        "available": True,
        "n": n_total,
        "n_used": int(values.size),
        "ccdf": {"x": grid.tolist(), "y": empirical_ccdf(floored, grid).tolist()},
        "fits": fits,
        "best_by_aic": first,
        "best_by_ks": min(FAMILIES, key=lambda f: (fits[f]["ks"], f)),
        "vuong_top_two": {
            "first": first,
            "second": second,
            "statistic": vuong.statistic,
            "pvalue": vuong.pvalue,
        },
    }


def _logpdf(family: str, params: dict[str, float], values: np.ndarray) -> np.ndarray:
    from scipy import stats

    return np.asarray(getattr(stats, family).logpdf(values, **params))


def _lengths(sample: tuple[int, np.ndarray, np.ndarray] | None) -> dict[str, Any]:
    """Input lengths: Pareto-tail plus log-normal mixture and log-normal; output: Exp and LN."""
    if sample is None:
        reason = _unavailable("the model has no successful requests")
        return {"input_tokens": reason, "output_tokens": reason}
    n_total, inputs, outputs = sample

    def describe(values: np.ndarray, fitters: dict[str, Any]) -> dict[str, Any]:
        positive = values[values > 0]
        if positive.size < MIN_FIT_VALUES or np.ptp(positive) == 0:
            return _unavailable(
                f"{positive.size} positive values (all equal or fewer than {MIN_FIT_VALUES})"
            )
        grid = log_grid(positive)
        fits = {}
        for name, fitter in fitters.items():
            try:
                fits[name] = fitter(positive, grid)
            except ValueError as exc:  # e.g. no tail to fit: recorded, not raised
                fits[name] = _unavailable(str(exc))
        return {
            "available": True,
            "n": n_total,
            "n_used": int(values.size),
            "n_positive": int(positive.size),
            "ccdf": {"x": grid.tolist(), "y": empirical_ccdf(positive, grid).tolist()},
            "fits": fits,
        }

    return {
        "input_tokens": describe(
            inputs, {"pareto_lognormal": _pareto_lognormal_fit, "lognorm": _lognormal_fit}
        ),
        "output_tokens": describe(outputs, {"expon": _exponential_fit, "lognorm": _lognormal_fit}),
    }


def _pareto_lognormal_fit(values: np.ndarray, grid: np.ndarray) -> dict[str, Any]:
    used = evenly_spaced_order_statistics(values, MIXTURE_CAP)
    fit = fit_pareto_lognormal(used)
    body = survival("lognorm", {"s": fit.sigma, "scale": float(np.exp(fit.mu))}, grid)
    tail = np.where(grid >= fit.xmin, (fit.xmin / np.maximum(grid, fit.xmin)) ** fit.alpha, 1.0)
    return {
        "available": True,
        "n_used": int(used.size),
        "tail_weight": fit.tail_weight,
        "alpha": fit.alpha,
        "xmin": fit.xmin,
        "mu": fit.mu,
        "sigma": fit.sigma,
        "loglik": fit.loglik,
        "aic": fit.aic,
        "ks": fit.ks,
        "ccdf": ((1 - fit.tail_weight) * body + fit.tail_weight * tail).tolist(),
    }


def evenly_spaced_order_statistics(values: np.ndarray, cap: int) -> np.ndarray:
    """At most `cap` values: order statistics at evenly spaced ranks (keeps the tail's shape)."""
    if values.size <= cap:
        return values
    ranks = np.round(np.linspace(0, values.size - 1, cap)).astype(np.int64)
    return np.sort(values)[ranks]


def _lognormal_fit(values: np.ndarray, grid: np.ndarray) -> dict[str, Any]:
    fit = fit_lognormal(values)
    return {
        "available": True,
        "mu": float(np.log(fit.params["scale"])),
        "sigma": fit.params["s"],
        "loglik": fit.loglik,
        "aic": fit.aic,
        "ks": fit.ks,
        "ccdf": survival("lognorm", fit.params, grid).tolist(),
    }


def _exponential_fit(values: np.ndarray, grid: np.ndarray) -> dict[str, Any]:
    fit = fit_exponential(values)
    return {
        "available": True,
        "scale": fit.params["scale"],
        "loglik": fit.loglik,
        "aic": fit.aic,
        "ks": fit.ks,
        "ccdf": survival("expon", fit.params, grid).tolist(),
    }


def _drift(
    windows: dict[str, Any] | None, days: dict[str, Any] | None, dataset_window_s: int
) -> dict[str, Any]:
    """Length summaries per dataset window; KS and Wasserstein between consecutive periods."""
    if windows is None:
        return _unavailable("the model has no successful requests")

    def summaries(entry: dict[str, Any], period_s: int) -> list[dict[str, Any]]:
        rows = []
        for row in entry["summaries"]:
            n = int(row["n"])
            rows.append(
                {
                    "dataset_index": int(row["period_index"]),
                    "start_s": int(row["period_index"]) * period_s,
                    "n": n,
                    "input_tokens": _summary(
                        n, int(row["input_tokens_sum"]), row["input_quantiles"]
                    ),
                    "output_tokens": _summary(
                        n, int(row["output_tokens_sum"]), row["output_quantiles"]
                    ),
                }
            )
        return rows

    def consecutive(entry: dict[str, Any]) -> list[dict[str, Any]]:
        pairs = []
        periods = sorted(int(r["period_index"]) for r in entry["summaries"])
        for field in ("input_tokens", "output_tokens"):
            for before, after in itertools.pairwise(periods):
                a, b = entry["counts"].get((field, before)), entry["counts"].get((field, after))
                if a is None or b is None:
                    continue
                distance = distribution_distances(a[0], b[0], weights_a=a[1], weights_b=b[1])
                pairs.append(
                    {
                        "field": field,
                        "from": before,
                        "to": after,
                        "ks": distance.ks,
                        "wasserstein": distance.wasserstein,
                        "large_shift": distance.ks > LARGE_SHIFT_KS,
                    }
                )
        return pairs

    day_pairs: Any = consecutive(days) if days is not None else []
    if days is None or len(days["summaries"]) < 2:
        day_pairs = _unavailable("the model's requests fall on a single UTC day")
    return {
        "windows": summaries(windows, dataset_window_s),
        "consecutive": consecutive(windows),
        "days": day_pairs,
        "large_shift_ks": LARGE_SHIFT_KS,
    }


def _reasoning(
    row: dict[str, Any] | None, sample: tuple[int, np.ndarray, np.ndarray] | None
) -> dict[str, Any]:
    if row is None:
        return _unavailable("no successful request of this model carries reason_tokens")
    n = int(row["n"])
    result: dict[str, Any] = {
        "available": True,
        "reason_tokens": _summary(n, int(row["reason_tokens_sum"]), row["reason_quantiles"]),
        "ratio": {"n": int(row["n_ratio"]), **_quantiles(row["ratio_quantiles"])},
    }
    if sample is None or sample[1].size < 10:
        result["bimodality"] = _unavailable("fewer than 10 requests with reasoning and output")
        result["ratio_hist"] = _unavailable("fewer than 10 requests with reasoning and output")
        result["reason_vs_answer"] = _no_correlation()
        return result
    n_total, reason, answer = sample
    ratio = reason / (reason + answer)
    density, edges = np.histogram(ratio, bins=RATIO_BINS, range=(0.0, 1.0), density=True)
    found = bimodality(evenly_spaced_order_statistics(ratio, BIMODALITY_CAP))
    vs_answer = correlation(reason, answer)
    result["n_used"] = int(ratio.size)
    result["ratio_hist"] = {"x": ((edges[:-1] + edges[1:]) / 2).tolist(), "y": density.tolist()}
    result["bimodality"] = {
        "n": found.n,  # the order statistics used (at most BIMODALITY_CAP)
        "bic_one": found.bic_one,
        "bic_two": found.bic_two,
        "weights": list(found.weights),
        "means": list(found.means),
        "sds": list(found.sds),
        "n_modes": found.n_modes,
        "is_bimodal": found.is_bimodal,
    }
    result["reason_vs_answer"] = {
        "n": vs_answer.n,
        "pearson": vs_answer.pearson,
        "spearman": vs_answer.spearman,
    }
    result["reason_vs_answer_curve"] = _binned_means(reason, answer)
    grid = log_grid(reason)
    result["reason_tokens_ccdf"] = {
        "x": grid.tolist(),
        "y": empirical_ccdf(reason[reason > 0], grid).tolist() if grid.size else [],
    }
    result["ratio"]["n_total"] = n_total
    return result


def _binned_means(x: np.ndarray, y: np.ndarray, n_bins: int = 10) -> dict[str, list[float]]:
    """Mean of y in quantile bins of x: x = median of x in the bin, y = mean of y."""
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    edges = np.unique(np.round(np.linspace(0, xs.size, n_bins + 1)).astype(np.int64))
    points_x, points_y = [], []
    for start, end in itertools.pairwise(edges):
        if end > start:
            points_x.append(float(np.median(xs[start:end])))
            points_y.append(float(ys[start:end].mean()))
    return {"x": points_x, "y": points_y}


def _multimodal(rows: list[dict[str, Any]] | None, period_s: int) -> dict[str, Any]:
    if not rows or not any(int(rows[0][f"{m}_requests"]) for m in MODALITIES):
        return _unavailable("no successful request of this model carries image, audio or video")

    def mix(row: dict[str, Any]) -> dict[str, Any]:
        n = int(row["n"])
        input_sum = int(row["input_tokens_sum"])
        modalities = {}
        for m in MODALITIES:
            with_items = int(row[f"{m}_requests"])
            items = int(row[f"{m}_items"])
            tokens = int(row[f"{m}_tokens_sum"])
            modalities[m] = {
                "request_share": with_items / n if n else None,
                "items_per_request": {
                    "n": with_items,
                    "mean": items / with_items if with_items else None,
                    **_quantiles(row[f"{m}_item_q"]),
                },
                "tokens_per_item": {
                    "n": items,
                    "mean": tokens / items if items else None,
                    **_quantiles(row[f"{m}_per_item_q"]),
                },
                "token_share": tokens / input_sum if input_sum else None,
            }
        return {
            "n": n,
            "modalities": modalities,
            "text_token_share": int(row["text_tokens_sum"]) / input_sum if input_sum else None,
        }

    whole = mix(rows[0])  # the grouping set without period sorts first
    over_windows = []
    for row in rows[1:]:
        period = mix(row)
        over_windows.append(
            {
                "dataset_index": int(row["period_index"]),
                "start_s": int(row["period_index"]) * period_s,
                "n": period["n"],
                "text_token_share": period["text_token_share"],
                **{
                    f"{m}_request_share": period["modalities"][m]["request_share"]
                    for m in MODALITIES
                },
            }
        )
    return {"available": True, **whole, "over_windows": over_windows}


def _status(info: ModelInfo, found: dict[str, Any] | None, rate: dict[str, Any]) -> dict[str, Any]:
    if not found or all(status is None for _, status, _ in found["codes"]):
        return _unavailable("the log has no status column (or no status for this model)")
    codes: dict[str, int] = {}
    per_client: dict[str, dict[str, int]] = {}
    for client_key, status, n in found["codes"]:
        code = "none" if status is None else str(status)
        codes[code] = codes.get(code, 0) + n
        client = per_client.setdefault(info.client_ids[_position(info, client_key)], {})
        client[code] = client.get(code, 0) + n
    total = sum(codes.values())
    window_s = rate["window_s"]
    model_windows = found["windows"].get(-1, [])
    rates = np.array([w.n / window_s for w in model_windows])
    relation = correlation(rates, np.array([w.n_429 / w.n for w in model_windows]))
    return {
        "available": True,
        "codes": codes,
        "share_429": codes.get("429", 0) / total,
        "share_success": sum(n for c, n in codes.items() if c == "none" or c.startswith("2"))
        / total,
        "per_window": _status_over_time(model_windows, window_s, rate["span_us"], with_rate=True),
        "corr_429_vs_rate": {
            "n": relation.n,
            "pearson": relation.pearson,
            "spearman": relation.spearman,
        },
        "by_load_decile": _status_by_load(model_windows, window_s),
        "clients": per_client,
        "clients_per_window": {
            info.client_ids[_position(info, key)]: _status_over_time(
                found["windows"].get(key, []), window_s, rate["span_us"]
            )
            for key in rate["detailed_keys"]
        },
        "clients_by_load_decile": {
            info.client_ids[_position(info, key)]: _status_by_load(
                found["windows"].get(key, []), window_s
            )
            for key in rate["detailed_keys"]
        },
    }


@dataclass(frozen=True, slots=True)
class StatusWindow:
    """Requests of one trace window by status class (a row of `status_windows.sql`)."""

    window_index: int
    n: int
    n_2xx: int
    n_429: int
    n_4xx_other: int
    n_5xx: int


def _status_over_time(
    rows: list[StatusWindow],
    window_s: int,
    span_us: tuple[int, int],
    with_rate: bool = False,
) -> dict[str, Any]:
    """The 429 share and the requests of each status class per trace window, for every window
    from the model's first to its last arrival: empty windows count 0 requests of each class and
    have a null 429 share (undefined, drawn as a gap rather than a line across the idle
    stretch)."""
    window_us = window_s * US_PER_S
    by_index = {w.window_index: w for w in rows}
    empty = StatusWindow(0, 0, 0, 0, 0, 0)
    indices = range(span_us[0] // window_us, span_us[1] // window_us + 1)
    filled = [by_index.get(i, empty) for i in indices]
    counts = {
        "2xx": [w.n_2xx for w in filled],
        "429": [w.n_429 for w in filled],
        "4xx_other": [w.n_4xx_other for w in filled],
        "5xx": [w.n_5xx for w in filled],
        "other": [w.n - w.n_2xx - w.n_429 - w.n_4xx_other - w.n_5xx for w in filled],
    }
    result: dict[str, Any] = {
        "x": [float(i * window_s) for i in indices],
        "y_429_share": [w.n_429 / w.n if w.n else None for w in filled],
        "counts": counts,
    }
    if with_rate:
        result["y_rate"] = [w.n / window_s for w in filled]
    return result


def _status_by_load(rows: list[StatusWindow], window_s: int) -> dict[str, Any]:
    """The 429 share per decile of the windows' request rate, and its rank correlation."""
    rates = np.array([w.n / window_s for w in rows])
    hits = np.array([w.n_429 for w in rows])
    requests = np.array([w.n for w in rows])
    relation = correlation(rates, hits / np.maximum(requests, 1))
    return {
        "n_windows": len(rows),
        "spearman": relation.spearman,
        "bins": [
            {
                "n_windows": b.n_windows,
                "rate_low": b.rate_low,
                "rate_high": b.rate_high,
                "rate_mean": b.rate_mean,
                "n_requests": b.n_requests,
                "n_429": b.n_429,
                "share_429": b.share_429,
            }
            for b in share_by_load_bins(rates, requests, hits, n_bins=LOAD_BINS)
        ],
    }


def _latency(found: dict[str, Any] | None) -> dict[str, Any]:
    if not found or not any(metric in found for metric in ("ttft_ms", "e2e_ms")):
        return _unavailable("the log has no ttft_ms or e2e_ms for this model")
    result: dict[str, Any] = {"available": True}
    sample = found.get("sample")
    for metric in ("ttft_ms", "e2e_ms"):
        row = found.get(metric)
        if row is None:
            result[metric] = _unavailable(f"no successful request reports {metric}")
            continue
        entry: dict[str, Any] = {"summary": {"n": int(row["n"]), **_quantiles(row["quantiles"])}}
        if sample is not None:
            y = sample[metric]
            ok = np.isfinite(y)
            grid = log_grid(y[ok])
            entry["ccdf"] = {
                "n_used": int(ok.sum()),
                "x": grid.tolist(),
                "y": empirical_ccdf(y[ok], grid).tolist(),
            }
            if ok.sum() >= 4:
                fitted = latency_model(
                    y[ok], sample["input_tokens"][ok], sample["output_tokens"][ok]
                )
                entry["ols"] = {
                    "n": fitted.n,
                    "intercept_ms": fitted.intercept_ms,
                    "ms_per_input_token": fitted.ms_per_input_token,
                    "ms_per_output_token": fitted.ms_per_output_token,
                    "ci95": {k: list(v) for k, v in fitted.ci95.items()},
                    "r_squared": fitted.r_squared,
                }
                for field in ("input_tokens", "output_tokens"):
                    entry[f"by_{field}"] = _log_binned_means(sample[field][ok], y[ok])
            else:
                entry["ols"] = _unavailable("fewer than 4 requests for a regression")
        result[metric] = entry
    return result


def _log_binned_means(x: np.ndarray, y: np.ndarray, n_bins: int = 20) -> dict[str, list[float]]:
    """Mean of y in log-spaced bins of x (x below 1 counts as 1): x = geometric bin centre."""
    clipped = np.maximum(x, 1.0)
    if clipped.max() <= clipped.min():
        return {"x": [float(clipped.min())], "y": [float(y.mean())], "n": [int(y.size)]}
    edges = np.geomspace(clipped.min(), clipped.max(), n_bins + 1)
    index = np.clip(np.searchsorted(edges, clipped, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    sums = np.bincount(index, weights=y, minlength=n_bins)
    used = counts > 0
    centres = np.sqrt(edges[:-1] * edges[1:])
    return {
        "x": centres[used].tolist(),
        "y": (sums[used] / counts[used]).tolist(),
        "n": counts[used].tolist(),
    }


def _sessions(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return _unavailable("the log has no session_id (or none for this model)")
    n_sessions = int(row["n_sessions"])
    n_gaps = int(row["n_gaps"])
    return {
        "available": True,
        "n_sessions": n_sessions,
        "turns": {
            "n": n_sessions,
            "mean": int(row["n_turns_sum"]) / n_sessions,
            **_quantiles(row["turn_quantiles"]),
        },
        "gap_s": {
            "n": n_gaps,
            "mean": int(row["gap_us_sum"]) / n_gaps / US_PER_S if n_gaps else None,
            **_quantiles(row["gap_quantiles"]),
        },
    }


def _quantiles(values: list[float] | None) -> dict[str, Any]:
    p50, p90, p99 = values or (None, None, None)
    return {"p50": p50, "p90": p90, "p99": p99}


def _summary(n: int, total: int, quantiles: list[float] | None) -> dict[str, Any]:
    return {"n": n, "mean": total / n if n else None, **_quantiles(quantiles)}


def _stability(
    info: ModelInfo,
    rate: dict[str, Any],
    client_windows: dict[int, dict[str, Any]],
    length_drift: dict[int, float],
    table: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Per client: how its rate and burstiness move between windows, and its variance share.

    Over the model's W trace windows (empty ones count as 0), client i's share of the variance
    of the aggregate count A is ``cov(n_i, A) / var(A)``; the shares sum to 1, so a few clients
    with large shares are the ones that make the aggregate unpredictable.
    """
    totals = np.asarray(rate["per_window"]["y"], dtype=np.float64) * rate["window_s"]
    n_windows = totals.size
    var_total = float(totals.var()) if n_windows else 0.0
    mean_total = float(totals.mean()) if n_windows else 0.0
    rows = []
    for position, client_id in enumerate(info.client_ids):
        row = client_windows.get(int(info.client_keys[position]))
        if row is None:
            continue
        sum_n, sum_n2 = int(row["sum_n"]), int(row["sum_n2"])
        mean = sum_n / n_windows
        var = max(sum_n2 / n_windows - mean * mean, 0.0)
        covariance = int(row["sum_n_total"]) / n_windows - mean * mean_total
        quartiles = row["cv_quartiles"] or [None, None, None]
        rows.append(
            {
                "client_id": client_id,
                "n_windows_active": int(row["n_windows_active"]),
                "rate_cv": float(np.sqrt(var) / mean) if mean > 0 else None,
                "cv_median": quartiles[1],
                "cv_iqr": quartiles[2] - quartiles[0] if quartiles[0] is not None else None,
                "variance_share": covariance / var_total if var_total > 0 else None,
                "input_ks_max": length_drift.get(int(info.client_keys[position])),
            }
        )
    by_id = {r["client_id"]: r for r in rows}
    for client in table:
        found = by_id.get(client["client_id"], {})
        client["n_windows_active"] = found.get("n_windows_active", 0)
        client["cv_median"] = found.get("cv_median")
    rows.sort(key=lambda r: (-(r["variance_share"] or 0.0), r["client_id"]))
    return rows


def _peak(curve: dict[str, list[float]]) -> dict[str, Any]:
    """The busiest bin of a rate curve (first one on ties) and its start."""
    if not curve["y"]:
        return {"peak_rps": None, "peak_offset_s": None}
    index = int(np.argmax(curve["y"]))
    return {"peak_rps": curve["y"][index], "peak_offset_s": curve["x"][index]}


def _arg_extreme(values: list[float | None], pick: Callable[..., float]) -> int | None:
    """Index of the largest (or smallest) non-null value; the first on ties."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return values.index(pick(present))


def _variance_concentration(
    stability: list[dict[str, Any]], table: list[dict[str, Any]]
) -> dict[str, Any]:
    """Share of the aggregate's per-window variance from the top-k clients by requests.

    The check of ServeGen's finding that a few top clients cause most of the aggregate's
    fluctuation: the summed `variance_share` of the k busiest clients.
    """
    shares = {row["client_id"]: row["variance_share"] for row in stability}
    if not shares or any(v is None for v in shares.values()):
        return _unavailable("the aggregate count does not vary between trace windows")
    ranked = [row["client_id"] for row in table]  # by requests, as the client table
    return {
        "available": True,
        "top_k_by_requests": {str(k): sum(shares.get(c, 0.0) for c in ranked[:k]) for k in TOP_K},
    }


def _unavailable(reason: str) -> dict[str, Any]:
    return {"available": False, "reason": reason}


def _concentration(amounts: list[int]) -> dict[str, Any]:
    values = np.asarray(amounts, dtype=np.float64)
    x, y = lorenz_curve(values)
    return {
        "gini": gini(values),
        "top_k_share": {str(k): share for k, share in top_k_shares(values, TOP_K).items()},
        "lorenz": {"x": x.tolist(), "y": y.tolist()},
    }


def _summary_of(row: dict[str, Any], field: str) -> dict[str, Any]:
    n = int(row["n_success"])
    total = int(row[f"{field}_tokens_sum"])
    quantiles = row[f"{field}_quantiles"] or [None, None, None]
    return {
        "n": n,
        "mean": total / n if n else None,
        "p50": quantiles[0],
        "p90": quantiles[1],
        "p99": quantiles[2],
    }


def _no_correlation() -> dict[str, Any]:
    return {"n": 0, "pearson": None, "spearman": None}


# --- helpers -----------------------------------------------------------------------------------


def _detailed_client_keys(
    info: ModelInfo, client_rows: dict[int, dict[str, Any]], options: CharacterizeOptions
) -> list[int]:
    """The model's top clients by requests (ties by client id), at most `top_clients`."""
    order = sorted(
        range(len(info.client_ids)),
        key=lambda i: (
            -int(client_rows[int(info.client_keys[i])]["n_requests"]),
            info.client_ids[i],
        ),
    )
    return [int(info.client_keys[i]) for i in order[: options.top_clients]]


def _position(info: ModelInfo, client_key: int) -> int:
    return int(np.searchsorted(info.client_keys, client_key))


def _filled_curve(
    counts: dict[int, int], first_us: int, last_us: int, bin_s: int
) -> dict[str, list[float]]:
    """Rate per origin-aligned bin from the first to the last arrival's bin; empty bins 0."""
    bin_us = bin_s * US_PER_S
    first_bin, last_bin = first_us // bin_us, last_us // bin_us
    indices = range(first_bin, last_bin + 1)
    return {
        "x": [float(i * bin_s) for i in indices],
        "y": [counts.get(i, 0) / bin_s for i in indices],
    }


def _dicts(relation: duckdb.DuckDBPyRelation) -> list[dict[str, Any]]:
    names = relation.columns
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
