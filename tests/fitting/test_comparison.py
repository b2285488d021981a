"""fitting.comparison against scipy on expanded samples, and the tests' error rates on
overdispersed windows drawn from known parameters (fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from fitting.comparison import (
    benjamini_hochberg,
    compare_means,
    compare_profiles,
    compare_ranks,
    compare_tables,
    ks_from_counts,
    weighted_quantile,
)


def _table(sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, counts = np.unique(sample, return_counts=True)
    return values, counts


def test_ks_and_wasserstein_from_counts_equal_scipy_on_the_expanded_samples() -> None:
    rng = np.random.default_rng(3)
    old = np.round(rng.exponential(200, 3000))
    new = np.round(rng.exponential(230, 2000))
    distance, p_value = ks_from_counts(*_table(old), *_table(new))
    reference = stats.ks_2samp(old, new, method="asymp")
    assert distance == pytest.approx(reference.statistic, abs=1e-12)
    assert p_value == pytest.approx(reference.pvalue, rel=0.05)
    compared = compare_tables(*_table(old), *_table(new))
    assert compared.effect["wasserstein"] == pytest.approx(stats.wasserstein_distance(old, new))
    assert compared.effect["mean_ratio"] == pytest.approx(new.mean() / old.mean())
    assert compared.old["median"] == np.quantile(old, 0.5, method="inverted_cdf")
    assert compared.new["p99"] == np.quantile(new, 0.99, method="inverted_cdf")


def test_weighted_quantile_is_the_inverted_cdf() -> None:
    values = np.array([1.0, 2.0, 5.0, 9.0])
    counts = np.array([10, 40, 49, 1])
    sample = np.repeat(values, counts)
    for q in (0.0, 0.1, 0.5, 0.51, 0.99, 1.0):
        assert weighted_quantile(values, counts, q) == np.quantile(sample, q, method="inverted_cdf")


def test_ks_is_zero_for_the_same_table_and_one_for_disjoint_tables() -> None:
    values, counts = np.array([1.0, 2.0, 3.0]), np.array([5, 5, 5])
    assert ks_from_counts(values, counts, values, counts * 3) == (0.0, 1.0)
    distance, p_value = ks_from_counts(values, counts, values + 10, counts)
    assert distance == 1.0 and p_value < 1e-6


def test_window_rates_of_overdispersed_clients_are_not_over_flagged() -> None:
    """Negative-binomial counts per window (variance 20x the mean), same mean in both runs:
    the window-level Welch test keeps its level, where a Poisson test of the totals would
    reject most of the time."""
    rng = np.random.default_rng(7)
    mean, dispersion, windows, trials = 6.0, 20.0, 288, 300
    n = mean / (dispersion - 1)  # numpy's negative binomial: mean n(1-p)/p, var mean/p
    p = n / (n + mean)
    welch_rejects = poisson_rejects = 0
    for _ in range(trials):
        old = rng.negative_binomial(n, p, windows).astype(float)
        new = rng.negative_binomial(n, p, windows).astype(float)
        welch_rejects += compare_means(old, new).p_value < 0.05
        total = old.sum() + new.sum()  # conditional Poisson test: old's share is Binomial(1/2)
        poisson_rejects += stats.binomtest(int(old.sum()), int(total), 0.5).pvalue < 0.05
    assert welch_rejects / trials <= 0.08
    assert poisson_rejects / trials >= 0.5


def test_doubled_rate_is_found_with_its_ratio() -> None:
    rng = np.random.default_rng(8)
    old = rng.negative_binomial(1.0, 1 / 7, 288).astype(float)  # mean 6
    new = rng.negative_binomial(1.0, 1 / 13, 288).astype(float)  # mean 12
    result = compare_means(old, new)
    assert result.effect["ratio"] == pytest.approx(2.0, rel=0.2)
    assert result.p_value < 1e-6


def test_rank_comparison_of_cvs() -> None:
    rng = np.random.default_rng(9)
    old = rng.gamma(20, 1 / 20, 200)  # CVs around 1
    same = rng.gamma(20, 1 / 20, 200)
    burstier = rng.gamma(20, 1.6 / 20, 200)
    assert compare_ranks(old, same).p_value > 0.01
    result = compare_ranks(old, burstier)
    assert result.p_value < 1e-10
    assert result.effect["ratio"] == pytest.approx(1.6, rel=0.1)
    assert np.isnan(compare_ranks([1.0], [1.0, 2.0]).p_value)  # too few windows: untested


def test_profile_shift_finds_the_moved_hour_only() -> None:
    rng = np.random.default_rng(10)
    hours = np.repeat(np.arange(24), 12)
    old = rng.normal(1.0, 0.1, len(hours))
    new = rng.normal(1.0, 0.1, len(hours))
    assert compare_profiles(old, hours, new, hours).p_value > 0.05
    new[hours == 13] += 0.5
    moved = compare_profiles(old, hours, new, hours)
    assert moved.p_value < 1e-6
    assert moved.effect["max_shift"] == pytest.approx(0.5, abs=0.1)
    assert len(moved.old["by_hour"]) == 24


def test_benjamini_hochberg_matches_statsmodels_and_skips_untested() -> None:
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.001, 0.02, np.nan, 0.04, 0.5])
    q = benjamini_hochberg(p)
    expected = multipletests(p[~np.isnan(p)], method="fdr_bh")[1]
    assert np.isnan(q[2])
    np.testing.assert_allclose(q[~np.isnan(p)], expected)
    assert (q[~np.isnan(p)] >= p[~np.isnan(p)]).all()
