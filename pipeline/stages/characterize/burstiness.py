"""stats.json's `burstiness`: CVs of inter-arrival times across client windows, Fano factors."""

from __future__ import annotations

from typing import Any, TypedDict

from fitting.workload import (
    fano_from_sums,
)
from pipeline import sqlrun
from pipeline.errors import SummaryError
from pipeline.stages.characterize.common import (
    US_PER_S,
    Context,
    Curve,
    ModelInfo,
    Unavailable,
    _position,
    _unavailable,
)

FANO_SCALES_S = (1, 10, 60, 600, 3600)
CDF_POINTS = 200  # points of a CDF curve; enough for a figure at any log size


class FanoCurve(TypedDict):
    """Fano factor of request counts (y) per bin width in seconds (x)."""

    x: list[int]
    y: list[float | None]
    n_bins: list[int]
    mean_count: list[float | None]


class Fano(TypedDict):
    scales_s: list[int]
    aggregate: FanoCurve
    clients: dict[str, FanoCurve]  # the detailed clients


class Burstiness(TypedDict):
    """stats.json's `models[].burstiness`."""

    cv_cdf: Curve | Unavailable  # CDF of client-window CVs, weighted by requests
    cv_cdf_unweighted: Curve | Unavailable  # each client window once
    share_cv_above_1: float | None
    cv_median_weighted: float | None
    fano: Fano


def _burstiness(
    info: ModelInfo,
    model_row: dict[str, Any],
    rate: dict[str, Any],
    fano: dict[tuple[int, int, int], tuple[int, int]],
    cv_cdfs: dict[tuple[int, str], dict[str, Any]],
) -> Burstiness:
    """CV of inter-arrival times across client windows, and Fano factors by time scale."""
    span_us = int(model_row["last_offset_us"]) - int(model_row["first_offset_us"])

    def fano_curve(client_key: int) -> FanoCurve:
        results = [
            fano_from_sums(
                scale,
                span_us // (scale * US_PER_S),
                *fano.get((info.model_key, client_key, scale), (0, 0)),
            )
            for scale in FANO_SCALES_S
        ]
        return {
            "x": list(FANO_SCALES_S),
            "y": [r.fano_factor for r in results],
            "n_bins": [r.n_windows for r in results],
            "mean_count": [r.mean_count for r in results],
        }

    weighted = cv_cdfs.get((info.model_key, "requests"))
    if weighted is None:
        unavailable = _unavailable("no client window has 2 or more inter-arrival intervals")
        cv_cdf: Curve | Unavailable = unavailable
        cv_cdf_unweighted: Curve | Unavailable = unavailable
        share_above_1, weighted_median = None, None
    else:
        cv_cdf = {"x": weighted["x"], "y": weighted["y"]}
        unweighted = cv_cdfs[(info.model_key, "windows")]
        cv_cdf_unweighted = {"x": unweighted["x"], "y": unweighted["y"]}
        share_above_1 = weighted["share_above_1"]
        # the first point at or above half the weight: a thinning level, so always kept
        weighted_median = next(
            x for x, y in zip(weighted["x"], weighted["y"], strict=True) if y >= 0.5
        )
    return {
        "cv_cdf": cv_cdf,
        "cv_cdf_unweighted": cv_cdf_unweighted,
        "share_cv_above_1": share_above_1,
        "cv_median_weighted": weighted_median,
        "fano": {
            "scales_s": list(FANO_SCALES_S),
            "aggregate": fano_curve(-1),
            "clients": {
                info.client_ids[_position(info, key)]: fano_curve(key)
                for key in rate["detailed_keys"]
            },
        },
    }


def load_fano_sums(context: Context) -> dict[tuple[int, int, int], tuple[int, int]]:
    """(model_key, client_key or -1, scale_s) -> (sum of counts, sum of squared counts)."""
    relation = sqlrun.query(context.con, "characterize/fano_sums")
    sums = {
        (int(model), int(client), int(scale_s)): (int(s1), int(s2))
        for model, client, scale_s, _n_bins, s1, s2 in relation.fetchall()
    }
    if sums and {key[2] for key in sums} != set(FANO_SCALES_S):
        raise SummaryError(
            f"the merged fano_counts summary has the scales {sorted({k[2] for k in sums})} s, "
            f"not {list(FANO_SCALES_S)} s",
            hint="It was summarised by another version of servechar: run aggregate again.",
        )
    return sums


def load_cv_cdfs(context: Context) -> dict[tuple[int, str], dict[str, Any]]:
    """(model_key, weighting) -> the thinned CDF of window CVs and the share above CV 1."""
    relation = sqlrun.query(context.con, "characterize/cv_cdf", {"points": CDF_POINTS})
    result: dict[tuple[int, str], dict[str, Any]] = {}
    for model_key, weighting, cv, cumulative, total, above in relation.fetchall():
        entry = result.setdefault(
            (int(model_key), weighting),
            {"x": [], "y": [], "share_above_1": int(above) / int(total)},
        )
        entry["x"].append(float(cv))
        entry["y"].append(int(cumulative) / int(total))
    return result
