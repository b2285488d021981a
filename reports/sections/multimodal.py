"""Multimodal requests (stats.json's `multimodal`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports import figures
from reports.blocks import Block
from reports.figures import Chart
from reports.sections.common import NOTHING, _lacking
from reports.tables import fmt, pct, table

if TYPE_CHECKING:
    from pipeline.stages.characterize.document import ModelStats


def multimodal_blocks(model: ModelStats) -> list[Block]:
    part = model.get("multimodal")
    if _lacking(part):
        return []
    blocks: list[Block] = []
    modalities = part["modalities"] or {}
    present = [name for name in sorted(modalities) if modalities[name]["request_share"]]
    rows = [
        (
            name,
            modalities[name]["request_share"],
            modalities[name]["token_share"],
            (modalities[name]["items_per_request"] or NOTHING)["mean"],
            (modalities[name]["tokens_per_item"] or NOTHING)["mean"],
            (modalities[name]["tokens_per_item"] or NOTHING)["p50"],
            (modalities[name]["tokens_per_item"] or NOTHING)["p99"],
        )
        for name in present
    ]
    rows.append(("text", None, part["text_token_share"], None, None, None, None))
    blocks.append(
        table(
            f"Modality mix over {fmt(part['n'])} requests",
            (
                "modality",
                "share of requests",
                "share of input tokens",
                "items per request (mean, when present)",
                "tokens per item (mean)",
                "tokens per item (p50)",
                "tokens per item (p99)",
            ),
            rows,
            formatters={1: pct, 2: pct},
            note="Modalities no request carries are left out.",
        )
    )
    over = part["over_windows"] or []
    if over:
        xs = [w["start_s"] / 3600 for w in over]
        series = {
            f"{name} requests": (xs, [w.get(f"{name}_request_share") for w in over])
            for name in present
        }
        series["text share of input tokens"] = (xs, [w.get("text_token_share") for w in over])
        first = f"{present[0]} requests" if present else "text share of input tokens"
        values = [v for v in series[first][1] if v is not None]
        blocks.append(
            Chart(
                "Modality mix over time",
                figures.lines(
                    "Modality shares per dataset window",
                    "window start from origin (hours)",
                    "share",
                    series,
                    mode="lines+markers",
                ),
                f"The share of {first.replace(' requests', '')} requests ranges from "
                f"{pct(min(values))} to {pct(max(values))} across {len(over)} windows."
                if values
                else "No window has requests.",
            )
        )
    return blocks
