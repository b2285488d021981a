"""Arrival patterns in ServeGen's form: a family name, (shape, scale) and the pattern's CV.

ServeGen's generator rescales the drawn inter-arrival times to each window's rate, so the
shape alone carries the burstiness. Fitted windows export their maximum-likelihood shape
(:func:`pattern_cv` gives its CV, the `cv` column); the scale is the one whose mean equals
the observed mean inter-arrival time. Matching a shape to a CV (:func:`shapes_for_cv`)
serves where only a CV is known, such as the dispersion of counts per clock tick: a
window's sample CV is no estimate of a heavy-tailed process's CV (it sits well below it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import special

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

CV_MIN = 0.01
"""CVs below this are raised to it: a perfectly regular window has no finite Gamma shape."""
CV_MAX = 1000.0
"""CVs above this are lowered to it: Weibull shapes there are below 0.03."""

_WEIBULL_LOG_K_RANGE = (np.log(0.01), np.log(1000.0))
_BISECTION_STEPS = 80

SERVEGEN_NAMES = {"gamma": "Gamma", "weibull_min": "Weibull"}


def clamp_cv(cv: ArrayLike) -> NDArray[np.float64]:
    """Clamp CVs into [CV_MIN, CV_MAX]."""
    return np.clip(np.asarray(cv, dtype=np.float64), CV_MIN, CV_MAX)


def weibull_cv(shape: ArrayLike) -> NDArray[np.float64]:
    """Coefficient of variation of a Weibull distribution with shape ``c``.

    ``cv^2 = Gamma(1 + 2/c) / Gamma(1 + 1/c)^2 - 1``, evaluated in log space.
    """
    c = np.asarray(shape, dtype=np.float64)
    return np.sqrt(np.expm1(special.gammaln(1.0 + 2.0 / c) - 2.0 * special.gammaln(1.0 + 1.0 / c)))


def weibull_shape_for_cv(cv: ArrayLike) -> NDArray[np.float64]:
    """Weibull shape whose CV equals ``cv`` (vectorised bisection on log shape)."""
    target = clamp_cv(cv)
    lo = np.full(target.shape, _WEIBULL_LOG_K_RANGE[0])
    hi = np.full(target.shape, _WEIBULL_LOG_K_RANGE[1])
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        too_bursty = weibull_cv(np.exp(mid)) > target  # CV falls as the shape grows
        lo = np.where(too_bursty, mid, lo)
        hi = np.where(too_bursty, hi, mid)
    return np.exp(0.5 * (lo + hi))


def gamma_shape_for_cv(cv: ArrayLike) -> NDArray[np.float64]:
    """Gamma shape whose CV equals ``cv``: ``a = 1 / cv^2``."""
    return 1.0 / clamp_cv(cv) ** 2


def shape_for_cv(family: str, cv: ArrayLike) -> NDArray[np.float64]:
    """Shape of ``family`` ('gamma' or 'weibull_min') whose CV equals ``cv``."""
    if family == "gamma":
        return gamma_shape_for_cv(cv)
    if family == "weibull_min":
        return weibull_shape_for_cv(cv)
    raise ValueError(f"`family` must be 'gamma' or 'weibull_min', got {family!r}")


def scale_for_mean(family: str, shape: ArrayLike, mean: ArrayLike) -> NDArray[np.float64]:
    """Scale of ``family`` with the given shape whose mean equals ``mean``."""
    a = np.asarray(shape, dtype=np.float64)
    m = np.asarray(mean, dtype=np.float64)
    if family == "gamma":
        return m / a
    if family == "weibull_min":
        return m / special.gamma(1.0 + 1.0 / a)
    raise ValueError(f"`family` must be 'gamma' or 'weibull_min', got {family!r}")


def shapes_for_cv(families: ArrayLike, cv: ArrayLike) -> NDArray[np.float64]:
    """Per element, the shape of that element's family ('gamma' or 'weibull_min') for its CV."""
    names = np.asarray(families)
    cv_arr = np.broadcast_to(np.asarray(cv, dtype=np.float64), names.shape)
    unknown = set(np.unique(names)) - {"gamma", "weibull_min"}
    if unknown:
        raise ValueError(
            f"`families` may hold only 'gamma' and 'weibull_min', got {sorted(unknown)}"
        )
    shape = np.full(names.shape, np.nan)
    for family in ("gamma", "weibull_min"):
        pick = names == family
        if pick.any():
            shape[pick] = shape_for_cv(family, cv_arr[pick])
    return shape


def scales_for_mean(families: ArrayLike, shape: ArrayLike, mean: ArrayLike) -> NDArray[np.float64]:
    """Per element, the scale of that element's family and shape whose mean is `mean`."""
    names = np.asarray(families)
    shape_arr = np.broadcast_to(np.asarray(shape, dtype=np.float64), names.shape)
    mean_arr = np.broadcast_to(np.asarray(mean, dtype=np.float64), names.shape)
    scale = np.full(names.shape, np.nan)
    for family in ("gamma", "weibull_min"):
        pick = names == family
        if pick.any():
            scale[pick] = scale_for_mean(family, shape_arr[pick], mean_arr[pick])
    return scale


def pattern_cv(families: ArrayLike, shape: ArrayLike) -> NDArray[np.float64]:
    """Per element, the CV of that element's pattern: Gamma ``1/sqrt(a)``, Weibull from ``c``.

    Weibull shapes below about 0.003 have a CV beyond the largest float; it is capped there,
    so the value stays a finite, positive number.
    """
    names = np.asarray(families)
    a = np.broadcast_to(np.asarray(shape, dtype=np.float64), names.shape)
    with np.errstate(over="ignore"):
        cv = np.where(names == "weibull_min", weibull_cv(a), 1.0 / np.sqrt(a))
    return np.minimum(cv, np.finfo(np.float64).max)


def match_moments(
    families: ArrayLike, mean: ArrayLike, cv: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Shape and scale per element for a mix of 'gamma' and 'weibull_min' families."""
    shape = shapes_for_cv(families, cv)
    return shape, scales_for_mean(families, shape, mean)
