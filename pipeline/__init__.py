"""servechar: LLM-serving request logs -> workload characterization and ServeGen profiles.

The pipeline is a library; the `servechar` command is one client of it::

    from pipeline import run_all, RunOptions
    run_all(["logs/*.csv.gz"], "out", RunOptions())
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config import (
    AggregateOptions,
    CharacterizeOptions,
    EngineOptions,
    ExportOptions,
    FitOptions,
    IngestOptions,
)
from pipeline.errors import PipelineError
from pipeline.rundir import RunDir

if TYPE_CHECKING:  # the stages import duckdb and scipy: only when a stage runs
    from pipeline.stages import aggregate, characterize, export, fit, ingest
    from reports import ReportResult

# `sample/` of the checkout, installed as the package `pipeline.sample` (see pyproject.toml).
# pip and uv install packages as directories, so this is a file DuckDB can read by its path.
SAMPLE_LOG = Path(str(resources.files("pipeline.sample").joinpath("requests.csv.gz")))


@dataclass(frozen=True)
class RunOptions:
    """Options of every stage, as one value."""

    ingest: IngestOptions = field(default_factory=IngestOptions)
    aggregate: AggregateOptions = field(default_factory=AggregateOptions)
    fit: FitOptions = field(default_factory=FitOptions)
    export: ExportOptions = field(default_factory=ExportOptions)
    characterize: CharacterizeOptions = field(default_factory=CharacterizeOptions)
    engine: EngineOptions = field(default_factory=EngineOptions)


@dataclass(frozen=True)
class RunResult:
    """What `run_all` produced, stage by stage, and how long each stage took."""

    ingest: ingest.IngestResult
    aggregate: aggregate.AggregateResult
    fit: fit.FitStageResult
    export: export.ExportResult
    characterize: characterize.CharacterizeResult
    report: ReportResult
    seconds: dict[str, float]


def run_all(inputs: list[str], out: str | Path, options: RunOptions | None = None) -> RunResult:
    """Run ingest, aggregate, fit, export, characterize and report; stop at the first error."""
    from pipeline.stages import aggregate, characterize, export, fit, ingest, report

    options = options or RunOptions()
    run_dir = RunDir(Path(out))
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    ingested = ingest.run(run_dir, inputs, options.ingest, options.engine)
    seconds["ingest"] = time.perf_counter() - started

    started = time.perf_counter()
    aggregated = aggregate.run(run_dir, options.aggregate, options.engine)
    seconds["aggregate"] = time.perf_counter() - started

    started = time.perf_counter()
    fitted = fit.run(run_dir, options.fit)
    seconds["fit"] = time.perf_counter() - started

    started = time.perf_counter()
    exported = export.run(run_dir, options.export)
    seconds["export"] = time.perf_counter() - started

    started = time.perf_counter()
    characterize_options = options.characterize
    if options.export.anonymize:  # stats.json names clients by the profiles' pseudonyms
        characterize_options = characterize_options.model_copy(
            update={"anonymize": True, "salt": options.export.salt}
        )
    characterized = characterize.run(run_dir, characterize_options, options.engine)
    seconds["characterize"] = time.perf_counter() - started

    started = time.perf_counter()
    reported = report.run(run_dir)
    seconds["report"] = time.perf_counter() - started
    return RunResult(ingested, aggregated, fitted, exported, characterized, reported, seconds)


__all__ = [
    "SAMPLE_LOG",
    "AggregateOptions",
    "CharacterizeOptions",
    "EngineOptions",
    "ExportOptions",
    "FitOptions",
    "IngestOptions",
    "PipelineError",
    "RunDir",
    "RunOptions",
    "RunResult",
    "run_all",
]
