"""Curves and model comparisons for the characterization report.

Empirical complementary CDFs on log-spaced grids (the log-axis views ServeGen plots), the
fitted families' survival functions on the same grid, simple one- and two-parameter fits of
token counts, and likelihood-ratio tests between fitted families: nested (Wilks, 1938) and
non-nested (Vuong, 1989).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import ArrayLike, NDArray

CCDF_POINTS = 60


def log_grid(sample: ArrayLike, points: int = CCDF_POINTS) -> NDArray[np.float64]:
    """`points` log-spaced values from the smallest positive to the largest sample value."""
    x = np.asarray(sample, dtype=np.float64)
    positive = x[x > 0]
    if positive.size == 0:
        return np.zeros(0)
    low, high = float(positive.min()), float(positive.max())
    if high <= low:
        return np.array([low])
    return np.geomspace(low, high, points)


def empirical_ccdf(sample: ArrayLike, grid: ArrayLike) -> NDArray[np.float64]:
    """P(X > x) of the sample at each grid point."""
    x = np.sort(np.asarray(sample, dtype=np.float64))
    at = np.asarray(grid, dtype=np.float64)
    if x.size == 0:
        return np.full(at.shape, np.nan)
    return 1.0 - np.searchsorted(x, at, side="right") / x.size


def survival(family: str, params: Mapping[str, float], grid: ArrayLike) -> NDArray[np.float64]:
    """P(X > x) of a fitted scipy family with its parameters by scipy's names."""
    return np.asarray(getattr(stats, family).sf(np.asarray(grid, np.float64), **params))


def ks_distance(sample: ArrayLike, family: str, params: Mapping[str, float]) -> float:
    """Kolmogorov-Smirnov distance between a sample and a fitted scipy family."""
    x = np.sort(np.asarray(sample, dtype=np.float64))
    cdf = getattr(stats, family).cdf(x, **params)
    n = x.size
    upper = np.arange(1, n + 1) / n - cdf
    lower = cdf - np.arange(n) / n
    return float(max(upper.max(), lower.max()))


@dataclass(frozen=True, slots=True)
class SimpleFit:
    """A one- or two-parameter fit by maximum likelihood, with goodness of fit."""

    family: str  # scipy name: "lognorm" or "expon"
    params: dict[str, float]  # scipy parameter names, loc fixed at 0
    loglik: float
    aic: float
    ks: float


def fit_lognormal(sample: ArrayLike) -> SimpleFit:
    """Log-normal by maximum likelihood (the mean and sd of log x), location 0."""
    x = np.asarray(sample, dtype=np.float64)
    if x.size < 2 or np.any(x <= 0):
        raise ValueError("`sample` needs at least 2 positive values")
    log_x = np.log(x)
    mu, sigma = float(log_x.mean()), float(max(log_x.std(), 1e-9))
    params = {"s": sigma, "loc": 0.0, "scale": float(np.exp(mu))}
    loglik = float(stats.lognorm.logpdf(x, **params).sum())
    return SimpleFit("lognorm", params, loglik, 4 - 2 * loglik, ks_distance(x, "lognorm", params))


def fit_exponential(sample: ArrayLike) -> SimpleFit:
    """Exponential by maximum likelihood (scale = mean), location 0."""
    x = np.asarray(sample, dtype=np.float64)
    if x.size < 2 or np.any(x < 0) or x.mean() <= 0:
        raise ValueError("`sample` needs at least 2 non-negative values with a positive mean")
    params = {"loc": 0.0, "scale": float(x.mean())}
    loglik = float(stats.expon.logpdf(x, **params).sum())
    return SimpleFit("expon", params, loglik, 2 - 2 * loglik, ks_distance(x, "expon", params))


def nested_lr_pvalue(loglik_restricted: float, loglik_full: float, extra_params: int = 1) -> float:
    """p-value of Wilks' likelihood-ratio test of a nested model (e.g. Exponential in Gamma).

    ``2 (l_full - l_restricted)`` is asymptotically chi-square with `extra_params` degrees of
    freedom when the restricted model is true (Wilks, 1938).
    """
    statistic = max(2.0 * (loglik_full - loglik_restricted), 0.0)
    return float(stats.chi2.sf(statistic, extra_params))


@dataclass(frozen=True, slots=True)
class VuongTest:
    """Vuong's test of two non-nested models on the same data."""

    n: int
    statistic: float  # > 0 favours the first model
    pvalue: float  # two-sided


def vuong_test(logpdf_first: ArrayLike, logpdf_second: ArrayLike) -> VuongTest:
    """Vuong (1989): ``sqrt(n) mean(d) / sd(d)`` of pointwise log-likelihood differences d.

    Asymptotically standard normal when both models are equally close to the truth; the
    p-value is two-sided. NaN when the differences are all equal (identical models).
    """
    d = np.asarray(logpdf_first, dtype=np.float64) - np.asarray(logpdf_second, dtype=np.float64)
    n = d.size
    sd = float(d.std())
    if n < 2 or not sd > 0:
        return VuongTest(n, np.nan, np.nan)
    statistic = float(np.sqrt(n) * d.mean() / sd)
    return VuongTest(n, statistic, float(2 * stats.norm.sf(abs(statistic))))
