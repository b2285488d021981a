"""Anomalies in an evenly binned series: spikes, dips, outages and level shifts.

One series (a model's or a client's requests per bin, tokens per bin, an error share or a
latency percentile) goes through four steps:

1. **Transform** to stabilise the variance: the square root of counts (Poisson counts then
   have a standard deviation near 0.5 whatever their mean), the logarithm of latencies (a
   regression is a ratio), error shares as they are.
2. **Level shifts** first, on the scale where a shift and a daily cycle both add (the
   logarithm of a rate or a latency, a share as it is): binary segmentation of the series
   less its daily pattern (per hour of the day, the median over the days: one day with a
   shift is outvoted), smoothed by a running median as long as the shortest shift
   (edge-preserving: spikes and outages shorter than half of it vanish, a step stays sharp).
   A split is kept when the medians on either side differ by `shift_z` standard errors and
   by `min_relative_change`, and the step is sharp (half the jump within m/4 bins of it, not
   a slow trend); its instant is refined on the unsmoothed series. The series divided by its
   steps (a share: less them) goes on. Under two days there are no level shifts: a step
   cannot be told from the daily cycle (a lasting change shows as a spike or dip there).
3. **Baseline** of the series without its steps: robust STL (statsmodels, ``robust=True``)
   with a daily period when the fitted part spans at least two days, MSTL with daily and
   weekly periods from two weeks on; a centred running median otherwise. Under ``score_from``
   (the `--since` use) the baseline is fitted on the earlier part only and carried forward:
   the last trend level plus the seasonal pattern of the last fitted day (or week).
4. **Scores and fences**: residual minus its median over the fitted part, in robust standard
   deviations (IQR / 1.349, floored at the bin's sampling noise: 0.5 on the square-root scale
   of counts, the binomial deviation of a share at the bin's request count, `latency_floor`
   on the log scale). A bin is anomalous outside Tukey's far-out fences, median +- (0.5 + k)
   IQR (k = 3: about 4.7 standard deviations for Gaussian noise), when the change is also at
   least `min_relative_change` of the expected value (shares: `min_share_change` absolute).
   Anomalous bins of one sign, at most `merge_gap_bins` apart, form one event; a dip of a
   count series that is zero throughout while at least `outage_min_expected` was expected per
   bin is an outage.

References
----------
R. B. Cleveland, W. S. Cleveland, J. E. McRae and I. Terpenning, "STL: A seasonal-trend
decomposition procedure based on loess", Journal of Official Statistics 6(1), 3-73 (1990).
K. Bandara, R. J. Hyndman and C. Bergmeir, "MSTL: A seasonal-trend decomposition algorithm for
time series with multiple seasonal patterns", arXiv:2107.13462 (2021).
J. W. Tukey, Exploratory Data Analysis, Addison-Wesley (1977), on fences.
A. J. Scott and M. Knott, "A cluster analysis method for grouping means in the analysis of
variance", Biometrics 30(3), 507-512 (1974), on binary segmentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    FloatArray = NDArray[np.float64]

Scale = Literal["count", "share", "latency"]
Kind = Literal["spike", "dip", "level_shift", "outage"]
Method = Literal["stl", "mstl", "rolling_median", "none"]

CLEAN_HOURS_SDS = 5.0  # an hour this many robust sds off its typical value is replaced
MASKED_PASSES = 3  # refits of the baseline without the bins found anomalous so far
IQR_PER_SIGMA = 1.349  # the interquartile range of a standard normal distribution
POISSON_SQRT_SD = 0.5  # standard deviation of sqrt(Poisson) for any not-too-small mean
HOURS_PER_DAY = 24
HOURS_PER_WEEK = 7 * HOURS_PER_DAY


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """How anomalies are told from noise; lengths are in the series' own bins (e.g. 5 min)."""

    bins_per_hour: int
    fence_k: float = 3.0  # Tukey's far-out fences: median +- (0.5 + k) IQR
    inner_fence_k: float = 1.5  # an event grows over bins beyond these
    min_relative_change: float = 0.3  # of the expected value (rates, latencies, shifts)
    min_share_change: float = 0.05  # absolute, for shares
    latency_floor: float = 0.05  # least noise sd of a log latency
    merge_gap_bins: int = 2  # events of one sign this close are one
    rolling_window_bins: int = 73  # the running-median baseline under two days
    min_shift_bins: int = 72  # the shortest level shift (and its smoothing window)
    shift_z: float = 4.0  # standard errors between the medians either side of a shift
    max_shifts: int = 4
    min_shift_requests: float = 10.0  # median requests per bin before shifts are looked for
    outage_min_expected: float = 2.0  # expected count per bin of a "normally busy" series
    min_valid_bins: int = 48  # bins with a value before the scored part

    def __post_init__(self) -> None:
        if self.bins_per_hour < 1:
            raise ValueError(f"`bins_per_hour` must be at least 1, got {self.bins_per_hour}")
        if self.fence_k <= 0:
            raise ValueError(f"`fence_k` must be positive, got {self.fence_k}")
        if self.min_shift_bins < 4:
            raise ValueError(f"`min_shift_bins` must be at least 4, got {self.min_shift_bins}")
        if self.rolling_window_bins < 3:
            raise ValueError(
                f"`rolling_window_bins` must be at least 3, got {self.rolling_window_bins}"
            )


