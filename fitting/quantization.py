"""Arrival times on a clock: detecting the timestamp resolution, and fitting through it.

Every log stores arrivals on some clock: a microsecond, a millisecond, or a coarse tick
(Mooncake's conversation trace ticks every 3 s, and most of its gaps are 0 or a whole number
of ticks). A bursty client's gaps fall below even a microsecond clock half of the time.
Fitting a continuous density to such values measures the clock, not the traffic: ties need an
arbitrary floor, and with many ties the floor decides the family and the shape. Here each
observed gap of ``k`` ticks is treated as what it is, the
difference of two arrival times each floored to the tick grid: with the grid's phase
uniform, a true gap ``g`` shows as ``k`` ticks with probability ``max(0, 1 - |g/d - k|)``
(a triangular kernel, ``d`` the resolution), so

    P(k) = integral f(g) max(0, 1 - |g/d - k|) dg
         = [I((k+1) d) - 2 I(k d) + I((k-1) d)] / d,   I(t) = integral_0^t F(g) dg,

and the likelihood of a segment is ``sum_k n_k log P(k)``: a tie (k = 0) says only "shorter
than one tick" and contributes that censored probability. From 50 ticks on the kernel no
longer matters and a gap contributes ``d f(k d)``, its density. ``I`` has a closed form for each
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

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from fitting.arrivals import (
    FAMILIES,
    N_PARAMS,
    ArrivalFits,
    FamilyFits,
    gammainc_threaded,
    segment_starts,
)

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
# Shapes and scales are arrays broadcast against t, so that many segments go in one pass.


def _gamma_parts(t: NDArray, shape: NDArray, scale: NDArray) -> tuple[NDArray, NDArray]:
    x = t / scale
    return special.gammainc(shape, x), shape * scale * special.gammainc(shape + 1.0, x)


def _weibull_parts(t: NDArray, shape: NDArray, scale: NDArray) -> tuple[NDArray, NDArray]:
    z = (t / scale) ** shape
    cdf = -np.expm1(-z)
    moment = scale * special.gamma(1.0 + 1.0 / shape) * special.gammainc(1.0 + 1.0 / shape, z)
    return cdf, moment


def _lognorm_parts(t: NDArray, shape: NDArray, scale: NDArray) -> tuple[NDArray, NDArray]:
    log_t = np.log(t)
    mu = np.log(scale)
    cdf = special.ndtr((log_t - mu) / shape)
    moment = np.exp(mu + shape**2 / 2.0) * special.ndtr((log_t - mu - shape**2) / shape)
    return cdf, moment


def _expon_parts(t: NDArray, _shape: NDArray, scale: NDArray) -> tuple[NDArray, NDArray]:
    return _gamma_parts(t, np.ones_like(scale), scale)


_PARTS: dict[str, Callable[[NDArray, NDArray, NDArray], tuple[NDArray, NDArray]]] = {
    "gamma": _gamma_parts,
    "weibull_min": _weibull_parts,
    "lognorm": _lognorm_parts,
    "expon": _expon_parts,
}


def _log_density(family: str, x: NDArray, shape: NDArray, scale: NDArray) -> NDArray:
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
    family: str,
    shape: float | NDArray[np.float64],
    scale: float | NDArray[np.float64],
    ticks: NDArray[np.int64],
    resolution: float | NDArray[np.float64],
) -> NDArray[np.float64]:
    """P(k) of observing a gap of ``k`` ticks, for a renewal process of this family.

    Parameters
    ----------
    family : str
        A name in :data:`fitting.FAMILIES` (``expon`` ignores ``shape``).
    shape, scale : float or ndarray of float
        scipy's shape (``a``, ``c`` or ``s``) and scale, one or one per tick.
    ticks : ndarray of int
        Gap lengths in ticks (>= 0).
    resolution : float or ndarray of float
        The tick, in the unit of ``scale``, one or one per tick.

    Returns
    -------
    ndarray of float
        Probabilities, each at least 1e-300 (so their log is finite).
    """
    k = np.asarray(ticks, dtype=np.float64)
    shape_k, scale_k, d = np.broadcast_arrays(
        np.asarray(shape, np.float64), np.asarray(scale, np.float64), np.asarray(resolution)
    )
    shape_k, scale_k, d = (np.broadcast_to(a, k.shape) for a in (shape_k, scale_k, d))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
        return _tick_probabilities(family, shape_k, scale_k, k, d.astype(np.float64))


def _tick_probabilities(
    family: str, shape: NDArray, scale: NDArray, k: NDArray, d: NDArray
) -> NDArray[np.float64]:
    parts = _PARTS[family]

    def integrated_cdf(t: NDArray[np.float64]) -> NDArray[np.float64]:
        positive = t > 0
        cdf, moment = parts(np.where(positive, t, 1.0), shape, scale)
        return np.where(positive, t * cdf - moment, 0.0)

    probability = (
        integrated_cdf((k + 1) * d) - 2.0 * integrated_cdf(k * d) + integrated_cdf((k - 1) * d)
    ) / d
    far = k >= _DENSITY_FROM_TICKS
    if far.any():
        probability[far] = d[far] * np.exp(
            _log_density(family, k[far] * d[far], shape[far], scale[far])
        )
    return np.maximum(np.nan_to_num(probability, nan=0.0), _MIN_PROBABILITY)


def _start(
    family: str,
    mean: NDArray[np.float64],
    variance: NDArray[np.float64],
    quantiles: tuple[NDArray[np.float64], ...] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Starting (shape, scale) per segment for the likelihood search.

    Gamma and Exponential start from the moments. Weibull and Lognormal start from two
    quantiles above the ties (levels p1 < p2 at values x1 < x2, see :func:`_quantile_pairs`):
    moments are useless for their heavy tails (a Weibull of shape 0.15 has a CV in the
    hundreds, a window's sample CV a few), quantiles pin them down.
    """
    cv2 = np.maximum(variance / mean**2, 1e-3)
    if family == "gamma":
        return 1.0 / cv2, mean * cv2
    if quantiles is not None and family in ("weibull_min", "lognorm"):
        p1, x1, p2, x2 = quantiles
        spread = np.log(x2 / x1)
        if family == "weibull_min":  # log(-log(1 - p)) = c (log x - log scale)
            shape = (np.log(-np.log1p(-p2)) - np.log(-np.log1p(-p1))) / spread
            return shape, x1 / (-np.log1p(-p1)) ** (1.0 / shape)
        z1, z2 = special.ndtri(p1), special.ndtri(p2)  # log x = log scale + s z
        s = spread / (z2 - z1)
        return s, x1 * np.exp(-s * z1)
    if family == "weibull_min":
        shape = np.maximum(cv2**-0.543, 0.05)  # Justus et al. (1978): k ~ cv^-1.086
        return shape, mean / special.gamma(1.0 + 1.0 / shape)
    if family == "lognorm":
        s = np.sqrt(np.log1p(cv2))
        return s, mean / np.exp(s**2 / 2.0)
    return np.ones_like(mean), mean


