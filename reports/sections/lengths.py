"""Request data of a model: token summaries, length fits and correlation (stats.json's
`lengths`), followed by their drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reports.blocks import Block, Paragraph
from reports.figures import Chart
from reports.sections.common import (
    SUMMARY_COLUMNS,
    _ccdf_with_fits,
    _lacking,
    _missing,
    _summary_row,
)
from reports.sections.drift import drift_blocks
from reports.tables import fmt, pct, table

if TYPE_CHECKING:
    from pipeline.stages.characterize.document import ModelStats


def request_blocks(model: ModelStats) -> list[Block]:
    blocks: list[Block] = []
    lengths = model.get("lengths")
    if not _lacking(lengths):
        rows = []
        for name, part, of_model in (
            ("input_tokens", lengths["input_tokens"], model.get("input_tokens")),
            ("output_tokens", lengths["output_tokens"], model.get("output_tokens")),
        ):
            if _lacking(part):
                blocks.append(_missing(f"{name} distribution", part))
                continue
            as_read: Mapping[str, Any] = part  # an older stats.json kept the summary here
            summary: Mapping[str, Any] = of_model or as_read.get("summary") or {}
            rows.append(_summary_row(name, summary))
            drawn = _ccdf_with_fits(
                f"{name.replace('_', ' ').capitalize()} (CCDF)",
                f"{name.replace('_', ' ')} (tokens)",
                part,
                name.replace("_", " "),
            )
            if drawn:
                chart, fits = drawn
                mixture = (part["fits"] or {}).get("pareto_lognormal")
                extra = (
                    f" Pareto tail weight {pct(mixture.get('tail_weight'))}, tail index "
                    f"{fmt(mixture.get('alpha'))} above {fmt(mixture.get('xmin'))} tokens."
                    if not _lacking(mixture)
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
    if not _lacking(corr) and corr["n"]:
        blocks.append(
            Paragraph(
                f"Input vs output tokens over {fmt(corr['n'])} requests: Pearson "
                f"{fmt(corr['pearson'])}, Spearman {fmt(corr['spearman'])} "
                "(per client in the clients table)."
            )
        )
    blocks.extend(drift_blocks(model))
    return blocks
