"""The `servechar` command: thin typed adapters over the pipeline's stage functions.

stdout carries only results (paths, one per line); progress and errors go to stderr.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline import SAMPLE_LOG, RunOptions, run_all
from pipeline.config import (
    AggregateOptions,
    CharacterizeOptions,
    EngineOptions,
    ExportOptions,
    FitOptions,
    IngestOptions,
    parse_pairs,
    read_map_file,
    validated,
)
from pipeline.errors import OUT_OF_MEMORY_HINT, PipelineError
from pipeline.rundir import RunDir

if TYPE_CHECKING:
    from collections.abc import Iterator

app = typer.Typer(
    help="Characterize LLM-serving request logs and fit per-client ServeGen workload profiles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Run directory for every artefact.")]
InputsArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Log files, globs or directories (CSV/TSV/JSONL/Parquet, plain, .gz or .zst).",
        show_default=False,
    ),
]
MapOpt = Annotated[
    list[str] | None,
    typer.Option("--map", help="CANONICAL=THEIRS column mapping (repeatable)."),
]
MapFileOpt = Annotated[
    Path | None, typer.Option("--map-file", help='TOML mapping file: timestamp = "created_at".')
]
TimeUnitOpt = Annotated[
    str | None,
    typer.Option(
        "--time-unit",
        help="Unit of numeric timestamps: s, ms, us or ns (default: preset's, or s).",
    ),
]
PresetOpt = Annotated[
    str | None,
    typer.Option("--preset", help="Known log format (see `servechar presets`)."),
]
ClientKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--client-key",
        help="Column (or preset alias such as session_id, log_type) that identifies clients.",
    ),
]
TzOpt = Annotated[str, typer.Option("--tz", help="Time zone of naive ISO-8601 timestamps.")]
AmbiguousOpt = Annotated[
    str,
    typer.Option(
        "--ambiguous",
        help="A naive --tz time that occurs twice (DST overlap): reject, earliest or latest.",
    ),
]
ModelOpt = Annotated[
    str | None, typer.Option("--model", help="Model name for files without a model column.")
]
CategoryOpt = Annotated[
    list[str] | None,
    typer.Option("--category", help="MODEL=language|multimodal|reason override (repeatable)."),
]
MaxRejectOpt = Annotated[
    float,
    typer.Option("--max-reject-fraction", help="Stop when a larger share of rows is rejected."),
]
WindowOpt = Annotated[int, typer.Option("--window", help="Trace window length in seconds.")]
DatasetWindowOpt = Annotated[
    int,
    typer.Option("--dataset-window", help="Dataset window in seconds (a multiple of --window)."),
]
OriginOpt = Annotated[
    str | None,
    typer.Option("--origin", help="Time origin (ISO-8601 or epoch s); default: UTC midnight."),
]
MaxSpanOpt = Annotated[
    float, typer.Option("--max-span-days", help="Refuse logs spanning more days than this.")
]
MinRequestsOpt = Annotated[
    int, typer.Option("--min-requests", help="Requests a window needs for its own fit.")
]
AnonymizeOpt = Annotated[
    bool, typer.Option("--anonymize", help="Replace client ids with salted hashes.")
]
SaltOpt = Annotated[
    str | None,
    typer.Option("--salt", envvar="SERVECHAR_SALT", help="Salt for --anonymize."),
]
TopClientsOpt = Annotated[
    int, typer.Option("--top-clients", help="Clients per model with detailed curves.")
]
SampleCapOpt = Annotated[
    int, typer.Option("--sample-cap", help="Most values per model a distribution fit uses.")
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the fits' deterministic samples.")]
ThreadsOpt = Annotated[int | None, typer.Option("--threads", help="DuckDB threads.")]
MemoryOpt = Annotated[str, typer.Option("--memory-limit", help="DuckDB memory limit.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")]


@contextmanager
def reported_errors(debug: bool) -> Iterator[None]:
    """The single place where user errors become `Error:`/`Hint:` lines and exit status 1."""
    try:
        yield
    except PipelineError as exc:
        if debug:
            raise
        _report(exc.message, exc.hint)
    except Exception as exc:
        import duckdb  # lazily: a stage that ran has imported it already

        if debug or not isinstance(exc, duckdb.OutOfMemoryException):
            raise
        _report(f"out of memory: {str(exc).splitlines()[0]}", OUT_OF_MEMORY_HINT)


def _report(message: str, hint: str | None) -> None:
    typer.echo(f"Error: {message}", err=True)
    if hint:
        typer.echo(f"Hint: {hint}", err=True)
    raise typer.Exit(1)


def echo_paths(*paths: Path) -> None:
    for path in paths:
        typer.echo(str(path))


def _ingest_options(
    column_map: list[str] | None,
    map_file: Path | None,
    time_unit: str | None,
    tz: str,
    model: str | None,
    category: list[str] | None,
    max_reject_fraction: float,
    preset: str | None = None,
    client_key: str | None = None,
    ambiguous: str = "reject",
) -> IngestOptions:
    mapping = read_map_file(map_file) if map_file else {}
    mapping.update(parse_pairs(column_map, "--map"))
    return validated(
        IngestOptions,
        column_map=mapping,
        time_unit=time_unit,
        tz=tz,
        default_model=model,
        category_overrides=parse_pairs(category, "--category"),
        max_reject_fraction=max_reject_fraction,
        preset=preset,
        client_key=client_key,
        ambiguous=ambiguous,
    )


def _aggregate_options(
    window: int, dataset_window: int, origin: str | None, max_span_days: float
) -> AggregateOptions:
    return validated(
        AggregateOptions,
        window_s=window,
        dataset_window_s=dataset_window,
        origin=origin,
        max_span_days=max_span_days,
    )


def _engine_options(threads: int | None, memory_limit: str) -> EngineOptions:
    return validated(EngineOptions, threads=threads, memory_limit=memory_limit)


@app.command()
def run(
    inputs: InputsArg = None,
    out: OutOpt = Path("out"),
    column_map: MapOpt = None,
    map_file: MapFileOpt = None,
    time_unit: TimeUnitOpt = None,
    tz: TzOpt = "UTC",
    model: ModelOpt = None,
    category: CategoryOpt = None,
    max_reject_fraction: MaxRejectOpt = 0.05,
    preset: PresetOpt = None,
    client_key: ClientKeyOpt = None,
    ambiguous: AmbiguousOpt = "reject",
    window: WindowOpt = 600,
    dataset_window: DatasetWindowOpt = 21600,
    origin: OriginOpt = None,
    max_span_days: MaxSpanOpt = 366.0,
    min_requests: MinRequestsOpt = 10,
    anonymize: AnonymizeOpt = False,
    salt: SaltOpt = None,
    top_clients: TopClientsOpt = 10,
    sample_cap: SampleCapOpt = 200_000,
    seed: SeedOpt = 0,
    threads: ThreadsOpt = None,
    memory_limit: MemoryOpt = "2GB",
    debug: DebugOpt = False,
) -> None:
    """Run every stage, ingest to report. Without INPUT, uses the bundled sample."""
    with reported_errors(debug):
        options = RunOptions(
            ingest=_ingest_options(
                column_map,
                map_file,
                time_unit,
                tz,
                model,
                category,
                max_reject_fraction,
                preset,
                client_key,
                ambiguous,
            ),
            aggregate=_aggregate_options(window, dataset_window, origin, max_span_days),
            fit=validated(FitOptions, min_requests=min_requests),
            export=validated(ExportOptions, anonymize=anonymize, salt=salt),
            characterize=validated(
                CharacterizeOptions, top_clients=top_clients, sample_cap=sample_cap, seed=seed
            ),
            engine=_engine_options(threads, memory_limit),
        )
        result = run_all(inputs or [str(SAMPLE_LOG)], out, options)
    typer.echo(
        f"{result.ingest.rows_read:,} rows read, {result.ingest.rows_accepted:,} accepted, "
        f"{result.ingest.rows_rejected:,} rejected; {result.export.n_clients} clients in "
        f"{result.export.n_models} models; "
        + ", ".join(f"{k} {v:.1f}s" for k, v in result.seconds.items()),
        err=True,
    )
    echo_paths(
        result.export.profiles,
        result.export.clients,
        result.export.fits,
        result.ingest.summary,
        result.ingest.rejects,
        result.characterize.stats,
        result.report.path,
    )


@app.command()
def ingest(
    inputs: InputsArg = None,
    out: OutOpt = Path("out"),
    column_map: MapOpt = None,
    map_file: MapFileOpt = None,
    time_unit: TimeUnitOpt = None,
    tz: TzOpt = "UTC",
    model: ModelOpt = None,
    category: CategoryOpt = None,
    max_reject_fraction: MaxRejectOpt = 0.05,
    preset: PresetOpt = None,
    client_key: ClientKeyOpt = None,
    ambiguous: AmbiguousOpt = "reject",
    threads: ThreadsOpt = None,
    memory_limit: MemoryOpt = "2GB",
    debug: DebugOpt = False,
) -> None:
    """Read and check log files: requests, rejects.csv and summary.json."""
    from pipeline.stages import ingest as ingest_stage

    with reported_errors(debug):
        options = _ingest_options(
            column_map,
            map_file,
            time_unit,
            tz,
            model,
            category,
            max_reject_fraction,
            preset,
            client_key,
            ambiguous,
        )
        engine = _engine_options(threads, memory_limit)
        result = ingest_stage.run(RunDir(out), inputs or [str(SAMPLE_LOG)], options, engine)
    echo_paths(result.staged, result.rejects, result.summary)


@app.command()
def aggregate(
    out: OutOpt = Path("out"),
    window: WindowOpt = 600,
    dataset_window: DatasetWindowOpt = 21600,
    origin: OriginOpt = None,
    max_span_days: MaxSpanOpt = 366.0,
    threads: ThreadsOpt = None,
    memory_limit: MemoryOpt = "2GB",
    debug: DebugOpt = False,
) -> None:
    """Per client-window arrival statistics and per dataset-window distributions."""
    from pipeline.stages import aggregate as aggregate_stage

    with reported_errors(debug):
        options = _aggregate_options(window, dataset_window, origin, max_span_days)
        engine = _engine_options(threads, memory_limit)
        result = aggregate_stage.run(RunDir(out), options, engine)
    echo_paths(result.trace_windows, result.interarrivals, result.distributions, result.meta)


@app.command()
def fit(
    out: OutOpt = Path("out"),
    min_requests: MinRequestsOpt = 10,
    debug: DebugOpt = False,
) -> None:
    """Fit arrival families per window and per client; choose exported patterns."""
    from pipeline.stages import fit as fit_stage

    with reported_errors(debug):
        options = validated(FitOptions, min_requests=min_requests)
        result = fit_stage.run(RunDir(out), options)
    echo_paths(result.window_fits, result.client_fits)


@app.command()
def export(
    out: OutOpt = Path("out"),
    anonymize: AnonymizeOpt = False,
    salt: SaltOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Write ServeGen profiles, profiles/clients.csv and fits.json."""
    from pipeline.stages import export as export_stage

    with reported_errors(debug):
        options = validated(ExportOptions, anonymize=anonymize, salt=salt)
        result = export_stage.run(RunDir(out), options)
    echo_paths(result.profiles, result.clients, result.fits)


