"""Request data of a model: token summaries, length fits and correlation (stats.json's
`lengths`), followed by their drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reports.blocks import Block, Paragraph
from reports.figures import Chart
from reports.sections.common import (
    SUMMARY_COLUMNS,
    _available,
    _ccdf_with_fits,
    _missing,
    _summary_row,
)
from reports.sections.drift import drift_blocks
from reports.tables import fmt, pct, table


def request_blocks(model: Mapping[str, Any]) -> list[Block]:
    blocks: list[Block] = []
    lengths = model.get("lengths")
    if _available(lengths):
        rows = []
        for name in ("input_tokens", "output_tokens"):
            part = lengths.get(name)
            if not _available(part):
                blocks.append(_missing(f"{name} distribution", part))
                continue
            summary = model.get(name) or part.get("summary") or {}
            rows.append(_summary_row(name, summary))
            drawn = _ccdf_with_fits(
                f"{name.replace('_', ' ').capitalize()} (CCDF)",
                f"{name.replace('_', ' ')} (tokens)",
                part,
                name.replace("_", " "),
            )
            if drawn:
                chart, fits = drawn
                mixture = (part.get("fits") or {}).get("pareto_lognormal")
                extra = (
                    f" Pareto tail weight {pct(mixture.get('tail_weight'))}, tail index "
                    f"{fmt(mixture.get('alpha'))} above {fmt(mixture.get('xmin'))} tokens."
                    if _available(mixture)
                    else ""
                )
                reading = (
                    f"Median {fmt(summary.get('p50'))} tokens, p99 {fmt(summary.get('p99'))}. "
                    + chart.reading
                    + extra
                )
                blocks.extend([Chart(chart.title, chart.figure, reading), fits])
        if rows:
            blocks.insert(0, table("Token counts (successful requests)", SUMMARY_COLUMNS, rows))
    else:
        blocks.append(_missing("request length distributions", lengths))
    corr = model.get("correlation")
    if _available(corr) and corr.get("n"):
        blocks.append(
            Paragraph(
                f"Input vs output tokens over {fmt(corr.get('n'))} requests: Pearson "
                f"{fmt(corr.get('pearson'))}, Spearman {fmt(corr.get('spearman'))} "
                "(per client in the clients table)."
            )
        )
    blocks.extend(drift_blocks(model))
    return blocks
