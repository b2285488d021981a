"""The fidelity scorecard of `servechar validate` (validation.json)."""

from __future__ import annotations

from reports.blocks import Paragraph, ReportInputs, Section
from reports.figures import Chart
from reports.tables import Table


def validation_section(inputs: ReportInputs) -> Section | None:
    """The fidelity scorecard of `servechar validate` (reports.validation builds its parts)."""
    if inputs.validation is None:
        return None
    from reports.validation import validation_section as fidelity

    built = fidelity(inputs.validation)
    intro = Paragraph(
        "Workloads generated from the exported per-client profiles and from a naive baseline "
        "(Poisson arrivals at each window's aggregate rate, lengths from the pooled "
        "distribution) scored against the log: the closer to the real column, the better. "
        "Capacity is the token throughput a FIFO server needs to keep the p99 queueing delay "
        "under the target; a negative under-provisioning means over-provisioned."
    )
    scorecard = Table(
        "Scorecard",
        built.table_headers,
        tuple(tuple(row) for row in built.table_rows),
        tuple(i >= 2 for i in range(len(built.table_headers))),
    )
    charts = tuple(Chart(title, figure, reading) for title, figure, reading in built.figures)
    return Section(built.title, (intro, scorecard, *charts), key="validation")
