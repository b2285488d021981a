"""Two-sample comparisons for `servechar diff`: effect sizes and tests that respect sample size.

Every function takes plain arrays (per-window values, or exact value->count tables) of an old
and a new run and returns a :class:`Comparison`: a summary of each side, the effect sizes, and
a p-value (NaN when the data cannot support a test). Deciding what is *material* (thresholds,
the false-discovery correction across all comparisons) is the caller's policy.

Why these tests:

* Rates: requests per trace window are overdispersed (bursty clients, daily cycles), so a
  Poisson test on the totals would flag noise. The windows serve as replicates instead, and
  Welch's t-test on the per-window rates uses their observed variance.
* Burstiness: per-window CVs and fitted shapes are skewed and noisy at small counts, so a
  rank test (Mann-Whitney U) compares them.
* Lengths: the exact value->count tables give the two-sample Kolmogorov-Smirnov distance;
  its p-value uses the effective sample size ``n m / (n + m)`` (ties make it conservative).
* Profiles by hour of day: one Welch test per hour, the smallest p-value Bonferroni-corrected
  for the number of hours compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True, slots=True)
class Comparison:
    """One metric of one client (or model), old against new."""

    old: dict[str, Any]  # numbers, and per-hour lists for profiles
    new: dict[str, Any]
    effect: dict[str, float]
    p_value: float  # NaN: not testable (too few windows or values on a side)


def _ratio(new: float, old: float) -> float:
    if old == 0:
        return math.inf if new > 0 else math.nan
    return new / old


def _shift(new: float, old: float) -> float:
    """Relative shift new/old - 1; NaN when the old value is 0 (no scale to compare with)."""
    return new / old - 1 if old != 0 else math.nan


def weighted_quantile(values: NDArray[np.float64], counts: NDArray[np.int64], q: float) -> float:
    """The lower q-quantile of an exact value->count table (values sorted ascending): the
    smallest value whose cumulative count reaches q of the total."""
    cumulative = np.cumsum(counts)
    index = int(np.searchsorted(cumulative, q * cumulative[-1], side="left"))
    return float(values[min(index, len(values) - 1)])


def _table_summary(values: NDArray[np.float64], counts: NDArray[np.int64]) -> dict[str, float]:
    total = int(counts.sum())
    return {
        "n": total,
        "mean": float(np.dot(values, counts) / total),
        "median": weighted_quantile(values, counts, 0.5),
        "p99": weighted_quantile(values, counts, 0.99),
    }


def _sorted_table(
    values: ArrayLike, counts: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    v = np.asarray(values, dtype=np.float64)
    c = np.asarray(counts, dtype=np.int64)
    order = np.argsort(v, kind="stable")
    return v[order], c[order]


def ks_from_counts(
    old_values: ArrayLike, old_counts: ArrayLike, new_values: ArrayLike, new_counts: ArrayLike
) -> tuple[float, float]:
    """(KS distance, p-value) of two exact value->count tables.

    The distance is the largest gap between the two empirical CDFs over the union of values;
    the p-value is that of the Kolmogorov distribution for the effective sample size
    ``n m / (n + m)`` (scipy's `kstwo`, as `ks_2samp` uses for large samples).
    """
    a_values, a_counts = _sorted_table(old_values, old_counts)
    b_values, b_counts = _sorted_table(new_values, new_counts)
    n, m = int(a_counts.sum()), int(b_counts.sum())
    grid = np.union1d(a_values, b_values)
    cdf_a = np.cumsum(a_counts)[np.searchsorted(a_values, grid, side="right") - 1] / n
    cdf_b = np.cumsum(b_counts)[np.searchsorted(b_values, grid, side="right") - 1] / m
    # a grid value below a side's smallest value has CDF 0 there (index -1 wrapped above)
    cdf_a = np.where(grid < a_values[0], 0.0, cdf_a)
    cdf_b = np.where(grid < b_values[0], 0.0, cdf_b)
    distance = float(np.max(np.abs(cdf_a - cdf_b)))
    effective_n = n * m / (n + m)
    p_value = float(stats.kstwo.sf(distance, max(1, round(effective_n))))
    return distance, min(1.0, p_value)


def compare_tables(
    old_values: ArrayLike, old_counts: ArrayLike, new_values: ArrayLike, new_counts: ArrayLike
) -> Comparison:
    """A length (or count) distribution given as exact value->count tables, old against new.

    Effects: ratio of means, relative shifts of the median and the 99th percentile, the KS
    distance and the Wasserstein (earth mover's) distance in the field's own unit.
    """
    a_values, a_counts = _sorted_table(old_values, old_counts)
    b_values, b_counts = _sorted_table(new_values, new_counts)
    old, new = _table_summary(a_values, a_counts), _table_summary(b_values, b_counts)
    distance, p_value = ks_from_counts(a_values, a_counts, b_values, b_counts)
    wasserstein = stats.wasserstein_distance(a_values, b_values, a_counts, b_counts)
    effect = {
        "mean_ratio": _ratio(new["mean"], old["mean"]),
        "median_shift": _shift(new["median"], old["median"]),
        "p99_shift": _shift(new["p99"], old["p99"]),
        "ks": distance,
        "wasserstein": float(wasserstein),
    }
    return Comparison(dict(old), dict(new), dict(effect), p_value)


def welch_p_value(old: NDArray[np.float64], new: NDArray[np.float64]) -> float:
    """Welch's t-test (unequal variances); NaN below two values a side, 1 when both sides are
    constant and equal."""
    if len(old) < 2 or len(new) < 2:
        return math.nan
    if np.ptp(old) == 0 and np.ptp(new) == 0:
        return 1.0 if old[0] == new[0] else 0.0
    return float(stats.ttest_ind(new, old, equal_var=False).pvalue)


def compare_means(old_windows: ArrayLike, new_windows: ArrayLike) -> Comparison:
    """Per-window values (such as rates, empty windows included) compared by their means:
    effect ``ratio`` = new mean / old mean, Welch's t-test over the windows."""
    old = np.asarray(old_windows, dtype=np.float64)
    new = np.asarray(new_windows, dtype=np.float64)
    old_mean = float(old.mean()) if len(old) else math.nan
    new_mean = float(new.mean()) if len(new) else math.nan
    return Comparison(
        {"mean": old_mean, "windows": len(old)},
        {"mean": new_mean, "windows": len(new)},
        {"ratio": _ratio(new_mean, old_mean)},
        welch_p_value(old, new),
    )


def compare_ranks(old_windows: ArrayLike, new_windows: ArrayLike) -> Comparison:
    """Skewed per-window values (CVs, fitted shapes) compared by rank: effect ``ratio`` of
    the medians, two-sided Mann-Whitney U test (NaN below two values a side)."""
    old = np.asarray(old_windows, dtype=np.float64)
    new = np.asarray(new_windows, dtype=np.float64)
    old = old[np.isfinite(old)]
    new = new[np.isfinite(new)]
    old_median = float(np.median(old)) if len(old) else math.nan
    new_median = float(np.median(new)) if len(new) else math.nan
    p_value = math.nan
    if len(old) >= 2 and len(new) >= 2:
        if np.ptp(np.concatenate([old, new])) == 0:
            p_value = 1.0
        else:
            p_value = float(stats.mannwhitneyu(new, old, alternative="two-sided").pvalue)
    return Comparison(
        {"median": old_median, "windows": len(old)},
        {"median": new_median, "windows": len(new)},
        {"ratio": _ratio(new_median, old_median)},
        p_value,
    )


def _group_moments(
    values: NDArray[np.float64], groups: NDArray[np.int64], n_groups: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Count, mean and sample standard deviation (ddof 1) of `values` per group."""
    count = np.bincount(groups, minlength=n_groups).astype(np.float64)
    total = np.bincount(groups, weights=values, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        squares = np.bincount(groups, weights=(values - mean[groups]) ** 2, minlength=n_groups)
        std = np.sqrt(squares / (count - 1))
    return count, mean, std


def group_means(values: ArrayLike, groups: ArrayLike, n_groups: int) -> list[float | None]:
    """Mean of `values` per group 0..n_groups-1 (None where a group has no value)."""
    v, g = np.asarray(values, dtype=np.float64), np.asarray(groups, dtype=np.int64)
    count, mean, _ = _group_moments(v, g, n_groups)
    return [float(m) if c > 0 else None for c, m in zip(count, mean, strict=True)]


def compare_profiles(
    old_values: ArrayLike,
    old_groups: ArrayLike,
    new_values: ArrayLike,
    new_groups: ArrayLike,
    n_groups: int = 24,
) -> Comparison:
    """A profile over groups (hours of the day) compared group by group.

    Effect ``max_shift``: the largest absolute difference of the group means (in the values'
    unit; pass rates relative to their run's mean to compare shapes, not levels). p-value:
    the smallest per-group Welch p-value times the number of groups tested (Bonferroni).
    """
    a, a_groups = np.asarray(old_values, dtype=np.float64), np.asarray(old_groups, dtype=np.int64)
    b, b_groups = np.asarray(new_values, dtype=np.float64), np.asarray(new_groups, dtype=np.int64)
    keep_a, keep_b = np.isfinite(a), np.isfinite(b)
    a_count, a_mean, a_std = _group_moments(a[keep_a], a_groups[keep_a], n_groups)
    b_count, b_mean, b_std = _group_moments(b[keep_b], b_groups[keep_b], n_groups)
    both = (a_count > 0) & (b_count > 0)
    shifts = np.abs(b_mean - a_mean)[both]
    testable = (a_count >= 2) & (b_count >= 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_values = stats.ttest_ind_from_stats(
            b_mean, b_std, b_count, a_mean, a_std, a_count, equal_var=False
        ).pvalue
    constant = testable & (a_std == 0) & (b_std == 0)  # Welch is undefined: equal or not
    p_values = np.where(constant, np.where(a_mean == b_mean, 1.0, 0.0), p_values)
    tested = p_values[testable & np.isfinite(p_values)]
    p_value = min(1.0, float(tested.min()) * len(tested)) if len(tested) else math.nan

    return Comparison(
        {"by_hour": group_means(a[keep_a], a_groups[keep_a], n_groups)},
        {"by_hour": group_means(b[keep_b], b_groups[keep_b], n_groups)},
        {"max_shift": float(shifts.max()) if len(shifts) else math.nan},
        p_value,
    )


def benjamini_hochberg(p_values: ArrayLike) -> NDArray[np.float64]:
    """Benjamini-Hochberg q-values (statsmodels' `fdr_bh`); NaN p-values (untested) stay NaN
    and do not count as comparisons."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=np.float64)
    q = np.full(len(p), np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        q[tested] = multipletests(p[tested], method="fdr_bh")[1]
    return q
