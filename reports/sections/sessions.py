"""Conversations (stats.json's `sessions`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports.blocks import Block, Paragraph
from reports.sections.common import NOTHING, SUMMARY_COLUMNS, _lacking, _summary_row
from reports.tables import fmt, table

if TYPE_CHECKING:
    from pipeline.stages.characterize.document import ModelStats


def sessions_blocks(model: ModelStats) -> list[Block]:
    part = model.get("sessions")
    if _lacking(part):
        return []
    turns = part["turns"] or NOTHING
    return [
        Paragraph(
            f"{fmt(part['n_sessions'])} sessions; median {fmt(turns['p50'])} turns, "
            f"p99 {fmt(turns['p99'])}."
        ),
        table(
            "Conversations",
            SUMMARY_COLUMNS,
            [
                _summary_row("turns per session", turns),
                _summary_row("time between turns (s)", part["gap_s"]),
            ],
        ),
    ]
