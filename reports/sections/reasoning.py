"""Reasoning models' tokens (stats.json's `reasoning`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reports import figures
from reports.blocks import Block, Paragraph
from reports.figures import Chart
from reports.sections.common import SUMMARY_COLUMNS, _curve, _lacking, _summary_row
from reports.tables import fmt, table

if TYPE_CHECKING:
    from pipeline.stages.characterize.document import ModelStats


def reasoning_blocks(model: ModelStats) -> list[Block]:
    part = model.get("reasoning")
    if _lacking(part):
        return []
    blocks: list[Block] = []
    ratio = part["ratio"] or {}
    hist = _curve(part.get("ratio_hist"))
    bimodal: Mapping[str, Any] = part.get("bimodality") or {}
    means = bimodal.get("means") or [None, None]
    verdict = (
        f"two modes (BIC {fmt(bimodal.get('bic_one'))} for one component vs "
        f"{fmt(bimodal.get('bic_two'))} for two), near {fmt(means[0])} and {fmt(means[-1])}"
        if bimodal.get("is_bimodal")
        else "one mode (two components do not win by BIC and by modes of the density)"
    )
    if hist:
        blocks.append(
            Chart(
                "Reasoning ratio",
                figures.bars(
                    "Reasoning share of output tokens (histogram)",
                    "reasoning tokens / output tokens",
                    "density",
                    hist[0],
                    hist[1],
                ),
                f"Median ratio {fmt(ratio.get('p50'))}; the distribution has {verdict}.",
            )
        )
    blocks.append(
        table(
            "Reasoning",
            SUMMARY_COLUMNS,
            [
                _summary_row("reasoning ratio", ratio),
                _summary_row("reasoning tokens", part["reason_tokens"]),
            ],
        )
    )
    if bimodal:
        blocks.append(
            table(
                "One or two components: Gaussian mixtures of the reasoning ratio",
                (
                    "n",
                    "BIC, 1 component",
                    "BIC, 2 components",
                    "weights",
                    "means",
                    "sds",
                    "modes",
                    "bimodal",
                ),
                [
                    (
                        bimodal.get("n"),
                        bimodal.get("bic_one"),
                        bimodal.get("bic_two"),
                        " / ".join(fmt(w) for w in bimodal.get("weights") or []),
                        " / ".join(fmt(m) for m in bimodal.get("means") or []),
                        " / ".join(fmt(s) for s in bimodal.get("sds") or []),
                        bimodal.get("n_modes"),
                        bool(bimodal.get("is_bimodal")),
                    )
                ],
                note="Bimodal when two components lower the BIC by more than 10 and their "
                "density has two modes.",
            )
        )
    tokens = part["reason_tokens"] or {}
    ccdf = _curve(part.get("reason_tokens_ccdf"))
    if ccdf:
        blocks.append(
            Chart(
                "Reasoning tokens",
                figures.lines(
                    "Reasoning tokens per request (CCDF)",
                    "reasoning tokens",
                    "P(X > x)",
                    {"reasoning tokens": ccdf},
                    log_x=True,
                    log_y=True,
                ),
                f"Median {fmt(tokens.get('p50'))} reasoning tokens, p90 {fmt(tokens.get('p90'))}, "
                f"p99 {fmt(tokens.get('p99'))}.",
            )
        )
    corr: Mapping[str, Any] = part.get("reason_vs_answer") or {}
    text = (
        f"Pearson {fmt(corr.get('pearson'))}, Spearman {fmt(corr.get('spearman'))} over "
        f"{fmt(corr.get('n'))} requests"
    )
    curve = _curve(part.get("reason_vs_answer_curve"))
    if curve:
        blocks.append(
            Chart(
                "Reasoning vs answer length",
                figures.lines(
                    "Answer length by reasoning length (10 equal-count bins)",
                    "reasoning tokens (bin median)",
                    "answer tokens (bin mean)",
                    {"answer tokens": curve},
                    log_x=True,
                    mode="lines+markers",
                ),
                f"Reasoning vs answer (output minus reasoning) tokens: {text}.",
            )
        )
    elif corr:
        blocks.append(Paragraph(f"Reasoning vs answer (output minus reasoning) tokens: {text}."))
    return blocks
