"""Latency percentiles, CCDFs and the latency model (stats.json's `latency`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reports import figures
from reports.blocks import Block
from reports.figures import Chart
from reports.sections.common import _available, _curve
from reports.tables import fmt, table

LATENCY_PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))


def _latency_ccdf_blocks(latency: Mapping[str, Any], metrics: list[str]) -> list[Block]:
    """CCDFs of ttft_ms and e2e_ms on log axes, each with its p50/p90/p99 marked."""
    series: list[tuple[str, tuple[list[Any], list[Any]]]] = []
    marks: list[tuple[str, tuple[list[Any], list[Any]]]] = []
    for metric in metrics:
        curve = _curve(latency[metric].get("ccdf"))
        if not curve:
            continue
        series.append((metric, curve))
        summary = latency[metric].get("summary") or {}
        known = [(summary.get(k), q) for k, q in LATENCY_PERCENTILES if summary.get(k) is not None]
        if known:
            # P(X > p_q) = 1 - q: each percentile sits where the CCDF crosses 1 - q
            marks.append(
                (f"{metric} p50/p90/p99", ([x for x, _ in known], [1 - q for _, q in known]))
            )
    if not series:
        return []
    reading = "; ".join(
        f"{m}: p50 {fmt((latency[m].get('summary') or {}).get('p50'))} ms, p99 "
        f"{fmt((latency[m].get('summary') or {}).get('p99'))} ms"
        for m, _ in series
    )
    return [
        Chart(
            "Latency distributions",
            figures.lines(
                "Latency CCDF with p50, p90 and p99 marked",
                "latency (ms)",
                "P(latency > x)",
                series,
                log_x=True,
                log_y=True,
                points=marks,
            ),
            f"Share of successful requests slower than each latency ({reading}); the "
            "further right the curve's tail, the heavier the slow requests.",
        )
    ]


def _latency_blocks(latency: Mapping[str, Any]) -> list[Block]:
    blocks: list[Block] = []
    metrics = [m for m in ("ttft_ms", "e2e_ms") if _available(latency.get(m))]
    rows = []
    for metric in metrics:
        ols = latency[metric].get("ols") or {}
        if not ols:
            continue
        ci = ols.get("ci95") or {}

        def with_ci(name: str, ols: Mapping[str, Any] = ols, ci: Mapping[str, Any] = ci) -> str:
            low, high = (ci.get(name) or [None, None])[:2]
            return f"{fmt(ols.get(name))} [{fmt(low)}, {fmt(high)}]"

        rows.append(
            (
                metric,
                ols.get("n"),
                with_ci("intercept_ms"),
                with_ci("ms_per_input_token"),
                with_ci("ms_per_output_token"),
                ols.get("r_squared"),
            )
        )
    if metrics:
        blocks.append(
            table(
                "Latency (ms)",
                ("metric", "n", "p50", "p90", "p99"),
                [
                    (
                        m,
                        *(
                            (latency[m].get("summary") or {}).get(k)
                            for k in ("n", "p50", "p90", "p99")
                        ),
                    )
                    for m in metrics
                ],
            )
        )
    for metric in metrics:
        series = {
            f"by {field.removeprefix('by_').replace('_', ' ')}": _curve(latency[metric].get(field))
            for field in ("by_input_tokens", "by_output_tokens")
        }
        shown = {name: xy for name, xy in series.items() if xy}
        ols = latency[metric].get("ols") or {}
        if shown:
            blocks.append(
                Chart(
                    f"{metric} by tokens",
                    figures.lines(
                        f"Mean {metric} by token count",
                        "tokens (bin centre)",
                        f"mean {metric.removesuffix('_ms')} (ms)",
                        shown,
                        log_x=True,
                        mode="lines+markers",
                    ),
                    f"OLS: {fmt(ols.get('ms_per_input_token'))} ms per input token and "
                    f"{fmt(ols.get('ms_per_output_token'))} ms per output token "
                    f"(R^2 {fmt(ols.get('r_squared'))}).",
                )
            )
    blocks.extend(_latency_ccdf_blocks(latency, metrics))
    if rows:
        blocks.append(
            table(
                "Latency vs tokens (ordinary least squares, 95% confidence intervals)",
                (
                    "metric",
                    "n",
                    "intercept (ms)",
                    "ms per input token",
                    "ms per output token",
                    "R^2",
                ),
                rows,
            )
        )
    return blocks
