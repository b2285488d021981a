"""The `servechar` command: thin typed adapters over the pipeline's stage functions.

stdout carries only results (paths, one per line); progress and errors go to stderr.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipeline import SAMPLE_LOG, STAGES, RunOptions, run_all
from pipeline.config import (
    AggregateOptions,
    AnomaliesOptions,
    CharacterizeOptions,
    EngineOptions,
    ExportOptions,
    FitOptions,
    IngestOptions,
    parse_pairs,
    read_map_file,
    validated,
)
from pipeline.errors import OUT_OF_MEMORY_HINT, ConfigError, PipelineError
from pipeline.progress import diff_summary, print_run_summary, print_table, stage_progress
from pipeline.rundir import RunDir, disk_errors

if TYPE_CHECKING:
    from collections.abc import Iterator

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain help: flags show as flags (`--anonymize`), not as `--anonymize <bool>`
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"servechar {version('servechar')}")
        raise typer.Exit


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Characterize LLM-serving request logs and fit per-client ServeGen workload profiles."""


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
    int,
    typer.Option(
        "--sample-cap",
        help="Most values per model a distribution fit uses (the shared sample has 200,000).",
    ),
]
SeedOpt = Annotated[
    int,
    typer.Option(
        "--seed", help="Seed of the shared sample: the aggregate stage's (0) where the cap samples."
    ),
]
ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        "--threads",
        help="Threads: DuckDB's, and at most this many fit or characterize threads.",
    ),
]
MemoryOpt = Annotated[
    str,
    typer.Option(
        "--memory-limit",
        help="Memory budget of the process (DuckDB gets 60 % of it and spills the "
        "rest to OUT/.tmp).",
    ),
]
EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        help="Where the row checks and the per-day summaries run: duckdb, or spark "
        "(pip install 'servechar[spark]'; docs/spark.md). Same outputs either way.",
    ),
]
SparkMasterOpt = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        help="With --engine spark: local[*] (default), spark://host:7077, yarn, k8s://..., "
        "or a Spark Connect URL sc://host:15002.",
    ),
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")]
QuietOpt = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress or summary on stderr (errors still show)."),
]


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


def echo_warnings(warnings: tuple[str, ...]) -> None:
    """Warnings go to stderr even with --quiet: they are about the output, not progress."""
    for warning in warnings:
        typer.echo(f"Warning: {warning}", err=True)


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


def _engine_options(
    threads: int | None,
    memory_limit: str,
    engine: str = "duckdb",
    spark_master: str | None = None,
) -> EngineOptions:
    """The engine settings; `--engine spark` without pyspark stops here, before any stage."""
    options = validated(
        EngineOptions,
        threads=threads,
        memory_limit=memory_limit,
        engine=engine,
        spark_master=spark_master,
    )
    if options.engine == "spark":
        from pipeline.spark.session import require_pyspark

        require_pyspark()
    elif spark_master is not None:
        raise ConfigError(
            f"--spark-master {spark_master} is given, but the engine is {options.engine}",
            hint="Add --engine spark, or leave --spark-master out.",
        )
    return options


