"""Curves and model comparisons against known answers (seeded samples, stated tolerances)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from fitting.distributions import (
    empirical_ccdf,
    fit_exponential,
    fit_lognormal,
    ks_distance,
    log_grid,
    nested_lr_pvalue,
    survival,
    vuong_test,
)

N = 20_000
# Maximum-likelihood parameters from 20,000 draws: the sampling sd of sigma-hat is
# sigma / sqrt(2n) ~ 0.004 and of the mean ~ mean / sqrt(n) ~ 0.7 %; 2 % covers > 3 sds.
PARAM_TOL = 0.02
# KS distance of a correct fit from n draws is ~ 0.87 / sqrt(n) ~ 0.006 on average.
KS_GOOD = 0.015


def test_lognormal_and_exponential_parameters_are_recovered() -> None:
    rng = np.random.default_rng(11)
    sample = np.exp(rng.normal(6.0, 0.8, N))
    fit = fit_lognormal(sample)
    assert np.log(fit.params["scale"]) == pytest.approx(6.0, rel=PARAM_TOL)
    assert fit.params["s"] == pytest.approx(0.8, rel=PARAM_TOL)
    assert fit.ks < KS_GOOD
    assert fit.loglik == pytest.approx(stats.lognorm.logpdf(sample, **fit.params).sum())
    exponential = fit_exponential(rng.exponential(250.0, N))
    assert exponential.params["scale"] == pytest.approx(250.0, rel=PARAM_TOL)
    assert exponential.ks < KS_GOOD
    # the wrong family fits visibly worse
    assert fit_exponential(sample).ks > 5 * KS_GOOD


def test_ccdf_on_a_log_grid_matches_the_survival_function() -> None:
    rng = np.random.default_rng(12)
    sample = rng.exponential(10.0, N)
    grid = log_grid(sample)
    assert grid.size == 60 and grid[0] == sample.min() and grid[-1] == sample.max()
    assert np.all(np.diff(grid) > 0)
    empirical = empirical_ccdf(sample, grid)
    assert empirical[-1] == 0.0
    # the empirical CCDF is within the KS band of the true one
    assert np.max(np.abs(empirical - survival("expon", {"scale": 10.0}, grid))) < KS_GOOD
    assert ks_distance(sample, "expon", {"scale": 10.0}) < KS_GOOD
    assert log_grid(np.zeros(5)).size == 0
    assert log_grid(np.full(5, 3.0)).tolist() == [3.0]


def test_likelihood_ratio_tests_prefer_the_true_family() -> None:
    rng = np.random.default_rng(13)
    bursty = rng.gamma(0.5, 2.0, 5_000)
    shape, _, scale = stats.gamma.fit(bursty, floc=0)
    loglik_gamma = stats.gamma.logpdf(bursty, shape, scale=scale).sum()
    loglik_expon = stats.expon.logpdf(bursty, scale=bursty.mean()).sum()
    assert nested_lr_pvalue(loglik_expon, loglik_gamma) < 1e-6  # shape 0.5 is far from 1
    poisson = rng.exponential(2.0, 5_000)
    shape, _, scale = stats.gamma.fit(poisson, floc=0)
    loglik_gamma = stats.gamma.logpdf(poisson, shape, scale=scale).sum()
    loglik_expon = stats.expon.logpdf(poisson, scale=poisson.mean()).sum()
    # under the null the p-value is uniform: above 0.001 except with probability 0.001
    assert nested_lr_pvalue(loglik_expon, loglik_gamma) > 1e-3
    # Vuong: log-normal data, log-normal vs exponential fit -> strongly for the first
    sample = np.exp(rng.normal(0.0, 1.0, 5_000))
    result = vuong_test(
        stats.lognorm.logpdf(sample, 1.0), stats.expon.logpdf(sample, scale=sample.mean())
    )
    assert result.statistic > 3 and result.pvalue < 1e-3
    same = vuong_test(np.zeros(10), np.zeros(10))
    assert np.isnan(same.statistic)
