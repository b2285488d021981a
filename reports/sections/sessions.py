"""Conversations (stats.json's `sessions`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reports.blocks import Block, Paragraph
from reports.sections.common import SUMMARY_COLUMNS, _available, _summary_row
from reports.tables import fmt, table


def sessions_blocks(model: Mapping[str, Any]) -> list[Block]:
    part = model.get("sessions")
    if not _available(part):
        return []
    turns = part.get("turns") or {}
    return [
        Paragraph(
            f"{fmt(part.get('n_sessions'))} sessions; median {fmt(turns.get('p50'))} turns, "
            f"p99 {fmt(turns.get('p99'))}."
        ),
        table(
            "Conversations",
            SUMMARY_COLUMNS,
            [
                _summary_row("turns per session", turns),
                _summary_row("time between turns (s)", part.get("gap_s")),
            ],
        ),
    ]
