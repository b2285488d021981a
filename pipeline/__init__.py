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
from typing import TYPE_CHECKING, TypeVar

from pipeline.config import (
    AggregateOptions,
    AnomaliesOptions,
    CharacterizeOptions,
    EngineOptions,
    ExportOptions,
    FitOptions,
    IngestOptions,
)
from pipeline.errors import PipelineError
from pipeline.rundir import RunDir
from pipeline.runlock import locked

if TYPE_CHECKING:  # the stages import duckdb and scipy: only when a stage runs
    from collections.abc import Callable, Mapping

    from pipeline.stages import aggregate, anomalies, characterize, export, fit, ingest
    from reports import ReportResult

# `sample/` of the checkout, installed as the package `pipeline.sample` (see pyproject.toml).
# pip and uv install packages as directories, so this is a file DuckDB can read by its path.
SAMPLE_LOG = Path(str(resources.files("pipeline.sample").joinpath("requests.csv.gz")))


T = TypeVar("T")


@dataclass(frozen=True)
class RunOptions:
    """Options of every stage, as one value."""

    ingest: IngestOptions = field(default_factory=IngestOptions)
    aggregate: AggregateOptions = field(default_factory=AggregateOptions)
    fit: FitOptions = field(default_factory=FitOptions)
    export: ExportOptions = field(default_factory=ExportOptions)
    characterize: CharacterizeOptions = field(default_factory=CharacterizeOptions)
    anomalies: AnomaliesOptions = field(default_factory=AnomaliesOptions)
    engine: EngineOptions = field(default_factory=EngineOptions)


@dataclass(frozen=True)
class RunResult:
    """What `run_all` produced, stage by stage, and how long each stage took."""

    ingest: ingest.IngestResult
    aggregate: aggregate.AggregateResult
    fit: fit.FitStageResult
    export: export.ExportResult
    characterize: characterize.CharacterizeResult
    anomalies: anomalies.AnomaliesResult
    report: ReportResult
    seconds: dict[str, float]


STAGES = ("ingest", "aggregate", "fit", "export", "characterize", "anomalies", "report")
"""The stages `run_all` runs, in order."""


def run_all(
    inputs: list[str],
    out: str | Path,
    options: RunOptions | None = None,
    *,
    on_stage: Callable[[str], None] | None = None,
) -> RunResult:
    """Run ingest, aggregate, fit, export, characterize, anomalies and report; stop at the
    first error.

    The run directory stays locked from the first stage to the last. `on_stage(name)` is
    called as each stage starts (the CLI draws its progress from it).
    """
    with locked(Path(out), create=True):
        return _run_stages(inputs, out, options, on_stage)


def _run_stages(
    inputs: list[str],
    out: str | Path,
    options: RunOptions | None,
    on_stage: Callable[[str], None] | None,
    *,
    ingest_step: Callable[[RunDir], ingest.IngestResult] | None = None,
    stored_parts: Mapping[str, Path] | None = None,
    window_cache: Path | None = None,
) -> RunResult:
    """The stages in order. `ingest_step` replaces the ingest stage (a refresh assembles the
    request table from its store), `stored_parts` are summaries aggregate may reuse, and
    `window_cache` earlier window fits the fit stage may reuse."""
    from pipeline.stages import aggregate, anomalies, characterize, export, fit, ingest, report

    options = options or RunOptions()
    run_dir = RunDir(Path(out))
    seconds: dict[str, float] = {}

    def timed(stage: str, work: Callable[[], T]) -> T:
        if on_stage is not None:
            on_stage(stage)
        started = time.perf_counter()
        result = work()
        seconds[stage] = time.perf_counter() - started
        return result

    ingested = timed(
        "ingest",
        lambda: (
            ingest_step(run_dir)
            if ingest_step
            else ingest.run(run_dir, inputs, options.ingest, options.engine)
        ),
    )
    aggregated = timed(
        "aggregate",
        lambda: aggregate.run(
            run_dir, options.aggregate, options.engine, stored_parts=stored_parts
        ),
    )
    fitted = timed(
        "fit", lambda: fit.run(run_dir, options.fit, window_cache, options.engine.threads)
    )
    exported = timed("export", lambda: export.run(run_dir, options.export))
    characterize_options, anomalies_options = options.characterize, options.anomalies
    if options.export.anonymize:  # stats.json and anomalies.json use the profiles' pseudonyms
        pseudonyms = {"anonymize": True, "salt": options.export.salt}
        characterize_options = characterize_options.model_copy(update=pseudonyms)
        anomalies_options = anomalies_options.model_copy(update=pseudonyms)
    characterized = timed(
        "characterize", lambda: characterize.run(run_dir, characterize_options, options.engine)
    )
    found = timed("anomalies", lambda: anomalies.run(run_dir, anomalies_options, options.engine))
    reported = timed("report", lambda: report.run(run_dir))
    return RunResult(
        ingested, aggregated, fitted, exported, characterized, found, reported, seconds
    )


__all__ = [
    "SAMPLE_LOG",
    "STAGES",
    "AggregateOptions",
    "AnomaliesOptions",
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
