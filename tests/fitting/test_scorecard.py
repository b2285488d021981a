"""Fidelity scores against known answers and against the project's other statistics."""

from __future__ import annotations

import numpy as np
import pytest

from fitting.scorecard import (
    arrival_scores,
    ccdf_on_grid,
    fano_from_counts,
    interarrival_cv,
    per_second,
    share_distance,
    weighted_quantiles,
    window_rate_error,
)
from fitting.workload import fano_factors


def test_fano_from_counts_equals_fano_factors_on_arrival_times() -> None:
    rng = np.random.default_rng(11)
    times = np.sort(np.concatenate([rng.uniform(0, 3600, 3000), rng.uniform(100, 400, 2000)]))
    counts = per_second(times, 3600)
    expected = fano_factors(times, (1, 10, 60, 600), start_s=0, end_s=3600)
    got = fano_from_counts(counts, (1, 10, 60, 600))
    for row in expected:
        assert got[int(row.window_s)] == pytest.approx(row.fano_factor, rel=1e-12)


FANO_ATOL = 0.05  # Poisson counts at 1 s over 100,000 s: the sd of the Fano estimate is ~0.005


def test_poisson_counts_have_fano_one_and_cv_one() -> None:
    rng = np.random.default_rng(12)
    times = np.cumsum(rng.exponential(0.5, 200_000))
    counts = per_second(times, int(times[-1]))
    assert fano_from_counts(counts, (1,))[1] == pytest.approx(1.0, abs=FANO_ATOL)
    assert interarrival_cv(times) == pytest.approx(1.0, abs=0.01)


def test_arrival_scores_by_hand() -> None:
    counts = np.array([0.0, 2.0, 0.0, 6.0])  # mean 2, peak 6
    scores = arrival_scores(counts, counts * 10, cv_interarrival=1.5)
    assert scores.n_requests == 8 and scores.rate_rps == 2.0
    assert scores.peak_to_mean_1s == 3.0
    assert scores.fano[1] == pytest.approx(np.var(counts) / 2)
    assert scores.p99_tokens_per_s == pytest.approx(np.quantile(counts * 10, 0.99))


def test_window_rate_error_and_quantiles() -> None:
    assert window_rate_error([10, 10], [12, 8]) == pytest.approx(0.2)
    assert weighted_quantiles([1, 2, 3], [1, 8, 1], (0.5, 0.9, 0.99)) == [2.0, 2.0, 3.0]
    np.testing.assert_allclose(
        ccdf_on_grid([1, 2, 3], [1, 1, 2], [0, 1, 2.5, 3]), [1, 0.75, 0.5, 0]
    )


def test_share_distance_is_total_variation() -> None:
    assert share_distance([3, 1], [3, 1]) == 0.0
    assert share_distance([1, 0], [0, 1]) == 1.0
    assert share_distance([2, 2], [3, 1]) == pytest.approx(0.25)  # |0.5-0.75| + |0.5-0.25|, halved
