"""The overview section: rows read and rejected, the span, categories and top clients."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reports.blocks import Block, Paragraph, ReportInputs, Section
from reports.sections.common import _count, _hour, lenient
from reports.tables import duration as _duration
from reports.tables import fmt, pct, table

if TYPE_CHECKING:
    from pipeline.stages.characterize.overview import Category, Overview

OVERVIEW_CLIENTS = 10  # clients listed in the overview, over all models


def overview_section(inputs: ReportInputs) -> Section:
    """Rows read, accepted and rejected (by reason), the time span, models and input files."""
    # read leniently (a missing key is null), its keys by index: mypy checks them
    overview: Overview = lenient(inputs.stats.get("overview", {}))
    summary = inputs.summary
    blocks: list[Block] = []
    read, accepted, rejected = (
        summary.get(key, 0) for key in ("rows_read", "rows_accepted", "rows_rejected")
    )
    blocks.append(
        Paragraph(
            f"{fmt(read)} rows read: {fmt(accepted)} accepted and {fmt(rejected)} rejected "
            f"({pct(rejected / read if read else 0.0, digits=2)}); "
            f"{fmt(overview['n_models'])} models, {fmt(overview['n_clients'])} "
            "(model, client) pairs."
        )
    )
    reasons = sorted(summary.get("rejects_by_reason", {}).items(), key=lambda kv: (-kv[1], kv[0]))
    if reasons:
        blocks.append(
            table(
                "Rejected rows by reason (details in rejects.csv)",
                ("reason", "rows", "share of rows read"),
                [(reason, n, n / read if read else 0.0) for reason, n in reasons],
                formatters={2: pct},
            )
        )
    coverage = overview.get("coverage", {})
    if overview["first_arrival"]:
        hours_active = coverage.get("hours_active", [])
        blocks.append(
            Paragraph(
                f"First request {overview['first_arrival']}, last {overview['last_arrival']} "
                f"(span {_duration(overview['span_s'])}, {fmt(coverage.get('n_days'))} "
                f"calendar day(s) in UTC). "
                + (
                    "Every hour of the day has requests."
                    if coverage.get("covers_full_day")
                    else f"Requests fall in {len(hours_active)} of the 24 UTC hours, from "
                    f"{_hour(3600 * coverage.get('start_hour_utc', 0))} to "
                    f"{_hour(3600 * coverage.get('end_hour_utc', 0))} UTC; "
                    "daily patterns below cover only that part of the day."
                )
                + f" Trace windows are {fmt(overview['window_s'])} s, dataset windows "
                f"{fmt(overview['dataset_window_s'])} s; times are from the origin "
                f"{overview.get('origin', '-')}."
            )
        )
    models = overview.get("models", [])
    if models:
        blocks.append(
            table(
                "Models",
                ("model", "category", "requests", "share of requests", "clients"),
                [
                    (m["model"], m["category"], m["n_requests"], m["request_share"], m["n_clients"])
                    for m in models
                ],
                formatters={3: pct},
            )
        )
    blocks.extend(_category_blocks(lenient(inputs.stats.get("categories"))))
    largest = sorted(
        (
            (c["client_id"], m.get("model"), c.get("n_requests") or 0, c.get("request_share"))
            for m in inputs.stats.get("models", [])
            for c in (m.get("clients") or [])[:OVERVIEW_CLIENTS]
        ),
        key=lambda row: (-row[2], str(row[1]), str(row[0])),
    )[:OVERVIEW_CLIENTS]
    if largest:
        blocks.append(
            table(
                f"The {_count(len(largest), 'largest client')} across models",
                ("client", "model", "requests", "share of the model's requests"),
                largest,
                formatters={3: pct},
                note="Each model's section lists its clients in full (top rows, then others).",
            )
        )
    inputs_used = inputs.manifest.get("stages", {}).get("ingest", {}).get("inputs", [])
    if inputs_used:
        blocks.append(
            table(
                "Input files",
                ("file", "format", "compression", "bytes", "sha256"),
                [
                    (
                        Path(str(f.get("path", ""))).name,
                        f.get("format"),
                        f.get("compression") or "none",
                        f.get("bytes"),
                        str(f.get("sha256", ""))[:16],
                    )
                    for f in inputs_used
                ],
            )
        )
    return Section("Overview", tuple(blocks), key="overview")


def _category_blocks(categories: Mapping[str, Category] | None) -> list[Block]:
    """The per-category roll-up: requests, clients and token percentiles of each category."""
    if not isinstance(categories, Mapping) or not categories:
        return []
    rows: list[tuple[Any, ...]] = []
    for name, part in sorted(categories.items()):
        tokens: list[Any] = [
            summary.get(key)
            for summary in (part["input_tokens"] or {}, part["output_tokens"] or {})
            for key in ("mean", "p50", "p90", "p99")
        ]
        rows.append(
            (
                name,
                ", ".join(part["models"] or []),
                part["n_clients"],
                part["n_requests"],
                part["request_share"],
                part["n_success"],
                *tokens,
            )
        )
    counts = [row[:6] for row in rows]
    tokens = [(row[0], *row[6:]) for row in rows]
    return [
        table(
            "Per category",
            ("category", "models", "clients", "requests", "share of requests", "successful"),
            counts,
            formatters={4: pct},
            note="Clients are (model, client) pairs.",
        ),
        table(
            "Tokens per category (successful requests)",
            (
                "category",
                "input mean",
                "input p50",
                "input p90",
                "input p99",
                "output mean",
                "output p50",
                "output p90",
                "output p99",
            ),
            tokens,
            note="Over successful requests (2xx or no status) of every model of the category.",
        ),
    ]
