"""Report: stats.json, summary.json and manifest.json -> OUT/report.html (see reports/)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports import build_report

if TYPE_CHECKING:
    from pipeline.rundir import RunDir
    from reports import ReportResult


def run(run_dir: RunDir) -> ReportResult:
    """Write the self-contained HTML report and record its size and build time."""
    result = build_report(run_dir)
    run_dir.update_manifest(
        "report",
        {
            "outputs": [str(result.path)],
            "bytes": result.n_bytes,
            "figures": result.n_figures,
            "seconds": round(result.seconds, 3),
        },
    )
    return result