@app.command()
def presets() -> None:
    """List the known log formats and the columns each expects."""
    from pipeline.presets import describe_presets

    for line in describe_presets():
        typer.echo(line)


@app.command()
def inspect(
    file: Annotated[str, typer.Argument(help="One log file.", show_default=False)],
    preset: PresetOpt = None,
    column_map: MapOpt = None,
    time_unit: TimeUnitOpt = None,
    model: ModelOpt = None,
    client_key: ClientKeyOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Show a log's columns, matching presets, time span, resolution and parsed rows."""
    from pipeline.inspection import describe, inspect_file

    with reported_errors(debug):
        options = _ingest_options(
            column_map, None, time_unit, "UTC", model, None, 1.0, preset, client_key
        )
        found = inspect_file(file, options)
    for line in describe(found):
        typer.echo(line)


@app.command()
def generate(
    out: Annotated[Path, typer.Argument(help="Run directory with exported profiles.")],
    duration: Annotated[float, typer.Option("--duration", help="Seconds to generate.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV trace to write.")] = Path(
        "requests.csv"
    ),
    start: Annotated[
        float, typer.Option("--start", help="First second (since the profile origin).")
    ] = 0.0,
    scale: Annotated[
        float | None, typer.Option("--scale", help="Multiply every window's rate.")
    ] = None,
    rate_fn: Annotated[
        Path | None,
        typer.Option("--rate-fn", help="CSV window_start_s,rate_rps: aggregate target rate."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    faithful: Annotated[
        bool, typer.Option("--faithful", help="One shared uniform per request (as ServeGen).")
    ] = False,
    debug: DebugOpt = False,
) -> None:
    """Generate a replayable request trace from OUT's profiles (per-client composition)."""
    from pipeline import generate as generate_module

    with reported_errors(debug):
        result = generate_module.run(
            RunDir(out),
            output,
            duration_s=duration,
            start_s=start,
            scale=scale,
            rate_fn_path=rate_fn,
            seed=seed,
            faithful=faithful,
        )
    typer.echo(f"{result.n_requests:,} requests", err=True)
    echo_paths(result.trace)


@app.command()
def validate(
    out: Annotated[Path, typer.Argument(help="Run directory of a finished `servechar run`.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    faithful: Annotated[
        bool, typer.Option("--faithful", help="One shared uniform per request (as ServeGen).")
    ] = False,
    target_p99: Annotated[
        float, typer.Option("--target-p99", help="Queueing-delay target (s) of the capacity model.")
    ] = 2.0,
    train_until: Annotated[
        str | None,
        typer.Option("--train-until", help="Fit before this time, score after (ISO-8601/epoch s)."),
    ] = None,
    top_clients: Annotated[
        int, typer.Option("--top-clients", help="Clients scored one by one, per model.")
    ] = 5,
    threads: ThreadsOpt = None,
    memory_limit: MemoryOpt = "2GB",
    debug: DebugOpt = False,
) -> None:
    """Score per-client and naive generated workloads against the real log: validation.json."""
    from pipeline import validate as validate_module

    with reported_errors(debug):
        options = validate_module.ValidateOptions(
            seed=seed,
            faithful=faithful,
            target_p99_s=target_p99,
            train_until=train_until,
            top_clients=top_clients,
        )
        result = validate_module.run(RunDir(out), options, _engine_options(threads, memory_limit))
    for model in result.models:
        under = model["capacity"]["under_provisioning_pct"]
        typer.echo(
            f"{model['model']}: naive under-provisions by {under['naive']:.1f}%, "
            f"per-client by {under['generated']:.1f}%",
            err=True,
        )
    echo_paths(*(p for p in (result.path, result.report) if p is not None))


@app.command()
def whatif(
    out: Annotated[Path, typer.Argument(help="Run directory with exported profiles.")],
    scale: Annotated[float, typer.Option("--scale", help="Multiple of the observed rate.")] = 1.0,
    rpm: Annotated[
        float | None, typer.Option("--rpm", help="Requests per minute per client (quota).")
    ] = None,
    tpm: Annotated[
        float | None, typer.Option("--tpm", help="Tokens per minute per client (quota).")
    ] = None,
    target_share: Annotated[
        float, typer.Option("--target-share", help="429 share the searched quota must meet.")
    ] = 0.01,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    start: Annotated[
        float, typer.Option("--start", help="First second (since the profile origin).")
    ] = 0.0,
    duration: Annotated[
        float | None, typer.Option("--duration", help="Seconds to replay (default: all).")
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Replay the generated workload at --scale against RPM/TPM quotas: whatif.json."""
    import math

    from pipeline import whatif as whatif_module

    with reported_errors(debug):
        options = whatif_module.WhatifOptions(
            scale=scale,
            rpm=math.inf if rpm is None else rpm,
            tpm=math.inf if tpm is None else tpm,
            target_share=target_share,
            seed=seed,
            start_s=start,
            duration_s=duration,
        )
        result = whatif_module.run(RunDir(out), options)
    for model in result.models:
        found = model["quota_for_target"] or {}
        typer.echo(
            f"{model['model']}: {model['rejected_share']:.1%} of {model['n_requests']:,} "
            f"requests rate-limited; under {target_share:.1%} needs rpm {found.get('rpm', 0):,.0f} "
            f"or tpm {found.get('tpm', 0):,.0f} alone, or {found.get('scale', 0):.3g}x both",
            err=True,
        )
    echo_paths(result.path)


@app.command()
def characterize(
    out: OutOpt = Path("out"),
    top_clients: TopClientsOpt = 10,
    sample_cap: SampleCapOpt = 200_000,
    seed: SeedOpt = 0,
    anonymize: AnonymizeOpt = False,
    salt: SaltOpt = None,
    threads: ThreadsOpt = None,
    memory_limit: MemoryOpt = "2GB",
    debug: DebugOpt = False,
) -> None:
    """Workload statistics behind the report: stats.json (see docs/stats.md)."""
    from pipeline.stages import characterize as characterize_stage

    with reported_errors(debug):
        options = validated(
            CharacterizeOptions,
            top_clients=top_clients,
            sample_cap=sample_cap,
            seed=seed,
            anonymize=anonymize,
            salt=salt,
        )
        engine = _engine_options(threads, memory_limit)
        result = characterize_stage.run(RunDir(out), options, engine)
    echo_paths(result.stats)


@app.command()
def report(
    run_dir: Annotated[
        Path | None,
        typer.Argument(help="Run directory (the same as --out).", show_default=False),
    ] = None,
    out: OutOpt = Path("out"),
    debug: DebugOpt = False,
) -> None:
    """Write report.html: the characterization as one self-contained HTML file."""
    from pipeline.stages import report as report_stage

    with reported_errors(debug):
        result = report_stage.run(RunDir(run_dir or out))
    typer.echo(f"{result.n_figures} figures, {result.n_bytes:,} bytes", err=True)
    echo_paths(result.path)


def main() -> None:
    """Entry point of the `servechar` console script."""
    app()
