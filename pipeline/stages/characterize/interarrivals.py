"""stats.json's `interarrivals`: IAT distributions with the four families, and which wins."""

from __future__ import annotations

import itertools
from typing import Any, Literal, TypedDict

import numpy as np
import pyarrow.compute as pc

from fitting.arrivals import FAMILIES, fit_interarrivals
from fitting.distributions import (
    empirical_ccdf,
    log_grid,
    survival,
    vuong_test,
)
from fitting.quantiles import evenly_spaced_values
from pipeline import sqlrun
from pipeline.stages.characterize.common import (
    MIN_FIT_VALUES,
    Context,
    Curve,
    ModelInfo,
    Unavailable,
    _position,
    _unavailable,
)
from pipeline.stages.fit import DEFAULT_TIE_FLOOR_S

Z_CRITICAL_5PCT = 1.959963984540054  # two-sided 5 % of the standard normal (Vuong)
LR_CRITICAL_5PCT_1DF = 3.841458820694124  # chi-square(1) 95 % quantile, Wilks' test at 5 %


class IatDistribution(TypedDict):
    """A sample of inter-arrival times: its CCDF, the four families' fits, the winners."""

    available: Literal[True]
    n: int
    n_used: int
    ccdf: Curve
    fits: dict[str, dict[str, Any]]  # family -> params, loglik, aic, ks, ccdf on ccdf's x
    best_by_aic: str
    best_by_ks: str
    vuong_top_two: dict[str, Any]  # first, second, statistic, pvalue


class VuongCounts(TypedDict):
    alpha: float
    n_windows: int
    significant: int
    winner: dict[str, int]


class FamilyWins(TypedDict):
    """Over the fit stage's trace windows: how often each family fits best."""

    available: Literal[True]
    n_windows: int
    by_aic: dict[str, int]
    by_ks: dict[str, int]
    lr_test: dict[str, Any]  # Wilks' test of the exponential against the better 2-parameter fit
    vuong_top_two: VuongCounts


class Interarrivals(TypedDict):
    """stats.json's `models[].interarrivals`."""

    aggregate: IatDistribution | Unavailable
    clients: dict[str, IatDistribution | Unavailable]  # the detailed clients
    family_wins: FamilyWins | Unavailable


def _interarrivals(
    info: ModelInfo,
    rate: dict[str, Any],
    samples: dict[tuple[str, int], tuple[int, np.ndarray]],
    winners: dict[int, dict[str, np.ndarray]],
    vuong_windows: list[tuple[str, str, float | None]] | None,
) -> Interarrivals:
    """IAT distributions with the four families overlaid, and which family wins how often."""
    wins = winners.get(info.model_key)
    if wins is None or wins["lr_expon"].size == 0:
        family_wins: FamilyWins | Unavailable = _unavailable(
            "no trace window had enough requests for the fit stage to fit it"
        )
    else:
        family_wins = {
            "available": True,
            "n_windows": int(wins["lr_expon"].size),
            "by_aic": {f: int(np.sum(wins["best_by_aic"] == f)) for f in FAMILIES},
            "by_ks": {f: int(np.sum(wins["best_by_ks"] == f)) for f in FAMILIES},
            "lr_test": {
                "test": "Wilks: Exponential nested in the better of Gamma and Weibull (1 df)",
                "alpha": 0.05,
                "n_windows": int(wins["lr_expon"].size),
                "exponential_rejected": int(np.sum(wins["lr_expon"] > LR_CRITICAL_5PCT_1DF)),
            },
            "vuong_top_two": _vuong_counts(vuong_windows or []),
        }
    return {
        "aggregate": _iat_distribution(samples.get(("model", info.model_key))),
        "clients": {
            info.client_ids[_position(info, key)]: _iat_distribution(samples.get(("client", key)))
            for key in rate["detailed_keys"]
        },
        "family_wins": family_wins,
    }


def _vuong_counts(windows: list[tuple[str, str, float | None]]) -> VuongCounts:
    """How often Vuong's test separates each window's two best families, and which wins."""
    significant = [(a, b, z) for a, b, z in windows if z is not None and abs(z) > Z_CRITICAL_5PCT]
    winners = {family: 0 for family in FAMILIES}
    for first, second, z in significant:
        winners[first if z > 0 else second] += 1
    return {
        "alpha": 0.05,
        "n_windows": len(windows),
        "significant": len(significant),
        "winner": winners,
    }


