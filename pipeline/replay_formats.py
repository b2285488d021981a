"""Trace-replay formats of the load generators and simulators people benchmark with.

`servechar generate --format NAME` writes the generated workload in one of these. Each format
is data: the fields it carries, where its definition comes from (cited), its time unit and
time origin, and a writer. Fields of the generated trace that a format cannot carry are
reported (`ReplayWrite.dropped`) so that the command can warn; nothing is dropped silently.

Time origins. The generated trace's `timestamp` is seconds since the profile origin. The
formats whose tools read offsets from a schedule start (AIPerf, SGLang, BLIS) are written as
offsets from the start of the generated span (`--start`), so that the wait before the first
request is kept; GuideLLM and inference-perf both shift their input to its first row, so
only the gaps between requests matter there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import ConfigError
from pipeline.rundir import write_atomic
from pipeline.spreadsheet import safe_columns

if TYPE_CHECKING:
    import polars as pl

MOONCAKE_BLOCK_TOKENS = 512
"""Tokens per `hash_ids` block in Mooncake traces, as AIPerf, GuideLLM and SGLang read them."""


@dataclass(frozen=True)
class ReplayContext:
    """What a writer needs besides the rows: the span start and the profile origin."""

    start_s: float
    origin_us: int
    seed: int


@dataclass(frozen=True)
class ReplayWrite:
    files: tuple[Path, ...]
    dropped: tuple[str, ...]
    """Columns holding data in the generated trace that the format cannot carry."""


Writer = Callable[["pl.DataFrame", Path, ReplayContext], tuple[Path, ...]]


@dataclass(frozen=True)
class ReplayFormat:
    name: str
    tool: str
    source: str
    """Where the format is defined (documentation or loader source)."""
    carries: tuple[str, ...]
    """Generated-trace columns the format keeps (by servechar's names)."""
    usage: str
    """How the tool is pointed at the file."""
    suffix: str
    writer: Writer | None
    unavailable: str = ""
    """Why a format that has no timestamped input cannot be written (writer is None)."""


def _publish_csv(path: Path, rows: pl.DataFrame) -> Path:
    """Every CSV a format writes goes through here (one place for what CSV output needs,
    such as spreadsheet-safe text cells): Polars writes straight to the temporary file, with
    no copy of the whole text in memory."""
    import polars as pl

    text = tuple(n for n, t in rows.schema.items() if t in (pl.String, pl.Categorical))
    rows = safe_columns(rows, text)  # names from the log: never a formula in a spreadsheet
    return write_atomic(
        path, lambda tmp: rows.write_csv(tmp, float_precision=6, line_terminator="\n")
    )


def _offset(trace: pl.DataFrame, context: ReplayContext, scale: float) -> pl.Expr:
    """Time since the span start in units of `scale` per second, rounded to whole units."""
    import polars as pl

    return ((pl.col("timestamp") - context.start_s) * scale).round().cast(pl.Int64)


def write_servechar_csv(trace: pl.DataFrame, path: Path, context: ReplayContext) -> tuple[Path]:
    """servechar's own CSV: every column, seconds since the profile origin."""
    return (_publish_csv(path, trace),)


def write_mooncake(trace: pl.DataFrame, path: Path, context: ReplayContext) -> tuple[Path]:
    """AIPerf `mooncake_trace`: JSON Lines of integer ms since the span start, lengths."""
    rows = trace.select(
        _offset(trace, context, 1000.0).alias("timestamp"),
        trace["input_tokens"].alias("input_length"),
        trace["output_tokens"].alias("output_length"),
    )
    return (write_atomic(path, rows.write_ndjson),)


def write_sglang(trace: pl.DataFrame, path: Path, context: ReplayContext) -> tuple[Path]:
    """SGLang `bench_serving --dataset-name mooncake`: Mooncake JSON Lines with `hash_ids`.

    SGLang builds each prompt from `hash_ids` alone (a fixed run of words per id) and ignores
    `input_length`, so every request gets ceil(input / 512) ids of its own: the prompt size
    follows the input length, and no two requests share a block (the generated workload has
    no prefix structure to claim)."""
    import polars as pl

    blocks = (pl.col("input_length") + MOONCAKE_BLOCK_TOKENS - 1) // MOONCAKE_BLOCK_TOKENS
    rows = (
        trace.select(
            _offset(trace, context, 1000.0).alias("timestamp"),
            trace["input_tokens"].alias("input_length"),
            trace["output_tokens"].alias("output_length"),
        )
        .with_columns(blocks.alias("_blocks"))
        .with_columns((pl.col("_blocks").cum_sum() - pl.col("_blocks")).alias("_first"))
        .with_columns(
            pl.int_ranges(pl.col("_first"), pl.col("_first") + pl.col("_blocks")).alias("hash_ids")
        )
        .drop("_blocks", "_first")
    )
    return (write_atomic(path, rows.write_ndjson),)


def write_guidellm(trace: pl.DataFrame, path: Path, context: ReplayContext) -> tuple[Path]:
    """GuideLLM `trace_synthetic`: JSON Lines of seconds (any zero), lengths."""
    import polars as pl

    rows = trace.select(
        ((pl.col("timestamp") - context.start_s).round(6)).alias("timestamp"),
        trace["input_tokens"].alias("input_length"),
        trace["output_tokens"].alias("output_length"),
    )
    return (write_atomic(path, rows.write_ndjson),)


def write_azure_csv(trace: pl.DataFrame, path: Path, context: ReplayContext) -> tuple[Path]:
    """inference-perf `AzurePublicDataset`: CSV TIMESTAMP (UTC date-time), ContextTokens,
    GeneratedTokens; the timestamp is the profile origin plus the generated time."""
    import polars as pl

    stamp = pl.from_epoch(
        context.origin_us + (pl.col("timestamp") * 1e6).round().cast(pl.Int64), time_unit="us"
    ).dt.strftime("%Y-%m-%d %H:%M:%S%.6f")
    rows = trace.select(
        stamp.alias("TIMESTAMP"),
        trace["input_tokens"].alias("ContextTokens"),
        trace["output_tokens"].alias("GeneratedTokens"),
    )
    return (_publish_csv(path, rows),)


BLIS_COLUMNS = (
    "request_id",
    "client_id",
    "tenant_id",
    "slo_class",
    "session_id",
    "round_index",
    "prefix_group",
    "prefix_length",
    "streaming",
    "input_tokens",
    "output_tokens",
    "text_tokens",
    "image_tokens",
    "audio_tokens",
    "video_tokens",
    "reason_ratio",
    "model",
    "deadline_us",
    "server_input_tokens",
    "arrival_time_us",
    "send_time_us",
    "first_chunk_time_us",
    "last_chunk_time_us",
    "num_chunks",
    "status",
    "error_message",
    "finish_reason",
)
"""TraceV2 data columns, in the order its positional parser reads them (`traceV2Columns`)."""


def blis_header_path(path: Path) -> Path:
    """TraceV2 is a pair `<prefix>.yaml` (header) + `<prefix>.csv` (data), as `blis run
    --trace-output <prefix>` writes it."""
    return path.with_suffix(".yaml")


def write_blis(trace: pl.DataFrame, path: Path, context: ReplayContext) -> tuple[Path, Path]:
    """BLIS / inference-sim TraceV2: header YAML + data CSV, integer microseconds since the
    span start (send time = arrival, as in the traces `blis run` writes)."""
    import polars as pl

    header = blis_header_path(path)
    if header == path:
        raise ConfigError(
            f"--format blis writes a header YAML beside the data CSV; {path} would be both",
            hint="Name the output with a .csv suffix, e.g. -o trace.csv (header: trace.yaml).",
        )

    def zero_if_null(name: str) -> pl.Expr:
        return pl.col(name).fill_null(0).cast(pl.Int64)

    modality = zero_if_null("image_tokens") + zero_if_null("audio_tokens")
    modality = modality + zero_if_null("video_tokens")
    arrival = _offset(trace, context, 1e6)
    rows = trace.select(
        pl.int_range(0, pl.len(), dtype=pl.Int64).alias("request_id"),
        pl.col("client_id").cast(pl.String),
        pl.lit("").alias("tenant_id"),
        pl.lit("").alias("slo_class"),
        pl.lit("").alias("session_id"),
        pl.lit(0).alias("round_index"),
        pl.lit("").alias("prefix_group"),
        pl.lit(0).alias("prefix_length"),
        pl.lit("false").alias("streaming"),
        pl.col("input_tokens"),
        pl.col("output_tokens"),
        pl.coalesce(pl.col("text_tokens"), pl.col("input_tokens") - modality).alias("text_tokens"),
        zero_if_null("image_tokens").alias("image_tokens"),
        zero_if_null("audio_tokens").alias("audio_tokens"),
        zero_if_null("video_tokens").alias("video_tokens"),
        pl.when(pl.col("output_tokens") > 0)
        .then((zero_if_null("reason_tokens") / pl.col("output_tokens")).round(6))
        .otherwise(0.0)
        .alias("reason_ratio"),
        pl.col("model").cast(pl.String),
        pl.lit(0).alias("deadline_us"),
        pl.lit(0).alias("server_input_tokens"),
        arrival.alias("arrival_time_us"),
        arrival.alias("send_time_us"),
        pl.lit(0).alias("first_chunk_time_us"),
        pl.lit(0).alias("last_chunk_time_us"),
        pl.lit(0).alias("num_chunks"),
        pl.lit("ok").alias("status"),
        pl.lit("").alias("error_message"),
        pl.lit("").alias("finish_reason"),
    )
    assert tuple(rows.columns) == BLIS_COLUMNS
    # The fields LoadTraceV2 reads strictly (unknown keys are an error).
    text = (
        "trace_version: 2\n"
        "time_unit: microseconds\n"
        "mode: generated\n"
        "warm_up_requests: 0\n"
        f"workload_seed: {int(context.seed)}\n"
    )
    write_atomic(header, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    _publish_csv(path, rows)
    return (path, header)


LENGTHS = ("timestamp", "input_tokens", "output_tokens")

FORMATS: dict[str, ReplayFormat] = {
    f.name: f
    for f in (
        ReplayFormat(
            name="servechar",
            suffix=".csv",
            tool="servechar",
            source="this project (README, Generating and validating)",
            carries=(),  # every column; see `dropped_columns`
            usage="servechar ingest/run reads it back",
            writer=write_servechar_csv,
        ),
        ReplayFormat(
            name="mooncake",
            suffix=".jsonl",
            tool="AIPerf",
            source=(
                "AIPerf docs, benchmark-modes/trace-replay.md and tutorials/fixed-schedule.md "
                "(github.com/ai-dynamo/aiperf): JSON Lines, timestamp in ms from schedule "
                "start, input_length, output_length, optional hash_ids (512-token blocks) "
                "and session_id"
            ),
            carries=LENGTHS,
            usage=(
                "aiperf profile --input-file FILE --custom-dataset-type mooncake_trace "
                "--fixed-schedule"
            ),
            writer=write_mooncake,
        ),
        ReplayFormat(
            name="sglang",
            suffix=".jsonl",
            tool="SGLang bench_serving",
            source=(
                "sgl-project/sglang python/sglang/benchmark/datasets/mooncake.py and "
                "docs/developer_guide/bench_serving.md: Mooncake JSON Lines, timestamp in ms "
                "(offsets from the first request), prompts built from hash_ids"
            ),
            carries=LENGTHS,
            usage=(
                "python -m sglang.bench_serving --backend sglang --dataset-name mooncake "
                "--dataset-path FILE --use-trace-timestamps true"
            ),
            writer=write_sglang,
        ),
        ReplayFormat(
            name="guidellm",
            suffix=".jsonl",
            tool="GuideLLM",
            source=(
                "GuideLLM docs, guides/trace_replay.md and getting-started/benchmark.md "
                "(github.com/vllm-project/guidellm): JSON Lines (or CSV), timestamp in "
                "seconds with any zero (offsets from the first event), input_length, "
                "output_length"
            ),
            carries=LENGTHS,
            usage=(
                "guidellm run --profile kind=replay --data kind=trace_synthetic,path=FILE "
                "--backend kind=openai_http,target=URL"
            ),
            writer=write_guidellm,
        ),
        ReplayFormat(
            name="inference-perf",
            suffix=".csv",
            tool="inference-perf",
            source=(
                "kubernetes-sigs/inference-perf docs/loadgen.md (Replay traffic from "
                "production systems) and inference_perf/utils/trace_reader.py "
                "(AzurePublicDatasetReader): CSV TIMESTAMP (date-time, shifted to the first "
                "row; 0.7.0 reads it to the microsecond, earlier releases to 10 ms), "
                "ContextTokens, GeneratedTokens"
            ),
            carries=LENGTHS,
            usage=(
                "load: {type: trace_replay, trace: {file: FILE, format: AzurePublicDataset}} "
                "and data: {type: random, trace: {file: FILE, format: AzurePublicDataset}}"
            ),
            writer=write_azure_csv,
        ),
        ReplayFormat(
            name="blis",
            suffix=".csv",
            tool="BLIS (inference-sim)",
            source=(
                "inference-sim/inference-sim sim/workload/tracev2.go (TraceHeader, "
                "traceV2Columns, LoadTraceV2) and docs/guide/observe-replay-calibrate.md: "
                "header YAML + data CSV, arrival_time_us in microseconds"
            ),
            carries=(
                "timestamp",
                "client_id",
                "model",
                "input_tokens",
                "output_tokens",
                "reason_tokens",
                "text_tokens",
                "image_tokens",
                "audio_tokens",
                "video_tokens",
            ),
            usage="blis replay --trace-header PREFIX.yaml --trace-data PREFIX.csv --model M",
            writer=write_blis,
        ),
        ReplayFormat(
            name="vllm",
            suffix="",
            tool="vLLM bench serve",
            source=(
                "vllm-project/vllm vllm/benchmarks/datasets/ (custom.py, burstgpt.py): no "
                "dataset carries arrival times; arrivals come from --request-rate and "
                "--burstiness, and BurstGPT rows are sampled without their timestamps"
            ),
            carries=(),
            usage="",
            writer=None,
            unavailable=(
                "vLLM `bench serve` has no timestamped trace input (its datasets carry prompts "
                "or lengths; arrival times come from --request-rate/--burstiness)"
            ),
        ),
    )
}
FORMAT_NAMES = tuple(FORMATS)


def get_format(name: str) -> ReplayFormat:
    spec = FORMATS.get(name)
    if spec is None:
        raise ConfigError(
            f"unknown --format {name!r}",
            hint=f"Use one of: {', '.join(FORMAT_NAMES)}.",
        )
    if spec.writer is None:
        raise ConfigError(
            f"--format {name}: {spec.unavailable}",
            hint="Replay with AIPerf (--format mooncake), GuideLLM (--format guidellm) or "
            "SGLang bench_serving (--format sglang) against the same server.",
        )
    return spec


def default_output(name: str) -> Path:
    """`requests` with the format's usual suffix, when no output is named."""
    return Path(f"requests{get_format(name).suffix}")


def dropped_columns(spec: ReplayFormat, trace: pl.DataFrame) -> tuple[str, ...]:
    """Columns of `trace` that hold information the format cannot carry: a field column with
    a value above zero (an all-zero count loses nothing), and model, client or category when
    the trace has more than one."""
    if spec.name == "servechar":
        return ()
    dropped = []
    for name in trace.columns:
        if name in spec.carries:
            continue
        column = trace[name]
        if name in ("client_id", "model", "category"):
            if column.n_unique() > 1:
                dropped.append(name)
        elif name == "text_tokens" and "input_tokens" in spec.carries:
            continue  # text tokens = input minus modality tokens: derived, reported there
        elif (column.fill_null(0).max() or 0) > 0:
            dropped.append(name)
    return tuple(dropped)


def write(name: str, trace: pl.DataFrame, path: Path, context: ReplayContext) -> ReplayWrite:
    """Write the sorted generated trace in format `name`; list what it could not carry."""
    spec = get_format(name)
    assert spec.writer is not None
    files = spec.writer(trace, path, context)
    return ReplayWrite(files, dropped_columns(spec, trace))
