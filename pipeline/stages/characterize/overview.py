"""stats.json's `overview` and `categories`: the log as a whole and its per-category roll-up."""

from __future__ import annotations

from typing import Any, TypedDict

from pipeline.stages.aggregate import US_PER_DAY
from pipeline.stages.characterize.common import US_PER_S, ModelInfo, Summary, _summary_of


class Category(TypedDict):
    """stats.json's `categories[<category>]`: language, multimodal or reason models together."""

    models: list[str]
    n_models: int
    n_clients: int
    n_requests: int
    n_success: int
    request_share: float
    input_tokens: Summary
    output_tokens: Summary


class Coverage(TypedDict):
    """Which part of the UTC day the log covers."""

    first_offset_s: float
    last_offset_s: float
    start_hour_utc: float
    end_hour_utc: float
    n_days: int
    hours_active: list[int]
    covers_full_day: bool


class ModelShare(TypedDict):
    category: str
    model: str
    n_requests: int
    request_share: float
    n_clients: int


class Overview(TypedDict):
    """stats.json's `overview`: the row account and the log as a whole."""

    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rejects_by_reason: dict[str, int]
    n_requests: int
    n_success: int
    n_models: int
    n_clients: int
    origin: str
    first_arrival: str
    last_arrival: str
    span_s: float
    window_s: int
    dataset_window_s: int
    coverage: Coverage
    models: list[ModelShare]  # by requests


def _categories(rows: list[dict[str, Any]], models: list[ModelInfo]) -> dict[str, Category]:
    """The per-category roll-up (language, multimodal, reason), keyed by category."""
    n_requests = sum(int(row["n_requests"]) for row in rows)
    result: dict[str, Category] = {}
    for row in rows:
        category = row["category"]
        result[category] = {
            "models": sorted(info.model for info in models if info.category == category),
            "n_models": int(row["n_models"]),
            "n_clients": int(row["n_clients"]),
            "n_requests": int(row["n_requests"]),
            "n_success": int(row["n_success"]),
            "request_share": int(row["n_requests"]) / n_requests,
            "input_tokens": _summary_of(row, "input"),
            "output_tokens": _summary_of(row, "output"),
        }
    return result


def _overview(
    meta: dict[str, Any],
    summary: dict[str, Any],
    models: list[ModelInfo],
    model_rows: dict[int, dict[str, Any]],
    n_clients: int,
) -> Overview:
    n_requests = sum(int(r["n_requests"]) for r in model_rows.values())
    first_offset_us = min(int(r["first_offset_us"]) for r in model_rows.values())
    last_offset_us = max(int(r["last_offset_us"]) for r in model_rows.values())
    table: list[ModelShare] = [
        {
            "category": info.category,
            "model": info.model,
            "n_requests": int(model_rows[info.model_key]["n_requests"]),
            "request_share": int(model_rows[info.model_key]["n_requests"]) / n_requests,
            "n_clients": len(info.client_ids),
        }
        for info in models
    ]
    table.sort(key=lambda row: (-row["n_requests"], row["category"], row["model"]))
    return {
        "rows_read": summary["rows_read"],
        "rows_accepted": summary["rows_accepted"],
        "rows_rejected": summary["rows_rejected"],
        "rejects_by_reason": summary["rejects_by_reason"],
        "n_requests": n_requests,
        "n_success": sum(int(r["n_success"]) for r in model_rows.values()),
        "n_models": len(models),
        "n_clients": n_clients,
        "origin": meta["origin"],
        "first_arrival": meta["first_arrival"],
        "last_arrival": meta["last_arrival"],
        "span_s": (last_offset_us - first_offset_us) / US_PER_S,
        "window_s": meta["window_s"],
        "dataset_window_s": meta["dataset_window_s"],
        "coverage": coverage(first_offset_us, last_offset_us, meta["origin_us"]),
        "models": table,
    }


def coverage(first_offset_us: int, last_offset_us: int, origin_us: int) -> Coverage:
    """Which part of the (UTC) day a log covers, from its first and last arrival offsets."""
    us_per_hour = 3_600 * US_PER_S
    origin_in_day_us = origin_us % US_PER_DAY
    first_abs, last_abs = first_offset_us + origin_in_day_us, last_offset_us + origin_in_day_us
    first_hour, last_hour = first_abs // us_per_hour, last_abs // us_per_hour
    hours = sorted({int(h % 24) for h in range(first_hour, min(last_hour, first_hour + 24) + 1)})
    return {
        "first_offset_s": first_offset_us / US_PER_S,
        "last_offset_s": last_offset_us / US_PER_S,
        "start_hour_utc": (first_abs % US_PER_DAY) / us_per_hour,
        "end_hour_utc": (last_abs % US_PER_DAY) / us_per_hour,
        "n_days": int(last_abs // US_PER_DAY - first_abs // US_PER_DAY + 1),
        "hours_active": hours,
        "covers_full_day": len(hours) == 24,
    }
