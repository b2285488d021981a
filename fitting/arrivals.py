"""Maximum-likelihood fits of inter-arrival times, vectorised over many segments.

A *segment* is one group of inter-arrival times (one client window, or one client's pooled
sample). All segments are stored back to back in one flat array, so every statistic below is
a handful of numpy passes over the whole data (``np.add.reduceat``) instead of one
``scipy.stats.<family>.fit`` call per segment. The estimators are the closed forms or the
score equations that ``scipy.stats`` solves with ``floc=0``; the tests check that both agree.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import NDArray

FAMILIES: tuple[str, ...] = ("gamma", "weibull_min", "expon", "lognorm")
"""Families fitted to every segment, by their ``scipy.stats`` names (location fixed at 0)."""

PARAM_NAMES: Mapping[str, tuple[str, ...]] = {
    "gamma": ("a", "loc", "scale"),
    "weibull_min": ("c", "loc", "scale"),
    "expon": ("loc", "scale"),
    "lognorm": ("s", "loc", "scale"),
}
"""Each family's parameters, by scipy's names and in scipy's order."""

N_PARAMS: Mapping[str, int] = {"gamma": 2, "weibull_min": 2, "expon": 1, "lognorm": 2}
"""Free parameters (location is fixed at 0), for the AIC."""

_NEWTON_STEPS = 60
_THREADED_MIN_VALUES = 100_000  # ~40 ms of gammainc: below it, one thread is faster
_DEGENERATE_LOG_SD = 1e-9  # all values (numerically) equal: no finite-shape MLE exists


@dataclass(frozen=True, slots=True)
class FamilyFits:
    """One family fitted to every segment; arrays are indexed by segment.

    ``params`` uses scipy's names (``a``/``c``/``s`` shapes, ``loc``, ``scale``), so
    ``scipy.stats.<family>(**{k: v[i] for k, v in params.items()})`` rebuilds segment i.
    Degenerate segments (all values equal) hold ``nan``.
    """

    family: str
    params: Mapping[str, NDArray[np.float64]]
    loglik: NDArray[np.float64]
    aic: NDArray[np.float64]
    ks: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ArrivalFits:
    """Fits of all families to many segments of inter-arrival times.

    Attributes
    ----------
    n : number of intervals in each segment.
    n_floored : intervals below the floor or clock: raised to ``tie_floor`` here, censored
        (ties of 0 ticks) by :func:`fitting.quantization.fit_quantized_interarrivals`.
    degenerate : segments whose values are all equal; they carry no shape information.
    fits : one :class:`FamilyFits` per name in :data:`FAMILIES`.
    """

    n: NDArray[np.int64]
    n_floored: NDArray[np.int64]
    degenerate: NDArray[np.bool_]
    fits: Mapping[str, FamilyFits]

    def better_of(self, first: str, second: str) -> NDArray[np.str_]:
        """Name of the family with the higher log-likelihood, per segment (ties: ``first``)."""
        return better_by_loglik(self.fits[first].loglik, self.fits[second].loglik, first, second)


def better_by_loglik(
    loglik_first: NDArray[np.float64],
    loglik_second: NDArray[np.float64],
    first: str,
    second: str,
) -> NDArray[np.str_]:
    """Per element, the name whose log-likelihood is higher; ties and NaN favour ``first``."""
    ll_first = np.nan_to_num(np.asarray(loglik_first, dtype=np.float64), nan=-np.inf)
    ll_second = np.nan_to_num(np.asarray(loglik_second, dtype=np.float64), nan=-np.inf)
    return np.where(ll_second > ll_first, second, first)


def segment_starts(lengths: NDArray[np.int64]) -> NDArray[np.int64]:
    """Offsets of each segment in the flat array, given the segment lengths."""
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return starts