def _run_options(params: dict[str, Any]) -> RunOptions:
    """Every stage's options from the parameters of the `run` or `refresh` command, by name
    (the two share their option names; refresh has no --origin or --max-span-days)."""
    p = params
    return RunOptions(
        ingest=_ingest_options(
            p["column_map"],
            p["map_file"],
            p["time_unit"],
            p["tz"],
            p["model"],
            p["category"],
            p["max_reject_fraction"],
            p["preset"],
            p["client_key"],
            p["ambiguous"],
        ),
        aggregate=_aggregate_options(
            p["window"], p["dataset_window"], p.get("origin"), p.get("max_span_days", 366.0)
        ),
        fit=validated(FitOptions, min_requests=p["min_requests"]),
        export=validated(ExportOptions, anonymize=p["anonymize"], salt=p["salt"]),
        characterize=validated(
            CharacterizeOptions,
            top_clients=p["top_clients"],
            sample_cap=p["sample_cap"],
            seed=p["seed"],
        ),
        anomalies=validated(AnomaliesOptions, top_clients=p["top_clients"]),
        engine=_engine_options(p["threads"], p["memory_limit"], p["engine"], p["spark_master"]),
    )


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
    engine: EngineOpt = "duckdb",
    spark_master: SparkMasterOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Run every stage, ingest to report. Without INPUT, uses the bundled sample."""
    params = locals()  # the options by name, before anything else is bound
    with reported_errors(debug):
        options = _run_options(params)
        with stage_progress(STAGES, quiet=quiet) as on_stage:
            result = run_all(inputs or [str(SAMPLE_LOG)], out, options, on_stage=on_stage)
    if not quiet:
        print_run_summary(result)
    echo_warnings(result.export.warnings)
    echo_paths(
        result.export.profiles,
        result.export.clients,
        result.export.fits,
        result.ingest.summary,
        result.ingest.rejects,
        result.characterize.stats,
        result.anomalies.path,
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
    engine: EngineOpt = "duckdb",
    spark_master: SparkMasterOpt = None,
    quiet: QuietOpt = False,
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
        engine_options = _engine_options(threads, memory_limit, engine, spark_master)
        with stage_progress(["ingest"], quiet=quiet):
            result = ingest_stage.run(
                RunDir(out), inputs or [str(SAMPLE_LOG)], options, engine_options
            )
    echo_paths(result.requests, result.rejects, result.summary)


@app.command()
def aggregate(
    out: OutOpt = Path("out"),
    window: WindowOpt = 600,
    dataset_window: DatasetWindowOpt = 21600,
    origin: OriginOpt = None,
    max_span_days: MaxSpanOpt = 366.0,
    threads: ThreadsOpt = None,
    memory_limit: MemoryOpt = "2GB",
    engine: EngineOpt = "duckdb",
    spark_master: SparkMasterOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Per client-window arrival statistics and per dataset-window distributions."""
    from pipeline.stages import aggregate as aggregate_stage

    with reported_errors(debug):
        options = _aggregate_options(window, dataset_window, origin, max_span_days)
        engine_options = _engine_options(threads, memory_limit, engine, spark_master)
        with stage_progress(["aggregate"], quiet=quiet):
            result = aggregate_stage.run(RunDir(out), options, engine_options)
    echo_paths(result.trace_windows, result.interarrivals, result.distributions, result.meta)


@app.command()
def fit(
    out: OutOpt = Path("out"),
    min_requests: MinRequestsOpt = 10,
    threads: ThreadsOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Fit arrival families per window and per client; choose exported patterns."""
    from pipeline.stages import fit as fit_stage

    with reported_errors(debug):
        options = validated(FitOptions, min_requests=min_requests)
        threads = validated(EngineOptions, threads=threads).threads  # > 0, as for the others
        with stage_progress(["fit"], quiet=quiet):
            result = fit_stage.run(RunDir(out), options, threads=threads)
    echo_paths(result.window_fits, result.client_fits)


@app.command()
def export(
    out: OutOpt = Path("out"),
    anonymize: AnonymizeOpt = False,
    salt: SaltOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Write ServeGen profiles, profiles/clients.csv and fits.json."""
    from pipeline.stages import export as export_stage

    with reported_errors(debug):
        options = validated(ExportOptions, anonymize=anonymize, salt=salt)
        with stage_progress(["export"], quiet=quiet):
            result = export_stage.run(RunDir(out), options)
    echo_warnings(result.warnings)
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
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Trace file to write (default requests.csv; requests.jsonl for JSON Lines).",
        ),
    ] = None,
    trace_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="servechar (CSV, every field), mooncake (AIPerf), sglang, guidellm, "
            "inference-perf, blis (header .yaml beside the .csv); see README.",
        ),
    ] = "servechar",
    start: Annotated[
        float | None,
        typer.Option(
            "--start",
            help="First second since the profile origin (default: the first profiled window).",
            show_default=False,
        ),
    ] = None,
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
            trace_format=trace_format,
        )
    typer.echo(f"{result.n_requests:,} requests from {result.start_s:g} s", err=True)
    if result.dropped:
        typer.echo(
            f"Warning: --format {result.format} cannot carry {', '.join(result.dropped)}; "
            "those fields are not in the trace (--format servechar keeps every field).",
            err=True,
        )
    for warning in result.warnings:
        typer.echo(f"Warning: {warning}", err=True)
    echo_paths(*result.files)


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
    quiet: QuietOpt = False,
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
        engine = _engine_options(threads, memory_limit)
        with stage_progress(["validate"], quiet=quiet):
            result = validate_module.run(RunDir(out), options, engine)
    for model in result.models if not quiet else ():
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
    quiet: QuietOpt = False,
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
        with stage_progress(["whatif"], quiet=quiet):
            result = whatif_module.run(RunDir(out), options)
    for model in result.models if not quiet else ():
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
    quiet: QuietOpt = False,
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
        with stage_progress(["characterize"], quiet=quiet):
            result = characterize_stage.run(RunDir(out), options, engine)
    echo_paths(result.stats)


