"""stats.json's `periodicity`: hour-of-day profile, autocorrelation, daily and weekly STL."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

import numpy as np

from fitting.periodicity import autocorrelation, periodicity, stl_components
from pipeline.stages.aggregate import US_PER_DAY
from pipeline.stages.characterize.common import (
    HOUR_S,
    US_PER_S,
    Curve,
    Unavailable,
    _arg_extreme,
    _unavailable,
)

HOURS_PER_WEEK = 168
ACF_MAX_LAG_HOURS = 168  # a week of hourly lags
# A log that starts 3 s past the hour (its first request came then) still covers that hour:
# an hour missing less than this is whole, not partial.
WHOLE_HOUR_SLACK_S = 60


class HourlyProfile(TypedDict):
    """Requests per second by UTC hour of the day (0-23), over the seconds each hour covers."""

    x: list[int]
    y: list[float | None]
    covered_s: list[float]
    partial: list[bool]


class Seasonality(TypedDict):
    """STL at one period (daily or weekly) of the hourly rate."""

    available: Literal[True]
    period_bins: int
    bin_s: int
    n_periods: float
    seasonal_strength: float
    trend_strength: float
    autocorrelation_at_period: float
    peak_to_mean: float
    peak_to_trough: float
    busiest_hour_utc: int
    quietest_hour_utc: int
    components: dict[str, list[float]]  # x, observed, trend, seasonal, resid


class Periodicity(TypedDict):
    """stats.json's `models[].periodicity`."""

    hourly_profile: HourlyProfile
    acf_hourly: Curve
    busiest_hour_utc: int | None
    quietest_hour_utc: int | None
    peak_to_mean: float
    peak_to_trough: float
    daily: Seasonality | Unavailable
    weekly: Seasonality | Unavailable


def _periodicity(
    hour_counts: dict[int, int], model_row: dict[str, Any], origin_us: int
) -> Periodicity:
    """Hour-of-day profile, and STL at daily (2+ days) and weekly (2+ weeks) period.

    An hour bin's rate is its requests over the part of the hour the log covers (from the
    model's first to its last arrival): the first and last hours are usually partial, and
    dividing them by a whole hour would draw them as lulls.
    """
    hour_us = HOUR_S * US_PER_S
    first_us, last_us = int(model_row["first_offset_us"]), int(model_row["last_offset_us"])
    first_bin, last_bin = first_us // hour_us, last_us // hour_us
    bins = np.arange(first_bin, last_bin + 1, dtype=np.int64)
    counts = np.array([hour_counts.get(int(b), 0) for b in bins], dtype=np.float64)
    # the last arrival's own microsecond counts as covered, so no bin with a request is empty
    covered_s = (
        np.minimum((bins + 1) * hour_us, last_us + 1) - np.maximum(bins * hour_us, first_us)
    ) / US_PER_S
    rates = counts / covered_s
    is_full = covered_s >= HOUR_S - WHOLE_HOUR_SLACK_S
    origin_hour = (origin_us % US_PER_DAY) // hour_us
    hour_of_day = (origin_hour + bins) % 24
    profile: list[float | None] = []
    profile_covered: list[float] = []
    for hour in range(24):
        in_hour = hour_of_day == hour
        covered = float(covered_s[in_hour].sum())
        # requests over covered seconds: a partial hour weighs by the time it covers
        profile.append(float(counts[in_hour].sum() / covered) if covered > 0 else None)
        profile_covered.append(covered)
    days_of_hour = [int(np.count_nonzero(hour_of_day == hour)) for hour in range(24)]
    partial = [
        0 < covered < HOUR_S * days - WHOLE_HOUR_SLACK_S
        for covered, days in zip(profile_covered, days_of_hour, strict=True)
    ]
    # busiest/quietest and the peak ratios over hours with a whole hour covered (a few
    # covered seconds make a noisy rate); over every hour only when none has
    enough = [covered >= HOUR_S - WHOLE_HOUR_SLACK_S for covered in profile_covered]
    trusted = [
        rate if ok or not any(enough) else None for rate, ok in zip(profile, enough, strict=True)
    ]

    def stl(period: int, label: str, minimum: str) -> Seasonality | Unavailable:
        if rates.size < 2 * period:
            return _unavailable(
                f"the log's arrivals fall in {rates.size} clock hour(s); a {label} "
                f"decomposition needs {minimum} "
                f"({2 * period} hours)"
            )
        result = periodicity(rates, period)
        parts = stl_components(rates, period)
        busiest = int((origin_hour + first_bin + result.busiest_phase) % period)
        quietest = int((origin_hour + first_bin + result.quietest_phase) % period)
        return {
            "available": True,
            "period_bins": period,
            "bin_s": HOUR_S,
            # STL on exactly 2 periods leaves almost no residual (strengths near 1): read the
            # strengths with the number of periods behind them
            "n_periods": rates.size / period,
            "seasonal_strength": result.seasonal_strength,
            "trend_strength": result.trend_strength,
            "autocorrelation_at_period": result.autocorrelation_at_period,
            "peak_to_mean": result.peak_to_mean,
            "peak_to_trough": result.peak_to_trough,
            # hour of the day (daily) or hour of the week from the origin's weekday (weekly)
            "busiest_hour_utc": busiest,
            "quietest_hour_utc": quietest,
            "components": {
                "x": [float(b * HOUR_S) for b in range(first_bin, last_bin + 1)],
                "observed": rates.tolist(),
                "trend": parts.trend.tolist(),
                "seasonal": parts.seasonal.tolist(),
                "resid": parts.resid.tolist(),
            },
        }

    whole = periodicity(rates[is_full] if any(is_full) else rates, 24)  # needs no full period
    return {
        "hourly_profile": {
            "x": list(range(24)),
            "y": profile,
            "covered_s": profile_covered,
            "partial": partial,
        },
        "acf_hourly": {
            "x": list(range(min(ACF_MAX_LAG_HOURS, rates.size - 1) + 1)),
            "y": autocorrelation(rates, ACF_MAX_LAG_HOURS).tolist(),
        },
        # of the hour-of-day profile, so that logs shorter than 2 days have them too
        "busiest_hour_utc": _arg_extreme(trusted, max),
        "quietest_hour_utc": _arg_extreme(trusted, min),
        "peak_to_mean": whole.peak_to_mean,
        "peak_to_trough": whole.peak_to_trough,
        "daily": stl(24, "daily", "2 days"),
        "weekly": stl(HOURS_PER_WEEK, "weekly", "2 weeks"),
    }
