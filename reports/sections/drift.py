"""Drift of a model's request lengths between dataset windows and days (stats.json's `drift`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reports import figures
from reports.blocks import Block
from reports.figures import Chart
from reports.sections.common import TABLE_ROWS, _lacking, _missing
from reports.tables import fmt, table, top_with_others

if TYPE_CHECKING:
    from pipeline.stages.characterize.document import ModelStats
    from pipeline.stages.characterize.drift import Drift


def drift_blocks(model: ModelStats) -> list[Block]:
    drift = model.get("drift")
    if _lacking(drift):
        return [_missing("drift between windows", drift)]
    blocks: list[Block] = []
    windows = drift["windows"] or []
    if windows:
        xs = [w["start_s"] / 3600 for w in windows]
        series = {}
        summaries: dict[str, list[Mapping[str, Any]]] = {
            "input_tokens": [w["input_tokens"] or {} for w in windows],
            "output_tokens": [w["output_tokens"] or {} for w in windows],
        }
        for name, of_windows in summaries.items():
            for q in ("p50", "p90"):
                series[f"{name.split('_')[0]} {q}"] = (xs, [s.get(q) for s in of_windows])
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
    for label, pairs in (
        ("consecutive dataset windows", drift["consecutive"]),
        ("consecutive days", drift["days"]),
    ):
        if isinstance(pairs, list) and pairs:
            flagged = sum(1 for p in pairs if p["large_shift"])
            rows = [
                (p["field"], p["from"], p["to"], p["ks"], p["wasserstein"], bool(p["large_shift"]))
                for p in sorted(pairs, key=lambda p: (-(p["ks"] or 0.0), str(p["field"])))
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


def _shift_rule(drift: Drift) -> str:
    threshold = drift["large_shift_ks"]
    return f"KS > {fmt(threshold)}" if threshold is not None else "as flagged in stats.json"


def _drift_reading(n_windows: int, drift: Drift) -> str:
    pairs = drift["consecutive"]
    if not isinstance(pairs, list) or not pairs:
        return f"{n_windows} dataset window(s): no consecutive pair to compare."
    largest = max(pairs, key=lambda p: (p["ks"] or 0.0, str(p["field"])))
    flagged = sum(1 for p in pairs if p["large_shift"])
    return (
        f"{n_windows} dataset windows; the largest shift between consecutive windows is "
        f"{largest['field']} from window {largest['from']} to {largest['to']} "
        f"(KS {fmt(largest['ks'])}); {flagged} of {len(pairs)} pairs are large shifts "
        f"({_shift_rule(drift)})."
    )
