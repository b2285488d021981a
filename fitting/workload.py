"""Workload statistics for characterization: concentration, dispersion, modality, regression.

Pure functions (arrays in, frozen results out) for the characterization report: how
concentrated traffic is among clients, how bursty arrivals are across time scales, whether a
distribution has one mode or two, and how latency depends on token counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray


# --- concentration ---------------------------------------------------------------------------


def gini(values: ArrayLike) -> float:
    """Gini coefficient of non-negative amounts (requests or tokens per client).

    0 when every client sends the same amount; approaches 1 when one client sends everything.
    Computed from the sorted amounts: ``G = sum_i (2i - n - 1) x_(i) / (n sum x)``.
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    if x.ndim != 1 or x.size == 0:
        raise ValueError("`values` must be a non-empty 1-d array")
    if np.any(x < 0) or not np.all(np.isfinite(x)):
        raise ValueError("`values` must be finite and non-negative")
    total = x.sum()
    if total == 0:
        return 0.0
    n = x.size
    ranks = np.arange(1, n + 1)
    # clipped: rounding can leave -1e-17 for equal amounts, whose Gini is exactly 0
    return float(max(np.sum((2 * ranks - n - 1) * x) / (n * total), 0.0))


def top_k_shares(values: ArrayLike, ks: Sequence[int] = (1, 5, 10, 20)) -> dict[int, float]:
    """Share of the total held by the k largest clients, for each k (capped at n)."""
    x = np.sort(np.asarray(values, dtype=np.float64))[::-1]
    total = x.sum()
    return {k: float(x[:k].sum() / total) if total > 0 else 0.0 for k in ks}