def _quantile_pairs(
    values: NDArray[np.float64], lengths: NDArray[np.int64], n_ties: NDArray[np.float64]
) -> tuple[NDArray[np.float64], ...]:
    """(p1, x1, p2, x2) per segment: the values at 25 % and 85 % of the way through the
    non-tied gaps (segments sorted), at their plotting positions, falling back to a spread
    of a factor e where both are equal."""
    starts = segment_starts(lengths)
    ties = np.minimum(n_ties.astype(np.int64), lengths - 1)
    free = lengths - ties
    i1 = ties + (0.25 * free).astype(np.int64)
    i2 = np.maximum(ties + (0.85 * free).astype(np.int64), i1)
    i2 = np.minimum(i2, lengths - 1)
    x1, x2 = values[starts + i1], values[starts + i2]
    x1 = np.where(x1 > 0, x1, np.where(x2 > 0, x2 / np.e, 1.0))
    x2 = np.where(x2 > x1, x2, x1 * np.e)
    p1 = (i1 + 0.5) / lengths
    p2 = np.maximum((i2 + 0.5) / lengths, p1 + 0.5 / lengths)
    return p1, x1, np.minimum(p2, 1.0 - 0.25 / lengths), x2


_SHAPE_BOUNDS = (1e-3, 1e4)
_LOG_STEP = 1e-3  # finite-difference step in log-parameters
_NEWTON_ITERATIONS = 100
_HALVINGS = 30
_CONVERGED_STEP = 1e-7  # in log-parameters: a relative change of 1e-7


