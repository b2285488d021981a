"""stats.json's `sessions`: conversation turns and the gaps between them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypedDict

from pipeline.stages.characterize.common import (
    US_PER_S,
    Summary,
    Unavailable,
    _quantiles,
    _unavailable,
)
from pipeline.stages.characterize.values import count, integer_sum, load_value_tables, percentiles

if TYPE_CHECKING:
    from pipeline.stages.characterize.common import Context


class Sessions(TypedDict):
    """stats.json's `models[].sessions` when the log has session ids."""

    available: Literal[True]
    n_sessions: int
    turns: Summary  # turns per session
    gap_s: Summary  # seconds between a session's consecutive turns


def _sessions(row: dict[str, Any] | None) -> Sessions | Unavailable:
    if row is None:
        return _unavailable("the log has no session_id (or none for this model)")
    n_sessions = int(row["n_sessions"])
    n_gaps = int(row["n_gaps"])
    return {
        "available": True,
        "n_sessions": n_sessions,
        "turns": {
            "n": n_sessions,
            "mean": int(row["n_turns_sum"]) / n_sessions,
            **_quantiles(row["turn_quantiles"]),
        },
        "gap_s": {
            "n": n_gaps,
            "mean": int(row["gap_us_sum"]) / n_gaps / US_PER_S if n_gaps else None,
            **_quantiles(row["gap_quantiles"]),
        },
    }


def load_sessions(context: Context) -> dict[int, dict[str, Any]]:
    """Per model with session ids: sessions, turns and gaps between turns (counts, exact sums,
    percentiles), from the merged session_turns summary."""
    rows = {}
    for key, fields in load_value_tables(context, "characterize/session_values").items():
        turns, gaps = fields.get("turns"), fields.get("gap_us")
        if turns is None:
            continue
        rows[key] = {
            "n_sessions": count(turns),
            "n_turns_sum": integer_sum(turns),
            "turn_quantiles": percentiles(turns),
            "n_gaps": count(gaps),
            "gap_us_sum": integer_sum(gaps),
            # seconds, as DuckDB's gap_us / 1e6 (one correctly rounded division each)
            "gap_quantiles": None if gaps is None else percentiles((gaps[0] / 1e6, gaps[1])),
        }
    return rows
