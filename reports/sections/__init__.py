"""The report's sections: pure functions from the run's parsed artefacts to `Section`s.

Each top-level section is ``(ReportInputs) -> Section | None`` (``None``: nothing to say for
this run) and `SECTIONS` lists them in page order, so a new artefact (validation, quirks,
...) gets its section with one line. Every number shown comes from `stats.json`,
`summary.json` or `manifest.json`; readings under the figures quote those numbers, and a
statistic the run lacks becomes an `Unavailable` note with the reason.
"""

from __future__ import annotations

from collections.abc import Callable

from reports.blocks import ReportInputs, Section
from reports.findings import findings_section
from reports.sections.common import TABLE_ROWS
from reports.sections.methods import methods_section
from reports.sections.models import model_section, models_section
from reports.sections.overview import overview_section
from reports.sections.time_quality import time_quality_section
from reports.sections.validation import validation_section

SectionFunction = Callable[[ReportInputs], Section | None]
SECTIONS: tuple[SectionFunction, ...] = (
    findings_section,
    overview_section,
    time_quality_section,
    models_section,
    validation_section,
    methods_section,
)

__all__ = [
    "SECTIONS",
    "TABLE_ROWS",
    "SectionFunction",
    "methods_section",
    "model_section",
    "models_section",
    "overview_section",
    "time_quality_section",
    "validation_section",
]
