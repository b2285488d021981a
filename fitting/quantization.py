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
from scipy import special

from fitting.arrivals import FAMILIES, N_PARAMS, ArrivalFits, FamilyFits

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
    family: str, mean: NDArray[np.float64], variance: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Moment estimates of (shape, scale) per segment, to start the likelihood search."""
    cv2 = np.maximum(variance / mean**2, 1e-3)
    if family == "gamma":
        return 1.0 / cv2, mean * cv2
    if family == "weibull_min":
        shape = np.maximum(cv2**-0.543, 0.05)  # Justus et al. (1978): k ~ cv^-1.086
        return shape, mean / special.gamma(1.0 + 1.0 / shape)
    if family == "lognorm":
        s = np.sqrt(np.log1p(cv2))
        return s, mean / np.exp(s**2 / 2.0)
    return np.ones_like(mean), mean


_SHAPE_BOUNDS = (1e-3, 1e4)
_LOG_STEP = 1e-3  # finite-difference step in log-parameters
_NEWTON_ITERATIONS = 100
_HALVINGS = 30
_CONVERGED_STEP = 1e-7  # in log-parameters: a relative change of 1e-7


@dataclass(frozen=True, slots=True)
class _TickCounts:
    """Distinct tick counts of many segments, back to back: the sufficient statistic."""

    ticks: NDArray[np.float64]
    counts: NDArray[np.float64]
    segment: NDArray[np.int64]
    resolution: NDArray[np.float64]  # per pair
    starts: NDArray[np.int64]
    n_segments: int

    def loglik(self, family: str, shape: NDArray, scale: NDArray) -> NDArray[np.float64]:
        p = tick_probabilities(
            family, shape[self.segment], scale[self.segment], self.ticks, self.resolution
        )
        return np.add.reduceat(self.counts * np.log(p), self.starts)

    def subset(self, segments: NDArray[np.int64]) -> _TickCounts:
        """The pairs of the given segments (ascending), renumbered 0..len(segments)-1."""
        lengths = np.diff(np.r_[self.starts, len(self.segment)])[segments]
        pair_index = np.repeat(self.starts[segments], lengths) + (
            np.arange(lengths.sum()) - np.repeat(np.r_[0, np.cumsum(lengths)[:-1]], lengths)
        )
        return _TickCounts(
            self.ticks[pair_index],
            self.counts[pair_index],
            np.repeat(np.arange(len(segments)), lengths),
            self.resolution[pair_index],
            np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64),
            len(segments),
        )


def _maximise(
    family: str, data: _TickCounts, shape: NDArray, scale: NDArray
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Damped Newton in log-parameters, all segments at once, derivatives by differences.

    Each step is accepted only where it raises the likelihood (else halved), so every
    segment's likelihood increases monotonically; segments stop once their step is tiny.
    """
    one_parameter = family == "expon"
    theta = np.column_stack([np.log(shape), np.log(scale)])
    lo, hi = np.log(_SHAPE_BOUNDS[0]), np.log(_SHAPE_BOUNDS[1])

    def f(part: _TickCounts, point: NDArray[np.float64]) -> NDArray[np.float64]:
        value = part.loglik(family, np.exp(point[:, 0]), np.exp(point[:, 1]))
        out_of_bounds = (point[:, 0] < lo) | (point[:, 0] > hi)
        return np.where(out_of_bounds | ~np.isfinite(value), -np.inf, value)

    with np.errstate(invalid="ignore", over="ignore"):  # -inf at the shape bounds: no step
        return _newton(f, data, theta, one_parameter)


