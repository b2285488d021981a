"""Periodicity and shift of a rate series: STL decomposition, strengths, peaks and troughs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


@dataclass(frozen=True, slots=True)
class Periodicity:
    """How much of a series is trend and how much is a repeating pattern.

    Strengths follow Wang, Smith and Hyndman (2006): ``1 - Var(R) / Var(S + R)`` for the
    seasonal part (and ``T + R`` for the trend), clipped at 0; near 1 means the component
    dominates the noise. ``status`` is ``"insufficient_data"`` below two full periods.
    Peak-to-trough divides by the smallest non-zero value (idle bins are left out).
    """

    period: int
    n: int
    status: str
    seasonal_strength: float
    trend_strength: float
    autocorrelation_at_period: float
    peak_to_mean: float
    peak_to_trough: float
    busiest_phase: int  # position within the period with the highest mean (e.g. hour of day)
    quietest_phase: int


def periodicity(series: ArrayLike, period: int) -> Periodicity:
    """STL decomposition (statsmodels, robust) of an evenly spaced series at `period`."""
    y = np.asarray(series, dtype=np.float64)
    if period < 2:
        raise ValueError(f"`period` must be at least 2, got {period}")
    mean = float(y.mean()) if y.size else np.nan
    peak_to_mean = float(y.max() / mean) if y.size and mean > 0 else np.nan
    positive_min = y[y > 0].min() if np.any(y > 0) else np.nan
    peak_to_trough = (
        float(y.max() / y.min())
        if y.size and y.min() > 0
        else float(y.max() / positive_min if np.isfinite(positive_min) else np.nan)
    )
    if y.size < 2 * period:
        return Periodicity(
            period,
            int(y.size),
            "insufficient_data",
            np.nan,
            np.nan,
            np.nan,
            peak_to_mean,
            peak_to_trough,
            -1,
            -1,
        )
    from statsmodels.tsa.seasonal import STL  # heavy: only when a decomposition is asked for
    from statsmodels.tsa.stattools import acf

    result = STL(y, period=period, robust=True).fit()
    resid, seasonal, trend = result.resid, result.seasonal, result.trend

    def strength(component: np.ndarray) -> float:
        total = np.var(component + resid)
        return float(max(0.0, 1.0 - np.var(resid) / total)) if total > 0 else 0.0

    usable = y.size - y.size % period
    by_phase = y[:usable].reshape(-1, period).mean(axis=0)
    autocorrelation = acf(y, nlags=period, fft=True)[period] if np.var(y) > 0 else np.nan
    return Periodicity(
        period,
        int(y.size),
        "ok",
        strength(seasonal),
        strength(trend),
        float(autocorrelation),
        peak_to_mean,
        peak_to_trough,
        int(np.argmax(by_phase)),
        int(np.argmin(by_phase)),
    )


def autocorrelation(series: ArrayLike, max_lag: int) -> np.ndarray:
    """Sample autocorrelation at lags 0..max_lag (capped at len - 1); NaN for a constant series.

    The usual estimator (Box and Jenkins, 1976): autocovariance at lag k over n, divided by
    the variance, so that values are in [-1, 1] and lag 0 is 1.
    """
    y = np.asarray(series, dtype=np.float64)
    lags = min(max_lag, y.size - 1)
    if y.size < 2 or lags < 0:
        return np.zeros(0)
    centred = y - y.mean()
    variance = float(centred @ centred)
    if variance <= 0:
        return np.full(lags + 1, np.nan)
    products = [float(centred[: y.size - k] @ centred[k:]) for k in range(lags + 1)]
    return np.array(products) / variance


@dataclass(frozen=True, slots=True)
class StlComponents:
    """The robust STL decomposition of a series: observed = trend + seasonal + resid."""

    trend: np.ndarray
    seasonal: np.ndarray
    resid: np.ndarray


def stl_components(series: ArrayLike, period: int) -> StlComponents:
    """Trend, seasonal and remainder of an evenly spaced series (Cleveland et al., 1990).

    The same decomposition as :func:`periodicity` (statsmodels STL, robust), for plotting.
    """
    y = np.asarray(series, dtype=np.float64)
    if period < 2 or y.size < 2 * period:
        raise ValueError(f"STL needs at least two periods of {period}, got {y.size} values")
    from statsmodels.tsa.seasonal import STL

    result = STL(y, period=period, robust=True).fit()
    return StlComponents(
        np.asarray(result.trend), np.asarray(result.seasonal), np.asarray(result.resid)
    )
