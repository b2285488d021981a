"""stats.json's `latency`: TTFT and end-to-end latency, and the latency model."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

import numpy as np

from fitting.distributions import (
    empirical_ccdf,
    log_grid,
)
from fitting.workload import (
    latency_model,
)
from pipeline import sqlrun
from pipeline.stages.characterize.common import (
    Context,
    Quantiles,
    Unavailable,
    _quantiles,
    _unavailable,
)
from pipeline.stages.characterize.values import ValueTables, count, percentiles


class LatencySummary(Quantiles):
    n: int


class LatencyMetric(TypedDict, total=False):
    """One latency metric (ttft_ms or e2e_ms); `ccdf`, `ols` and the binned means come from the
    sample and are absent without one."""

    summary: LatencySummary
    ccdf: dict[str, Any]  # n_used, x, y
    ols: dict[str, Any] | Unavailable  # the latency model's fit
    by_input_tokens: dict[str, list[float]]
    by_output_tokens: dict[str, list[float]]


class Latency(TypedDict, total=False):
    """stats.json's `models[].latency`."""

    available: Literal[True]
    ttft_ms: LatencyMetric | Unavailable
    e2e_ms: LatencyMetric | Unavailable


def _latency(found: dict[str, Any] | None) -> Latency | Unavailable:
    if not found or not any(metric in found for metric in ("ttft_ms", "e2e_ms")):
        return _unavailable("the log has no ttft_ms or e2e_ms for this model")
    result: Latency = {"available": True}
    sample = found.get("sample")
    for metric in ("ttft_ms", "e2e_ms"):
        row = found.get(metric)
        if row is None:
            result[metric] = _unavailable(f"no successful request reports {metric}")
            continue
        entry: LatencyMetric = {"summary": {"n": int(row["n"]), **_quantiles(row["quantiles"])}}
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
                entry["by_input_tokens"] = _log_binned_means(sample["input_tokens"][ok], y[ok])
                entry["by_output_tokens"] = _log_binned_means(sample["output_tokens"][ok], y[ok])
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


def load_latency(context: Context, values: ValueTables) -> dict[int, dict[str, Any]]:
    """Per model: each metric's count and percentiles (merged value -> count tables) and the
    sampled requests that report a latency (the shared sample)."""
    result: dict[int, dict[str, Any]] = {}
    for key, fields in values.items():
        for metric in ("ttft_ms", "e2e_ms"):
            if metric in fields:
                result.setdefault(key, {})[metric] = {
                    "n": count(fields[metric]),
                    "quantiles": percentiles(fields[metric]),
                }
    table = sqlrun.query(context.con, "characterize/latency_samples").to_arrow_table()
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
