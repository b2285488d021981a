"""Quantized arrivals: resolution detection and interval-censored fits against ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from fitting import fit_interarrivals
from fitting.quantization import (
    Resolution,
    _clock_sample,
    detect_resolution,
    fit_quantized_interarrivals,
    tick_probabilities,
)

TICKS_US = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 60_000_000)
RTOL_SHAPE = 0.12
"""4,000 gaps with half of them ties: the censored shape's sampling spread is about 4 %
(measured over seeds); 12 % is three of those. The raw fit misses by 80 % or more."""


def _quantized_gamma_gaps(shape: float, tick: float, n: int, seed: int) -> np.ndarray:
    """Gaps of a Gamma renewal process (mean 1 s) whose arrivals are floored to `tick`."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.gamma(shape, 1.0 / shape, n)) + rng.uniform(0.0, tick)
    return np.sort(np.diff(np.floor(arrivals / tick) * tick))


@pytest.mark.parametrize(("shape", "seed"), [(0.5, 1), (1.0, 2), (2.0, 3), (4.0, 4)])
def test_censored_fit_recovers_the_shape_the_raw_fit_misses(shape: float, seed: int) -> None:
    # A tick equal to the mean gap: 35-50 % of the gaps are ties.
    gaps = _quantized_gamma_gaps(shape, tick=1.0, n=4001, seed=seed)
    lengths = np.array([len(gaps)])
    censored = fit_quantized_interarrivals(gaps, lengths, resolution=1.0)
    raw = fit_interarrivals(gaps, lengths, tie_floor=0.5)
    fitted = censored.fits["gamma"].params["a"][0]
    assert fitted == pytest.approx(shape, rel=RTOL_SHAPE)
    raw_error = abs(np.log(raw.fits["gamma"].params["a"][0] / shape))
    assert abs(np.log(fitted / shape)) < raw_error / 4
    assert censored.fits["gamma"].params["scale"][0] * fitted == pytest.approx(1.0, rel=0.05)
    assert censored.n_floored[0] == int((gaps == 0).sum()) > 0
    for family in ("gamma", "weibull_min", "expon", "lognorm"):
        assert np.isfinite(censored.fits[family].loglik[0])


def test_weibull_shape_is_recovered_through_the_tick() -> None:
    rng = np.random.default_rng(11)
    c = 0.7
    arrivals = np.cumsum(rng.weibull(c, 4001)) + rng.uniform(0.0, 1.0)
    gaps = np.sort(np.diff(np.floor(arrivals)))
    fits = fit_quantized_interarrivals(gaps, np.array([len(gaps)]), resolution=1.0)
    assert fits.fits["weibull_min"].params["c"][0] == pytest.approx(c, rel=RTOL_SHAPE)
    assert fits.better_of("gamma", "weibull_min")[0] == "weibull_min"


@pytest.mark.parametrize("family", ["gamma", "weibull_min", "lognorm", "expon"])
def test_tick_probabilities_sum_to_one(family: str) -> None:
    ticks = np.arange(0, 4000)
    p = tick_probabilities(family, 0.8, 1.3, ticks, resolution=0.5)
    assert p.sum() == pytest.approx(1.0, abs=1e-6)
    assert np.all(p > 0)


def test_all_ties_is_degenerate_not_a_crash() -> None:
    fits = fit_quantized_interarrivals(np.zeros(6), np.array([3, 3]), resolution=3.0)
    assert fits.degenerate.tolist() == [True, True]
    assert np.isnan(fits.fits["gamma"].params["a"]).all()
    assert fits.n_floored.tolist() == [3, 3]


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="`resolution`"):
        fit_quantized_interarrivals(np.ones(2), np.array([2]), resolution=0.0)
    with pytest.raises(ValueError, match="`lengths`"):
        fit_quantized_interarrivals(np.ones(3), np.array([2]), resolution=1.0)


def _shares(arrivals_us: np.ndarray) -> list[float]:
    offsets = arrivals_us - arrivals_us.min()
    return [float(np.mean(offsets % tick == 0)) for tick in TICKS_US]


def _detect(arrivals_us: np.ndarray) -> Resolution:
    arrivals_us = np.sort(arrivals_us)
    gaps = np.diff(arrivals_us)
    positive = gaps[gaps > 0]
    return detect_resolution(
        TICKS_US,
        _shares(arrivals_us),
        n_gaps=len(gaps),
        n_ties=int((gaps == 0).sum()),
        p05_positive_gap_us=float(np.quantile(positive, 0.05, method="lower")),
        median_positive_gap_us=float(np.quantile(positive, 0.5, method="lower")),
        distinct_times=len(np.unique(arrivals_us)),
    )


def test_detects_a_jittery_three_second_clock() -> None:
    # Like Mooncake: ms timestamps on a 3 s clock that drifts by a millisecond or two.
    rng = np.random.default_rng(5)
    ticks = np.sort(rng.integers(0, 1200, 12_000))
    jitter = rng.integers(-2, 3, 1200)
    arrivals_ms = ticks * 3000 + jitter[ticks]
    found = _detect(arrivals_ms * 1000)
    assert found.resolution_s == pytest.approx(3.0, abs=0.01)
    assert found.storage_tick_s == pytest.approx(0.001)
    assert found.is_quantized


def test_continuous_microsecond_timestamps_are_not_quantized() -> None:
    rng = np.random.default_rng(6)
    arrivals_us = np.cumsum(rng.exponential(200_000, 5000)).astype(np.int64)
    found = _detect(arrivals_us)
    assert found.resolution_s == pytest.approx(1e-6)
    assert not found.is_quantized