def _newton(
    f: Callable[[_TickCounts, NDArray[np.float64]], NDArray[np.float64]],
    data: _TickCounts,
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
    """Fit every family to segments of quantized inter-arrival times (see the module notes).

    The same result type as :func:`fitting.fit_interarrivals`, so callers can use either.
    Each segment is reduced to its distinct tick counts, and all segments are maximised
    together (damped Newton on numpy arrays), so the cost follows the number of distinct
    (segment, tick count) pairs rather than the number of gaps.

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
        ``n_floored`` counts the ties (gaps of 0 ticks); ``ks`` is the largest distance
        between the fitted and the observed distribution of tick counts (NaN where a
        segment's values have different ticks). Segments whose gaps are all ties are
        ``degenerate`` (NaN parameters).
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

    ticks_all = np.rint(values / tick_of_value).astype(np.int64)
    n_ties = np.bincount(segment_of_value, weights=ticks_all == 0, minlength=n_segments)
    total_ticks = np.bincount(segment_of_value, weights=ticks_all, minlength=n_segments)
    degenerate = total_ticks == 0
    keep = ~degenerate[segment_of_value]
    fitted = np.flatnonzero(~degenerate)

    out = {
        family: {name: np.full(n_segments, np.nan) for name in ("shape", "scale", "loglik", "ks")}
        for family in FAMILIES
    }
    if len(fitted):
        # distinct (segment, tick, ticks) triples with their counts; segments renumbered
        renumber = np.cumsum(~degenerate) - 1
        triples, counts = np.unique(
            np.column_stack(
                [renumber[segment_of_value[keep]], tick_of_value[keep], ticks_all[keep]]
            ),
            axis=0,
            return_counts=True,
        )
        segment, d, ticks = triples[:, 0].astype(np.int64), triples[:, 1], triples[:, 2]
        starts = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
        data = _TickCounts(ticks, counts.astype(np.float64), segment, d, starts, len(fitted))
        n = np.add.reduceat(data.counts, starts)
        gaps = ticks * d
        mean_tick = np.add.reduceat(d * data.counts, starts) / n
        mean = np.maximum(np.add.reduceat(gaps * data.counts, starts) / n, mean_tick / 2.0)
        # The kernel adds the variance of a difference of two uniform phases, d^2 / 6.
        raw_variance = np.add.reduceat(data.counts * (gaps - mean[segment]) ** 2, starts) / n
        kernel_variance = np.add.reduceat(data.counts * d**2, starts) / n / 6.0
        variance = np.maximum(raw_variance - kernel_variance, (0.05 * mean) ** 2)
        one_tick = np.minimum.reduceat(d, starts) == np.maximum.reduceat(d, starts)
        observed_cdf = (
            np.cumsum(data.counts)
            - np.repeat(np.r_[0, np.cumsum(n)[:-1]], np.diff(np.r_[starts, len(segment)]))
        ) / n[segment]
        for family in FAMILIES:
            shape0, scale0 = _start(family, mean, variance)
            shape0 = np.clip(shape0, 2 * _SHAPE_BOUNDS[0], _SHAPE_BOUNDS[1] / 2)
            shape, scale, loglik = _maximise(family, data, shape0, scale0)
            finite = np.isfinite(loglik)  # no improving start: no fit rather than -inf
            row = out[family]
            row["shape"][fitted] = np.where(finite, shape, np.nan)
            row["scale"][fitted] = np.where(finite, scale, np.nan)
            row["loglik"][fitted] = np.where(finite, loglik, np.nan)
            ks = np.full(len(fitted), np.nan)
            if one_tick.any():
                rows = np.flatnonzero(one_tick)
                ks[rows] = _ks(
                    family,
                    data.subset(rows),
                    shape[rows],
                    scale[rows],
                    observed_cdf[np.isin(segment, rows)],
                )
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


def _ks(
    family: str,
    data: _TickCounts,
    shape: NDArray[np.float64],
    scale: NDArray[np.float64],
    observed_cdf: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Largest gap between fitted and observed CDFs of tick counts, at the observed counts.

    The fitted CDF at k sums P(0..k); ticks up to each segment's largest count are expanded
    (bounded by the largest gap in ticks, so cheap for quantized logs).
    """
    ends = np.r_[data.starts[1:], len(data.segment)]
    largest = data.ticks[ends - 1].astype(np.int64)
    grid_lengths = largest + 1
    grid_segment = np.repeat(np.arange(data.n_segments), grid_lengths)
    grid_starts = np.r_[0, np.cumsum(grid_lengths)[:-1]]
    grid_ticks = np.arange(grid_lengths.sum()) - np.repeat(grid_starts, grid_lengths)
    p = tick_probabilities(
        family,
        shape[grid_segment],
        scale[grid_segment],
        grid_ticks,
        data.resolution[data.starts][grid_segment],
    )
    cumulative = np.cumsum(p)
    cumulative -= np.repeat(np.r_[0.0, cumulative[grid_starts[1:] - 1]], grid_lengths)
    model_cdf = cumulative[grid_starts[data.segment] + data.ticks.astype(np.int64)]
    return np.maximum.reduceat(np.abs(model_cdf - observed_cdf), data.starts)
