"""Periodicity of a model (stats.json's `periodicity`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reports import figures
from reports.blocks import Block
from reports.figures import Chart
from reports.sections.common import _curve, _hours, _lacking, _missing
from reports.tables import duration as _duration
from reports.tables import fmt, table

if TYPE_CHECKING:
    from pipeline.stages.characterize.document import ModelStats


def periodicity_blocks(model: ModelStats) -> list[Block]:
    part = model.get("periodicity")
    if _lacking(part):
        return [_missing("periodicity (STL, daily profile)", part)]
    blocks: list[Block] = []
    profile = _curve(part["hourly_profile"])
    if profile:
        hours, rates = profile
        busiest, quietest = part["busiest_hour_utc"], part["quietest_hour_utc"]
        reading = "No hour of the day has requests."
        if busiest is not None and quietest is not None:
            rate_at = dict(zip(hours, rates, strict=True))
            reading = (
                f"Busiest hour {_hour_of(busiest)} UTC ({fmt(rate_at.get(busiest))} requests/s), "
                f"quietest {_hour_of(quietest)} UTC ({fmt(rate_at.get(quietest))}); peak-to-mean "
                f"{fmt(part['peak_to_mean'])}, "
                f"peak-to-trough {fmt(part['peak_to_trough'])}."
            )
        partial = part["hourly_profile"]["partial"] or [False] * len(hours)
        covered: list[Any] = part["hourly_profile"]["covered_s"] or [None] * len(hours)
        whole = [None if p else r for r, p in zip(rates, partial, strict=True)]
        values: dict[str, list[float | None]] = {}
        if any(v is not None for v in whole) or not any(partial):
            values["whole hours"] = whole
        if any(partial):
            values["partly covered hours"] = [
                r if p else None for r, p in zip(rates, partial, strict=True)
            ]
            reading += (
                " Partly covered: "
                + ", ".join(
                    f"{int(h):02d}:00 ({_duration(c)} of it)"
                    for h, p, c in zip(hours, partial, covered, strict=True)
                    if p
                )
                + "; their rate is over the covered time only."
            )
        blocks.append(
            Chart(
                "Daily profile",
                figures.bars(
                    "Mean request rate by hour of day",
                    "hour of day (UTC)",
                    "requests per second",
                    [f"{int(h):02d}" for h in hours],
                    values,
                    stacked=True,
                    legend=any(partial) or None,
                ),
                reading,
            )
        )
    rows = []
    notes: list[Block] = []
    for name, label, stl in (
        ("daily", "daily (1 day)", part["daily"]),
        ("weekly", "weekly (7 days)", part["weekly"]),
    ):
        if not _lacking(stl):
            rows.append(
                (
                    label,
                    stl["n_periods"],
                    stl["seasonal_strength"],
                    stl["trend_strength"],
                    stl["autocorrelation_at_period"],
                    stl["peak_to_mean"],
                    stl["peak_to_trough"],
                    _hour_of(stl["busiest_hour_utc"], weekly=name == "weekly"),
                    _hour_of(stl["quietest_hour_utc"], weekly=name == "weekly"),
                )
            )
        else:
            notes.append(_missing(f"STL decomposition at the {label} period", stl))
    if rows:
        blocks.append(
            table(
                "STL decomposition of the hourly request count",
                (
                    "period",
                    "periods observed",
                    "seasonal strength",
                    "trend strength",
                    "autocorrelation at period",
                    "peak/mean",
                    "peak/trough",
                    "busiest hour",
                    "quietest hour",
                ),
                rows,
                note="Strength near 1: the component dominates the remainder (Wang, Smith and "
                "Hyndman 2006). With fewer than about 3 periods observed STL leaves little "
                "remainder, so strengths near 1 say little.",
            )
        )
    for label, stl in (("daily", part["daily"]), ("weekly", part["weekly"])):
        if _lacking(stl):
            continue
        components = stl["components"]
        if isinstance(components, Mapping) and components.get("x"):
            xs = _hours(components["x"])
            series = {
                key: (xs, components[key])
                for key in ("observed", "trend", "seasonal", "resid")
                if isinstance(components.get(key), list)
            }
            blocks.append(
                Chart(
                    f"STL decomposition ({label})",
                    figures.lines(
                        f"STL decomposition of the hourly rate, {label} period",
                        "time from origin (hours)",
                        "requests per second",
                        series,
                        selector=True,
                    ),
                    f"Seasonal strength {fmt(stl['seasonal_strength'])}, trend strength "
                    f"{fmt(stl['trend_strength'])}, autocorrelation at one period "
                    f"{fmt(stl['autocorrelation_at_period'])}.",
                )
            )
    return blocks + notes


def _hour_of(value: Any, *, weekly: bool = False) -> str:
    """An hour of the day, or of the week (0..167, counted from the origin's weekday)."""
    if not isinstance(value, int | float) or value < 0:
        return "-"
    day, hour = divmod(int(value), 24)
    return f"day {day + 1} of the week, {hour:02d}:00" if weekly else f"{hour:02d}:00"