@dataclass(frozen=True, slots=True)
class _ClockSample:
    """Many segments of gaps on a clock, reduced to what their likelihood needs.

    Gaps of fewer than :data:`_DENSITY_FROM_TICKS` ticks (ties among them) are kept as
    distinct (segment, tick, ticks) triples with their counts: their probability is the
    kernel-censored one. Longer gaps, where the kernel no longer matters, enter through
    their density, which for Gamma, Exponential and Lognormal needs only per-segment sums;
    Weibull's needs the log-values themselves (``far_shift``: each minus its segment's
    largest, ``far_max``; empty for the others). Its sum over a segment,
    ``sum exp(c (log x - log scale))``, factors into ``exp(c (far_max - log scale))`` times a
    sum that depends on the shape alone, which is cached: the finite differences in the scale
    reuse it, so a Newton step costs three passes over the gaps instead of six.
    """

    near_ticks: NDArray[np.float64]
    near_counts: NDArray[np.float64]
    near_segment: NDArray[np.int64]
    near_resolution: NDArray[np.float64]
    far_n: NDArray[np.float64]
    far_sum: NDArray[np.float64]
    far_sum_log: NDArray[np.float64]
    far_centre: NDArray[np.float64]  # mean log value (0 without far values)
    far_sq_log: NDArray[np.float64]  # sum of squares of log values about far_centre
    far_max: NDArray[np.float64]  # largest log value per segment (0 without far values)
    far_shift: NDArray[np.float64]
    far_segment: NDArray[np.int64]
    n_segments: int
    shape_sums: dict[bytes, NDArray[np.float64]] = field(default_factory=dict, compare=False)

    def loglik(self, family: str, shape: NDArray, scale: NDArray) -> NDArray[np.float64]:
        """Log-likelihood per segment, in density units (a near gap's probability / tick)."""
        p = tick_probabilities(
            family,
            shape[self.near_segment],
            scale[self.near_segment],
            self.near_ticks,
            self.near_resolution,
        )
        near = self.near_counts * (np.log(p) - np.log(self.near_resolution))
        total = np.bincount(self.near_segment, weights=near, minlength=self.n_segments)
        return total + self._far_loglik(family, shape, scale)

    def _far_loglik(self, family: str, shape: NDArray, scale: NDArray) -> NDArray[np.float64]:
        m, log_scale = self.far_n, np.log(scale)
        if family == "gamma":
            return (
                (shape - 1.0) * self.far_sum_log
                - self.far_sum / scale
                - m * (shape * log_scale + special.gammaln(shape))
            )
        if family == "expon":
            return -self.far_sum / scale - m * log_scale
        if family == "lognorm":
            squares = self.far_sq_log + m * (self.far_centre - log_scale) ** 2
            return (
                -self.far_sum_log
                - m * np.log(shape * np.sqrt(2.0 * np.pi))
                - squares / (2.0 * shape**2)
            )
        key = shape.tobytes()
        sums = self.shape_sums.get(key)
        if sums is None:
            seg = self.far_segment
            weights = np.exp(shape[seg] * self.far_shift)  # each <= 1: no overflow
            sums = np.bincount(seg, weights=weights, minlength=self.n_segments)
            if len(self.shape_sums) >= 8:
                self.shape_sums.clear()
            self.shape_sums[key] = sums
        with np.errstate(divide="ignore"):
            total_z = np.where(
                m > 0, np.exp(shape * (self.far_max - log_scale) + np.log(sums)), 0.0
            )
        return m * (np.log(shape) - shape * log_scale) + (shape - 1.0) * self.far_sum_log - total_z

    def subset(self, segments: NDArray[np.int64]) -> _ClockSample:
        """The given segments only, renumbered 0..len(segments)-1 in the given order."""
        segments = np.asarray(segments, dtype=np.int64)
        if len(segments) and np.all(segments[1:] > segments[:-1]):
            # Ascending (as the search asks): each segment's rows are one run of the sorted
            # near and far arrays, so gather the runs instead of masking every row.
            near, near_segment = _runs_of(self.near_segment, self.n_segments, segments)
            far, far_segment = _runs_of(self.far_segment, self.n_segments, segments)
        else:
            renumber = np.full(self.n_segments, -1, np.int64)
            renumber[segments] = np.arange(len(segments))
            near_segment = renumber[self.near_segment]
            near = np.flatnonzero(near_segment >= 0)
            near_segment = near_segment[near]
            far_segment = renumber[self.far_segment]
            far = np.flatnonzero(far_segment >= 0)
            far_segment = far_segment[far]
        return _ClockSample(
            self.near_ticks[near],
            self.near_counts[near],
            near_segment,
            self.near_resolution[near],
            *(a[segments] for a in (self.far_n, self.far_sum, self.far_sum_log)),
            self.far_centre[segments],
            self.far_sq_log[segments],
            self.far_max[segments],
            self.far_shift[far],
            far_segment,
            len(segments),
        )


