"""Drift of a model's request lengths between dataset windows and days (stats.json's `drift`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reports import figures
from reports.blocks import Block
from reports.figures import Chart
from reports.sections.common import TABLE_ROWS, _available, _missing
from reports.tables import fmt, table, top_with_others


def drift_blocks(model: Mapping[str, Any]) -> list[Block]:
    drift = model.get("drift")
    if not _available(drift):
        return [_missing("drift between windows", drift)]
    blocks: list[Block] = []
    windows = drift.get("windows") or []
    if windows:
        xs = [w["start_s"] / 3600 for w in windows]
        series = {}
        for name in ("input_tokens", "output_tokens"):
            for q in ("p50", "p90"):
                series[f"{name.split('_')[0]} {q}"] = (
                    xs,
                    [(w.get(name) or {}).get(q) for w in windows],
                )
        blocks.append(
            Chart(
                "Length percentiles per dataset window",
                figures.lines(
                    "Token percentiles per dataset window",
                    "window start from origin (hours)",
                    "tokens",
                    series,
                    log_y=True,
                    mode="lines+markers",
                ),
                _drift_reading(len(windows), drift),
            )
        )
    for key, label in (
        ("consecutive", "consecutive dataset windows"),
        ("days", "consecutive days"),
    ):
        pairs = drift.get(key)
        if isinstance(pairs, list) and pairs:
            flagged = sum(1 for p in pairs if p.get("large_shift"))
            rows = [
                (
                    p.get("field"),
                    p.get("from"),
                    p.get("to"),
                    p.get("ks"),
                    p.get("wasserstein"),
                    bool(p.get("large_shift")),
                )
                for p in sorted(pairs, key=lambda p: (-(p.get("ks") or 0.0), str(p.get("field"))))
            ]
            shown, _ = top_with_others(rows, TABLE_ROWS, label="others", summed=())
            blocks.append(
                table(
                    f"Drift between {label} (largest KS first)",
                    ("field", "from", "to", "KS", "Wasserstein (tokens)", "large shift"),
                    shown,
                    note=f"{flagged} of {len(pairs)} pairs are large shifts "
                    f"({_shift_rule(drift)}).",
                )
            )
        elif pairs is not None and not isinstance(pairs, list):
            blocks.append(_missing(f"drift between {label}", pairs))
    return blocks


def _shift_rule(drift: Mapping[str, Any]) -> str:
    threshold = drift.get("large_shift_ks")
    return f"KS > {fmt(threshold)}" if threshold is not None else "as flagged in stats.json"


def _drift_reading(n_windows: int, drift: Mapping[str, Any]) -> str:
    pairs = drift.get("consecutive")
    if not isinstance(pairs, list) or not pairs:
        return f"{n_windows} dataset window(s): no consecutive pair to compare."
    largest = max(pairs, key=lambda p: (p.get("ks") or 0.0, str(p.get("field"))))
    flagged = sum(1 for p in pairs if p.get("large_shift"))
    return (
        f"{n_windows} dataset windows; the largest shift between consecutive windows is "
        f"{largest.get('field')} from window {largest.get('from')} to {largest.get('to')} "
        f"(KS {fmt(largest.get('ks'))}); {flagged} of {len(pairs)} pairs are large shifts "
        f"({_shift_rule(drift)})."
    )