def _iat_distribution(sample: tuple[int, np.ndarray] | None) -> IatDistribution | Unavailable:
    """Empirical CCDF of a sample of inter-arrival times with the four families fitted."""
    if sample is None or sample[1].size < MIN_FIT_VALUES:
        have = 0 if sample is None else sample[1].size
        return _unavailable(f"{have} inter-arrival times; the fits need {MIN_FIT_VALUES}")
    n_total, values = sample
    fitted = fit_interarrivals(values, np.array([values.size]), tie_floor=DEFAULT_TIE_FLOOR_S)
    if bool(fitted.degenerate[0]):
        return _unavailable("every inter-arrival time is (nearly) the same")
    floored = np.maximum(values, DEFAULT_TIE_FLOOR_S)
    grid = log_grid(floored)
    fits = {}
    for family in FAMILIES:
        result = fitted.fits[family]
        params = {name: float(v[0]) for name, v in result.params.items()}
        fits[family] = {
            "params": params,
            "loglik": float(result.loglik[0]),
            "aic": float(result.aic[0]),
            "ks": float(result.ks[0]),
            "ccdf": survival(family, params, grid).tolist(),
        }
    by_aic = sorted(FAMILIES, key=lambda f: (fits[f]["aic"], f))
    first, second = by_aic[0], by_aic[1]
    vuong = vuong_test(
        _logpdf(first, fits[first]["params"], floored),
        _logpdf(second, fits[second]["params"], floored),
    )
    return {
        "available": True,
        "n": n_total,
        "n_used": int(values.size),
        "ccdf": {"x": grid.tolist(), "y": empirical_ccdf(floored, grid).tolist()},
        "fits": fits,
        "best_by_aic": first,
        "best_by_ks": min(FAMILIES, key=lambda f: (fits[f]["ks"], f)),
        "vuong_top_two": {
            "first": first,
            "second": second,
            "statistic": vuong.statistic,
            "pvalue": vuong.pvalue,
        },
    }


def _logpdf(family: str, params: dict[str, float], values: np.ndarray) -> np.ndarray:
    from scipy import stats

    return np.asarray(getattr(stats, family).logpdf(values, **params))


def load_iat_samples(context: Context) -> dict[tuple[str, int], tuple[int, np.ndarray]]:
    """(level, unit key) -> (intervals in total, the inter-arrival seconds the fits use).

    From the exact gap tables of the merged summaries: every gap when a unit has no more than
    `sample_cap`, else `sample_cap` evenly spaced order statistics (ascending either way).
    """
    table = sqlrun.query(context.con, "characterize/iat_samples").to_arrow_table()
    is_model = pc.equal(table.column("level"), "model").to_numpy(zero_copy_only=False)
    unit = table.column("unit_key").to_numpy()
    gaps_us = table.column("iat_us").to_numpy()
    counts = table.column("n").to_numpy()
    # rows ordered by level and unit: each unit's rows are one run (sliced, not masked: a mask
    # per unit cost a pass over every row per unit)
    starts = np.flatnonzero(
        np.concatenate(([True], (unit[1:] != unit[:-1]) | (is_model[1:] != is_model[:-1])))
    )[: unit.size]
    # (no gaps at all, e.g. a log of one request: no runs)
    runs = list(itertools.pairwise([*starts.tolist(), unit.size])) if unit.size else []
    result = {}
    for lev, wanted in (("model", True), ("client", False)):  # unit keys ascending in each
        for start, end in runs:
            if bool(is_model[start]) is wanted:
                values = evenly_spaced_values(
                    gaps_us[start:end], counts[start:end], context.options.sample_cap
                )
                # seconds as DuckDB's iat_us / 1e6: one correctly rounded division per value
                result[(lev, int(unit[start]))] = (int(counts[start:end].sum()), values / 1e6)
    return result


def load_fit_winners(context: Context) -> dict[int, dict[str, np.ndarray]]:
    table = sqlrun.query(context.con, "characterize/window_fit_winners").to_arrow_table()
    models = table.column("model_key").to_numpy()
    columns = {
        "best_by_aic": np.asarray(table.column("best_by_aic").to_pylist(), dtype=object),
        "best_by_ks": np.asarray(table.column("best_by_ks").to_pylist(), dtype=object),
        "lr_expon": table.column("lr_expon").to_numpy(),
    }
    return {
        int(key): {name: values[models == key] for name, values in columns.items()}
        for key in np.unique(models)
    }


def load_window_vuong(context: Context) -> dict[int, list[tuple[str, str, float | None]]]:
    """Per model: (best, second best, Vuong z) of every fitted window."""
    result: dict[int, list[tuple[str, str, float | None]]] = {}
    for model_key, _window, first, second, _n, z in sqlrun.query(
        context.con, "characterize/window_vuong"
    ).fetchall():
        result.setdefault(int(model_key), []).append((first, second, z))
    return result
