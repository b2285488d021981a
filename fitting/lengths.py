"""Request-length models and distances between length distributions.

Input lengths in production look log-normal in the body with a power-law tail (ServeGen,
Sec. 4): `fit_pareto_lognormal` fits that mixture by EM. `distribution_distances` measures
drift between two samples (or two count tables) by Kolmogorov-Smirnov and Wasserstein.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
    distinct = _Distinct(values, counts.astype(np.float64), np.log(values), float(x.size))
    xmins = np.unique(np.quantile(x, np.linspace(0.5, 0.98, candidates)))
    best: ParetoLognormal | None = None
    for xmin in xmins:
        run = _em(distinct, xmin, iterations, tol)
        if run is None:
            continue
        weight, alpha, mu, sigma, loglik = run
        if best is None or loglik > best.loglik:
            best = ParetoLognormal(
                int(x.size), weight, alpha, float(xmin), mu, sigma, loglik, 2 * 5 - 2 * loglik, 0.0
            )
    if best is None:
        raise ValueError("`sample` has too few distinct large values for a tail")
    cdf = _mixture_cdf(x, best)
    ranks = np.arange(1, x.size + 1) / x.size
    ks = float(np.max(np.maximum(ranks - cdf, cdf - (ranks - 1 / x.size))))
    return replace(best, ks=ks)


_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


@dataclass(frozen=True, slots=True)
class _Distinct:
    """A sample as its sorted distinct values with their counts (the EM's data)."""

    values: NDArray[np.float64]
    w: NDArray[np.float64]
    log_v: NDArray[np.float64]
    n: float


def _em(
    data: _Distinct, xmin: float, iterations: int, tol: float
) -> tuple[float, float, float, float, float] | None:
    """EM of the mixture with the tail from `xmin`: (weight, alpha, mu, sigma, loglik), or
    None when fewer than 10 values reach xmin."""
    values, w, log_v, n = data.values, data.w, data.log_v, data.n
    # `values` is sorted, so the tail (values >= xmin) is a suffix: the Pareto terms are
    # computed there only. Below it the tail's log-density is -inf, where logaddexp returns
    # the body's term exactly and the tail's responsibility is exactly 0, so the full-length
    # arrays (and their sums) are the same as over every value.
    first_tail = int(np.searchsorted(values, xmin, side="left"))
    tail = slice(first_tail, None)
    n_tail = float(w[tail].sum())
    if n_tail < 10:
        return None
    log_ratio = np.zeros_like(values)
    log_ratio[tail] = np.log(values[tail] / xmin)
    log_ratio_tail = log_ratio[tail]
    w_tail = w[tail]
    weight = n_tail / n
    mu = float((w * log_v).sum() / n)
    sigma = float(np.sqrt((w * (log_v - mu) ** 2).sum() / n))
    alpha = float(n_tail / max((w * log_ratio)[tail].sum(), 1e-12))
    total = np.empty_like(values)
    r_tail = np.zeros_like(values)  # expected tail members at each value
    previous = -np.inf
    loglik = -np.inf
    for _ in range(iterations):
        z = (log_v - mu) / sigma
        log_body = np.log1p(-weight) - 0.5 * z * z - np.log(sigma) - _HALF_LOG_2PI - log_v
        log_tail = np.log(weight) + np.log(alpha) - np.log(xmin) - (alpha + 1) * log_ratio_tail
        total[:first_tail] = log_body[:first_tail]
        np.logaddexp(log_body[tail], log_tail, out=total[tail])
        loglik = float((w * total).sum())
        np.multiply(w_tail, np.exp(log_tail - total[tail]), out=r_tail[tail])
        r_body = w - r_tail
        tail_mass = r_tail.sum()
        body_mass = r_body.sum()
        weight = float(min(max(tail_mass / n, 1e-9), 1 - 1e-9))  # np.clip, without its overhead
        mu = float((r_body * log_v).sum() / body_mass)
        sigma = float(max(np.sqrt((r_body * (log_v - mu) ** 2).sum() / body_mass), 1e-6))
        alpha = float(tail_mass / max((r_tail * log_ratio).sum(), 1e-12))
        if loglik - previous < tol * abs(loglik):
            break
        previous = loglik
    return weight, alpha, mu, sigma, loglik


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
