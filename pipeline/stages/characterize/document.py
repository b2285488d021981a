"""stats.json as a whole: the document and one model's entry, made of each topic's part.

Each topic module (burstiness, periodicity, ...) types the part it writes; the report's
module of the same name reads it through these types, so a key renamed on one side and not
the other fails the type check (`mypy`, run by .ci/run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

if TYPE_CHECKING:
    from pipeline.stages.characterize.burstiness import Burstiness
    from pipeline.stages.characterize.clients import (
        ClientRow,
        Concentration,
        Rate,
        StabilityRow,
        VarianceConcentration,
    )
    from pipeline.stages.characterize.common import Correlation, Summary, Unavailable
    from pipeline.stages.characterize.drift import Drift
    from pipeline.stages.characterize.interarrivals import Interarrivals
    from pipeline.stages.characterize.latency import Latency
    from pipeline.stages.characterize.lengths import Lengths
    from pipeline.stages.characterize.multimodal import Multimodal
    from pipeline.stages.characterize.overview import Category, Overview
    from pipeline.stages.characterize.periodicity import Periodicity
    from pipeline.stages.characterize.reasoning import Reasoning
    from pipeline.stages.characterize.sessions import Sessions
    from pipeline.stages.characterize.status import Status


class ModelStats(TypedDict):
    """One entry of stats.json's `models`. The topic parts are written after the clients'
    part and may be missing from a stats.json of an older version (the report says so)."""

    category: str
    model: str
    n_requests: int
    n_success: int
    n_clients: int
    first_offset_s: float
    last_offset_s: float
    detailed_clients: list[str]  # in rank order
    clients: list[ClientRow]
    concentration: Concentration
    rate: Rate
    correlation: Correlation
    input_tokens: Summary
    output_tokens: Summary
    burstiness: NotRequired[Burstiness]
    periodicity: NotRequired[Periodicity]
    interarrivals: NotRequired[Interarrivals]
    lengths: NotRequired[Lengths]
    drift: NotRequired[Drift | Unavailable]
    reasoning: NotRequired[Reasoning | Unavailable]
    multimodal: NotRequired[Multimodal | Unavailable]
    status: NotRequired[Status | Unavailable]
    latency: NotRequired[Latency | Unavailable]
    sessions: NotRequired[Sessions | Unavailable]
    stability: NotRequired[list[StabilityRow]]
    variance_concentration: NotRequired[VarianceConcentration | Unavailable]


class StatsDocument(TypedDict):
    """stats.json (format `servechar.stats/1`, docs/stats.md)."""

    format: str
    options: dict[str, Any]
    overview: Overview
    categories: dict[str, Category]
    models: list[ModelStats]