@app.command()
def anomalies(
    out: Annotated[Path, typer.Argument(help="Run directory of a finished `servechar run`.")],
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Score only from this instant (ISO-8601/epoch s), against the earlier baseline.",
        ),
    ] = None,
    bin_minutes: Annotated[
        int, typer.Option("--bin-minutes", help="Minutes per bin (a divisor of 60).")
    ] = 5,
    top_clients: Annotated[
        int, typer.Option("--top-clients", help="Clients per model scored one by one.")
    ] = 10,
    min_requests: Annotated[
        int,
        typer.Option("--min-requests", help="Requests a bin needs for its error share/latency."),
    ] = 20,
    anonymize: AnonymizeOpt = False,
    salt: SaltOpt = None,
    threads: ThreadsOpt = None,
    memory_limit: MemoryOpt = "2GB",
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Spikes, dips, level shifts and outages per model and top client: anomalies.json."""
    from pipeline.stages import anomalies as anomalies_stage

    with reported_errors(debug):
        options = validated(
            AnomaliesOptions,
            since=since,
            bin_minutes=bin_minutes,
            top_clients=top_clients,
            min_requests=min_requests,
            anonymize=anonymize,
            salt=salt,
        )
        engine = _engine_options(threads, memory_limit)
        with stage_progress(["anomalies"], quiet=quiet):
            result = anomalies_stage.run(RunDir(out), options, engine)
    if not quiet:
        typer.echo(f"{result.n_events:,} events in {result.n_series:,} series", err=True)
    echo_paths(result.path)


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


StoreArg = Annotated[
    Path, typer.Argument(help="Refresh store: days, dumps and versions (docs/refresh.md).")
]


@app.command()
def refresh(
    store: StoreArg,
    inputs: Annotated[
        list[str], typer.Argument(help="The new dump: log files, globs or directories.")
    ],
    days: Annotated[
        int, typer.Option("--days", help="Days in a version, ending at the latest day with data.")
    ] = 14,
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
    min_requests: MinRequestsOpt = 10,
    anonymize: AnonymizeOpt = False,
    salt: SaltOpt = None,
    top_clients: TopClientsOpt = 10,
    sample_cap: SampleCapOpt = 200_000,
    seed: SeedOpt = 0,
    threads: ThreadsOpt = None,
    memory_limit: MemoryOpt = "2GB",
    engine: EngineOpt = "duckdb",
    spark_master: SparkMasterOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Add a new dump to STORE and publish a version of the last --days days as STORE/latest."""
    params = locals()  # the options by name, before anything else is bound
    from pipeline import refresh as refresh_module

    with reported_errors(debug):
        options = _run_options(params)
        with stage_progress(STAGES, quiet=quiet) as on_stage:
            result = refresh_module.refresh(store, inputs, options, days=days, on_stage=on_stage)
    if result.redelivered:
        typer.echo(f"dump {result.dump[:12]} is already in the store: nothing added", err=True)
    else:
        typer.echo(
            f"dump {result.dump[:12]}: days changed {', '.join(result.changed_days) or 'none'}",
            err=True,
        )
    if result.version is None:
        typer.echo(f"{store / 'latest'} is current: no new version", err=True)
        return
    typer.echo(
        f"version {result.version.name}: {len(result.days)} days "
        f"({result.days[0]} .. {result.days[-1]}), {result.reused_parts} day summaries reused"
        + (
            ""
            if result.diff_material is None
            else f"; against the version it replaced: "
            f"{'material changes' if result.diff_material else 'no material change'} "
            f"(see {result.version / 'diff' / 'diff.html'})"
        ),
        err=True,
    )
    echo_paths(result.version)


