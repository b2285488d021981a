"""stats.json's `status`: status codes, the 429 share over time and against load."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import numpy as np

from fitting.workload import (
    correlation,
    share_by_load_bins,
)
from pipeline import sqlrun
from pipeline.stages.characterize.common import (
    US_PER_S,
    Context,
    Correlation,
    ModelInfo,
    Unavailable,
    _position,
    _unavailable,
)

LOAD_BINS = 10  # deciles of the window rate for the 429 share against load


class StatusOverTime(TypedDict, total=False):
    """Per trace window: its start (x), the 429 share (null when empty), requests per status
    class, and (the model's curve only) the request rate."""

    x: list[float]
    y_429_share: list[float | None]
    counts: dict[str, list[int]]  # 2xx, 429, 4xx_other, 5xx, other
    y_rate: list[float]


class StatusByLoad(TypedDict):
    n_windows: int
    spearman: float | None
    bins: list[dict[str, Any]]  # per decile of the window rate: its range and the 429 share


class Status(TypedDict):
    """stats.json's `models[].status`."""

    available: Literal[True]
    codes: dict[str, int]  # requests per status code ("none" without one)
    share_429: float
    share_success: float
    per_window: StatusOverTime
    corr_429_vs_rate: Correlation
    by_load_decile: StatusByLoad
    clients: dict[str, dict[str, int]]
    clients_per_window: dict[str, StatusOverTime]
    clients_by_load_decile: dict[str, StatusByLoad]


def _status(
    info: ModelInfo, found: dict[str, Any] | None, rate: dict[str, Any]
) -> Status | Unavailable:
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
) -> StatusOverTime:
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
    result: StatusOverTime = {
        "x": [float(i * window_s) for i in indices],
        "y_429_share": [w.n_429 / w.n if w.n else None for w in filled],
        "counts": counts,
    }
    if with_rate:
        result["y_rate"] = [w.n / window_s for w in filled]
    return result


def _status_by_load(rows: list[StatusWindow], window_s: int) -> StatusByLoad:
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


def load_status(context: Context) -> dict[int, dict[str, Any]]:
    """Per model: status codes per client, and requests and 429s per trace window for the
    model (client key -1) and its detailed clients."""
    result: dict[int, dict[str, Any]] = {}
    for model_key, client_key, status, n in sqlrun.query(
        context.con, "characterize/status_codes"
    ).fetchall():
        entry = result.setdefault(int(model_key), {"codes": [], "windows": {}})
        entry["codes"].append((int(client_key), status, int(n)))
    for model_key, client_key, window_index, n, *by_class in context.window_rows:
        windows = result[model_key]["windows"].setdefault(client_key, [])
        windows.append(StatusWindow(window_index, n, *by_class))
    return result
