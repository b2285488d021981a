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
