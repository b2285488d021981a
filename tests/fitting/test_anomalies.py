"""fitting.anomalies on seeded series with known events (5-minute bins, fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest

from fitting.anomalies import DetectorSettings, detect

SETTINGS = DetectorSettings(bins_per_hour=12)
DAY = 288


def _counts(rng: np.random.Generator, days: float, rate: float = 60.0) -> np.ndarray:
    """Poisson counts per bin under a daily cycle (amplitude 0.5), slightly over-dispersed."""
    n = int(days * DAY)
    t = (np.arange(n) + 0.5) * 300
    mean = rate * (1 + 0.5 * np.sin(2 * np.pi * (t - 6 * 3600) / 86400))
    return rng.poisson(mean * rng.gamma(60, 1 / 60, n)).astype(np.float64)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_daily_cycle_alone_is_no_anomaly_with_or_without_a_seasonal_model(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for days, method in ((1, "rolling_median"), (3, "stl")):
        result = detect(_counts(rng, days), "count", SETTINGS)
        assert result.method == method
        assert result.events == (), result.events


def test_a_spike_dip_outage_and_shift_are_found_where_they_are() -> None:
    rng = np.random.default_rng(7)
    x = _counts(rng, 3)
    x[300:304] *= 3  # spike
    x[500:508] = np.round(x[500:508] * 0.25)  # dip
    x[650:] = np.round(x[650:] * 1.7)  # level shift
    x[720:732] = 0  # outage
    found = {(e.kind, e.start, e.end) for e in detect(x, "count", SETTINGS).events}
    assert ("spike", 300, 304) in found and ("dip", 500, 508) in found
    assert ("outage", 720, 732) in found
    assert any(kind == "level_shift" and abs(start - 650) <= 2 for kind, start, _ in found)
    assert len(found) == 4


def test_one_failure_in_a_quiet_bin_is_not_an_anomaly_but_a_burst_is() -> None:
    rng = np.random.default_rng(5)
    n = 3 * DAY
    requests = rng.poisson(40, n).astype(np.float64)
    failures = rng.binomial(requests.astype(np.int64), 0.01).astype(np.float64)
    requests[100], failures[100] = 20, 1  # 5 % of a quiet bin
    failures[400:406] = np.round(requests[400:406] * 0.4)  # a burst: 40 % for 30 minutes
    share = np.where(requests >= 20, failures / np.maximum(requests, 1), np.nan)
    result = detect(share, "share", SETTINGS, weights=requests)
    assert [(e.kind, e.start, e.end) for e in result.events] == [("spike", 400, 406)]


def test_since_scores_only_the_recent_part_against_the_earlier_baseline() -> None:
    rng = np.random.default_rng(9)
    x = _counts(rng, 3)
    x[100:104] *= 3  # before the scored part: not reported
    x[700:704] *= 3
    result = detect(x, "count", SETTINGS, score_from=2 * DAY)
    assert [(e.kind, e.start) for e in result.events] == [("spike", 700)]
    assert result.n_scored == DAY and result.method == "stl"


def test_too_little_history_is_insufficient_data_and_bad_input_is_refused() -> None:
    result = detect(np.ones(10), "count", SETTINGS)
    assert result.status == "insufficient_data" and result.events == ()
    with pytest.raises(ValueError, match="weights"):
        detect(np.zeros(100), "share", SETTINGS)
    with pytest.raises(ValueError, match="score_from"):
        detect(np.zeros(100), "count", SETTINGS, score_from=100)
    with pytest.raises(ValueError, match="bins_per_hour"):
        DetectorSettings(bins_per_hour=0)


def test_two_weeks_use_mstl_and_a_weekend_is_no_anomaly() -> None:
    """Hourly bins over 15 days with a daily cycle and quiet weekends (x0.4)."""
    rng = np.random.default_rng(12)
    hours = np.arange(15 * 24)
    weekend = (hours // 24) % 7 >= 5
    mean = 600 * (1 + 0.5 * np.sin(2 * np.pi * (hours - 6) / 24)) * np.where(weekend, 0.4, 1.0)
    x = rng.poisson(mean * rng.gamma(200, 1 / 200, hours.size)).astype(np.float64)
    settings = DetectorSettings(bins_per_hour=1, rolling_window_bins=7, min_shift_bins=6)
    quiet = detect(x, "count", settings)
    assert quiet.method == "mstl" and quiet.events == ()
    x[200] *= 3
    assert [(e.kind, e.start) for e in detect(x, "count", settings).events] == [("spike", 200)]
