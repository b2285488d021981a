"""Quantized arrival times: detecting the timestamp resolution, and fitting through it.

When a log stores arrivals on a coarse clock (Mooncake's conversation trace ticks every
3 s), most inter-arrival times are 0 or a whole number of ticks. Fitting a continuous density
to those values measures the clock, not the traffic: ties need an arbitrary floor and the
fitted shape follows it. Here each observed gap of ``k`` ticks is treated as what it is, the
difference of two arrival times each floored to the tick grid: with the grid's phase
uniform, a true gap ``g`` shows as ``k`` ticks with probability ``max(0, 1 - |g/d - k|)``
(a triangular kernel, ``d`` the resolution), so

    P(k) = integral f(g) max(0, 1 - |g/d - k|) dg
         = [I((k+1) d) - 2 I(k d) + I((k-1) d)] / d,   I(t) = integral_0^t F(g) dg,

and the likelihood of a segment is ``sum_k n_k log P(k)``. ``I`` has a closed form for each
family through its partial first moment, so the likelihood costs a few special-function
calls per distinct ``k``. This is maximum likelihood for interval-censored (here,
kernel-censored) data; it uses the marginal law of each gap and ignores that consecutive
gaps share an endpoint (a composite likelihood), which leaves the estimator consistent.

References
----------
D. R. Cox and P. A. W. Lewis, *The Statistical Analysis of Series of Events*, Methuen (1966),
ch. 4 (intervals of a renewal process observed on a discrete clock).
J. P. Klein and M. L. Moeschberger, *Survival Analysis*, 2nd ed., Springer (2003), sec. 3.3
(likelihoods for interval-censored data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import optimize, special

from fitting.arrivals import FAMILIES, N_PARAMS, ArrivalFits, FamilyFits, segment_starts

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import NDArray

MIN_DISTINCT_TIMES = 20
"""Fewer distinct arrival times cannot show a grid: such models are taken as continuous."""
STORAGE_SHARE = 0.99
"""A tick is the storage resolution when at least this share of arrivals sit on its grid."""
CLOCK_TIE_SHARE = 0.2
"""Ties at least this common suggest a clock coarser than the storage resolution ..."""
CLOCK_REGULARITY = 0.9
"""... if the steps between distinct times are regular (5th percentile / median above this)."""
QUANTIZED_MIN_RESOLUTION_S = 1e-3
"""Resolutions below a millisecond are treated as continuous time."""
QUANTIZED_TIE_SHARE = 0.01
QUANTIZED_RELATIVE_RESOLUTION = 0.05
"""Quantized: resolution >= 1 ms and (>= 1 % ties or resolution >= 5 % of the median gap)."""
_DENSITY_FROM_TICKS = (
    50  # from this many ticks on, P(k) = d f(k d) (kernel << gap; no cancellation)
)
_MIN_PROBABILITY = 1e-300


@dataclass(frozen=True, slots=True)
class Resolution:
    """How finely a model's arrivals are timed.

    Attributes
    ----------
    resolution_s : the tick of the arrival clock (seconds).
    storage_tick_s : the finest grid every timestamp sits on (its stored precision).
    tie_share : share of gaps between consecutive arrivals that are 0.
    is_quantized : whether the tick is coarse enough to matter for inter-arrival fits.
    """

    resolution_s: float
    storage_tick_s: float
    tie_share: float
    is_quantized: bool


def detect_resolution(
    tick_candidates_us: Sequence[int],
    share_multiple: Sequence[float],
    *,
    n_gaps: int,
    n_ties: int,
    p05_positive_gap_us: float | None,
    median_positive_gap_us: float | None,
    distinct_times: int = MIN_DISTINCT_TIMES,
) -> Resolution:
    """The arrival clock's resolution from grid shares and gap quantiles.

    Two robust signals, neither a greatest common divisor (one stray timestamp would ruin
    it): the storage tick is the largest candidate tick on whose grid at least
    :data:`STORAGE_SHARE` of the arrivals sit; a coarser clock shows when ties are common
    and the steps between distinct arrival times are all about equal (Mooncake: 2,999 to
    3,001 ms), and then the median step is the tick.

    Parameters
    ----------
    tick_candidates_us : sequence of int
        Candidate ticks in microseconds, ascending (must include 1).
    share_multiple : sequence of float
        For each candidate, the share of arrivals whose offset from the first is a multiple.
    n_gaps, n_ties : int
        Gaps between consecutive arrivals, and how many of them are 0.
    p05_positive_gap_us, median_positive_gap_us : float or None
        5th percentile and median of the positive gaps (None when there is none).

    Returns
    -------
    Resolution
    """
    if len(tick_candidates_us) != len(share_multiple) or not len(tick_candidates_us):
        raise ValueError("`tick_candidates_us` and `share_multiple` must be equal, non-empty")
    storage_us = 1
    if distinct_times < MIN_DISTINCT_TIMES:
        return Resolution(1e-6, 1e-6, n_ties / n_gaps if n_gaps else 0.0, False)
    for tick, share in zip(tick_candidates_us, share_multiple, strict=True):
        if share >= STORAGE_SHARE:
            storage_us = max(storage_us, int(tick))
    tie_share = n_ties / n_gaps if n_gaps else 0.0
    resolution_us = float(storage_us)
    if (
        tie_share >= CLOCK_TIE_SHARE
        and p05_positive_gap_us
        and median_positive_gap_us
        and p05_positive_gap_us >= CLOCK_REGULARITY * median_positive_gap_us
    ):
        resolution_us = max(resolution_us, float(median_positive_gap_us))
    resolution_s = resolution_us / 1e6
    median_s = (median_positive_gap_us or 0.0) / 1e6
    is_quantized = resolution_s >= QUANTIZED_MIN_RESOLUTION_S and (
        tie_share >= QUANTIZED_TIE_SHARE
        or (median_s > 0 and resolution_s >= QUANTIZED_RELATIVE_RESOLUTION * median_s)
    )
    return Resolution(resolution_s, storage_us / 1e6, tie_share, bool(is_quantized))


# --- partial first moments M(t) = integral_0^t g f(g) dg and CDFs, per family -----------------


def _gamma_parts(t: NDArray, shape: float, scale: float) -> tuple[NDArray, NDArray]:
    x = t / scale
    return special.gammainc(shape, x), shape * scale * special.gammainc(shape + 1.0, x)


def _weibull_parts(t: NDArray, shape: float, scale: float) -> tuple[NDArray, NDArray]:
    z = (t / scale) ** shape
    cdf = -np.expm1(-z)
    moment = scale * special.gamma(1.0 + 1.0 / shape) * special.gammainc(1.0 + 1.0 / shape, z)
    return cdf, moment


def _lognorm_parts(t: NDArray, shape: float, scale: float) -> tuple[NDArray, NDArray]:
    with np.errstate(divide="ignore"):
        log_t = np.log(t)
    mu = np.log(scale)
    cdf = special.ndtr((log_t - mu) / shape)
    moment = np.exp(mu + shape**2 / 2.0) * special.ndtr((log_t - mu - shape**2) / shape)
    return cdf, moment


_PARTS: dict[str, Callable[[NDArray, float, float], tuple[NDArray, NDArray]]] = {
    "gamma": _gamma_parts,
    "weibull_min": _weibull_parts,
    "lognorm": _lognorm_parts,
    "expon": lambda t, _shape, scale: _gamma_parts(t, 1.0, scale),
}


def _log_density(family: str, x: NDArray, shape: float, scale: float) -> NDArray:
    """log f(x) in closed form (scipy.stats' frozen objects cost more than the sum itself)."""
    z = x / scale
    log_z = np.log(z)
    if family == "gamma":
        return (shape - 1.0) * log_z - z - special.gammaln(shape) - np.log(scale)
    if family == "weibull_min":
        return np.log(shape / scale) + (shape - 1.0) * log_z - z**shape
    if family == "lognorm":
        return -0.5 * (log_z / shape) ** 2 - np.log(shape * x) - 0.5 * np.log(2.0 * np.pi)
    return -z - np.log(scale)


def tick_probabilities(
    family: str, shape: float, scale: float, ticks: NDArray[np.int64], resolution: float
) -> NDArray[np.float64]:
    """P(k) of observing a gap of ``k`` ticks, for a renewal process of this family.

    Parameters
    ----------
    family : str
        A name in :data:`fitting.FAMILIES` (``expon`` ignores ``shape``).
    shape, scale : float
        scipy's shape (``a``, ``c`` or ``s``) and scale.
    ticks : ndarray of int
        Gap lengths in ticks (>= 0).
    resolution : float
        The tick, in the unit of ``scale``.

    Returns
    -------
    ndarray of float
        Probabilities, each at least 1e-300 (so their log is finite).
    """
    with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
        return _tick_probabilities(family, shape, scale, ticks, resolution)


def _tick_probabilities(
    family: str, shape: float, scale: float, ticks: NDArray[np.int64], resolution: float
) -> NDArray[np.float64]:
    k = np.asarray(ticks, dtype=np.float64)
    parts = _PARTS[family]

    def integrated_cdf(t: NDArray[np.float64]) -> NDArray[np.float64]:
        t = np.maximum(t, 0.0)
        cdf, moment = parts(np.where(t > 0, t, 1.0), shape, scale)
        return np.where(t > 0, t * cdf - moment, 0.0)

    d = resolution
    second_difference = (
        integrated_cdf((k + 1) * d) - 2.0 * integrated_cdf(k * d) + integrated_cdf((k - 1) * d)
    ) / d
    far = k >= _DENSITY_FROM_TICKS
    if far.any():
        density = d * np.exp(_log_density(family, k[far] * d, shape, scale))
        second_difference = second_difference.copy()
        second_difference[far] = density
    return np.maximum(np.nan_to_num(second_difference, nan=0.0), _MIN_PROBABILITY)


def _start(family: str, mean: float, variance: float) -> tuple[float, float]:
    """Moment estimates of (shape, scale) to start the likelihood search."""
    cv2 = max(variance / mean**2, 1e-3)
    if family == "gamma":
        return 1.0 / cv2, mean * cv2
    if family == "weibull_min":
        shape = max(cv2**-0.543, 0.05)  # Justus et al. (1978): k ~ cv^-1.086
        return shape, mean / special.gamma(1.0 + 1.0 / shape)
    if family == "lognorm":
        s = np.sqrt(np.log1p(cv2))
        return float(s), mean / np.exp(s**2 / 2.0)
    return 1.0, mean


def _fit_one(
    family: str, ticks: NDArray[np.int64], counts: NDArray[np.int64], resolution: float
) -> tuple[float, float, float]:
    """(shape, scale, loglik) maximising the tick likelihood of one segment."""
    gaps = ticks * resolution
    n = counts.sum()
    mean = max(float((gaps * counts).sum() / n), resolution / 2.0)
    # The kernel adds the variance of a difference of two uniform phases, d^2 / 6.
    raw_variance = float((counts * (gaps - mean) ** 2).sum() / n)
    variance = max(raw_variance - resolution**2 / 6.0, (0.05 * mean) ** 2)
    shape0, scale0 = _start(family, mean, variance)

    def negative_loglik(theta: NDArray[np.float64]) -> float:
        shape, scale = (1.0, np.exp(theta[0])) if family == "expon" else np.exp(theta)
        if not (np.isfinite(shape) and np.isfinite(scale)) or shape > 1e4 or shape < 1e-3:
            return 1e300
        p = tick_probabilities(family, shape, scale, ticks, resolution)
        return float(-(counts * np.log(p)).sum())

    theta0 = np.log([scale0]) if family == "expon" else np.log([shape0, scale0])
    result = optimize.minimize(
        negative_loglik, theta0, method="Powell", options={"xtol": 1e-6, "ftol": 1e-10}
    )
    theta = result.x
    shape, scale = (1.0, float(np.exp(theta[0]))) if family == "expon" else np.exp(theta)
    return float(shape), float(scale), -float(result.fun)


_SHAPE_NAME = {"gamma": "a", "weibull_min": "c", "lognorm": "s"}


def fit_quantized_interarrivals(
    values: NDArray[np.float64],
    lengths: NDArray[np.int64],
    *,
    resolution: float | NDArray[np.float64],
) -> ArrivalFits:
    """Fit every family to segments of quantized inter-arrival times (see the module notes).

    The same result type as :func:`fitting.fit_interarrivals`, so callers can use either.
    Each segment is a small optimisation over its distinct tick counts; this is meant for
    the minority of logs whose clocks are coarse.

    Parameters
    ----------
    values : ndarray of float
        Inter-arrival times (seconds), segments back to back; zeros are ties.
    lengths : ndarray of int
        Values per segment (each >= 2).
    resolution : float or ndarray of float
        The clock tick (seconds), one or one per segment; values are rounded to it.

    Returns
    -------
    ArrivalFits
        ``n_floored`` counts the ties (gaps of 0 ticks); ``ks`` is the largest distance
        between the fitted and the observed distribution of tick counts.
    """
    values = np.asarray(values, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.ndim != 1 or values.ndim != 1 or int(lengths.sum()) != len(values):
        raise ValueError("`lengths` must be 1-d and sum to len(`values`)")
    if len(lengths) and lengths.min() < 2:
        raise ValueError("every segment needs at least 2 values; got a length below 2 in `lengths`")
    resolutions = np.broadcast_to(np.asarray(resolution, dtype=np.float64), lengths.shape)
    if not np.all(resolutions > 0) or not np.all(np.isfinite(resolutions)):
        raise ValueError("`resolution` must be positive and finite")
    if np.any(~np.isfinite(values)) or np.any(values < 0):
        raise ValueError("`values` must be finite and non-negative")

    n_segments = len(lengths)
    out = {
        family: {
            "shape": np.full(n_segments, np.nan),
            "scale": np.full(n_segments, np.nan),
            "loglik": np.full(n_segments, np.nan),
            "ks": np.full(n_segments, np.nan),
        }
        for family in FAMILIES
    }
    n_ties = np.zeros(n_segments, np.int64)
    degenerate = np.zeros(n_segments, bool)
    for index, start in enumerate(segment_starts(lengths)):
        d = float(resolutions[index])
        ticks_all = np.rint(values[start : start + lengths[index]] / d).astype(np.int64)
        ticks, counts = np.unique(ticks_all, return_counts=True)
        n_ties[index] = int(counts[ticks == 0].sum())
        if ticks_all.sum() == 0:  # every gap is a tie: no scale to estimate
            degenerate[index] = True
            continue
        observed_cdf = np.cumsum(counts) / counts.sum()
        for family in FAMILIES:
            shape, scale, loglik = _fit_one(family, ticks, counts, d)
            grid = np.arange(ticks.max() + 1)
            model_cdf = np.cumsum(tick_probabilities(family, shape, scale, grid, d))[ticks]
            row = out[family]
            row["shape"][index], row["scale"][index], row["loglik"][index] = shape, scale, loglik
            row["ks"][index] = float(np.max(np.abs(model_cdf - observed_cdf)))

    fits: dict[str, FamilyFits] = {}
    zeros = np.zeros(n_segments)
    for family in FAMILIES:
        row = out[family]
        params = {"loc": zeros.copy(), "scale": row["scale"]}
        if family in _SHAPE_NAME:
            params = {_SHAPE_NAME[family]: row["shape"], **params}
        aic = 2.0 * N_PARAMS[family] - 2.0 * row["loglik"]
        fits[family] = FamilyFits(family, params, row["loglik"], aic, row["ks"])
    return ArrivalFits(lengths.copy(), n_ties, degenerate, fits)
