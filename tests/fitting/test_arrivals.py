"""Vectorised arrival fits against scipy (closed-form oracle) and against known parameters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from fitting import (
    fit_interarrivals,
    gamma_shape_for_cv,
    match_moments,
    sort_within_segments,
    weibull_cv,
    weibull_shape_for_cv,
)

SCIPY = {
    "gamma": stats.gamma,
    "weibull_min": stats.weibull_min,
    "expon": stats.expon,
    "lognorm": stats.lognorm,
}
RTOL_VS_SCIPY = 1e-4  # scipy's Weibull optimiser stops short by ~1e-5 (ours solves the score)
RTOL_SHAPE = 0.05  # recovery at n = 20,000


def _segments(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        stats.gamma(a=0.4, scale=3).rvs(800, random_state=rng),
        stats.weibull_min(c=0.7, scale=2).rvs(500, random_state=rng),
        stats.lognorm(s=1.1, scale=0.5).rvs(300, random_state=rng),
        stats.expon(scale=9).rvs(50, random_state=rng),
    ]


def test_matches_scipy_fit_loglik_and_ks_for_every_family() -> None:
    segments = _segments(1)
    lengths = np.array([len(s) for s in segments])
    fits = fit_interarrivals(
        sort_within_segments(np.concatenate(segments), lengths), lengths, tie_floor=1e-9
    )
    for index, sample in enumerate(segments):
        for family, dist in SCIPY.items():
            expected = dist.fit(sample, floc=0)
            ours = fits.fits[family]
            got = [ours.params[name][index] for name in ours.params]
            names = list(ours.params)
            # scipy orders (shape..., loc, scale); ours is keyed by the same names
            assert names[-2:] == ["loc", "scale"]
            assert got == pytest.approx(list(expected), rel=RTOL_VS_SCIPY, abs=1e-12)
            # Our estimate is the exact maximiser: never a worse likelihood than scipy's.
            scipy_loglik = dist.logpdf(sample, *expected).sum()
            assert ours.loglik[index] >= scipy_loglik - 1e-9 * abs(scipy_loglik)
            assert ours.loglik[index] == pytest.approx(scipy_loglik, rel=1e-6)
            our_dist = dist(*[ours.params[name][index] for name in names])
            assert ours.loglik[index] == pytest.approx(our_dist.logpdf(sample).sum(), rel=1e-10)
            ks = stats.kstest(sample, our_dist.cdf).statistic
            assert ours.ks[index] == pytest.approx(ks, abs=1e-10)
            k = 1 if family == "expon" else 2
            assert ours.aic[index] == pytest.approx(2 * k - 2 * ours.loglik[index])


@pytest.mark.parametrize(
    ("family", "shape"),
    [("gamma", 0.5), ("gamma", 3.0), ("weibull_min", 0.6), ("weibull_min", 1.8)],
)
def test_shape_is_recovered_and_the_true_family_wins(family: str, shape: float) -> None:
    rng = np.random.default_rng(7)
    sample = np.sort(SCIPY[family](shape, scale=2.0).rvs(20_000, random_state=rng))
    fits = fit_interarrivals(sample, np.array([len(sample)]), tie_floor=1e-9)
    key = "a" if family == "gamma" else "c"
    assert fits.fits[family].params[key][0] == pytest.approx(shape, rel=RTOL_SHAPE)
    other = "weibull_min" if family == "gamma" else "gamma"
    assert fits.better_of(family, other)[0] == family


def test_ties_are_floored_never_log_zero() -> None:
    sample = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 3.0, 9.0])
    fits = fit_interarrivals(sample, np.array([8]), tie_floor=0.5)
    assert fits.n_floored[0] == 3
    for result in fits.fits.values():
        assert np.isfinite(result.loglik[0])


def test_all_equal_values_are_degenerate_not_a_crash() -> None:
    fits = fit_interarrivals(np.full(20, 2.0), np.array([20]), tie_floor=1e-6)
    assert fits.degenerate[0]
    assert np.isnan(fits.fits["gamma"].params["a"][0])
    assert fits.fits["expon"].params["scale"][0] == 2.0


def test_misuse_names_the_argument() -> None:
    with pytest.raises(ValueError, match="`lengths`"):
        fit_interarrivals(np.ones(3), np.array([2]), tie_floor=1.0)
    with pytest.raises(ValueError, match="`tie_floor`"):
        fit_interarrivals(np.ones(3), np.array([3]), tie_floor=0.0)
    with pytest.raises(ValueError, match="at least 2"):
        fit_interarrivals(np.ones(3), np.array([1, 2]), tie_floor=1.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.floats(1e-3, 1e3))
def test_shapes_do_not_depend_on_the_time_unit(seed: int, factor: float) -> None:
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.gamma(0.8, 1.0, 200))
    base = fit_interarrivals(sample, np.array([200]), tie_floor=1e-12)
    scaled = fit_interarrivals(sample * factor, np.array([200]), tie_floor=1e-12)
    for family, key in (("gamma", "a"), ("weibull_min", "c"), ("lognorm", "s")):
        assert scaled.fits[family].params[key][0] == pytest.approx(
            base.fits[family].params[key][0], rel=1e-6
        )
        assert scaled.fits[family].params["scale"][0] == pytest.approx(
            base.fits[family].params["scale"][0] * factor, rel=1e-6
        )


@pytest.mark.parametrize("cv", [0.05, 0.3, 1.0, 2.5, 8.6, 40.0])
def test_cv_matched_shapes_reproduce_the_cv_and_mean(cv: float) -> None:
    assert float(weibull_cv(weibull_shape_for_cv(cv))) == pytest.approx(cv, rel=1e-9)
    assert 1 / np.sqrt(gamma_shape_for_cv(cv)) == pytest.approx(cv, rel=1e-12)
    shapes, scales = match_moments(np.array(["gamma", "weibull_min"]), 3.0, cv)
    assert stats.gamma(a=shapes[0], scale=scales[0]).mean() == pytest.approx(3.0)
    assert stats.weibull_min(c=shapes[1], scale=scales[1]).mean() == pytest.approx(3.0)
    assert stats.weibull_min(c=shapes[1]).std() / stats.weibull_min(c=shapes[1]).mean() == (
        pytest.approx(cv, rel=1e-6)
    )
