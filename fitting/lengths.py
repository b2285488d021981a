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
    log_x = np.log(x)
    best: ParetoLognormal | None = None
    for xmin in np.unique(np.quantile(x, np.linspace(0.5, 0.98, candidates))):
        in_tail = x >= xmin
        if in_tail.sum() < 10:
            continue
        log_ratio = np.where(in_tail, np.log(np.maximum(x, xmin) / xmin), 0.0)
        weight, mu, sigma = float(in_tail.mean()), float(log_x.mean()), float(log_x.std())
        alpha = float(in_tail.sum() / max(log_ratio[in_tail].sum(), 1e-12))
        previous = -np.inf
        loglik = -np.inf
        for _ in range(iterations):
            log_body = np.log1p(-weight) + stats.norm.logpdf(log_x, mu, sigma) - log_x
            log_tail = np.where(
                in_tail,
                np.log(weight) + np.log(alpha) - np.log(xmin) - (alpha + 1) * log_ratio,
                -np.inf,
            )
            total = np.logaddexp(log_body, log_tail)
            loglik = float(total.sum())
            r_tail = np.exp(log_tail - total)
            r_body = 1.0 - r_tail
            weight = float(np.clip(r_tail.mean(), 1e-9, 1 - 1e-9))
            mu = float((r_body * log_x).sum() / r_body.sum())
            sigma = float(max(np.sqrt((r_body * (log_x - mu) ** 2).sum() / r_body.sum()), 1e-6))
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
