"""Workload statistics against known answers (seeded synthetic data, stated tolerances)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata

from fitting.workload import (
    _sequential_sums,
    bimodality,
    correlation,
    fano_factors,
    fano_from_sums,
    gini,
    latency_model,
    lorenz_curve,
    pearson_from_moments,
    share_by_load_bins,
    top_k_shares,
)


def test_gini_of_equal_clients_is_zero_and_of_one_client_approaches_one() -> None:
    assert gini([5.0] * 100) == 0.0
    assert gini([0.0] * 99 + [1.0]) == pytest.approx(0.99)
    # Exponential amounts have Gini 1/2 (closed form); n = 200,000 gives ~0.003 error.
    assert gini(np.random.default_rng(1).exponential(size=200_000)) == pytest.approx(0.5, abs=0.01)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=100), st.floats(1e-3, 1e3))
def test_gini_is_scale_free_and_within_bounds(amounts: list[float], factor: float) -> None:
    g = gini(amounts)
    assert 0.0 <= g <= 1.0
    assert gini(np.asarray(amounts) * factor) == pytest.approx(g, abs=1e-9)


def test_top_shares_and_lorenz_curve() -> None:
    shares = top_k_shares([50, 30, 10, 5, 5], ks=(1, 2, 10))
    assert shares == {1: 0.5, 2: 0.8, 10: 1.0}
    population, cumulative = lorenz_curve([1, 1, 2])
    assert population.tolist() == [0.0, 1 / 3, 2 / 3, 1.0]
    assert cumulative.tolist() == [0.0, 0.25, 0.5, 1.0]


FANO_TOL = 0.15  # a Poisson count series over >= 24 windows: the sampling sd is ~sqrt(2/n)


def test_fano_factor_is_one_for_poisson_and_large_for_bursty_arrivals() -> None:
    rng = np.random.default_rng(3)
    duration = 86_400.0
    poisson = np.cumsum(rng.exponential(1.0, 100_000))
    poisson = poisson[poisson < duration]
    scales = [1.0, 10.0, 60.0, 600.0, 3600.0]
    for result in fano_factors(poisson, scales, start_s=0.0, end_s=duration):
        assert result.fano_factor == pytest.approx(
            1.0, abs=FANO_TOL + 1.5 / np.sqrt(result.n_windows)
        ), result
    # A Gamma renewal process with shape 0.1 (CV^2 = 10) has Fano -> CV^2 at long scales.
    bursty = np.cumsum(rng.gamma(0.1, 10.0, 100_000))
    bursty = bursty[bursty < duration]
    long_scale = fano_factors(bursty, [600.0], start_s=0.0, end_s=duration)[0]
    assert long_scale.fano_factor == pytest.approx(10.0, rel=0.35)
    assert fano_factors(bursty, [1.0], start_s=0.0, end_s=duration)[0].fano_factor > 2.0


def test_bimodality_is_found_only_where_it_exists() -> None:
    rng = np.random.default_rng(5)
    one = rng.normal(0.5, 0.1, 3000)
    two = np.concatenate([rng.normal(0.2, 0.05, 1500), rng.normal(0.8, 0.05, 1500)])
    assert not bimodality(one).is_bimodal
    result = bimodality(two)
    assert result.is_bimodal
    assert result.means == pytest.approx((0.2, 0.8), abs=0.01)
    assert result.weights == pytest.approx((0.5, 0.5), abs=0.03)
    skewed = rng.beta(6, 2, 3000)  # one mode, skewed: must not be called bimodal
    assert not bimodality(skewed).is_bimodal


def test_correlations_recover_known_dependence() -> None:
    rng = np.random.default_rng(9)
    x = rng.normal(size=5000)
    y = 0.6 * x + np.sqrt(1 - 0.36) * rng.normal(size=5000)
    result = correlation(x, y)
    assert result.pearson == pytest.approx(0.6, abs=0.03)
    assert correlation(x, np.exp(3 * x)).spearman == pytest.approx(1.0)
    assert np.isnan(correlation([1, 2], [3, 4]).pearson)


def test_latency_slopes_are_recovered_with_confidence_intervals() -> None:
    rng = np.random.default_rng(11)
    n = 4000
    inputs = rng.integers(10, 8000, n)
    outputs = rng.integers(1, 1000, n)
    latency = 150.0 + 0.05 * inputs + 20.0 * outputs + rng.normal(0, 50.0, n)
    model = latency_model(latency, inputs, outputs)
    assert model.ms_per_input_token == pytest.approx(0.05, abs=0.005)
    assert model.ms_per_output_token == pytest.approx(20.0, abs=0.1)
    low, high = model.ci95["ms_per_output_token"]
    assert low < 20.0 < high
    assert model.r_squared > 0.99


def test_correlation_from_exact_moments_equals_scipy() -> None:
    rng = np.random.default_rng(7)
    x = rng.integers(1, 5000, 2000)
    y = x // 3 + rng.integers(0, 800, 2000)
    moments = [int(v) for v in (x.sum(), y.sum(), (x * x).sum(), (y * y).sum(), (x * y).sum())]
    # Only the last division rounds: agreement to 1e-12 (scipy accumulates floats).
    assert pearson_from_moments(2000, *moments) == pytest.approx(
        correlation(x, y).pearson, abs=1e-12
    )
    # doubled mid-ranks are integers, as the characterize SQL computes them
    rx, ry = (np.round(2 * rankdata(v)).astype(np.int64) for v in (x, y))
    ranks = [
        int(v) for v in (rx.sum(), ry.sum(), (rx * rx).sum(), (ry * ry).sum(), (rx * ry).sum())
    ]
    assert pearson_from_moments(2000, *ranks) == pytest.approx(
        correlation(x, y).spearman, abs=1e-12
    )
    assert np.isnan(pearson_from_moments(2, 1, 1, 1, 1, 1))  # too few pairs
    assert np.isnan(pearson_from_moments(3, 3, 6, 3, 14, 6))  # x constant


def test_fano_from_sums_equals_fano_on_the_full_counts() -> None:
    rng = np.random.default_rng(3)
    arrivals = np.sort(rng.uniform(0, 10_000, 3_000))
    for window in (1.0, 10.0, 600.0):
        direct = fano_factors(arrivals, [window], start_s=0.0, end_s=10_000.0)[0]
        n_bins = int(10_000 // window)
        counts = np.bincount((arrivals // window).astype(int), minlength=n_bins)[:n_bins]
        nonempty = counts[counts > 0]
        from_sums = fano_from_sums(window, n_bins, int(nonempty.sum()), int((nonempty**2).sum()))
        assert from_sums.fano_factor == pytest.approx(direct.fano_factor, rel=1e-12)
        assert from_sums.n_windows == direct.n_windows
    assert np.isnan(fano_from_sums(60.0, 1, 5, 25).fano_factor)  # one bin: undefined
    assert np.isnan(fano_from_sums(60.0, 10, 0, 0).fano_factor)  # no arrivals


def test_load_bins_pool_the_429_share_per_decile_of_rate() -> None:
    rates = np.arange(20, 0, -1) / 10.0  # 2.0 ... 0.1, given busiest first
    requests = np.full(20, 10)
    hits = np.where(rates > 1.0, 5, 0)  # half of the requests rate limited above 1 rps
    bins = share_by_load_bins(rates, requests, hits)
    assert len(bins) == 10 and all(b.n_windows == 2 for b in bins)
    assert [b.rate_low for b in bins] == pytest.approx(np.arange(1, 21, 2) / 10.0)
    assert [b.share_429 for b in bins] == [0.0] * 5 + [0.5] * 5
    assert sum(b.n_requests for b in bins) == 200 and sum(b.n_429 for b in bins) == 50
    # fewer windows than bins: one bin per window, quietest first
    few = share_by_load_bins([3.0, 1.0, 2.0], [4, 2, 1], [1, 0, 1])
    assert [(b.rate_mean, b.share_429) for b in few] == [(1.0, 0.0), (2.0, 1.0), (3.0, 0.25)]
    assert share_by_load_bins([], [], []) == ()
    with pytest.raises(ValueError, match="same shape"):
        share_by_load_bins([1.0], [1, 2], [0, 0])


def test_row_sums_add_left_to_right_as_numpy_adds_columns() -> None:
    """bimodality's EM keeps its two components as rows and sums them left to right: the
    same floats, bit for bit, as summing the columns of the (n, 2) array it used to hold
    (numpy adds a C-ordered array's columns row by row, not pairwise)."""
    rng = np.random.default_rng(3)
    for n in (3, 10, 1_000, 20_000):
        rows = rng.normal(size=(2, n)) * np.exp(rng.normal(size=(2, n)) * 6)
        columns = np.ascontiguousarray(rows.T)
        assert _sequential_sums(rows).tobytes() == columns.sum(axis=0).tobytes()
