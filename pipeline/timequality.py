"""Time quality of a log, per model: resolution, quantization, idle gaps, covered part of day.

Written by the aggregate stage as `aggregate/time_quality.json` (the report renders it, the
fit stage reads each model's resolution) and printed by `servechar inspect`. Made from the
merged summaries model_streams, model_gaps and time_grid (pipeline/summaries.py, topics in
TOPICS); Python sees one row per model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fitting.quantization import detect_resolution
from pipeline import sqlrun

if TYPE_CHECKING:
    import duckdb

TICK_CANDIDATES_US = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 60_000_000)
"""Candidate clock ticks (us), each dividing the next; time_grid.sql expects these nine."""
N_IDLE_GAPS = 5
TOPICS = ("model_gaps", "model_streams", "time_grid")
"""The summary topics time quality is made from (views `summary_<topic>`)."""
SECONDS_PER_DAY = 86_400


def time_quality(con: duckdb.DuckDBPyConnection, origin_us: int, identity: str) -> dict[str, Any]:
    """The time_quality.json document from the merged summaries open in `con` (the views
    `summary_<topic>` of TOPICS), offsets from `origin_us`."""
    rows = sqlrun.query(con, "aggregate/time_quality", {"origin_us": origin_us}).fetchall()
    on_grid: dict[str, dict[int, int]] = {}
    for model, finest_tick_us, n in sqlrun.query(con, "aggregate/time_grid").fetchall():
        on_grid.setdefault(model, {})[finest_tick_us] = n
    columns = [
        "model",
        "n_requests",
        "distinct_arrival_times",
        "n_gaps",
        "n_ties",
        "p05_positive_gap_us",
        "median_positive_gap_us",
        "first_offset_us",
        "last_offset_us",
        "idle_gaps",
    ]
    models = {}
    for row in rows:
        facts = dict(zip(columns, row, strict=True))
        model = facts["model"]
        finest = on_grid.get(model, {})
        share_multiple = [
            sum(n for tick, n in finest.items() if tick >= candidate) / facts["n_requests"]
            for candidate in TICK_CANDIDATES_US
        ]
        resolution = detect_resolution(
            TICK_CANDIDATES_US,
            share_multiple,
            n_gaps=facts["n_gaps"],
            n_ties=facts["n_ties"],
            p05_positive_gap_us=facts["p05_positive_gap_us"],
            median_positive_gap_us=facts["median_positive_gap_us"],
            distinct_times=facts["distinct_arrival_times"],
        )
        first_s = facts["first_offset_us"] / 1e6
        last_s = facts["last_offset_us"] / 1e6
        tick = _format_seconds(resolution.resolution_s)
        model_gaps = [
            {"start_s": gap["start_us"] / 1e6, "length_s": gap["length_us"] / 1e6}
            for gap in facts["idle_gaps"] or []
        ]
        models[model] = {
            "requests": facts["n_requests"],
            "distinct_arrival_times": facts["distinct_arrival_times"],
            "timestamp_resolution_s": resolution.resolution_s,
            "storage_resolution_s": resolution.storage_tick_s,
            "tie_share": round(resolution.tie_share, 6),
            "is_quantized": resolution.is_quantized,
            "sub_resolution_note": (
                f"arrivals are quantized to {tick} s ticks; burstiness below {tick} s cannot "
                "be measured (inter-arrival fits treat each gap as censored to its tick)"
                if resolution.is_quantized
                else None
            ),
            "idle_gaps": model_gaps,
            "longest_idle_gap_s": model_gaps[0]["length_s"] if model_gaps else 0.0,
            "first_arrival_s": first_s,
            "last_arrival_s": last_s,
            "covers": covered_part(first_s, last_s),
            # a day's log rarely starts at 00:00:00 sharp: within an hour of 24 h is a day
            "is_partial_day": last_s - first_s < SECONDS_PER_DAY - 3600,
        }
    return {"identity": identity, "models": models}


def covered_part(first_s: float, last_s: float) -> str:
    """The part of the day(s) a model's arrivals cover: `18:15-19:14 UTC` or with day numbers."""
    first_day, last_day = int(first_s // SECONDS_PER_DAY), int(last_s // SECONDS_PER_DAY)
    if first_day == last_day:
        return f"{_clock(first_s)}-{_clock(last_s)} UTC"
    return f"day {first_day} {_clock(first_s)} - day {last_day} {_clock(last_s)} UTC"


def _clock(seconds: float) -> str:
    minutes = int(seconds % SECONDS_PER_DAY) // 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _format_seconds(value: float) -> str:
    return f"{value:.3g}"
