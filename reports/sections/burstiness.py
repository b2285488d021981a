"""Burstiness of a model (stats.json's `burstiness`) and its timestamps' ties."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports import figures
from reports.blocks import Block, Paragraph, ReportInputs
from reports.figures import Chart
from reports.sections.common import _available, _count, _curve, _lacking, _missing
from reports.tables import duration as _duration
from reports.tables import fmt, pct

if TYPE_CHECKING:
    from pipeline.stages.characterize.document import ModelStats


def burstiness_blocks(model: ModelStats) -> list[Block]:
    part = model.get("burstiness")
    if _lacking(part):
        return [_missing("burstiness (CV and Fano factor)", part)]
    blocks: list[Block] = []
    weighted, unweighted = _curve(part["cv_cdf"]), _curve(part["cv_cdf_unweighted"])
    if weighted:
        series = {"weighted by requests": weighted}
        if unweighted:
            series["each window once"] = unweighted
        above, median = part["share_cv_above_1"], part["cv_median_weighted"]
        blocks.append(
            Chart(
                "Burstiness: CV of inter-arrival times",
                figures.lines(
                    "CV of inter-arrival times per client trace window (CDF)",
                    "coefficient of variation (1 = Poisson)",
                    "cumulative share",
                    series,
                    mode="lines",
                ),
                f"{pct(above)} of requests arrive in client windows burstier than Poisson "
                f"(CV > 1); the request-weighted median CV is {fmt(median)}.",
            )
        )
    fano = part["fano"]
    if _available(fano) and _curve(fano["aggregate"]):
        aggregate = fano["aggregate"]
        # A list, not a dict: a client may be called "aggregate" too.
        curves = [("aggregate", (aggregate["x"], aggregate["y"]))]
        for client in model.get("detailed_clients", []) if model.get("n_clients", 0) > 1 else ():
            if _curve((fano["clients"] or {}).get(client)):
                curves.append(
                    (client, (fano["clients"][client]["x"], fano["clients"][client]["y"]))
                )
        scales = aggregate["x"]
        valid = [(x, y) for x, y in zip(scales, aggregate["y"], strict=True) if y is not None]
        reading = "Too few bins for a Fano factor at any scale."
        if valid:
            (x0, y0), (x1, y1) = valid[0], valid[-1]
            verdict = (
                "bursty beyond Poisson at long time scales"
                if y1 > 2
                else "close to Poisson (1) across scales"
                if 0.5 < y1 < 2 and 0.5 < y0 < 2
                else "over- or under-dispersed relative to Poisson (1)"
            )
            reading = (
                f"Aggregate Fano factor {fmt(y0)} at {_duration(x0)} and {fmt(y1)} at "
                f"{_duration(x1)}: {verdict}."
            )
        blocks.append(
            Chart(
                "Index of dispersion of counts",
                figures.lines(
                    "Fano factor of request counts by time scale",
                    "bin width (s)",
                    "Fano factor (variance / mean of counts)",
                    curves,
                    log_x=True,
                    log_y=True,
                    mode="lines+markers",
                    reference=("Poisson (1)", (scales, [1.0] * len(scales))),
                    selector=True,
                ),
                reading,
            )
        )
    return blocks


def clock_ties_blocks(model: ModelStats, inputs: ReportInputs) -> list[Block]:
    """How many of the model's fitted windows had gaps below the clock (the fit stage's count
    in manifest.json): those gaps enter the likelihood censored, not floored."""
    fit = (inputs.manifest.get("stages") or {}).get("fit") or {}
    record = next(
        (
            r
            for r in fit.get("clock_ties") or []
            if (r.get("category"), r.get("model")) == (model.get("category"), model.get("model"))
        ),
        None,
    )
    if record is None:
        return []
    clock, fitted = _tick(record["resolution_s"]), _count(record["windows_fitted"], "fitted window")
    by_ticks = record.get("windows_tick_counts") or 0
    on_ticks = (
        f"{_count(by_ticks, 'window')} with more than one arrival per {clock} tick take their "
        "CV from the dispersion of counts per tick (fits.json status tick_counts)."
    )
    if not record["windows_fitted"]:
        return [Paragraph(f"No window was fitted through its gaps: {on_ticks}")] if by_ticks else []
    if record["windows_with_ties"]:
        text = (
            f"{fmt(record['windows_with_ties'])} of {fitted} were fitted through ties: "
            f"{fmt(record['tied_gaps'])} of all {fmt(record['gaps'])} fitted gaps "
            f"({pct(record['tie_share'])}) fell below the {clock} clock; each enters the "
            "likelihood as censored (shorter than one tick), not as a value."
        )
    else:
        text = (
            f"No gap of the {fitted} ({fmt(record['gaps'])} gaps) fell below the {clock} "
            "clock, so none was fitted through ties."
        )
    matched = record.get("windows_shape_from_sample_cv") or 0
    if matched:
        text += (
            f" {fmt(matched)} of the {fitted} export the shape whose CV is their sample CV: "
            f"it is more than {fmt(fit.get('cv_misfit_ratio'))} times the fitted pattern's CV, "
            "gaps the family's tail cannot produce (fits.json pattern.shape_from is sample_cv)."
        )
    if by_ticks:
        text += f" {on_ticks}"
    return [Paragraph(text)]


def _tick(seconds: float) -> str:
    """A clock resolution as people write it: '1 µs', '10 ms', '3 s'."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"
