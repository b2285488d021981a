"""stats.json's `sessions`: conversation turns and the gaps between them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline.stages.characterize.common import US_PER_S, _quantiles, _unavailable

if TYPE_CHECKING:
    pass


def _sessions(row: dict[str, Any] | None) -> dict[str, Any]:
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
