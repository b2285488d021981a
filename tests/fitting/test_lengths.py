"""Length models against known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from fitting.lengths import distribution_distances, fit_pareto_lognormal

TAIL_RTOL = 0.15  # tail index from ~4,000 tail values out of 20,000


def _mixture(seed: int, n: int = 20_000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    body = np.exp(rng.normal(6.0, 0.6, n))
    tail = 3000.0 * (1.0 + rng.pareto(1.5, n))
    return np.where(rng.random(n) < 0.2, tail, body)


def test_mixture_weight_tail_index_and_body_are_recovered() -> None:
    fit = fit_pareto_lognormal(_mixture(1))
    assert fit.tail_weight == pytest.approx(0.2, abs=0.03)
    assert fit.alpha == pytest.approx(1.5, rel=TAIL_RTOL)
    assert fit.xmin == pytest.approx(3000.0, rel=0.15)
    assert fit.mu == pytest.approx(6.0, abs=0.05)
    assert fit.sigma == pytest.approx(0.6, abs=0.05)
    assert fit.ks < 0.02


def test_a_pure_lognormal_gets_a_negligible_or_lognormal_like_tail() -> None:
    sample = np.exp(np.random.default_rng(2).normal(6.0, 0.6, 20_000))
    fit = fit_pareto_lognormal(sample)
    assert fit.ks < 0.02
    # the mixture may spend a little weight on a steep tail, but the body stays the truth
    assert fit.mu == pytest.approx(6.0, abs=0.1)
    assert fit.tail_weight < 0.1 or fit.alpha > 4


def test_distances_match_scipy_and_known_shifts() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(0, 1, 5000), rng.normal(0.5, 1, 5000)
    d = distribution_distances(a, b)
    assert d.ks == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)
    assert d.wasserstein == pytest.approx(0.5, abs=0.05)
    same = distribution_distances([1, 2, 3], [1, 2, 3])
    assert same.ks == 0.0 and same.wasserstein == 0.0
    # count tables give the same answer as the expanded samples
    tables = distribution_distances([1, 5], [1, 5], weights_a=[3, 1], weights_b=[1, 3])
    expanded = distribution_distances([1, 1, 1, 5], [1, 5, 5, 5])
    assert tables == expanded
    assert tables.ks == pytest.approx(0.5)
