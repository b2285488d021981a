"""stats.json's `sessions`: conversation turns and the gaps between them."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from pipeline.stages.characterize.common import (
    US_PER_S,
    Summary,
    Unavailable,
    _quantiles,
    _unavailable,
)


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
