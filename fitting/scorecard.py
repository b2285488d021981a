"""Fidelity scores: how closely a generated workload resembles the real one (pure).

Arrival scores are computed from per-second counts (so that a large real log reaches Python
as one array per model, made in SQL) and from inter-arrival moments; data scores compare
weighted value tables. ServeGen (arXiv:2505.09999) compares generators on the same
kinds of measures: burstiness of arrivals across time scales and length distributions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fitting.lengths import distribution_distances

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

FANO_SCALES_S = (1, 10, 60, 600)
TAIL_QUANTILES = (0.9, 0.99)


def per_second(
    time_s: ArrayLike, n_seconds: int, weights: ArrayLike | None = None
) -> NDArray[np.float64]:
    """Counts (or summed weights) in each second ``[k, k + 1)`` for k in 0..n_seconds-1."""
    t = np.asarray(time_s, dtype=np.float64)
    index = np.floor(t).astype(np.int64)
    keep = (index >= 0) & (index < n_seconds)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)[keep]
    return np.bincount(index[keep], weights=w, minlength=n_seconds).astype(np.float64)


def fano_from_counts(counts_1s: ArrayLike, scales_s: Sequence[int]) -> dict[int, float]:
    """Fano factor (variance over mean of counts) at each scale, from 1-second counts.

    Counts at scale k are sums of k consecutive seconds; a trailing partial block is left out.
    Equal to `fitting.workload.fano_factors` on the arrival times (tested), without needing them.

    References
    ----------
    D. R. Cox and P. A. W. Lewis, *The Statistical Analysis of Series of Events* (1966).
    """
    counts = np.asarray(counts_1s, dtype=np.float64)
    result = {}
    for scale in scales_s:
        n_blocks = counts.size // scale
        if n_blocks < 2:
            result[scale] = float("nan")
            continue
        blocks = counts[: n_blocks * scale].reshape(n_blocks, scale).sum(axis=1)
        mean = blocks.mean()
        result[scale] = float(blocks.var() / mean) if mean > 0 else float("nan")
    return result


def interarrival_cv(time_s: ArrayLike) -> float:
    """Coefficient of variation of the gaps between consecutive arrivals (population sd)."""
    gaps = np.diff(np.sort(np.asarray(time_s, dtype=np.float64)))
    if gaps.size < 2 or gaps.mean() <= 0:
        return float("nan")
    return float(gaps.std() / gaps.mean())


@dataclass(frozen=True, slots=True)
class ArrivalScores:
    """Burstiness and load measures of one arrival stream."""

    n_requests: int
    rate_rps: float
    cv_interarrival: float
    fano: dict[int, float]  # time scale (s) -> Fano factor
    peak_to_mean_1s: float
    p99_requests_per_s: float
    p99_tokens_per_s: float


def arrival_scores(
    counts_1s: ArrayLike, tokens_1s: ArrayLike, cv_interarrival: float
) -> ArrivalScores:
    """Scores of a stream from its per-second request and token counts."""
    counts = np.asarray(counts_1s, dtype=np.float64)
    tokens = np.asarray(tokens_1s, dtype=np.float64)
    mean = counts.mean() if counts.size else 0.0
    return ArrivalScores(
        n_requests=int(counts.sum()),
        rate_rps=float(mean),
        cv_interarrival=float(cv_interarrival),
        fano=fano_from_counts(counts, FANO_SCALES_S),
        peak_to_mean_1s=float(counts.max() / mean) if mean > 0 else float("nan"),
        p99_requests_per_s=float(np.quantile(counts, 0.99)) if counts.size else float("nan"),
        p99_tokens_per_s=float(np.quantile(tokens, 0.99)) if tokens.size else float("nan"),
    )


def window_rate_error(real_counts: ArrayLike, generated_counts: ArrayLike) -> float:
    """Relative error of per-window rates: sum |generated - real| / sum real."""
    real = np.asarray(real_counts, dtype=np.float64)
    generated = np.asarray(generated_counts, dtype=np.float64)
    total = real.sum()
    return float(np.abs(generated - real).sum() / total) if total > 0 else float("nan")


def weighted_quantiles(
    values: ArrayLike, weights: ArrayLike, quantiles: Sequence[float]
) -> list[float]:
    """Quantiles of a value table (inverted empirical CDF: the smallest value reaching q)."""
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    order = np.argsort(v, kind="stable")
    cdf = np.cumsum(w[order]) / w.sum()
    index = np.searchsorted(cdf, np.asarray(quantiles) - 1e-12, side="left")
    return [float(x) for x in v[order][np.minimum(index, v.size - 1)]]


@dataclass(frozen=True, slots=True)
class FieldScores:
    """A generated field against the real one: distances and tail percentiles."""

    ks: float
    wasserstein: float
    real_p90: float
    real_p99: float
    generated_p90: float
    generated_p99: float


def field_scores(
    real_values: ArrayLike,
    real_weights: ArrayLike,
    generated_values: ArrayLike,
    generated_weights: ArrayLike,
) -> FieldScores:
    """KS and Wasserstein distance and p90/p99 of two value tables (values, counts)."""
    distances = distribution_distances(
        real_values, generated_values, weights_a=real_weights, weights_b=generated_weights
    )
    real_tail = weighted_quantiles(real_values, real_weights, TAIL_QUANTILES)
    generated_tail = weighted_quantiles(generated_values, generated_weights, TAIL_QUANTILES)
    return FieldScores(distances.ks, distances.wasserstein, *real_tail, *generated_tail)


def share_distance(real_counts: ArrayLike, generated_counts: ArrayLike) -> float:
    """Total variation distance of two share vectors: half the summed absolute differences of
    the shares, 0 for the same mix of clients and 1 for disjoint ones."""
    real = np.asarray(real_counts, dtype=np.float64)
    generated = np.asarray(generated_counts, dtype=np.float64)
    if real.sum() <= 0 or generated.sum() <= 0:
        return float("nan")
    return float(0.5 * np.abs(real / real.sum() - generated / generated.sum()).sum())


def relative_error(real: float, generated: float) -> float:
    """|generated - real| / |real| (NaN when the real value is 0 or undefined)."""
    if not np.isfinite(real) or real == 0 or not np.isfinite(generated):
        return float("nan")
    return float(abs(generated - real) / abs(real))


def ccdf_on_grid(values: ArrayLike, weights: ArrayLike, grid: ArrayLike) -> NDArray[np.float64]:
    """Share of the (weighted) values strictly above each point of an ascending grid.

    Each value is binned by the number of grid points below it (no sort of the values), so a
    long array costs one binary search per value.
    """
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    g = np.asarray(grid, dtype=np.float64)
    total = w.sum()
    if total <= 0:
        return np.full(g.size, np.nan)
    below = np.searchsorted(g, v, side="left")  # grid points strictly below each value
    at_or_below = np.cumsum(np.bincount(below, weights=w, minlength=g.size + 1))[: g.size]
    return 1.0 - at_or_below / total
