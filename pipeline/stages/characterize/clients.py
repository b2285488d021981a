"""Per model: the clients table, concentration, rate over time, token correlation, and each
client's stability between windows (stats.json's model keys `clients` ... `variance_concentration`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

import numpy as np

from fitting.workload import (
    gini,
    lorenz_curve,
    pearson_from_moments,
    top_k_shares,
)
from pipeline import sqlrun
from pipeline.stages.characterize.common import (
    MINUTE_S,
    TOP_K,
    US_PER_S,
    Context,
    Correlation,
    Curve,
    ModelInfo,
    Summary,
    Unavailable,
    _dicts,
    _filled_curve,
    _no_correlation,
    _position,
    _summary_of,
    _unavailable,
)

if TYPE_CHECKING:
    import duckdb

    from pipeline.config import CharacterizeOptions
    from pipeline.stages.characterize.document import ModelStats


MAX_RATE_BINS = 10_080  # a week of minutes; longer logs get wider bins


class ClientRow(TypedDict):
    """A row of stats.json's `models[].clients`, in rank order (requests, then client id)."""

    client_id: str
    n_requests: int
    request_share: float
    n_success: int
    input_tokens_sum: int
    output_tokens_sum: int
    token_share: float | None
    input_tokens: Summary
    output_tokens: Summary
    correlation: Correlation  # of input and output tokens
    rate_rps_mean: float | None
    detailed: bool  # one of the top clients with curves and fits of their own
    rank: NotRequired[int]
    n_windows_active: NotRequired[int]  # from the stability part
    cv_median: NotRequired[float | None]


class ConcentrationOf(TypedDict):
    gini: float
    top_k_share: dict[str, float]  # "k" -> share of the top k clients
    lorenz: Curve


class Concentration(TypedDict):
    by_requests: ConcentrationOf
    by_tokens: ConcentrationOf
    rank: dict[str, list[int]]  # rank (x) against requests (y)


class Peak(TypedDict):
    peak_rps: float | None
    peak_offset_s: float | None


class Rate(Peak):
    """stats.json's `models[].rate`: requests per second over time."""

    bin_s: int
    mean_rps: float | None
    per_minute: Curve  # per bin_s bin
    per_window: Curve  # per trace window
    clients_per_window: dict[str, Curve]  # the detailed clients
    clients_per_minute: dict[str, Curve]


class StabilityRow(TypedDict):
    """A row of stats.json's `models[].stability`, by variance share (largest first)."""

    client_id: str
    n_windows_active: int
    rate_cv: float | None
    cv_median: float | None
    cv_iqr: float | None
    variance_share: float | None
    input_ks_max: float | None


class VarianceConcentration(TypedDict):
    available: Literal[True]
    top_k_by_requests: dict[str, float]


def _model_section(
    info: ModelInfo,
    model_row: dict[str, Any],
    client_rows: dict[int, dict[str, Any]],
    correlations: dict[tuple[str, int], Correlation],
    rate: dict[str, Any],
    options: CharacterizeOptions,
) -> ModelStats:
    first_us, last_us = int(model_row["first_offset_us"]), int(model_row["last_offset_us"])
    span_s = max((last_us - first_us) / US_PER_S, 0.0)
    detailed = set(rate["detailed_keys"])
    rows = [client_rows[int(key)] for key in info.client_keys]
    tokens = [int(r["input_tokens_sum"]) + int(r["output_tokens_sum"]) for r in rows]
    total_requests = int(model_row["n_requests"])
    total_tokens = sum(tokens)
    table: list[ClientRow] = []
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
    for rank, client in enumerate(table, start=1):
        client["rank"] = rank
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


def _stability(
    info: ModelInfo,
    rate: dict[str, Any],
    client_windows: dict[int, dict[str, Any]],
    length_drift: dict[int, float],
    table: list[ClientRow],
) -> list[StabilityRow]:
    """Per client: how its rate and burstiness move between windows, and its variance share.

    Over the model's W trace windows (empty ones count as 0), client i's share of the variance
    of the aggregate count A is ``cov(n_i, A) / var(A)``; the shares sum to 1, so a few clients
    with large shares are the ones that make the aggregate unpredictable.
    """
    totals = np.asarray(rate["per_window"]["y"], dtype=np.float64) * rate["window_s"]
    n_windows = totals.size
    var_total = float(totals.var()) if n_windows else 0.0
    mean_total = float(totals.mean()) if n_windows else 0.0
    rows: list[StabilityRow] = []
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
        found: StabilityRow | dict[str, Any] = by_id.get(client["client_id"], {})
        client["n_windows_active"] = found.get("n_windows_active", 0)
        client["cv_median"] = found.get("cv_median")
    rows.sort(key=lambda r: (-(r["variance_share"] or 0.0), r["client_id"]))
    return rows


