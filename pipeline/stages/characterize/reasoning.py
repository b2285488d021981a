"""stats.json's `reasoning`: reasoning and answer tokens of reasoning models."""

from __future__ import annotations

import itertools
from typing import Any, Literal, NotRequired, TypedDict

import numpy as np

from fitting.distributions import (
    empirical_ccdf,
    log_grid,
)
from fitting.workload import (
    bimodality,
    correlation,
)
from pipeline import sqlrun
from pipeline.stages.characterize.common import (
    Context,
    Correlation,
    Curve,
    Quantiles,
    Summary,
    Unavailable,
    _no_correlation,
    _quantiles,
    _summary,
    _unavailable,
    evenly_spaced_order_statistics,
)
from pipeline.stages.characterize.values import (
    ValueTables,
    count,
    integer_sum,
    percentiles,
)

RATIO_BINS = 50
BIMODALITY_CAP = 20_000  # the two-Gaussian EM is ~50 ms per 1,000 values


class RatioSummary(Quantiles, total=False):
    n: int
    n_total: int  # requests behind the sampled ratio histogram


class Reasoning(TypedDict):
    """stats.json's `models[].reasoning`; the parts after `ratio` need 10 or more requests with
    reasoning and output tokens (`bimodality` and `ratio_hist` say so when there are fewer)."""

    available: Literal[True]
    reason_tokens: Summary
    ratio: RatioSummary  # reasoning tokens / (reasoning + answer tokens)
    n_used: NotRequired[int]
    ratio_hist: NotRequired[Curve | Unavailable]
    bimodality: NotRequired[dict[str, Any] | Unavailable]
    reason_vs_answer: NotRequired[Correlation]
    reason_vs_answer_curve: NotRequired[dict[str, list[float]]]
    reason_tokens_ccdf: NotRequired[Curve]


def _reasoning(
    row: dict[str, Any] | None, sample: tuple[int, np.ndarray, np.ndarray] | None
) -> Reasoning | Unavailable:
    if row is None:
        return _unavailable("no successful request of this model carries reason_tokens")
    n = int(row["n"])
    result: Reasoning = {
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


def load_reasoning(values: ValueTables) -> dict[int, dict[str, Any]]:
    """Per model whose successful requests carry reason_tokens: counts, the exact sum and the
    percentiles of reason_tokens and of the ratio (from the merged value -> count tables)."""
    rows = {}
    for key, fields in values.items():
        reason = fields.get("reason_tokens")
        if reason is None:
            continue
        ratio = fields.get("reason_ratio")
        rows[key] = {
            "n": count(reason),
            "reason_tokens_sum": integer_sum(reason),
            "reason_quantiles": percentiles(reason),
            "n_ratio": count(ratio),
            "ratio_quantiles": percentiles(ratio),
        }
    return rows


def load_reason_samples(context: Context) -> dict[int, tuple[int, np.ndarray, np.ndarray]]:
    table = sqlrun.query(context.con, "characterize/reason_samples").to_arrow_table()
    models = table.column("model_key").to_numpy()
    n = table.column("n").to_numpy()
    reason = table.column("reason_tokens").to_numpy().astype(np.float64)
    answer = table.column("answer_tokens").to_numpy().astype(np.float64)
    return {
        int(k): (int(n[models == k][0]), reason[models == k], answer[models == k])
        for k in np.unique(models)
    }
