"""Pure statistics for servechar: arrays in, frozen results out, no I/O.

`fitting.arrivals` and `fitting.patterns` fit arrival processes for the profiles;
`fitting.workload` (concentration, Fano factors, bimodality, correlation, latency
regression), `fitting.lengths` (Pareto plus log-normal mixture, drift distances) and
`fitting.periodicity` (STL strengths, peaks and troughs) hold the characterization statistics;
`fitting.generation` (workloads from profiles and the naive baseline), `fitting.scorecard`
(fidelity scores) and `fitting.capacity` (queue and quota models) serve `servechar validate`.
"""

from fitting.arrivals import (
    FAMILIES,
    PARAM_NAMES,
    ArrivalFits,
    FamilyFits,
    better_by_loglik,
    fit_interarrivals,
    segment_starts,
    sort_within_segments,
)
from fitting.patterns import (
    CV_MAX,
    CV_MIN,
    SERVEGEN_NAMES,
    clamp_cv,
    gamma_shape_for_cv,
    match_moments,
    pattern_cv,
    scale_for_mean,
    scales_for_mean,
    shape_for_cv,
    shapes_for_cv,
    weibull_cv,
    weibull_shape_for_cv,
)

__all__ = [
    "CV_MAX",
    "CV_MIN",
    "FAMILIES",
    "PARAM_NAMES",
    "SERVEGEN_NAMES",
    "ArrivalFits",
    "FamilyFits",
    "better_by_loglik",
    "clamp_cv",
    "fit_interarrivals",
    "gamma_shape_for_cv",
    "match_moments",
    "pattern_cv",
    "scale_for_mean",
    "scales_for_mean",
    "segment_starts",
    "shape_for_cv",
    "shapes_for_cv",
    "sort_within_segments",
    "weibull_cv",
    "weibull_shape_for_cv",
]
