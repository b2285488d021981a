"""Request-length models and distances between length distributions.

Input lengths in production look log-normal in the body with a power-law tail (ServeGen,
Sec. 4): `fit_pareto_lognormal` fits that mixture by EM. `distribution_distances` measures
drift between two samples (or two count tables) by Kolmogorov-Smirnov and Wasserstein.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import special, stats

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True, slots=True)
class ParetoLognormal:
    """``w * Pareto(xmin, alpha) + (1 - w) * Lognormal(mu, sigma)`` fitted by EM.

    ``tail_weight`` is w, ``alpha`` the tail index (``P(X > x) ~ x^-alpha``), ``xmin`` the
    Pareto scale chosen by likelihood among sample quantiles. ``ks`` is the Kolmogorov-
    Smirnov distance of the fitted mixture to the sample.
    """

    n: int
    tail_weight: float
    alpha: float
    xmin: float
    mu: float
    sigma: float
    loglik: float
    aic: float
    ks: float


def _mixture_cdf(x: NDArray[np.float64], fit: ParetoLognormal) -> NDArray[np.float64]:
    body = special.ndtr((np.log(x) - fit.mu) / fit.sigma)
    tail = np.where(x >= fit.xmin, 1.0 - (fit.xmin / np.maximum(x, fit.xmin)) ** fit.alpha, 0.0)
    return (1.0 - fit.tail_weight) * body + fit.tail_weight * tail


def fit_pareto_lognormal(
    sample: ArrayLike, *, candidates: int = 24, iterations: int = 200, tol: float = 1e-9
) -> ParetoLognormal:
    """Maximum-likelihood Pareto-tail plus log-normal-body mixture (EM for each xmin).

    For each candidate xmin (quantiles 0.5 to 0.98 of the sample) EM alternates the
    responsibilities with the closed-form weighted M-steps (log-moments for the log-normal,
    ``alpha = sum r / sum r log(x/xmin)`` for the Pareto); the xmin with the highest
    likelihood wins. Deterministic: no random starts.
    """
    x = np.sort(np.asarray(sample, dtype=np.float64))
    x = x[np.isfinite(x)]
    if x.size < 50 or np.any(x <= 0):
        raise ValueError("`sample` needs at least 50 positive values")
    # EM over the distinct values weighted by their counts: token counts repeat a lot, so
    # this is several times faster than over the raw sample and gives the same estimates.
    values, counts = np.unique(x, return_counts=True)
    w = counts.astype(np.float64)
    n = float(x.size)
    log_v = np.log(values)
    half_log_2pi = 0.5 * np.log(2 * np.pi)
    best: ParetoLognormal | None = None
    for xmin in np.unique(np.quantile(x, np.linspace(0.5, 0.98, candidates))):
        in_tail = values >= xmin
        n_tail = float(w[in_tail].sum())
        if n_tail < 10:
            continue
        log_ratio = np.where(in_tail, np.log(np.maximum(values, xmin) / xmin), 0.0)
        weight = n_tail / n
        mu = float((w * log_v).sum() / n)
        sigma = float(np.sqrt((w * (log_v - mu) ** 2).sum() / n))
        alpha = float(n_tail / max((w * log_ratio)[in_tail].sum(), 1e-12))
        previous = -np.inf
        loglik = -np.inf
        for _ in range(iterations):
            z = (log_v - mu) / sigma
            log_body = np.log1p(-weight) - 0.5 * z * z - np.log(sigma) - half_log_2pi - log_v
            log_tail = np.where(
                in_tail,
                np.log(weight) + np.log(alpha) - np.log(xmin) - (alpha + 1) * log_ratio,
                -np.inf,
            )
            total = np.logaddexp(log_body, log_tail)
            loglik = float((w * total).sum())
            r_tail = w * np.exp(log_tail - total)  # expected tail members at each value
            r_body = w - r_tail
            weight = float(np.clip(r_tail.sum() / n, 1e-9, 1 - 1e-9))
            mu = float((r_body * log_v).sum() / r_body.sum())
            sigma = float(max(np.sqrt((r_body * (log_v - mu) ** 2).sum() / r_body.sum()), 1e-6))
            alpha = float(r_tail.sum() / max((r_tail * log_ratio).sum(), 1e-12))
            if loglik - previous < tol * abs(loglik):
                break
            previous = loglik
        if best is None or loglik > best.loglik:
            best = ParetoLognormal(
                int(x.size), weight, alpha, float(xmin), mu, sigma, loglik, 2 * 5 - 2 * loglik, 0.0
            )
    if best is None:
        raise ValueError("`sample` has too few distinct large values for a tail")
    cdf = _mixture_cdf(x, best)
    ranks = np.arange(1, x.size + 1) / x.size
    ks = float(np.max(np.maximum(ranks - cdf, cdf - (ranks - 1 / x.size))))
    return ParetoLognormal(
        best.n,
        best.tail_weight,
        best.alpha,
        best.xmin,
        best.mu,
        best.sigma,
        best.loglik,
        best.aic,
        ks,
    )


@dataclass(frozen=True, slots=True)
class Distances:
    """How far apart two distributions are."""

    ks: float  # largest gap between the two CDFs, in [0, 1]
    wasserstein: float  # earth mover's distance, in the values' unit (tokens)


def distribution_distances(
    values_a: ArrayLike,
    values_b: ArrayLike,
    *,
    weights_a: ArrayLike | None = None,
    weights_b: ArrayLike | None = None,
) -> Distances:
    """KS and Wasserstein distance of two samples, or of two count tables (values, weights)."""
    a, b = np.asarray(values_a, dtype=np.float64), np.asarray(values_b, dtype=np.float64)
    wa = np.ones_like(a) if weights_a is None else np.asarray(weights_a, dtype=np.float64)
    wb = np.ones_like(b) if weights_b is None else np.asarray(weights_b, dtype=np.float64)
    if a.size == 0 or b.size == 0:
        raise ValueError("both distributions need at least one value")
    grid = np.union1d(a, b)

    def cdf(values: NDArray[np.float64], weights: NDArray[np.float64]) -> NDArray[np.float64]:
        order = np.argsort(values, kind="stable")
        cumulative = np.concatenate([[0.0], np.cumsum(weights[order]) / weights.sum()])
        return cumulative[np.searchsorted(values[order], grid, side="right")]

    ks = float(np.max(np.abs(cdf(a, wa) - cdf(b, wb))))
    wasserstein = float(stats.wasserstein_distance(a, b, wa, wb))
    return Distances(ks, wasserstein)
