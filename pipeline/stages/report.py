"""Report: stats.json, summary.json and manifest.json -> OUT/report.html (see reports/)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from pipeline.artefacts import REPORT
from pipeline.rundir import RunDir, stage
from reports import build_report

if TYPE_CHECKING:
    from reports import ReportResult


def _made_of(arguments: dict[str, Any]) -> dict[str, Any]:
    """The report draws validation.json and anomalies.json when they are current: their
    fingerprints are part of it."""
    run_dir: RunDir = arguments["run_dir"]
    return {
        stage: run_dir.fingerprint(stage) if run_dir.is_current(stage) else None
        for stage in ("validate", "anomalies")
    }


@stage("report", material=_made_of)
def run(run_dir: RunDir) -> ReportResult:
    """Write the self-contained HTML report and record its size and build time."""
    result = build_report(run_dir, run_dir.output(REPORT))
    result = dataclasses.replace(result, path=run_dir.path(REPORT))
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
