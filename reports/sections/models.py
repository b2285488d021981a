"""One section per model, made of the per-topic parts (arrivals, burstiness, ...) in page order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reports.blocks import Block, Paragraph, ReportInputs, Section, Unavailable
from reports.findings import model_key
from reports.sections.anomalies import anomalies_blocks
from reports.sections.burstiness import burstiness_blocks, clock_ties_blocks
from reports.sections.clients import clients_blocks
from reports.sections.common import _available, _count, _lacking, _when, lenient
from reports.sections.interarrivals import arrivals_blocks
from reports.sections.latency import _latency_blocks
from reports.sections.lengths import request_blocks
from reports.sections.multimodal import multimodal_blocks
from reports.sections.periodicity import periodicity_blocks
from reports.sections.reasoning import reasoning_blocks
from reports.sections.sessions import sessions_blocks
from reports.sections.status import _status_blocks
from reports.tables import fmt

if TYPE_CHECKING:
    from pipeline.stages.characterize.document import ModelStats


def models_section(inputs: ReportInputs) -> Section | None:
    """One section per model, in stats.json's order (category, model)."""
    models = inputs.stats.get("models", [])
    if not models:
        return Section("Models", (Unavailable("per-model statistics", "the log has no model"),))
    return Section(
        "Models",
        (Paragraph("Each model in turn: arrivals, burstiness, periodicity, clients, requests."),),
        tuple(model_section(model, inputs) for model in models),
        key="models",
    )


CATEGORY_NAMES = {"language": "language", "reason": "reasoning", "multimodal": "multimodal"}


def model_section(model: ModelStats, inputs: ReportInputs) -> Section:
    model = lenient(model)  # the topics read keys by index; a missing one reads as null
    name = str(model.get("model", ""))
    category = CATEGORY_NAMES.get(model.get("category") or "", model.get("category"))
    header = Paragraph(
        f"A {category} model: {_count(model.get('n_requests'), 'request')} "
        f"({fmt(model.get('n_success'))} successful) from "
        f"{_count(model.get('n_clients'), 'client')}; the first at "
        f"{_when(model.get('first_offset_s'))} UTC, the last at "
        f"{_when(model.get('last_offset_s'))} UTC."
    )
    parts = [
        ("Anomalies", lambda _: anomalies_blocks(name, inputs.anomalies)),
        ("Arrivals", arrivals_blocks),
        ("Burstiness", lambda m: [*burstiness_blocks(m), *clock_ties_blocks(m, inputs)]),
        ("Periodicity", periodicity_blocks),
        ("Clients", clients_blocks),
        ("Request data", request_blocks),
        ("Reasoning", reasoning_blocks),
        ("Multimodal", multimodal_blocks),
        ("Conversations", sessions_blocks),
        ("Operations", operations_blocks),
        ("Not available", not_applicable_blocks),
    ]
    children = []
    for title, blocks_of in parts:
        blocks = blocks_of(model)
        if blocks:
            children.append(Section(title, tuple(blocks), key=model_key(name, title)))
    return Section(f"Model {name}", (header,), tuple(children), key=model_key(name))


OPTIONAL_PARTS = {
    "reasoning": "reasoning",
    "multimodal": "multimodal",
    "sessions": "conversations",
    "status": "status codes",
    "latency": "latency",
}


def not_applicable_blocks(model: Mapping[str, Any]) -> list[Block]:
    """The optional parts this model lacks, each with the reason, in one place."""
    missing = [
        f"{label} ({model[key].get('reason', 'no reason given')})"
        for key, label in OPTIONAL_PARTS.items()
        if isinstance(model.get(key), Mapping) and not _available(model[key])
    ]
    if not missing:
        return []
    return [Unavailable("for this model", "; ".join(missing) + ".")]


def operations_blocks(model: ModelStats) -> list[Block]:
    blocks: list[Block] = []
    status = model.get("status")
    if not _lacking(status):
        blocks.extend(_status_blocks(model, status))
    latency = model.get("latency")
    if not _lacking(latency):
        blocks.extend(_latency_blocks(latency))
    return blocks
