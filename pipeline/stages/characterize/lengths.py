"""stats.json's `lengths`: input and output token distributions with their fitted models."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

import numpy as np

from fitting.distributions import (
    empirical_ccdf,
    fit_exponential,
    fit_lognormal,
    log_grid,
    survival,
)
from fitting.lengths import fit_pareto_lognormal
from pipeline import sqlrun
from pipeline.stages.characterize.common import (
    MIN_FIT_VALUES,
    Context,
    Curve,
    Unavailable,
    _unavailable,
    evenly_spaced_order_statistics,
)

# The mixture EM costs ~0.13 s per 1,000 values; 20k order statistics keep the tail's shape.
MIXTURE_CAP = 20_000


class LengthDistribution(TypedDict):
    """One length field's empirical CCDF (over positive values) and its fitted models."""

    available: Literal[True]
    n: int
    n_used: int
    n_positive: int
    ccdf: Curve
    fits: dict[str, dict[str, Any] | Unavailable]  # each with loglik, aic, ks and ccdf


class Lengths(TypedDict):
    """stats.json's `models[].lengths`."""

    input_tokens: LengthDistribution | Unavailable  # Pareto-tail mixture and log-normal
    output_tokens: LengthDistribution | Unavailable  # exponential and log-normal


def _lengths(sample: tuple[int, np.ndarray, np.ndarray] | None) -> Lengths:
    """Input lengths: Pareto-tail plus log-normal mixture and log-normal; output: Exp and LN."""
    if sample is None:
        reason = _unavailable("the model has no successful requests")
        return {"input_tokens": reason, "output_tokens": reason}
    n_total, inputs, outputs = sample

    def describe(values: np.ndarray, fitters: dict[str, Any]) -> LengthDistribution | Unavailable:
        positive = values[values > 0]
        if positive.size < MIN_FIT_VALUES or np.ptp(positive) == 0:
            return _unavailable(
                f"{positive.size} positive values (all equal or fewer than {MIN_FIT_VALUES})"
            )
        grid = log_grid(positive)
        fits: dict[str, dict[str, Any] | Unavailable] = {}
        for name, fitter in fitters.items():
            try:
                fits[name] = fitter(positive, grid)
            except ValueError as exc:  # e.g. no tail to fit: recorded, not raised
                fits[name] = _unavailable(str(exc))
        return {
            "available": True,
            "n": n_total,
            "n_used": int(values.size),
            "n_positive": int(positive.size),
            "ccdf": {"x": grid.tolist(), "y": empirical_ccdf(positive, grid).tolist()},
            "fits": fits,
        }

    return {
        "input_tokens": describe(
            inputs, {"pareto_lognormal": _pareto_lognormal_fit, "lognorm": _lognormal_fit}
        ),
        "output_tokens": describe(outputs, {"expon": _exponential_fit, "lognorm": _lognormal_fit}),
    }


def _pareto_lognormal_fit(values: np.ndarray, grid: np.ndarray) -> dict[str, Any]:
    used = evenly_spaced_order_statistics(values, MIXTURE_CAP)
    fit = fit_pareto_lognormal(used)
    body = survival("lognorm", {"s": fit.sigma, "scale": float(np.exp(fit.mu))}, grid)
    tail = np.where(grid >= fit.xmin, (fit.xmin / np.maximum(grid, fit.xmin)) ** fit.alpha, 1.0)
    return {
        "available": True,
        "n_used": int(used.size),
        "tail_weight": fit.tail_weight,
        "alpha": fit.alpha,
        "xmin": fit.xmin,
        "mu": fit.mu,
        "sigma": fit.sigma,
        "loglik": fit.loglik,
        "aic": fit.aic,
        "ks": fit.ks,
        "ccdf": ((1 - fit.tail_weight) * body + fit.tail_weight * tail).tolist(),
    }


def _lognormal_fit(values: np.ndarray, grid: np.ndarray) -> dict[str, Any]:
    fit = fit_lognormal(values)
    return {
        "available": True,
        "mu": float(np.log(fit.params["scale"])),
        "sigma": fit.params["s"],
        "loglik": fit.loglik,
        "aic": fit.aic,
        "ks": fit.ks,
        "ccdf": survival("lognorm", fit.params, grid).tolist(),
    }


def _exponential_fit(values: np.ndarray, grid: np.ndarray) -> dict[str, Any]:
    fit = fit_exponential(values)
    return {
        "available": True,
        "scale": fit.params["scale"],
        "loglik": fit.loglik,
        "aic": fit.aic,
        "ks": fit.ks,
        "ccdf": survival("expon", fit.params, grid).tolist(),
    }


def load_length_samples(context: Context) -> dict[int, tuple[int, np.ndarray, np.ndarray]]:
    """model_key -> (successful requests, sampled input tokens, sampled output tokens)."""
    table = sqlrun.query(context.con, "characterize/length_samples").to_arrow_table()
    models = table.column("model_key").to_numpy()
    n = table.column("n").to_numpy()
    inputs = table.column("input_tokens").to_numpy().astype(np.float64)
    outputs = table.column("output_tokens").to_numpy().astype(np.float64)
    result = {}
    for key in np.unique(models):
        mine = models == key
        # sorted: the query returns rows in no particular order, and float sums must not
        # depend on it
        result[int(key)] = (int(n[mine][0]), np.sort(inputs[mine]), np.sort(outputs[mine]))
    return result