def _runs_of(
    segment_of_row: NDArray[np.int64], n_segments: int, segments: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Rows of the given ascending `segments` in a segment-sorted array, and their new
    segment numbers (0..len(segments)-1): the same rows, in the same order, as a mask."""
    bounds = np.searchsorted(segment_of_row, np.arange(n_segments + 1))
    starts, lengths = bounds[segments], bounds[segments + 1] - bounds[segments]
    renumbered = np.repeat(np.arange(len(segments)), lengths)
    offsets = np.cumsum(lengths) - lengths
    rows = np.arange(int(lengths.sum())) + np.repeat(starts - offsets, lengths)
    return rows, renumbered


def _maximise(
    family: str, data: _ClockSample, shape: NDArray, scale: NDArray
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Damped Newton in log-parameters, all segments at once, derivatives by differences.

    Each step is accepted only where it raises the likelihood (else halved), so every
    segment's likelihood increases monotonically; segments stop once their step is tiny.
    """
    one_parameter = family == "expon"
    theta = np.column_stack([np.log(shape), np.log(scale)])
    lo, hi = np.log(_SHAPE_BOUNDS[0]), np.log(_SHAPE_BOUNDS[1])

    def f(part: _ClockSample, point: NDArray[np.float64]) -> NDArray[np.float64]:
        value = part.loglik(family, np.exp(point[:, 0]), np.exp(point[:, 1]))
        out_of_bounds = (point[:, 0] < lo) | (point[:, 0] > hi)
        return np.where(out_of_bounds | ~np.isfinite(value), -np.inf, value)

    with np.errstate(invalid="ignore", over="ignore"):  # -inf at the shape bounds: no step
        return _newton(f, data, theta, one_parameter)


def _newton(
    f: Callable[[_ClockSample, NDArray[np.float64]], NDArray[np.float64]],
    data: _ClockSample,
    theta: NDArray[np.float64],
    one_parameter: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    h = _LOG_STEP
    e = [np.array([h, 0.0]), np.array([0.0, h])]
    current = f(data, theta)
    active = np.flatnonzero(np.isfinite(current))
    for _ in range(_NEWTON_ITERATIONS):
        if not len(active):
            break
        # Only the segments still moving are evaluated: most converge in a few steps.
        part = data.subset(active) if len(active) < data.n_segments else data
        at, now = theta[active], current[active]
        up = [f(part, at + v) for v in e]
        down = [f(part, at - v) for v in e]
        grad = np.column_stack([(u - d) / (2 * h) for u, d in zip(up, down, strict=True)])
        h11 = (up[0] - 2 * now + down[0]) / h**2
        h22 = (up[1] - 2 * now + down[1]) / h**2
        h12 = (f(part, at + e[0] + e[1]) - up[0] - up[1] + now) / h**2
        if one_parameter:
            grad[:, 0], h11, h12 = 0.0, -np.ones_like(h11), np.zeros_like(h12)
        det = h11 * h22 - h12**2
        concave = (h11 < 0) & (det > 0) & np.isfinite(det)
        # Newton where the surface is concave, else a scaled gradient step.
        newton = (
            np.column_stack(
                [(-h22 * grad[:, 0] + h12 * grad[:, 1]), (h12 * grad[:, 0] - h11 * grad[:, 1])]
            )
            / np.where(concave, det, 1.0)[:, None]
        )
        scale_step = 1.0 / np.maximum(np.abs(np.column_stack([h11, h22])).max(axis=1), 1.0)
        step = np.where(concave[:, None], newton, grad * scale_step[:, None])
        step = np.clip(np.nan_to_num(step), -1.0, 1.0)
        accepted = np.zeros(len(active), bool)
        applied = np.zeros_like(step)
        pending = np.arange(len(active))
        for _ in range(_HALVINGS):
            trial = f(
                part.subset(pending) if len(pending) < len(active) else part, (at + step)[pending]
            )
            better = trial >= now[pending]
            moved = pending[better]
            at[moved] += step[moved]
            applied[moved] = step[moved]
            now[moved] = trial[better]
            accepted[moved] = True
            pending = pending[~better]
            if not len(pending):
                break
            step[pending] *= 0.5
        theta[active], current[active] = at, now
        # Converged: no step raises the likelihood any more, or the step became negligible.
        active = active[accepted & (np.abs(applied).max(axis=1) > _CONVERGED_STEP)]
    return np.exp(theta[:, 0]), np.exp(theta[:, 1]), current


_SHAPE_NAME = {"gamma": "a", "weibull_min": "c", "lognorm": "s"}


def fit_quantized_interarrivals(
    values: NDArray[np.float64],
    lengths: NDArray[np.int64],
    *,
    resolution: float | NDArray[np.float64],
) -> ArrivalFits:
    """Fit every family to segments of inter-arrival times observed on a clock.

    One method for every clock (see the module notes): a gap below the resolution (a tie)
    contributes the probability that the true gap showed as 0 ticks, gaps of a few ticks
    their kernel-censored probability, and longer gaps their density. The same result type
    as :func:`fitting.fit_interarrivals`, so callers can use either. All segments are
    maximised together (damped Newton on numpy arrays); short gaps are reduced to distinct
    (segment, tick count) pairs and long ones to per-segment sums (Weibull: one pass over
    them per evaluation), so the cost stays a few passes over the data.

    Parameters
    ----------
    values : ndarray of float
        Inter-arrival times (seconds), segments back to back; zeros are ties.
    lengths : ndarray of int
        Values per segment (each >= 2).
    resolution : float or ndarray of float
        The clock tick (seconds): one, one per segment, or one per value (for pooled values
        that were divided by their window's mean gap, whose tick was divided alike). Values
        are rounded to it.

    Returns
    -------
    ArrivalFits
        ``n_floored`` counts the ties (gaps of 0 ticks). ``loglik`` is in density units (a
        short gap's probability divided by its tick), so without short gaps it equals the
        continuous log-likelihood. ``ks`` is the largest distance between the fitted and the
        observed distribution functions of the gaps as the clock shows them (NaN where a
        segment's short gaps have different ticks, as pooled windows do). Segments whose
        gaps are all ties, or all one value of many ticks, are ``degenerate`` (NaN
        parameters): no finite shape fits them.
    """
    values = np.asarray(values, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.ndim != 1 or values.ndim != 1 or int(lengths.sum()) != len(values):
        raise ValueError("`lengths` must be 1-d and sum to len(`values`)")
    if len(lengths) and lengths.min() < 2:
        raise ValueError("every segment needs at least 2 values; got a length below 2 in `lengths`")
    n_segments = len(lengths)
    segment_of_value = np.repeat(np.arange(n_segments), lengths)
    given = np.asarray(resolution, dtype=np.float64)
    if given.ndim == 1 and len(given) == len(values) and len(values) != n_segments:
        tick_of_value = given
    else:
        tick_of_value = np.broadcast_to(given, lengths.shape)[segment_of_value]
    if not np.all(tick_of_value > 0) or not np.all(np.isfinite(tick_of_value)):
        raise ValueError("`resolution` must be positive and finite")
    if np.any(~np.isfinite(values)) or np.any(values < 0):
        raise ValueError("`values` must be finite and non-negative")
    starts = segment_starts(lengths)
    unsorted = np.flatnonzero(np.diff(values) < 0) + 1
    if len(unsorted) and not np.isin(unsorted, starts).all():  # the KS needs sorted segments
        order = np.lexsort((values, segment_of_value))
        values, tick_of_value = values[order], tick_of_value[order]

    ticks_all = np.rint(values / tick_of_value)
    n_ties = np.bincount(segment_of_value, weights=ticks_all == 0, minlength=n_segments)
    ends = starts + lengths - 1
    n_far = np.bincount(
        segment_of_value, weights=ticks_all >= _DENSITY_FROM_TICKS, minlength=n_segments
    )
    # All ties, or all one long gap: no finite shape maximises the likelihood.
    degenerate = (ticks_all[ends] == 0) | ((n_far == lengths) & (values[starts] == values[ends]))
    fitted = np.flatnonzero(~degenerate)

    out = {
        family: {name: np.full(n_segments, np.nan) for name in ("shape", "scale", "loglik", "ks")}
        for family in FAMILIES
    }
    if len(fitted):
        renumber = np.cumsum(~degenerate) - 1
        keep = ~degenerate[segment_of_value]
        kept_values, kept_tick = values[keep], tick_of_value[keep]
        kept_segment = renumber[segment_of_value[keep]]
        sample, near_of_value, far_of_value = _clock_sample(
            kept_values, kept_tick, ticks_all[keep], kept_segment, len(fitted)
        )
        mean, variance = _moments(kept_values, kept_tick, kept_segment, len(fitted))
        quantiles = _quantile_pairs(kept_values, lengths[fitted], n_ties[fitted])
        grid = _KsGrid.of(sample, kept_values, lengths[fitted], near_of_value, far_of_value)
        for family in FAMILIES:
            shape0, scale0 = _start(family, mean, variance, quantiles)
            shape0 = np.clip(shape0, 2 * _SHAPE_BOUNDS[0], _SHAPE_BOUNDS[1] / 2)
            data = sample if family == "weibull_min" else _without_values(sample)
            shape, scale, loglik = _maximise(family, data, shape0, scale0)
            finite = np.isfinite(loglik)  # no improving start: no fit rather than -inf
            row = out[family]
            row["shape"][fitted] = np.where(finite, shape, np.nan)
            row["scale"][fitted] = np.where(finite, scale, np.nan)
            row["loglik"][fitted] = np.where(finite, loglik, np.nan)
            ks = _ks(family, sample, shape, scale, grid)
            row["ks"][fitted] = np.where(finite, ks, np.nan)

    fits: dict[str, FamilyFits] = {}
    zeros = np.zeros(n_segments)
    for family in FAMILIES:
        row = out[family]
        params = {"loc": zeros.copy(), "scale": row["scale"]}
        if family in _SHAPE_NAME:
            params = {_SHAPE_NAME[family]: row["shape"], **params}
        aic = 2.0 * N_PARAMS[family] - 2.0 * row["loglik"]
        fits[family] = FamilyFits(family, params, row["loglik"], aic, row["ks"])
    return ArrivalFits(lengths.copy(), n_ties.astype(np.int64), degenerate, fits)


def _clock_sample(
    values: NDArray[np.float64],
    tick: NDArray[np.float64],
    ticks: NDArray[np.float64],
    segment: NDArray[np.int64],
    n_segments: int,
) -> tuple[_ClockSample, NDArray[np.int64], NDArray[np.bool_]]:
    """The likelihood's data, the near triple of each near value, and which values are far."""
    far = ticks >= _DENSITY_FROM_TICKS
    near = ~far
    # Distinct (segment, tick, ticks) triples by one integer key (ticks < 50 by construction).
    tick_levels, tick_code = np.unique(tick[near], return_inverse=True)
    key = (segment[near] * len(tick_levels) + tick_code) * _DENSITY_FROM_TICKS + ticks[near].astype(
        np.int64
    )
    distinct, near_of_value, counts = np.unique(key, return_inverse=True, return_counts=True)
    near_ticks = (distinct % _DENSITY_FROM_TICKS).astype(np.float64)
    near_tick = tick_levels[(distinct // _DENSITY_FROM_TICKS) % max(len(tick_levels), 1)]
    near_segment = distinct // _DENSITY_FROM_TICKS // max(len(tick_levels), 1)

    far_segment = segment[far]
    far_values = values[far]
    far_log = np.log(far_values)
    far_n = np.bincount(far_segment, minlength=n_segments).astype(np.float64)
    far_sum_log = np.bincount(far_segment, weights=far_log, minlength=n_segments)
    far_max = np.zeros(n_segments)
    # Segments are sorted, so each one's far values end with its largest.
    last = np.flatnonzero(np.r_[far_segment[1:] != far_segment[:-1], True]) if len(far_log) else []
    far_max[far_segment[last]] = far_log[last]
    centre = np.where(far_n > 0, far_sum_log / np.maximum(far_n, 1.0), 0.0)
    sample = _ClockSample(
        near_ticks,
        counts.astype(np.float64),
        near_segment.astype(np.int64),
        near_tick,
        far_n,
        np.bincount(far_segment, weights=far_values, minlength=n_segments),
        far_sum_log,
        centre,
        np.bincount(
            far_segment, weights=(far_log - centre[far_segment]) ** 2, minlength=n_segments
        ),
        far_max,
        far_log - far_max[far_segment],
        far_segment,
        n_segments,
    )
    return sample, near_of_value, far


def _without_values(sample: _ClockSample) -> _ClockSample:
    """The sample without the far log-values (only Weibull's likelihood reads them)."""
    return replace(sample, far_shift=np.zeros(0), far_segment=np.zeros(0, np.int64), shape_sums={})


def _moments(
    values: NDArray[np.float64],
    tick: NDArray[np.float64],
    segment: NDArray[np.int64],
    n_segments: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Mean and variance per segment, corrected for the clock, to start the search."""
    n = np.bincount(segment, minlength=n_segments).astype(np.float64)
    mean_tick = np.bincount(segment, weights=tick, minlength=n_segments) / n
    mean = np.maximum(np.bincount(segment, weights=values, minlength=n_segments) / n, mean_tick / 2)
    raw_variance = (
        np.bincount(segment, weights=(values - mean[segment]) ** 2, minlength=n_segments) / n
    )
    # The kernel adds the variance of a difference of two uniform phases, d^2 / 6.
    kernel_variance = np.bincount(segment, weights=tick**2, minlength=n_segments) / n / 6.0
    return mean, np.maximum(raw_variance - kernel_variance, (0.05 * mean) ** 2)


def _cdf(family: str, x: NDArray, shape: NDArray, scale: NDArray) -> NDArray[np.float64]:
    """The family's distribution function (closed forms, as :func:`_log_density`)."""
    if family == "gamma":
        return gammainc_threaded(shape, x / scale)
    if family == "weibull_min":
        return -np.expm1(-((x / scale) ** shape))
    if family == "lognorm":
        return special.ndtr(np.log(x / scale) / shape)
    return -np.expm1(-x / scale)


@dataclass(frozen=True, slots=True)
class _KsGrid:
    """What the Kolmogorov-Smirnov distance of every family needs from the gaps: their
    values (segments sorted), which are far, each near value's (segment, tick, ticks) triple,
    the empirical CDF just above and below each value, and the segments whose short gaps
    have different ticks."""

    values: NDArray[np.float64]
    far: NDArray[np.bool_]
    far_segment: NDArray[np.int64]
    near_of_value: NDArray[np.int64]
    ecdf_above: NDArray[np.float64]
    ecdf_below: NDArray[np.float64]
    starts: NDArray[np.int64]
    mixed_ticks: NDArray[np.bool_]

    @classmethod
    def of(
        cls,
        sample: _ClockSample,
        values: NDArray[np.float64],
        lengths: NDArray[np.int64],
        near_of_value: NDArray[np.int64],
        far: NDArray[np.bool_],
    ) -> _KsGrid:
        starts = np.r_[0, np.cumsum(lengths)[:-1]]
        segment_of_value = np.repeat(np.arange(len(lengths)), lengths)
        rank = np.arange(len(values)) - starts[segment_of_value] + 1.0
        n = lengths[segment_of_value]
        # Short gaps on different ticks (pooled windows) follow no single distribution function.
        low = np.full(len(lengths), np.inf)
        high = np.full(len(lengths), -np.inf)
        np.minimum.at(low, sample.near_segment, sample.near_resolution)
        np.maximum.at(high, sample.near_segment, sample.near_resolution)
        return cls(
            values,
            far,
            segment_of_value[far],
            near_of_value,
            rank / n,
            (rank - 1.0) / n,
            starts,
            high > low,
        )


def _ks(
    family: str,
    sample: _ClockSample,
    shape: NDArray[np.float64],
    scale: NDArray[np.float64],
    grid: _KsGrid,
) -> NDArray[np.float64]:
    """Kolmogorov-Smirnov distance on the clock's scale, per segment.

    A gap of k short ticks is compared through the fitted probability of at most k (and
    fewer than k) ticks, which telescopes to ``[I((k+1) d) - I(k d)] / d``; a long gap through
    the family's distribution function.
    """
    parts = _PARTS[family]
    seg, k, d = sample.near_segment, sample.near_ticks, sample.near_resolution

    def integrated_cdf(t: NDArray[np.float64]) -> NDArray[np.float64]:
        positive = t > 0
        cdf, moment = parts(np.where(positive, t, 1.0), shape[seg], scale[seg])
        return np.where(positive, t * cdf - moment, 0.0)

    with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
        at_k = integrated_cdf(k * d)
        upper_near = (integrated_cdf((k + 1) * d) - at_k) / d
        lower_near = (at_k - integrated_cdf((k - 1) * d)) / d
        far, near_of_value = grid.far, grid.near_of_value
        upper = np.empty(len(grid.values))
        lower = np.empty(len(grid.values))
        upper[~far], lower[~far] = upper_near[near_of_value], lower_near[near_of_value]
        far_segment = grid.far_segment
        upper[far] = lower[far] = _cdf(
            family, grid.values[far], shape[far_segment], scale[far_segment]
        )
        gap = np.maximum(grid.ecdf_above - upper, lower - grid.ecdf_below)
        ks = np.maximum.reduceat(np.nan_to_num(gap, nan=1.0), grid.starts)
    return np.where(grid.mixed_ticks, np.nan, ks)