@dataclass(frozen=True, slots=True)
class Event:
    """Bins [start, end) of one series that deviate together, in the metric's own unit."""

    kind: Kind
    start: int
    end: int
    observed: float  # mean of the series over the event's bins
    expected: float  # mean of the baseline over the same bins (before the shift, for a shift)
    score: float  # largest |robust z| in the event (a shift: its size in robust sds)


@dataclass(frozen=True, slots=True)
class SeriesAnomalies:
    """The baseline, scores and events of one series; ``status`` says whether it was scored."""

    method: Method
    status: Literal["ok", "insufficient_data"]
    n_bins: int
    n_valid: int
    n_scored: int
    sigma: float  # robust standard deviation of the residuals, on the transformed scale
    expected: FloatArray  # the baseline in the metric's unit (nan where not estimated)
    score: FloatArray  # robust z per bin (nan where the bin has no value)
    events: tuple[Event, ...]
    shifts: tuple[int, ...]  # bins where a level shift starts
    message: str = ""


@dataclass(frozen=True, slots=True)
class SeriesJob:
    """The arguments of one `detect` call, as one object (what a worker process is sent)."""

    values: FloatArray
    scale: Scale
    settings: DetectorSettings
    weights: FloatArray | None
    score_from: int
    min_event_bins: int


def detect_job(job: SeriesJob) -> SeriesAnomalies:
    """`detect` on one job's arguments."""
    return detect(
        job.values,
        job.scale,
        job.settings,
        weights=job.weights,
        score_from=job.score_from,
        min_event_bins=job.min_event_bins,
    )


