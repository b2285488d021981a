"""The characterization report: the run's statistics as one self-contained HTML file."""

from reports.blocks import ReportInputs, Section
from reports.build import ReportResult, build_report

__all__ = ["ReportInputs", "ReportResult", "Section", "build_report"]
