"""Assemble the characterization report: sections from the run's JSON artefacts -> one HTML file.

The report renders numbers computed elsewhere (`stats.json` from the characterize stage,
`summary.json` and `manifest.json`); it computes no statistic itself. The sections come
from `reports.sections.SECTIONS`, a list of functions ``(ReportInputs) -> Section | None``.

The HTML works offline and is deterministic: plotly.js is embedded once, figure ids come from
a counter, and nothing in it depends on the clock or the machine.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from pipeline.artefacts import (
    ANOMALIES,
    REPORT,
    STATS,
    STATS_FORMAT,
    SUMMARY,
    TIME_QUALITY,
    VALIDATION,
)
from pipeline.errors import InputError
from pipeline.rundir import RunDir, write_text_atomic
from reports import figures
from reports.blocks import ReportInputs, Section
from reports.figures import Chart
from reports.sections import SECTIONS, SectionFunction


@dataclass(frozen=True, slots=True)
class ReportResult:
    path: Path
    n_bytes: int
    n_figures: int
    seconds: float


def load_inputs(run_dir: RunDir) -> ReportInputs:
    """Read the artefacts the report draws; stats.json is required."""
    stats = run_dir.read_json(STATS, "characterize")
    if stats.get("format") != STATS_FORMAT:
        raise InputError(
            f"{run_dir.path(STATS)} has format {stats.get('format')!r}, not {STATS_FORMAT!r}",
            hint=f"Re-run `servechar characterize --out {run_dir.root}` with this version.",
        )

    def optional(name: str) -> dict[str, Any] | None:
        path = run_dir.path(name)
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    return ReportInputs(
        stats=stats,
        summary=run_dir.read_json(SUMMARY, "ingest"),
        manifest=optional("manifest.json") or {},
        validation=optional(VALIDATION) if run_dir.is_current("validate") else None,
        quirks=optional(TIME_QUALITY),
        anomalies=optional(ANOMALIES) if _anomalies_current(run_dir) else None,
    )


def _anomalies_current(run_dir: RunDir) -> bool:
    """anomalies.json is shown unless the anomalies stage's own stamp says it is stale (an
    earlier ingest); a file placed by hand (no stamp) is shown as it is."""
    stamped = run_dir.stamp_path("anomalies").exists()
    return not stamped or run_dir.is_current("anomalies")


def assemble(inputs: ReportInputs, sections: Sequence[SectionFunction] = SECTIONS) -> list[Section]:
    """Run the section functions and number every section (anchors from a counter)."""
    built = [s for s in (section(inputs) for section in sections) if s is not None]
    counter = iter(range(1, 1_000_000))

    def numbered(section: Section) -> Section:
        anchor = f"s{next(counter)}"  # document order: a section before its children
        return Section(
            section.title,
            section.blocks,
            tuple(numbered(child) for child in section.children),
            anchor,
            section.key,
        )

    return [numbered(s) for s in built]


def render(sections: Sequence[Section], title: str) -> tuple[str, int]:
    """The HTML text and the number of figures in it."""
    charts: dict[str, str] = {}  # figure id -> its script-safe JSON, in page order

    def chart_id(chart: Chart) -> str:
        figure_id = f"fig{len(charts) + 1}"
        charts[figure_id] = figures.figure_json(chart.figure)
        return figure_id

    anchors: dict[str, str] = {}

    def collect(section: Section) -> None:
        if section.key:
            anchors.setdefault(section.key, section.anchor)
        for child in section.children:
            collect(child)

    for section in sections:
        collect(section)
    template = _environment().get_template("report.html.j2")
    html = template.render(
        title=title,
        sections=sections,
        anchor_of=lambda key: anchors.get(key, ""),
        chart_id=chart_id,
        figure_data=charts.__getitem__,
        plotly_js=_plotly_js(),
    )
    return html, len(charts)


def build_report(run_dir: RunDir, out: Path | None = None) -> ReportResult:
    """Write the self-contained HTML report of a characterized run directory.

    Parameters
    ----------
    run_dir
        A run directory where `servechar characterize` has written stats.json.
    out
        Where to write; default ``run_dir / "report.html"``.

    Raises
    ------
    StageOrderError
        stats.json or summary.json is missing.
    InputError
        stats.json is of another format version.
    """
    started = time.perf_counter()
    inputs = load_inputs(run_dir)
    sections = assemble(inputs)
    html, n_figures = render(sections, "Workload characterization")
    html = html.replace("\x00", "\ufffd")  # as HTML parsers read NUL: never a raw NUL byte
    path = write_text_atomic(out or run_dir.path(REPORT), html)
    return ReportResult(path, path.stat().st_size, n_figures, time.perf_counter() - started)


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("reports", "templates"),  # package data, via importlib
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    source = get_plotlyjs()
    # The library is inlined in a <script>; it must not contain the element's end tag.
    if "</script" in source.lower() or "<!--" in source:
        raise RuntimeError("the bundled plotly.js cannot be inlined in a <script> element")
    return source
