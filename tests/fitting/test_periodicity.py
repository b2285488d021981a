"""Periodicity against series with and without a daily pattern."""

from __future__ import annotations

import numpy as np
import pytest

from fitting.periodicity import periodicity


def test_a_daily_pattern_is_found_with_its_busiest_hour() -> None:
    rng = np.random.default_rng(6)
    hours = np.arange(7 * 24)
    rate = 100 + 60 * np.sin(2 * np.pi * (hours - 8) / 24)  # peak at 14:00, trough at 02:00
    counts = rng.poisson(rate)
    result = periodicity(counts, 24)
    assert result.status == "ok"
    assert result.seasonal_strength > 0.8
    assert result.autocorrelation_at_period > 0.7
    assert result.busiest_phase == pytest.approx(14, abs=1)
    assert result.quietest_phase == pytest.approx(2, abs=1)
    assert result.peak_to_trough > 3


def test_noise_has_no_seasonal_strength_and_short_series_say_so() -> None:
    noise = np.random.default_rng(7).poisson(100, 7 * 24)
    assert periodicity(noise, 24).seasonal_strength < 0.4
    short = periodicity(noise[:30], 24)
    assert short.status == "insufficient_data"
    assert np.isnan(short.seasonal_strength)


def test_autocorrelation_of_a_daily_sine_peaks_at_a_day() -> None:
    from fitting.periodicity import autocorrelation

    hours = np.arange(24 * 14)
    rng = np.random.default_rng(4)
    series = 10 + 5 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 0.5, hours.size)
    acf = autocorrelation(series, 48)
    assert acf.size == 49 and acf[0] == pytest.approx(1.0)
    # a sine's autocorrelation is cos(2 pi k / 24), shrunk by (n - k) / n and the noise share
    # (signal variance 12.5 of 12.75): within 0.1 of 0.98 * (1 - k / n) * cos
    for k in (12, 24, 36, 48):
        expected = 12.5 / 12.75 * (1 - k / hours.size) * np.cos(2 * np.pi * k / 24)
        assert acf[k] == pytest.approx(expected, abs=0.1)
    assert np.isnan(autocorrelation(np.ones(10), 3)).all()
    assert autocorrelation([1.0], 3).size == 0


def test_stl_components_add_up_and_find_the_daily_shape() -> None:
    from fitting.periodicity import stl_components

    hours = np.arange(24 * 7)
    rng = np.random.default_rng(8)
    shape = 5 * np.sin(2 * np.pi * hours / 24)
    series = 10 + 0.05 * hours + shape + rng.normal(0, 0.3, hours.size)
    parts = stl_components(series, 24)
    assert np.allclose(parts.trend + parts.seasonal + parts.resid, series)
    # the seasonal part is the sine within ~3 noise sds; the trend rises by ~0.05 per hour
    assert np.max(np.abs(parts.seasonal - shape)) < 1.0
    assert (parts.trend[-24] - parts.trend[24]) / (hours[-24] - hours[24]) == pytest.approx(
        0.05, abs=0.01
    )
    with pytest.raises(ValueError, match="two periods"):
        stl_components(series[:40], 24)
