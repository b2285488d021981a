"""Characterize: a run directory's artefacts -> `stats.json`, the numbers behind the report.

The per-request work (counts per bin, sums, percentiles, ranks) runs in DuckDB over ingest's
artefacts; Python gets per-client and per-bin rows and small deterministic samples, and hands
them to the pure statistics in `fitting/`. The schema is documented in docs/stats.md.
Statistics that do not apply to a log are recorded as ``{"available": false, "reason": ...}``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fitting.workload import gini, lorenz_curve, pearson_from_moments, top_k_shares
from pipeline import sqlrun
from pipeline.rundir import RunDir, write_json
from pipeline.stages.aggregate import META, TRACE_WINDOWS, US_PER_DAY
from pipeline.stages.ingest import connect, open_requests

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import duckdb

    from pipeline.config import CharacterizeOptions, EngineOptions

STATS = "stats.json"
FORMAT = "servechar.stats/1"
TOP_K = (1, 5, 10, 20)
FANO_SCALES_S = (1, 10, 60, 600, 3600)
US_PER_S = 1_000_000
MINUTE_S = 60
MAX_RATE_BINS = 10_080  # a week of minutes; longer logs get wider bins
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


def run(run_dir: RunDir, options: CharacterizeOptions, engine: EngineOptions) -> CharacterizeResult:
    """Compute every statistic of docs/stats.md and write `stats.json`."""
    started = time.perf_counter()
    meta = run_dir.read_json(META, "aggregate")
    summary = run_dir.read_json("summary.json", "ingest")
    trace_windows = run_dir.require(TRACE_WINDOWS, "aggregate")
    seconds: dict[str, float] = {}

    con = connect(run_dir, engine)
    try:
        open_requests(con, run_dir)
        sqlrun.query(con, "aggregate/clients").to_table("clients")
        sqlrun.query(
            con, "characterize/keyed_requests", {"origin_us": meta["origin_us"]}
        ).create_view("char_requests")
        con.read_parquet(str(trace_windows)).create_view("trace_windows")
        context = _Context(con, meta, options)

        def timed(name: str, compute: Callable[[], Any]) -> Any:
            section_started = time.perf_counter()
            value = compute()
            seconds[name] = round(time.perf_counter() - section_started, 3)
            return value

        models = timed("clients", context.load_clients)
        client_rows = timed("client_summary", context.client_summary)
        model_rows = timed("model_summary", context.model_summary)
        correlations = timed("correlation", context.correlation_sums)
        rates = timed("rate", lambda: context.rates(models))

        model_sections = []
        for info in models:
            model_sections.append(
                _model_section(
                    info,
                    model_rows[info.model_key],
                    client_rows,
                    correlations,
                    rates[info.model_key],
                    options,
                )
            )
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
            "models": model_sections,
        }
    finally:
        con.close()

    path = write_json(run_dir.path(STATS), _clean(stats), compact=True)
    size = path.stat().st_size
    run_dir.update_manifest(
        "characterize",
        {
            "options": options.model_dump(),
            "engine": engine.model_dump(),
            "outputs": [str(path)],
            "stats_bytes": size,
            "section_seconds": seconds,
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
    return CharacterizeResult(path, size, seconds)


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
                    [r[4] for r in group],
                )
            )
        return models

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
            result[(row["level"], int(row["unit_key"]))] = {
                "n": n,
                "pearson": pearson_from_moments(n, *moments),
                "spearman": pearson_from_moments(n, *ranks),
            }
        return result

    def rates(self, models: list[ModelInfo]) -> dict[int, dict[str, Any]]:
        """Per model: the rate at 1-minute (or wider) resolution and per trace window."""
        window_s = int(self.meta["window_s"])
        spans = {
            row[0]: (row[1], row[2])
            for row in self.con.sql(
                "select model_key, min(offset_us), max(offset_us) from char_requests group by 1"
            ).fetchall()
        }
        longest_s = max(((last - first) / US_PER_S for first, last in spans.values()), default=0)
        bin_s = MINUTE_S * max(1, math.ceil(longest_s / MINUTE_S / MAX_RATE_BINS))
        per_bin = self._bin_counts(bin_s)
        per_window = self._bin_counts(window_s)
        windows = self._client_windows()
        result = {}
        for info in models:
            first_us, last_us = spans[info.model_key]
            detailed = _detailed_client_keys(info, windows["client_totals"], self.options)
            window_curve = _filled_curve(
                per_window.get(info.model_key, {}), first_us, last_us, window_s
            )
            clients_curves = {}
            for key in detailed:
                counts = windows["by_client"].get(key, {})
                clients_curves[info.client_ids[_position(info, key)]] = _filled_curve(
                    counts, first_us, last_us, window_s
                )
            result[info.model_key] = {
                "bin_s": bin_s,
                "per_minute": _filled_curve(
                    per_bin.get(info.model_key, {}), first_us, last_us, bin_s
                ),
                "per_window": window_curve,
                "clients_per_window": clients_curves,
                "detailed_keys": detailed,
            }
        return result

    def _bin_counts(self, bin_s: int) -> dict[int, dict[int, int]]:
        relation = sqlrun.query(
            self.con, "characterize/model_bin_counts", {"bin_us": bin_s * US_PER_S}
        )
        counts: dict[int, dict[int, int]] = {}
        for model_key, bin_index, n in relation.fetchall():
            counts.setdefault(int(model_key), {})[int(bin_index)] = int(n)
        return counts

    def _client_windows(self) -> dict[str, Any]:
        rows = self.con.sql(
            "select client_key, window_index, n_requests from trace_windows"
        ).fetchall()
        by_client: dict[int, dict[int, int]] = {}
        totals: dict[int, int] = {}
        for client_key, window_index, n in rows:
            by_client.setdefault(int(client_key), {})[int(window_index)] = int(n)
            totals[int(client_key)] = totals.get(int(client_key), 0) + int(n)
        return {"by_client": by_client, "client_totals": totals}


# --- sections ----------------------------------------------------------------------------------


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
            "per_minute": rate["per_minute"],
            "per_window": rate["per_window"],
            "clients_per_window": rate["clients_per_window"],
        },
        "correlation": correlations.get(("model", info.model_key), _no_correlation()),
        "input_tokens": _summary_of(model_row, "input"),
        "output_tokens": _summary_of(model_row, "output"),
    }


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
    info: ModelInfo, totals: dict[int, int], options: CharacterizeOptions
) -> list[int]:
    """The model's top clients by requests (ties by client id), at most `top_clients`."""
    order = sorted(
        range(len(info.client_ids)),
        key=lambda i: (-totals.get(int(info.client_keys[i]), 0), info.client_ids[i]),
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


def _clean(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, NaN/inf to null, floats to fixed precision."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if not math.isfinite(number):
            return None
        return float(f"{number:.{SIGNIFICANT_DIGITS}g}")
    return value