def has_weekly_baseline(n_bins: int, score_from: int, settings: DetectorSettings) -> bool:
    """Whether a series' baseline is the multi-seasonal decomposition (daily and weekly
    periods, statsmodels' MSTL), by far the slowest part of `detect`: two weeks of hours fitted.
    """
    return _is_weekly((score_from or n_bins) // settings.bins_per_hour)


def _is_weekly(hours: int) -> bool:
    """Whether `hours` of fitted history take the weekly period too. More than two weeks:
    MSTL drops a period that is not shorter than half the series (its seasonal term then
    has one column, not two), so at exactly two weeks the daily STL is used."""
    return hours > 2 * HOURS_PER_WEEK


def detect(
    values: ArrayLike,
    scale: Scale,
    settings: DetectorSettings,
    *,
    weights: ArrayLike | None = None,
    score_from: int = 0,
    min_event_bins: int = 1,
) -> SeriesAnomalies:
    """Score every bin of one evenly binned series and merge anomalous bins into events.

    Parameters
    ----------
    values : array_like of float
        One value per bin; nan where the bin has no value (a share or a latency over too
        few requests). Counts are 0, not nan, in bins without requests.
    scale : {"count", "share", "latency"}
        How the values vary (see the module docstring): counts of requests or tokens, shares
        of requests in [0, 1], latencies in milliseconds.
    settings : DetectorSettings
        Fences, minimum changes and window lengths, in bins.
    weights : array_like of float, optional
        Requests behind each bin's value: a share's binomial noise (required for
        ``"share"``); level shifts are looked for only when the median bin has at least
        `min_shift_requests` (a sparse series is too lumpy for a step to mean anything).
    score_from : int
        First bin to score; the baseline is fitted on the bins before it and carried
        forward (0: fit and score the whole series).
    min_event_bins : int
        Fewest bins an event of flagged bins spans (2 for a tail percentile, whose single
        bins are often one slow request).

    Returns
    -------
    SeriesAnomalies
        ``status="insufficient_data"`` (no events) when fewer than `min_valid_bins` bins of
        the fitted part have a value.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"`values` must be one-dimensional, got shape {x.shape}")
    n = x.size
    if not 0 <= score_from < max(n, 1):  # (an empty series is scored from 0: insufficient)
        raise ValueError(f"`score_from` must lie in [0, {n}), got {score_from}")
    if weights is None:
        if scale == "share":
            raise ValueError("`weights` (requests per bin) are required for a share series")
        w = np.where(np.isfinite(x), x, 0.0) if scale == "count" else np.full(n, np.inf)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != x.shape:
            raise ValueError(f"`weights` must have the shape of `values`, got {w.shape}")
    fit_end = score_from or n
    valid = np.isfinite(x)
    if scale == "latency":
        valid &= x > 0
    n_valid_fit = int(valid[:fit_end].sum())
    nan = np.full(n, np.nan)
    if n_valid_fit < settings.min_valid_bins:
        return SeriesAnomalies(
            "none",
            "insufficient_data",
            n,
            int(valid.sum()),
            0,
            float("nan"),
            nan,
            nan,
            (),
            (),
            f"{n_valid_fit} bins with a value before the scored part; at least "
            f"{settings.min_valid_bins} are needed",
        )

    y = _transform(np.where(valid, x, np.nan), scale)
    # Level shifts on the scale where a shift and a daily cycle both add: a rate's or a
    # latency's logarithm (a x1.7 shift multiplies the daily swing too), a share as it is.
    z = _fill(_shift_scale(np.where(valid, x, np.nan), scale), valid)
    pattern = _daily_pattern(z, fit_end, settings)
    sparse = float(np.median(w[:fit_end][valid[:fit_end]])) < settings.min_shift_requests
    shifts: list[int] = []
    steps, shift_sigma = np.zeros(n), float("nan")
    # under two days a step is not told from the daily cycle; a sparse series is too lumpy
    if pattern is not None and not sparse:
        shifts, steps, shift_sigma = _level_shifts(z - pattern, valid, scale, settings)
    adjusted = _fill(_transform(_unshift(np.where(valid, x, np.nan), steps, scale), scale), valid)
    baseline = _baseline(adjusted, fit_end, settings)
    fence = 0.5 * IQR_PER_SIGMA + settings.fence_k * IQR_PER_SIGMA  # in sds, around the centre
    inner = 0.5 * IQR_PER_SIGMA + settings.inner_fence_k * IQR_PER_SIGMA
    scored = np.zeros(n, dtype=bool)
    scored[score_from:] = True
    masked = np.zeros(n, dtype=bool)
    for refit in range(MASKED_PASSES + 1):
        method, seasonal, level = baseline
        expected = _reshift(_inverse(seasonal + level, scale), steps, scale)
        fitted = _transform(expected, scale)
        residual = y - fitted
        fit_residual = residual[:fit_end][valid[:fit_end] & ~masked[:fit_end]]
        center = float(np.median(fit_residual))
        q1, q3 = np.percentile(fit_residual, [25, 75])
        sigma = float((q3 - q1) / IQR_PER_SIGMA)
        sd = np.maximum(sigma, _noise_floor(expected, w, scale, settings))
        score = np.where(valid, (residual - center) / sd, np.nan)
        change = np.abs(x - expected)
        if scale == "share":
            large = change >= settings.min_share_change
        else:
            large = change >= settings.min_relative_change * np.maximum(expected, 1e-12)
        outside = np.abs(np.nan_to_num(score))
        # hysteresis: an event grows over the neighbouring bins beyond the inner fences
        flagged = _grow(valid & large & (outside > fence), valid & (outside > inner), score)
        if refit == MASKED_PASSES or not (flagged & ~masked).any():
            break
        # Fit again without the anomalous bins: with a few days, a robust STL still lets an
        # hour-long event pull its hour's baseline (and so the bins beside it) towards it.
        masked |= flagged
        baseline = _baseline(_fill(adjusted, valid & ~masked), fit_end, settings)
    flagged &= scored
    events = _events(flagged, score, x, expected, scale, settings, min_event_bins)
    unshifted = _inverse(seasonal + level, scale)
    events += _shift_events(shifts, x, unshifted, steps, valid, scale, shift_sigma, score_from)
    events.sort(key=lambda e: (e.start, e.end, e.kind))
    return SeriesAnomalies(
        method,
        "ok",
        n,
        int(valid.sum()),
        int((valid & scored).sum()),
        sigma,
        np.where(np.isfinite(expected), expected, np.nan),
        score,
        tuple(events),
        tuple(s for s in shifts if s >= score_from),
    )


# --- transforms and noise ------------------------------------------------------------------------


def _transform(x: FloatArray, scale: Scale) -> FloatArray:
    if scale == "count":
        return np.sqrt(np.maximum(x, 0.0))
    if scale == "latency":
        return np.log(x)
    return x


def _inverse(y: FloatArray, scale: Scale) -> FloatArray:
    if scale == "count":
        return np.square(np.maximum(y, 0.0))
    if scale == "latency":
        return np.exp(y)
    return np.clip(y, 0.0, 1.0)


def _shift_scale(x: FloatArray, scale: Scale) -> FloatArray:
    if scale == "count":
        return np.log1p(np.maximum(x, 0.0))
    if scale == "latency":
        return np.log(x)
    return x


def _unshift(x: FloatArray, steps: FloatArray, scale: Scale) -> FloatArray:
    """The series as if no level shift had happened (`steps` on the shift scale)."""
    return x - steps if scale == "share" else x * np.exp(-steps)


def _reshift(x: FloatArray, steps: FloatArray, scale: Scale) -> FloatArray:
    return np.clip(x + steps, 0.0, 1.0) if scale == "share" else x * np.exp(steps)


def _noise_floor(
    expected: FloatArray, weights: FloatArray, scale: Scale, settings: DetectorSettings
) -> FloatArray | float:
    """The least standard deviation a bin's residual can have: its sampling noise."""
    if scale == "count":
        return POISSON_SQRT_SD
    if scale == "latency":
        return settings.latency_floor
    # A binomial share at the bin's request count, with one pseudo-failure and one
    # pseudo-success: a quiet bin with one failure out of 20 is not 4.7 sds from 0 %.
    n = np.maximum(weights, 1.0)
    p = (np.nan_to_num(expected) * n + 1.0) / (n + 2.0)
    return np.sqrt(p * (1.0 - p) / n)


def _fill(y: FloatArray, valid: NDArray[np.bool_]) -> FloatArray:
    """Bins without a value, linearly interpolated (STL takes no gaps; they are never scored)."""
    if valid.all():
        return y.copy()
    index = np.arange(y.size)
    return np.interp(index, index[valid], y[valid])


# --- baseline ------------------------------------------------------------------------------------


def _baseline(
    y: FloatArray, fit_end: int, settings: DetectorSettings
) -> tuple[Method, FloatArray, FloatArray]:
    """(method, seasonal, level) over the whole series, fitted on ``y[:fit_end]``.

    STL runs on hourly means of the bins (period 24, and 168 for MSTL), interpolated back to
    the bins: with a handful of days, a seasonal term per 5-minute phase would be fitted from
    a handful of values each and absorb the noise it should measure.
    """
    n, per_hour = y.size, settings.bins_per_hour
    hours = fit_end // per_hour
    if hours >= 2 * HOURS_PER_DAY:
        hourly = _clean_hours(y[: hours * per_hour].reshape(hours, per_hour).mean(axis=1))
        if _is_weekly(hours):
            from statsmodels.tsa.seasonal import MSTL

            periods = (HOURS_PER_DAY, HOURS_PER_WEEK)
            result = MSTL(
                hourly, periods=periods, stl_kwargs={"robust": True, "seasonal_deg": 0}
            ).fit()
            seasonal_fit = np.asarray(result.seasonal, dtype=np.float64).sum(axis=1)
            method: Method = "mstl"
            period = HOURS_PER_WEEK
        else:
            from statsmodels.tsa.seasonal import STL

            result = STL(hourly, period=HOURS_PER_DAY, robust=True, seasonal_deg=0).fit()
            seasonal_fit = np.asarray(result.seasonal, dtype=np.float64)
            method = "stl"
            period = HOURS_PER_DAY
        trend_fit = np.asarray(result.trend, dtype=np.float64)
        total_hours = -(-n // per_hour) + 1
        ahead = np.arange(hours, total_hours)
        seasonal_hours = np.concatenate(
            [seasonal_fit, seasonal_fit[hours - period :][(ahead - hours) % period]]
        )
        trend_hours = np.concatenate([trend_fit, np.full(ahead.size, trend_fit[-1])])
        centres = (np.arange(total_hours) + 0.5) * per_hour - 0.5
        bins = np.arange(n)
        return (
            method,
            np.interp(bins, centres, seasonal_hours),
            np.interp(bins, centres, trend_hours),
        )
    fit = y[:fit_end]
    level = _running_median(fit, settings.rolling_window_bins)
    carried = np.empty(n)
    carried[:fit_end] = level
    if fit_end < n:  # carried forward: the median of the last window before the scored part
        carried[fit_end:] = np.median(fit[-settings.rolling_window_bins :])
    return "rolling_median", np.zeros(n), carried


def _daily_pattern(y: FloatArray, fit_end: int, settings: DetectorSettings) -> FloatArray | None:
    """The pattern the level shifts are found under: per hour of the day (of the week beyond two
    weeks, as MSTL), the median over the fitted days (weeks) of the hourly means around
    their day's (week's) median; None under two days. Unlike STL's seasonal term, a median
    over the days ignores a day with a shift: STL on a few days would put a third of a shift
    into the pattern of every day."""
    per_hour = settings.bins_per_hour
    hours = fit_end // per_hour
    if hours < 2 * HOURS_PER_DAY:
        return None
    period = HOURS_PER_WEEK if _is_weekly(hours) else HOURS_PER_DAY
    hourly = y[: hours * per_hour].reshape(hours, per_hour).mean(axis=1)
    cycle = np.arange(hours) // period
    levels = np.array([np.median(hourly[cycle == c]) for c in range(int(cycle[-1]) + 1)])
    detrended = hourly - levels[cycle]  # a day with a shift is one odd day among the others
    phase = np.arange(hours) % period
    pattern = np.array([np.median(detrended[phase == p]) for p in range(period)])
    pattern -= pattern.mean()
    # periodic interpolation from the hours' centres to the bins
    centres = (np.arange(-1, period + 1) + 0.5) * per_hour - 0.5
    wrapped = np.concatenate([pattern[-1:], pattern, pattern[:1]])
    position = np.arange(y.size) % (period * per_hour)
    return np.interp(position, centres, wrapped)


def _clean_hours(hourly: FloatArray) -> FloatArray:
    """Hours far from the same hour of the other days (around the day's running median)
    replaced by that typical value. With a handful of days, statsmodels' robust STL still
    follows a whole hour of outage or spike (its seasonal term is fitted from three or four
    values); cleaned first, it sees none of them."""
    n = hourly.size
    level = _running_median(hourly, HOURS_PER_DAY + 1)
    phase = np.arange(n) % HOURS_PER_DAY
    detrended = hourly - level
    pattern = np.array([np.median(detrended[phase == p]) for p in range(HOURS_PER_DAY)])
    residual = detrended - pattern[phase]
    spread = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
    far = np.abs(residual) > CLEAN_HOURS_SDS * max(spread, 1e-9)
    return np.where(far, level + pattern[phase], hourly)


def _running_median(y: FloatArray, window: int) -> FloatArray:
    """Centred running median; the window shrinks at the ends instead of padding."""
    from scipy.ndimage import median_filter

    if y.size <= window:
        return np.full(y.size, float(np.median(y)))
    smoothed = median_filter(y, size=window, mode="nearest")
    half = window // 2
    for i in range(half):  # the ends: the median of the bins that exist
        smoothed[i] = np.median(y[: i + half + 1])
        smoothed[-1 - i] = np.median(y[y.size - 1 - i - half :])
    return np.asarray(smoothed, dtype=np.float64)


# --- level shifts --------------------------------------------------------------------------------


def _level_shifts(
    deseasonalised: FloatArray,
    valid: NDArray[np.bool_],
    scale: Scale,
    settings: DetectorSettings,
) -> tuple[list[int], FloatArray, float]:
    """Change points of the level, the step function they define (0 before the first) and
    the noise's standard deviation, all on the shift scale."""
    n, m = deseasonalised.size, settings.min_shift_bins
    steps = np.zeros(n)
    if n < 2 * m:
        return [], steps, float("nan")
    smooth = _running_median(deseasonalised, m | 1)
    noise = np.diff(deseasonalised[valid]) if valid.sum() > 2 else np.zeros(1)
    # sd of the first differences / sqrt 2 is the noise sd, whatever the level does
    q1, q3 = np.percentile(noise, [25, 75])
    sigma = max(float((q3 - q1) / IQR_PER_SIGMA / np.sqrt(2.0)), _floor_of(scale, settings))
    found: list[int] = []
    pending = [(0, n)]
    while pending and len(found) < settings.max_shifts:
        a, b = pending.pop()
        split = _best_split(smooth, a, b, m)
        if split is None:
            continue
        split = _refine(deseasonalised, a, b, split, m)
        before = float(np.median(deseasonalised[a:split]))
        after = float(np.median(deseasonalised[split:b]))
        jump = after - before
        # a step, not a slow drift: half the jump or more between the m/4 bins just before
        # and just after the split
        edge = max(2, m // 4)
        sharp = float(
            np.median(deseasonalised[split : split + edge])
            - np.median(deseasonalised[max(a, split - edge) : split])
        )
        big_enough = (
            abs(jump) >= settings.min_share_change
            if scale == "share"  # else a ratio: the jump is on a log scale
            else np.expm1(abs(jump)) >= settings.min_relative_change
        )
        # the medians' standard error (1.2533 sd / sqrt(n) each side) sets the significance
        standard_error = 1.2533 * sigma * np.sqrt(1.0 / (split - a) + 1.0 / (b - split))
        significant = abs(jump) >= settings.shift_z * standard_error
        if significant and big_enough and abs(sharp) >= 0.5 * abs(jump):
            found.append(split)
            pending.extend([(a, split), (split, b)])
    found.sort()
    bounds = [0, *found, n]
    base = float(np.median(deseasonalised[bounds[0] : bounds[1]]))
    for start, end in pairwise(bounds[1:]):
        steps[start:end] = float(np.median(deseasonalised[start:end])) - base
    return found, steps, sigma


def _floor_of(scale: Scale, settings: DetectorSettings) -> float:
    """The least noise sd on the shift scale (log1p of counts: the data's own spread)."""
    if scale == "count":
        return 1e-3
    if scale == "latency":
        return settings.latency_floor
    return 0.0


def _best_split(smooth: FloatArray, a: int, b: int, m: int) -> int | None:
    """The split of [a, b) with the largest CUSUM contrast, each side at least m bins."""
    if b - a < 2 * m:
        return None
    segment = smooth[a:b]
    total = segment.sum()
    k = np.arange(m, b - a - m + 1)
    left = np.cumsum(segment)[k - 1]
    size = b - a
    contrast = np.abs(left / k - (total - left) / (size - k)) * np.sqrt(k * (size - k) / size)
    if not np.any(contrast > 0):
        return None
    return a + int(k[int(np.argmax(contrast))])


def _refine(d: FloatArray, a: int, b: int, split: int, m: int) -> int:
    """The split near `split` (within m bins) that best separates the levels on either side:
    least absolute deviations from the two sides' medians, by cumulative sums."""
    lo, hi = max(a + 1, split - m), min(b - 1, split + m)
    window_lo, window_hi = max(a, split - 2 * m), min(b, split + 2 * m)
    before = float(np.median(d[window_lo:split]))
    after = float(np.median(d[split:window_hi]))
    window = d[window_lo:window_hi]
    # cost(j) = sum_{i<j} |d_i - before| + sum_{i>=j} |d_i - after|
    left = np.concatenate([[0.0], np.cumsum(np.abs(window - before))])
    right = np.concatenate([np.cumsum(np.abs(window - after)[::-1])[::-1], [0.0]])
    candidates = np.arange(lo, hi + 1) - window_lo
    cost = left[candidates] + right[candidates]
    return int(candidates[int(np.argmin(cost))] + window_lo)


def _shift_events(
    shifts: list[int],
    x: FloatArray,
    unshifted: FloatArray,
    steps: FloatArray,
    valid: NDArray[np.bool_],
    scale: Scale,
    sigma: float,
    score_from: int,
) -> list[Event]:
    """One event per shift, from its split to the next; expected: the level before it."""
    events = []
    bounds = [*shifts, x.size]
    for start, end in pairwise(bounds):
        if start < score_from:
            continue
        before_steps = steps[start - 1] if start > 0 else 0.0
        jump = steps[start] - before_steps
        window = slice(start, end)
        ok = valid[window]
        before = _reshift(unshifted[window], np.full(end - start, before_steps), scale)[ok]
        observed = x[window][ok]
        if observed.size == 0:
            continue
        sd = max(sigma, 1e-12)
        events.append(
            Event(
                "level_shift",
                start,
                end,
                float(observed.mean()),
                float(before.mean()),
                float(abs(jump) / sd),
            )
        )
    return events


# --- events from flagged bins ---


def _grow(
    core: NDArray[np.bool_], weaker: NDArray[np.bool_], score: FloatArray
) -> NDArray[np.bool_]:
    """`core` grown over adjacent `weaker` bins of the same sign as the bin they touch."""
    grown = core.copy()
    sign = np.sign(np.nan_to_num(score))
    for step in (1, -1):
        indices = range(1, core.size) if step == 1 else range(core.size - 2, -1, -1)
        for i in indices:
            j = i - step
            if not grown[i] and grown[j] and weaker[i] and sign[i] == sign[j]:
                grown[i] = True
    return grown


# --- events ---------------------------------------------------------------------------------------


def _events(
    flagged: NDArray[np.bool_],
    score: FloatArray,
    x: FloatArray,
    expected: FloatArray,
    scale: Scale,
    settings: DetectorSettings,
    min_bins: int,
) -> list[Event]:
    events: list[Event] = []
    for sign in (1, -1):
        bins = np.flatnonzero(flagged & (np.sign(score) == sign))
        if bins.size == 0:
            continue
        breaks = np.flatnonzero(np.diff(bins) > settings.merge_gap_bins + 1)
        for run in np.split(bins, breaks + 1):
            start, end = int(run[0]), int(run[-1]) + 1
            inside = np.arange(start, end)
            inside = inside[np.isfinite(score[inside])]
            observed = float(x[inside].mean())
            wanted = float(expected[inside].mean())
            if end - start < min_bins:
                continue
            kind: Kind = "spike" if sign > 0 else "dip"
            # an outage: nothing at all, but for the edge bins the stop or restart cuts
            core = x[start + 1 : end - 1] if end - start > 2 else x[start:end]
            if (
                sign < 0
                and scale == "count"
                and np.all(core == 0)
                and observed <= 0.1 * wanted
                and wanted >= settings.outage_min_expected
            ):
                kind = "outage"
            strength = float(np.nanmax(np.abs(score[inside])))
            events.append(Event(kind, start, end, observed, wanted, strength))
    return events