def sort_within_segments(
    values: NDArray[np.float64], lengths: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Sort each segment ascending, keeping segments in place."""
    segment_ids = np.repeat(np.arange(len(lengths)), lengths)
    # Two stable sorts (the second a radix sort on integers) beat np.lexsort several-fold.
    order = np.argsort(values, kind="stable")
    order = order[np.argsort(segment_ids[order], kind="stable")]
    return values[order]


def fit_interarrivals(
    values: NDArray[np.float64],
    lengths: NDArray[np.int64],
    *,
    tie_floor: float | NDArray[np.float64],
) -> ArrivalFits:
    """Fit Gamma, Weibull, Exponential and Lognormal (location 0) to every segment.

    Parameters
    ----------
    values : ndarray of float
        Inter-arrival times in seconds, segments back to back, each segment sorted ascending
        (see :func:`sort_within_segments`). Zeros are allowed (timestamps that tie).
    lengths : ndarray of int
        Number of values in each segment; every length must be >= 2.
    tie_floor : float or ndarray of float
        Positive value (one, or one per segment) that replaces every smaller value before
        fitting, so that ties do not put ``log(0)`` into the likelihood. Use half the
        timestamp resolution.

    Returns
    -------
    ArrivalFits
        Parameters (scipy names), log-likelihood, AIC and Kolmogorov-Smirnov distance of each
        family for each segment.
    """
    # --- validate at the door
    values = np.asarray(values, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.ndim != 1 or values.ndim != 1 or int(lengths.sum()) != len(values):
        raise ValueError("`lengths` must be 1-d and sum to len(`values`)")
    if len(lengths) and lengths.min() < 2:
        raise ValueError("every segment needs at least 2 values; got a length below 2 in `lengths`")
    floors = np.broadcast_to(np.asarray(tie_floor, dtype=np.float64), lengths.shape)
    if not np.all(floors > 0):
        raise ValueError("`tie_floor` must be positive")
    if np.any(~np.isfinite(values)) or np.any(values < 0):
        raise ValueError("`values` must be finite and non-negative")

    n_segments = len(lengths)
    if n_segments == 0:
        empty = np.zeros(0)
        fits = {name: FamilyFits(name, {}, empty, empty, empty) for name in FAMILIES}
        return ArrivalFits(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool), fits)

    starts = segment_starts(lengths)
    n = lengths.astype(np.float64)
    floor_per_value = np.repeat(floors, lengths)
    below = values < floor_per_value
    x = np.where(below, floor_per_value, values)
    n_floored = np.add.reduceat(below.astype(np.int64), starts)

    log_x = np.log(x)
    mean_x = np.add.reduceat(x, starts) / n
    mean_log = np.add.reduceat(log_x, starts) / n
    centred_log = log_x - np.repeat(mean_log, lengths)
    var_log = np.add.reduceat(centred_log**2, starts) / n
    degenerate = np.sqrt(var_log) < _DEGENERATE_LOG_SD
    ok = ~degenerate
    sum_log = mean_log * n

    # empirical CDF steps for the Kolmogorov-Smirnov distance
    rank = np.arange(len(x)) - np.repeat(starts, lengths) + 1.0
    n_rep = np.repeat(n, lengths)
    ecdf_hi = rank / n_rep
    ecdf_lo = (rank - 1.0) / n_rep

    def ks(cdf: NDArray[np.float64]) -> NDArray[np.float64]:
        gap = np.maximum(ecdf_hi - cdf, cdf - ecdf_lo)
        return np.where(ok, np.maximum.reduceat(gap, starts), np.nan)

    def aic(name: str, loglik: NDArray[np.float64]) -> NDArray[np.float64]:
        return 2.0 * N_PARAMS[name] - 2.0 * loglik

    fits: dict[str, FamilyFits] = {}

    # Exponential: scale = mean.
    scale = mean_x
    loglik = -n * np.log(scale) - n
    cdf = -np.expm1(-x / np.repeat(scale, lengths))
    fits["expon"] = FamilyFits(
        "expon",
        {"loc": np.zeros(n_segments), "scale": scale},
        loglik,
        aic("expon", loglik),
        ks(cdf),
    )

    # Lognormal: log-moments.
    sigma = np.where(ok, np.sqrt(var_log), np.nan)
    loglik = -sum_log - 0.5 * n * np.log(2.0 * np.pi * sigma**2) - 0.5 * n
    cdf = special.ndtr(centred_log / np.repeat(sigma, lengths))
    fits["lognorm"] = FamilyFits(
        "lognorm",
        {"s": sigma, "loc": np.zeros(n_segments), "scale": np.exp(mean_log)},
        loglik,
        aic("lognorm", loglik),
        ks(cdf),
    )

    # Gamma: solve log(a) - digamma(a) = log(mean) - mean(log x).
    shape = _gamma_shape_mle(np.log(mean_x) - mean_log, ok)
    scale = mean_x / shape
    loglik = (
        (shape - 1.0) * sum_log
        - n * mean_x / scale
        - n * shape * np.log(scale)
        - n * special.gammaln(shape)
    )
    cdf = gammainc_threaded(np.repeat(shape, lengths), x / np.repeat(scale, lengths))
    fits["gamma"] = FamilyFits(
        "gamma",
        {"a": shape, "loc": np.zeros(n_segments), "scale": scale},
        loglik,
        aic("gamma", loglik),
        ks(cdf),
    )

    # Weibull: solve the profile score equation for the shape k (in log k, by Newton).
    shape, log_scale = _weibull_mle(centred_log, mean_log, var_log, lengths, starts, ok)
    scale = np.exp(log_scale)
    z = np.exp(np.repeat(shape, lengths) * (log_x - np.repeat(log_scale, lengths)))
    loglik = (
        n * np.log(shape)
        - n * shape * log_scale
        + (shape - 1.0) * sum_log
        - np.add.reduceat(z, starts)
    )
    cdf = -np.expm1(-z)
    fits["weibull_min"] = FamilyFits(
        "weibull_min",
        {"c": shape, "loc": np.zeros(n_segments), "scale": scale},
        loglik,
        aic("weibull_min", loglik),
        ks(cdf),
    )

    return ArrivalFits(lengths.copy(), n_floored.astype(np.int64), degenerate, fits)


def gammainc_threaded(a: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``special.gammainc`` split over the machine's cores.

    It is by far the slowest step (about 0.4 us per value) and releases the GIL; the result
    is elementwise, so it is identical however the work is split. Small inputs are computed
    in this thread: starting workers and waiting for them to be scheduled costs more than the
    values (characterize's samples of a few thousand gaps spent most of their time there).
    """
    if len(x) < _THREADED_MIN_VALUES:
        return special.gammainc(a, x)
    out = np.empty_like(x)
    workers = max(1, min(os.cpu_count() or 1, 8))
    bounds = np.linspace(0, len(x), workers + 1).astype(np.int64)
    chunks = [slice(lo, hi) for lo, hi in itertools.pairwise(bounds)]
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda c: special.gammainc(a[c], x[c], out=out[c]), chunks))
    return out