def test_whole_seconds_with_stray_fractions_are_still_seconds() -> None:
    # One stray timestamp must not ruin the grid (a greatest common divisor would).
    rng = np.random.default_rng(7)
    arrivals_us = np.sort(rng.integers(0, 3600, 2000)) * 1_000_000
    arrivals_us[17] += 123
    found = _detect(arrivals_us)
    assert found.storage_tick_s == 1.0 and found.is_quantized


def test_too_few_times_show_no_grid() -> None:
    found = _detect(np.array([0, 6_000_000, 9_000_000]))
    assert found.resolution_s == 1e-6 and not found.is_quantized


def test_pooled_windows_of_different_rates_share_one_shape() -> None:
    # Two windows, mean gaps 2 s and 20 s, on a 1 s clock. Divided by their window's mean
    # (each tick divided alike), they pool into the generating shape; pooled raw, the rate
    # difference would pass for burstiness.
    shape = 2.0
    slow = _quantized_gamma_gaps(shape, tick=0.05, n=2001, seed=21) * 20.0  # tick 1 s
    fast = _quantized_gamma_gaps(shape, tick=0.5, n=2001, seed=22) * 2.0  # tick 1 s
    values = np.r_[slow / 20.0, fast / 2.0]
    ticks = np.r_[np.full(len(slow), 1.0 / 20.0), np.full(len(fast), 1.0 / 2.0)]
    pooled = fit_quantized_interarrivals(values, np.array([len(values)]), resolution=ticks)
    assert pooled.fits["gamma"].params["a"][0] == pytest.approx(shape, rel=RTOL_SHAPE)
    assert np.isnan(pooled.fits["gamma"].ks[0])  # mixed ticks: no single tick CDF
    raw = fit_quantized_interarrivals(np.r_[slow, fast], np.array([len(values)]), resolution=1.0)
    assert raw.fits["gamma"].params["a"][0] < shape / 2


def test_without_short_gaps_the_fit_is_the_continuous_maximum_likelihood() -> None:
    # On a picosecond clock no gap here is within 50 ticks of 0, so every
    # gap enters through its density: the fit must be the ordinary MLE, log-likelihood too.
    rng = np.random.default_rng(5)
    segments = [np.sort(rng.gamma(0.7, 1.0 / 0.7, 400)), np.sort(rng.weibull(1.4, 300))]
    values, lengths = np.concatenate(segments), np.array([len(s) for s in segments])
    assert values.min() > 50e-12
    clock = fit_quantized_interarrivals(values, lengths, resolution=1e-12)
    continuous = fit_interarrivals(values, lengths, tie_floor=1e-12)
    assert clock.n_floored.tolist() == [0, 0]
    for family, shape in (("gamma", "a"), ("weibull_min", "c"), ("lognorm", "s")):
        got, want = clock.fits[family], continuous.fits[family]
        np.testing.assert_allclose(got.params[shape], want.params[shape], rtol=1e-5)
        np.testing.assert_allclose(got.params["scale"], want.params["scale"], rtol=1e-5)
        np.testing.assert_allclose(got.loglik, want.loglik, rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(got.ks, want.ks, atol=1e-6)
    np.testing.assert_allclose(clock.fits["expon"].loglik, continuous.fits["expon"].loglik)


def test_ties_enter_censored_not_at_a_floor() -> None:
    # A Gamma(0.05) process on a microsecond clock: about half of its gaps tie. The censored
    # fit finds the shape; raising ties to half a tick and fitting densities does not.
    rng = np.random.default_rng(8)
    shape = 0.05
    arrivals = np.cumsum(rng.gamma(shape, 1.0 / shape, 6001)) + rng.uniform(0, 1e-6)
    gaps = np.sort(np.diff(np.floor(arrivals / 1e-6) * 1e-6))
    lengths = np.array([len(gaps)])
    censored = fit_quantized_interarrivals(gaps, lengths, resolution=1e-6)
    floored = fit_interarrivals(gaps, lengths, tie_floor=0.5e-6)
    assert 0.3 < censored.n_floored[0] / len(gaps) < 0.7
    assert censored.fits["gamma"].params["a"][0] == pytest.approx(shape, rel=0.05)
    assert censored.better_of("gamma", "weibull_min")[0] == "gamma"
    assert abs(floored.fits["gamma"].params["a"][0] / shape - 1) > 0.2


def test_subset_by_segment_runs_equals_the_masked_subset() -> None:
    """The Newton search's subsets (ascending segments, gathered as runs of the sorted rows)
    hold the same rows, in the same order and numbering, as masking every row does; the
    fitted values are only bit-identical to the masked version if they do."""
    rng = np.random.default_rng(11)
    lengths = rng.integers(2, 40, 60)
    values = np.concatenate([np.sort(np.floor(rng.exponential(40.0, n)) * 0.5) for n in lengths])
    ticks = np.rint(values / 0.5)
    segment = np.repeat(np.arange(len(lengths)), lengths)
    sample, _, _ = _clock_sample(values, np.full(len(values), 0.5), ticks, segment, len(lengths))
    assert len(sample.near_ticks) and len(sample.far_shift)  # both kinds of rows are exercised
    for chosen in (np.arange(60), np.array([0, 5, 6, 59]), np.array([17]), np.arange(1, 60, 2)):
        by_runs = sample.subset(chosen)
        # a descending order takes the masking path; reversing again restores the numbering
        masked = sample.subset(chosen[::-1]).subset(np.arange(len(chosen))[::-1])
        for name in ("near_ticks", "near_counts", "near_segment", "near_resolution", "far_n"):
            assert np.array_equal(getattr(by_runs, name), getattr(masked, name)), name
        for name in ("far_sum", "far_max", "far_shift", "far_segment"):
            assert np.array_equal(getattr(by_runs, name), getattr(masked, name)), name
        assert by_runs.n_segments == len(chosen)