def lorenz_curve(values: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(share of clients, share of the total they hold), smallest clients first, from (0, 0)."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    cumulative = np.concatenate([[0.0], np.cumsum(x)])
    population = np.linspace(0.0, 1.0, x.size + 1)
    return population, cumulative / cumulative[-1] if cumulative[-1] > 0 else cumulative


# --- dispersion of counts ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dispersion:
    """Index of dispersion of counts (Fano factor) at one time scale."""

    window_s: float
    n_windows: int
    mean_count: float
    var_count: float
    fano_factor: float  # var / mean; 1 for a Poisson process at every scale


def fano_factors(
    arrival_s: ArrayLike, windows_s: Sequence[float], *, start_s: float, end_s: float
) -> list[Dispersion]:
    """Fano factor of arrival counts in consecutive windows, for each window length.

    Empty windows count (as zeros): leaving them out would hide the gaps that make traffic
    bursty. Only whole windows inside ``[start_s, end_s)`` are used.

    References
    ----------
    D. R. Cox and P. A. W. Lewis, *The Statistical Analysis of Series of Events* (1966).
    """
    t = np.asarray(arrival_s, dtype=np.float64)
    if not end_s > start_s:
        raise ValueError("`end_s` must be after `start_s`")
    results = []
    for window in windows_s:
        if not window > 0:
            raise ValueError(f"window lengths must be positive, got {window!r}")
        n_windows = int((end_s - start_s) // window)
        if n_windows < 2:
            results.append(Dispersion(window, n_windows, np.nan, np.nan, np.nan))
            continue
        index = np.floor((t - start_s) / window).astype(np.int64)
        counts = np.bincount(index[(index >= 0) & (index < n_windows)], minlength=n_windows)
        mean, var = counts.mean(), counts.var()
        fano = var / mean if mean > 0 else np.nan
        results.append(Dispersion(window, n_windows, float(mean), float(var), float(fano)))
    return results


# --- one mode or two ---------------------------------------------------------------------------

_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


@dataclass(frozen=True, slots=True)
class Bimodality:
    """One- versus two-component Gaussian mixture, compared by BIC."""

    n: int
    bic_one: float
    bic_two: float
    weights: tuple[float, float]
    means: tuple[float, float]
    sds: tuple[float, float]
    n_modes: int  # local maxima of the fitted two-component density
    is_bimodal: bool  # two components win by more than `margin` BIC points AND make two modes


def bimodality(
    sample: ArrayLike, *, margin: float = 10.0, iterations: int = 500, tol: float = 1e-10
) -> Bimodality:
    """Fit one and two Gaussian components by maximum likelihood (EM) and compare their BIC.

    A BIC difference above 10 is "very strong" evidence (Kass and Raftery, 1995). BIC alone
    also prefers two components for skewed one-humped data, so the verdict further requires
    the fitted mixture density to have two modes. The EM starts from the lower and upper
    thirds of the sample, so the result is deterministic.
    """
    x = np.asarray(sample, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = x.size
    if n < 10:
        raise ValueError(f"`sample` needs at least 10 finite values, got {n}")
    sd_floor = max(1e-6 * float(np.ptp(x)), 1e-12)
    sd_one = max(float(x.std()), sd_floor)
    loglik_one = float(stats.norm.logpdf(x, x.mean(), sd_one).sum())
    bic_one = 2 * np.log(n) - 2 * loglik_one

    low, high = np.quantile(x, [1 / 3, 2 / 3])
    means = np.array([x[x <= low].mean(), x[x >= high].mean()])
    sds = np.array([max(sd_one / 2, sd_floor)] * 2)
    weights = np.array([0.5, 0.5])
    previous = -np.inf
    # One row per component, each contiguous. The sums over the sample are sequential
    # (a cumulative sum's last term): the order numpy adds a column of an (n, 2) array in,
    # so the estimates do not depend on the layout.
    for _ in range(iterations):
        # the normal log-density written out: scipy's argument checks cost more than the maths
        z = (x - means[:, None]) / sds[:, None]
        log_density = np.log(weights)[:, None] - 0.5 * z * z - np.log(sds)[:, None] - _HALF_LOG_2PI
        total = np.logaddexp(log_density[0], log_density[1])
        loglik_two = float(total.sum())
        responsibility = np.exp(log_density - total)
        mass = _sequential_sums(responsibility)
        weights = np.clip(mass / n, 1e-9, 1.0)
        means = _sequential_sums(responsibility * x) / np.maximum(mass, 1e-300)
        spread = _sequential_sums(responsibility * (x - means[:, None]) ** 2) / np.maximum(
            mass, 1e-300
        )
        sds = np.maximum(np.sqrt(spread), sd_floor)
        if loglik_two - previous < tol * abs(loglik_two):
            break
        previous = loglik_two
    bic_two = 5 * np.log(n) - 2 * loglik_two
    grid = np.linspace(x.min(), x.max(), 1024)
    density = (weights * stats.norm.pdf(grid[:, None], means, sds)).sum(axis=1)
    peaks = (density[1:-1] > density[:-2]) & (density[1:-1] >= density[2:])
    n_modes = int(peaks.sum()) + int(density[0] > density[1]) + int(density[-1] > density[-2])
    order = np.argsort(means)
    return Bimodality(
        n,
        float(bic_one),
        float(bic_two),
        (float(weights[order[0]]), float(weights[order[1]])),
        (float(means[order[0]]), float(means[order[1]])),
        (float(sds[order[0]]), float(sds[order[1]])),
        n_modes,
        bool(bic_one - bic_two > margin and n_modes >= 2),
    )


def _sequential_sums(rows: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each row's sum, added left to right (not numpy's pairwise summation)."""
    return np.cumsum(rows, axis=1)[:, -1]


# --- correlation and latency regression --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Correlation:
    """Pearson (linear) and Spearman (rank) correlation of two fields."""

    n: int
    pearson: float
    spearman: float


def correlation(x: ArrayLike, y: ArrayLike) -> Correlation:
    """Pearson and Spearman correlation; NaN below 3 pairs or for a constant field."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError("`x` and `y` must have the same shape")
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return Correlation(a.size, np.nan, np.nan)
    return Correlation(
        a.size, float(stats.pearsonr(a, b).statistic), float(stats.spearmanr(a, b).statistic)
    )


@dataclass(frozen=True, slots=True)
class LatencyModel:
    """``latency_ms = intercept + ms_per_input_token * input + ms_per_output_token * output``."""

    n: int
    intercept_ms: float
    ms_per_input_token: float
    ms_per_output_token: float
    ci95: dict[str, tuple[float, float]]  # per coefficient
    r_squared: float


def latency_model(
    latency_ms: ArrayLike, input_tokens: ArrayLike, output_tokens: ArrayLike
) -> LatencyModel:
    """Ordinary least squares of latency on input and output tokens (statsmodels)."""
    import statsmodels.api as sm  # heavy: imported only when a regression is asked for

    y = np.asarray(latency_ms, dtype=np.float64)
    design = sm.add_constant(
        np.column_stack([np.asarray(input_tokens, float), np.asarray(output_tokens, float)]),
        has_constant="add",
    )
    if y.size < 4:
        raise ValueError(f"a latency model needs at least 4 requests, got {y.size}")
    result = sm.OLS(y, design).fit()
    low_high = result.conf_int(0.05)
    names = ("intercept_ms", "ms_per_input_token", "ms_per_output_token")
    return LatencyModel(
        int(y.size),
        float(result.params[0]),
        float(result.params[1]),
        float(result.params[2]),
        {name: (float(low_high[i][0]), float(low_high[i][1])) for i, name in enumerate(names)},
        float(result.rsquared),
    )


def pearson_from_moments(n: int, sx: int, sy: int, sxx: int, syy: int, sxy: int) -> float:
    """Pearson correlation from the sums of x, y, x^2, y^2 and xy over n pairs.

    With exact integer sums (Python ints) the only rounding is in the final division, so the
    result does not depend on how the sums were accumulated. Applied to mid-ranks it is the
    Spearman correlation with ties averaged (Spearman, 1904). NaN below 3 pairs or when
    either field is constant.
    """
    if n < 3:
        return np.nan
    covariance = n * sxy - sx * sy
    spread_x = n * sxx - sx * sx
    spread_y = n * syy - sy * sy
    if spread_x <= 0 or spread_y <= 0:
        return np.nan
    # float() of each big integer separately avoids overflow of their product.
    return float(covariance / (np.sqrt(float(spread_x)) * np.sqrt(float(spread_y))))


def fano_from_sums(window_s: float, n_bins: int, sum_counts: int, sum_sq_counts: int) -> Dispersion:
    """Fano factor from the sums of counts and squared counts over the non-empty bins.

    ``n_bins`` counts every bin of the span, empty ones included (they add nothing to the
    sums), so the result equals :func:`fano_factors` on the full array of counts without
    materialising it. NaN below 2 bins or with no arrivals.
    """
    if n_bins < 2 or sum_counts <= 0:
        mean = sum_counts / n_bins if n_bins > 0 else np.nan
        return Dispersion(window_s, n_bins, float(mean), np.nan, np.nan)
    mean = sum_counts / n_bins
    var = (n_bins * sum_sq_counts - sum_counts * sum_counts) / (n_bins * n_bins)
    return Dispersion(window_s, n_bins, float(mean), float(var), float(var / mean))


# --- rate limiting against load ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadBin:
    """One load quantile bin of trace windows: their rate range and pooled 429 share."""

    n_windows: int
    rate_low: float
    rate_high: float
    rate_mean: float
    n_requests: int
    n_429: int
    share_429: float


def share_by_load_bins(
    rates: ArrayLike, requests: ArrayLike, hits: ArrayLike, n_bins: int = 10
) -> tuple[LoadBin, ...]:
    """The pooled share of `hits` among `requests` per equal-count bin of windows by `rates`.

    Windows are ordered by rate (ties in their given order, so the result is deterministic)
    and split into `min(n_bins, len(rates))` bins whose sizes differ by at most one, as
    `numpy.array_split` does; with 10 bins these are load deciles. Each bin's share is
    ``sum(hits) / sum(requests)`` over its windows, so busy windows weigh by their requests.

    Parameters
    ----------
    rates : array_like
        Load of each window (requests per second).
    requests, hits : array_like
        Requests in each window, and how many of them were answered 429.
    n_bins : int
        Number of bins (10: deciles).

    Returns
    -------
    tuple of LoadBin
        From the quietest bin to the busiest; empty without windows.
    """
    load = np.asarray(rates, dtype=np.float64)
    total = np.asarray(requests, dtype=np.int64)
    limited = np.asarray(hits, dtype=np.int64)
    if not load.shape == total.shape == limited.shape:
        raise ValueError("`rates`, `requests` and `hits` must have the same shape")
    if n_bins < 1:
        raise ValueError("`n_bins` must be at least 1")
    if load.size == 0:
        return ()
    order = np.argsort(load, kind="stable")
    bins = []
    for members in np.array_split(order, min(n_bins, load.size)):
        n_requests = int(total[members].sum())
        n_429 = int(limited[members].sum())
        bins.append(
            LoadBin(
                n_windows=int(members.size),
                rate_low=float(load[members].min()),
                rate_high=float(load[members].max()),
                rate_mean=float(load[members].mean()),
                n_requests=n_requests,
                n_429=n_429,
                share_429=n_429 / n_requests if n_requests else float("nan"),
            )
        )
    return tuple(bins)
