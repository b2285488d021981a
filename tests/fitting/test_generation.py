"""Generation from profiles: ServeGen's window rule, shared uniforms, the naive baseline."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from fitting.generation import (
    ClientProfile,
    FieldDistribution,
    generate_clients,
    generate_naive,
    pooled_distributions,
    window_arrivals,
)

WINDOW_S = 600


def _uniform_field(low: int, high: int) -> FieldDistribution:
    values = np.arange(low, high + 1, dtype=np.float64)
    return FieldDistribution(values, np.full(values.size, 1 / values.size))


def _client(name: str, rates: list[float], shape: float, pattern: str = "Gamma") -> ClientProfile:
    n = len(rates)
    return ClientProfile(
        name=name,
        timestamps=np.arange(n, dtype=np.int64) * WINDOW_S,
        rates=np.asarray(rates),
        patterns=tuple(pattern if r > 0 else "" for r in rates),
        shapes=np.full(n, shape),
        scales=np.ones(n),
        dataset_timestamps=np.array([0], dtype=np.int64),
        datasets=(
            {"input_tokens": _uniform_field(1, 5000), "output_tokens": _uniform_field(1, 3000)},
        ),
    )


def test_window_arrivals_follow_servegen_rescaling() -> None:
    rng = np.random.default_rng(1)
    offsets = window_arrivals("Weibull", 0.5, 2.0, 2.0, WINDOW_S, rng)
    # ceil(2 * 600) = 1200 draws; the last lands exactly at n / rate = 600 s and is dropped.
    assert offsets.size == 1199
    assert np.all((offsets >= 0) & (offsets < WINDOW_S)) and np.all(np.diff(offsets) >= 0)
    assert window_arrivals("", 0.0, 0.0, 0.0, WINDOW_S, rng).size == 0
    with pytest.raises(ValueError, match="Gamma"):
        window_arrivals("Lognormal", 1.0, 1.0, 1.0, WINDOW_S, rng)


SHAPE_RTOL = (
    0.1  # Gamma shape from 12,000 gaps: sd of the MLE is about 1 %, the rescale adds a little
)


def test_window_arrivals_keep_the_pattern_shape() -> None:
    rng = np.random.default_rng(2)
    gaps = np.concatenate(
        [np.diff(window_arrivals("Gamma", 0.4, 1.0, 2.0, WINDOW_S, rng)) for _ in range(10)]
    )
    shape, _, _ = stats.gamma.fit(gaps[gaps > 0], floc=0)
    assert shape == pytest.approx(0.4, rel=SHAPE_RTOL)


def _generate(faithful: bool, seed: int = 3) -> object:
    clients = [_client("a", [1.0, 0.0, 2.0], 0.5), _client("b", [0.5, 0.5, 0.5], 2.0, "Weibull")]
    return generate_clients(
        clients,
        "language",
        window_s=WINDOW_S,
        window_starts=[0, 600, 1200],
        target_rates=[3.0, 0.5, 5.0],
        end_s=1800,
        rng=np.random.default_rng(seed),
        faithful=faithful,
    )


def test_target_rate_is_split_in_proportion_to_profile_rates() -> None:
    workload = _generate(False)
    first = workload.time_s < 600
    # window 0: 3 rps split 2:1 -> a gets 2 rps (1199 arrivals), b 1 rps (599)
    assert np.sum(first & (workload.client == 0)) == 1199
    assert np.sum(first & (workload.client == 1)) == 599
    assert np.all(np.diff(workload.time_s) >= 0)


def test_generation_is_deterministic_under_a_seed() -> None:
    one, two, other = _generate(False), _generate(False), _generate(False, seed=4)
    np.testing.assert_array_equal(one.time_s, two.time_s)
    np.testing.assert_array_equal(one.fields["input_tokens"], two.fields["input_tokens"])
    assert not np.array_equal(one.time_s, other.time_s)


def test_faithful_fields_are_perfectly_rank_correlated_within_a_client_window() -> None:
    workload = _generate(True)
    window = (workload.client == 0) & (workload.time_s >= 1200)
    x = workload.fields["input_tokens"][window]
    y = workload.fields["output_tokens"][window]
    # Both fields are non-decreasing functions of one uniform: sorting by one sorts the other.
    order = np.lexsort((y, x))
    assert np.all(np.diff(y[order]) >= 0)
    assert stats.spearmanr(x, y).statistic == pytest.approx(1.0, abs=1e-6)


INDEPENDENT_RHO = 0.1  # |rho| of independent fields at n ~ 3000: sd is about 0.02


def test_default_fields_are_independent() -> None:
    workload = _generate(False)
    rho = stats.spearmanr(workload.fields["input_tokens"], workload.fields["output_tokens"])
    assert abs(rho.statistic) < INDEPENDENT_RHO


POISSON_RTOL = 0.05  # 200 windows of 600 expected arrivals: sd of the total is about 0.3 %


def test_naive_is_poisson_at_the_window_rate() -> None:
    pooled = {"input_tokens": _uniform_field(1, 10), "output_tokens": _uniform_field(1, 10)}
    starts = list(range(0, 200 * WINDOW_S, WINDOW_S))
    workload = generate_naive(
        pooled,
        "language",
        window_s=WINDOW_S,
        window_starts=starts,
        target_rates=[1.0] * 200,
        end_s=200 * WINDOW_S,
        rng=np.random.default_rng(5),
    )
    counts = np.bincount((workload.time_s // WINDOW_S).astype(int), minlength=200)
    assert counts.mean() == pytest.approx(600, rel=POISSON_RTOL)
    assert counts.var() / counts.mean() == pytest.approx(1.0, abs=0.25)  # Poisson: Fano 1
    assert np.all(workload.client == -1)


def test_pooled_distribution_weights_clients_by_requests() -> None:
    a = _client("a", [3.0], 1.0)
    b = _client("b", [1.0], 1.0)
    a = ClientProfile(
        **{**a.__dict__, "datasets": ({"x": FieldDistribution(np.array([1.0]), np.array([1.0]))},)}
    )
    b = ClientProfile(
        **{**b.__dict__, "datasets": ({"x": FieldDistribution(np.array([2.0]), np.array([1.0]))},)}
    )
    pooled = pooled_distributions([a, b], WINDOW_S)
    np.testing.assert_allclose(pooled["x"].values, [1.0, 2.0])
    np.testing.assert_allclose(pooled["x"].probs, [0.75, 0.25])
