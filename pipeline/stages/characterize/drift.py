"""stats.json's `drift`: length summaries per dataset window and day, shifts between them."""

from __future__ import annotations

import itertools
from typing import Any, TypedDict

import numpy as np

from fitting.lengths import distribution_distances
from pipeline import sqlrun
from pipeline.stages.aggregate import US_PER_DAY
from pipeline.stages.characterize.common import (
    US_PER_S,
    Context,
    Summary,
    Unavailable,
    _dicts,
    _summary,
    _unavailable,
)

LARGE_SHIFT_KS = 0.1  # drift flag: a tenth of the requests would change side of some length


class DriftPeriod(TypedDict):
    """Length summaries of one dataset window (or UTC day)."""

    dataset_index: int
    start_s: int
    n: int
    input_tokens: Summary
    output_tokens: Summary


# "from" is a keyword: the functional form
Shift = TypedDict(
    "Shift",
    {
        "field": str,
        "from": int,
        "to": int,
        "ks": float,
        "wasserstein": float,
        "large_shift": bool,
    },
)


class Drift(TypedDict):
    """stats.json's `models[].drift`."""

    windows: list[DriftPeriod]
    consecutive: list[Shift]  # between consecutive dataset windows
    days: list[Shift] | Unavailable  # between consecutive UTC days
    large_shift_ks: float


def _drift(
    windows: dict[str, Any] | None, days: dict[str, Any] | None, dataset_window_s: int
) -> Drift | Unavailable:
    """Length summaries per dataset window; KS and Wasserstein between consecutive periods."""
    if windows is None:
        return _unavailable("the model has no successful requests")

    def summaries(entry: dict[str, Any], period_s: int) -> list[DriftPeriod]:
        rows: list[DriftPeriod] = []
        for row in entry["summaries"]:
            n = int(row["n"])
            rows.append(
                {
                    "dataset_index": int(row["period_index"]),
                    "start_s": int(row["period_index"]) * period_s,
                    "n": n,
                    "input_tokens": _summary(
                        n, int(row["input_tokens_sum"]), row["input_quantiles"]
                    ),
                    "output_tokens": _summary(
                        n, int(row["output_tokens_sum"]), row["output_quantiles"]
                    ),
                }
            )
        return rows

    def consecutive(entry: dict[str, Any]) -> list[Shift]:
        pairs: list[Shift] = []
        periods = sorted(int(r["period_index"]) for r in entry["summaries"])
        for field in ("input_tokens", "output_tokens"):
            for before, after in itertools.pairwise(periods):
                a, b = entry["counts"].get((field, before)), entry["counts"].get((field, after))
                if a is None or b is None:
                    continue
                distance = distribution_distances(a[0], b[0], weights_a=a[1], weights_b=b[1])
                pairs.append(
                    {
                        "field": field,
                        "from": before,
                        "to": after,
                        "ks": distance.ks,
                        "wasserstein": distance.wasserstein,
                        "large_shift": distance.ks > LARGE_SHIFT_KS,
                    }
                )
        return pairs

    day_pairs: list[Shift] | Unavailable = consecutive(days) if days is not None else []
    if days is None or len(days["summaries"]) < 2:
        day_pairs = _unavailable("the model's requests fall on a single UTC day")
    return {
        "windows": summaries(windows, dataset_window_s),
        "consecutive": consecutive(windows),
        "days": day_pairs,
        "large_shift_ks": LARGE_SHIFT_KS,
    }


def load_drift(context: Context, period_us: int) -> dict[int, dict[str, Any]]:
    """Per model: summaries per period and exact count tables per (field, period).

    The period is the dataset window or a UTC day from the origin: the merged token value
    tables are kept per both."""
    dataset_us = int(context.meta["dataset_window_s"]) * US_PER_S
    if period_us not in (dataset_us, US_PER_DAY):
        raise ValueError(f"token tables are kept per dataset window and day, not {period_us} us")
    params = {"by_day": period_us != dataset_us}
    result: dict[int, dict[str, Any]] = {}
    level = "day" if params["by_day"] else "dataset"
    for row in _dicts(sqlrun.query(context.con, "characterize/drift_summary", params)):
        model_key, period_index = int(row["model_key"]), int(row["period_index"])
        entry = result.setdefault(model_key, {"summaries": [], "counts": {}})
        entry["summaries"].append(context.with_quantiles(row, level, model_key, period_index))
    table = sqlrun.query(context.con, "characterize/drift_counts", params).to_arrow_table()
    models = table.column("model_key").to_numpy()
    fields = np.asarray(table.column("field").to_pylist(), dtype=object)
    periods = table.column("period_index").to_numpy()
    values = table.column("value").to_numpy().astype(np.float64)
    counts = table.column("n").to_numpy().astype(np.float64)
    # rows are sorted by (model, field, period): split at the group boundaries
    change = np.flatnonzero(
        (np.diff(models) != 0) | (fields[1:] != fields[:-1]) | (np.diff(periods) != 0)
    )
    starts = np.concatenate([[0], change + 1]) if models.size else np.zeros(0, np.int64)
    ends = np.concatenate([starts[1:], [models.size]]) if models.size else starts
    for start, end in zip(starts, ends, strict=True):
        entry = result.setdefault(int(models[start]), {"summaries": [], "counts": {}})
        entry["counts"][(fields[start], int(periods[start]))] = (
            values[start:end],
            counts[start:end],
        )
    return result
