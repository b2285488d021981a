"""The characterization report: the run's statistics as one self-contained HTML file."""

from reports.build import ReportInputs, ReportResult, Section, build_report

__all__ = ["ReportInputs", "ReportResult", "Section", "build_report"]