@app.command()
def prune(
    store: StoreArg,
    keep_days: Annotated[
        int, typer.Option("--keep-days", help="Days kept, ending at the latest day with data.")
    ],
    debug: DebugOpt = False,
) -> None:
    """Remove STORE's days older than --keep-days (versions stay intact)."""
    from pipeline import refresh as refresh_module

    with reported_errors(debug):
        result = refresh_module.prune(store, keep_days)
    typer.echo(f"removed {len(result.removed_days)} days, kept {len(result.kept_days)}", err=True)


MATERIAL_EXIT_STATUS = 3
"""`servechar diff --fail-on material` exits with this when anything is material."""


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The earlier run directory.", show_default=False)],
    new: Annotated[Path, typer.Argument(help="The later run directory.", show_default=False)],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for diff.json and diff.html.")
    ] = Path("diff"),
    fail_on: Annotated[
        str,
        typer.Option("--fail-on", help="never, or material: exit with status 3 when anything is."),
    ] = "never",
    alpha: Annotated[
        float, typer.Option("--alpha", help="Significance level of the BH-corrected q-values.")
    ] = 0.05,
    rate_threshold: Annotated[
        float,
        typer.Option("--rate-threshold", help="Material rate or daily-profile change (0.2: 20 %)."),
    ] = 0.2,
    cv_threshold: Annotated[
        float, typer.Option("--cv-threshold", help="Material CV or pattern change (0.2: 20 %).")
    ] = 0.2,
    median_threshold: Annotated[
        float,
        typer.Option("--median-threshold", help="Material shift of a median length (0.1: 10 %)."),
    ] = 0.1,
    ks_threshold: Annotated[
        float, typer.Option("--ks-threshold", help="Material KS distance of a distribution.")
    ] = 0.05,
    min_client_share: Annotated[
        float,
        typer.Option(
            "--min-client-share", help="A new or gone client is material from this model share."
        ),
    ] = 0.01,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Compare two run directories: what changed, and is it material (diff.json, diff.html)."""
    from pipeline.diff import DiffOptions, diff_runs

    with reported_errors(debug):
        if fail_on not in ("never", "material"):
            raise ConfigError(
                f"--fail-on must be never or material (got {fail_on!r})",
                hint="--fail-on material exits with status 3 when anything is material.",
            )
        options = validated(
            DiffOptions,
            alpha=alpha,
            rate_threshold=rate_threshold,
            cv_threshold=cv_threshold,
            median_threshold=median_threshold,
            ks_threshold=ks_threshold,
            min_client_share=min_client_share,
        )
        with stage_progress(["diff"], quiet=quiet), disk_errors(out):
            result = diff_runs(old, new, out, options)
    if not quiet:
        print_table(diff_summary(result))
    echo_paths(result.json_path, result.html_path)
    if fail_on == "material" and result.material:
        raise typer.Exit(MATERIAL_EXIT_STATUS)


# click's exception classes (vendored inside typer from 0.2x, click's own before)
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_USAGE_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


def _usage_message(exc: Exception) -> str:
    """A malformed command line in our words: a wrong value's check is typer's pydantic
    adapter, whose wording (`Input should be a valid integer, unable to parse ...`) is not."""
    cause, param = exc.__cause__, getattr(exc, "param", None)
    errors = getattr(cause, "errors", None)
    if param is not None and callable(errors):
        first = errors()[0]
        check = first["msg"].split(",")[0].replace("Input should be", "must be", 1)
        name = param.opts[0] if param.opts else param.human_readable_name
        return f"{name}: {check} (got {first['input']!r})"
    return exc.format_message()  # type: ignore[attr-defined]


def main() -> None:
    """Entry point of the `servechar` console script.

    Command-line mistakes (an unknown option, a value of the wrong type) become `Error:` and
    `Hint:` lines like every other user error, with click's usual exit status 2.
    """
    try:
        status = app(prog_name="servechar", standalone_mode=False)
    except _USAGE_ERROR as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `servechar` alone: the help, as usual
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        typer.echo(f"Error: {_usage_message(exc)}", err=True)
        command = exc.ctx.command_path if exc.ctx else "servechar"  # type: ignore[attr-defined]
        typer.echo(f"Hint: See `{command} --help`.", err=True)
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    except _CLICK_ERROR as exc:
        exc.show()  # type: ignore[attr-defined]
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(1)
    sys.exit(status if isinstance(status, int) else 0)