def _peak(curve: dict[str, list[float]]) -> Peak:
    """The busiest bin of a rate curve (first one on ties) and its start."""
    if not curve["y"]:
        return {"peak_rps": None, "peak_offset_s": None}
    index = int(np.argmax(curve["y"]))
    return {"peak_rps": curve["y"][index], "peak_offset_s": curve["x"][index]}


def _variance_concentration(
    stability: list[StabilityRow], table: list[ClientRow]
) -> VarianceConcentration | Unavailable:
    """Share of the aggregate's per-window variance from the top-k clients by requests.

    The check of ServeGen's finding that a few top clients cause most of the aggregate's
    fluctuation: the summed `variance_share` of the k busiest clients.
    """
    shares = {row["client_id"]: row["variance_share"] for row in stability}
    if not shares or any(v is None for v in shares.values()):
        return _unavailable("the aggregate count does not vary between trace windows")
    known = {client: share for client, share in shares.items() if share is not None}  # all
    ranked = [row["client_id"] for row in table]  # by requests, as the client table
    return {
        "available": True,
        "top_k_by_requests": {str(k): sum(known.get(c, 0.0) for c in ranked[:k]) for k in TOP_K},
    }


def _concentration(amounts: list[int]) -> ConcentrationOf:
    values = np.asarray(amounts, dtype=np.float64)
    x, y = lorenz_curve(values)
    return {
        "gini": gini(values),
        "top_k_share": {str(k): share for k, share in top_k_shares(values, TOP_K).items()},
        "lorenz": {"x": x.tolist(), "y": y.tolist()},
    }


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


def load_client_summary(context: Context) -> dict[int, dict[str, Any]]:
    """Each client's counts and token sums, kept as the table `client_summary` that the model
    roll-up reads (one pass over the per-minute summary for both)."""
    sqlrun.query(
        context.con, "characterize/client_summary", {"origin_us": context.meta["origin_us"]}
    ).to_table("client_summary")
    return _summary_rows(context, context.con.table("client_summary"), "client")


def load_model_summary(context: Context) -> dict[int, dict[str, Any]]:
    """Each model's counts and token sums; needs `load_client_summary` first."""
    return _summary_rows(context, sqlrun.query(context.con, "characterize/model_summary"), "model")


def _summary_rows(
    context: Context, relation: duckdb.DuckDBPyRelation, level: str
) -> dict[int, dict[str, Any]]:
    key = f"{level}_key"
    return {
        int(row[key]): context.with_quantiles(row, level, int(row[key])) for row in _dicts(relation)
    }


def load_category_summary(context: Context) -> list[dict[str, Any]]:
    relation = sqlrun.query(context.con, "characterize/category_summary")
    return [context.with_quantiles(row, "category", row["category"]) for row in _dicts(relation)]


def load_correlation_sums(context: Context) -> dict[tuple[str, int], Correlation]:
    relation = sqlrun.query(context.con, "characterize/correlation_sums")
    result: dict[tuple[str, int], Correlation] = {}
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


def load_rates(
    context: Context,
    models: list[ModelInfo],
    model_rows: dict[int, dict[str, Any]],
    detailed: dict[int, list[int]],
) -> dict[int, dict[str, Any]]:
    """Per model: the rate per minute (or wider bins) and per trace window, for the model
    and its detailed clients (registered as `detailed_clients` beforehand)."""
    window_s = int(context.meta["window_s"])
    spans = {
        key: (int(row["first_offset_us"]), int(row["last_offset_us"]))
        for key, row in model_rows.items()
    }
    longest_s = max(((last - first) / US_PER_S for first, last in spans.values()), default=0)
    bin_s = MINUTE_S * max(1, math.ceil(longest_s / MINUTE_S / MAX_RATE_BINS))
    # per-minute bins from the minute counts; trace windows (of any length) from the window
    # counts, the model's rows under client key -1
    window_models: dict[int, dict[int, int]] = {}
    window_clients: dict[int, dict[int, int]] = {}
    for model_key, client_key, window_index, n, *_by_class in context.window_rows:
        if client_key == -1:
            window_models.setdefault(model_key, {})[window_index] = n
        else:
            window_clients.setdefault(client_key, {})[window_index] = n
    model_counts = {bin_s: context.bin_counts(bin_s), window_s: window_models}
    client_counts = {bin_s: context.client_bin_counts(bin_s), window_s: window_clients}
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


def load_client_length_drift(context: Context, period_us: int) -> dict[int, float]:
    """Each client's largest input-length KS distance between consecutive dataset windows."""
    if period_us != int(context.meta["dataset_window_s"]) * US_PER_S:
        raise ValueError("the token value tables are kept per dataset window only")
    relation = sqlrun.query(context.con, "characterize/client_length_drift")
    return {int(key): float(ks) for key, ks in relation.fetchall()}


def load_client_windows(context: Context) -> dict[int, dict[str, Any]]:
    relation = sqlrun.query(context.con, "characterize/client_windows")
    return {int(row["client_key"]): row for row in _dicts(relation)}