def _gamma_shape_mle(s: NDArray[np.float64], ok: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Solve ``log(a) - digamma(a) = s`` for a (Minka's start, then Newton in log a)."""
    s = np.where(ok, np.maximum(s, 1e-300), 1.0)
    a = (3.0 - s + np.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)
    for _ in range(_NEWTON_STEPS):
        f = np.log(a) - special.digamma(a) - s
        df_dlog_a = 1.0 - a * special.polygamma(1, a)
        step = np.clip(f / df_dlog_a, -1.0, 1.0)
        a = a * np.exp(-step)
        if np.all(np.abs(step) < 1e-12):
            break
    return np.where(ok, a, np.nan)


def _weibull_mle(
    centred_log: NDArray[np.float64],
    mean_log: NDArray[np.float64],
    var_log: NDArray[np.float64],
    lengths: NDArray[np.int64],
    starts: NDArray[np.int64],
    ok: NDArray[np.bool_],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weibull shape and log-scale MLE per segment.

    With u = log x - mean(log x), the shape k solves
    ``h(k) = sum(u e^{ku}) / sum(e^{ku}) - 1/k = 0``, which is increasing in k.
    """
    # Start from the log-moment estimate: sd(log X) = pi / (k sqrt 6) for a Weibull.
    k = np.where(ok, np.pi / (np.sqrt(6.0 * np.maximum(var_log, 1e-300))), 1.0)
    u_max = np.maximum.reduceat(centred_log, starts)
    u_shift = centred_log - np.repeat(u_max, lengths)
    for _ in range(_NEWTON_STEPS):
        w = np.exp(np.repeat(k, lengths) * u_shift)
        a = np.add.reduceat(w, starts)
        b = np.add.reduceat(w * centred_log, starts)
        c = np.add.reduceat(w * centred_log**2, starts)
        h = b / a - 1.0 / k
        dh_dk = c / a - (b / a) ** 2 + 1.0 / k**2
        step = np.where(ok, np.clip(h / (k * dh_dk), -1.0, 1.0), 0.0)
        k = k * np.exp(-step)
        if np.all(np.abs(step) < 1e-12):
            break
    w = np.exp(np.repeat(k, lengths) * u_shift)
    mean_w = np.add.reduceat(w, starts) / lengths
    log_scale = mean_log + u_max + np.log(mean_w) / k
    return np.where(ok, k, np.nan), np.where(ok, log_scale, np.nan)
