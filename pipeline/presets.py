"""Presets: known log formats mapped onto the canonical columns, as data.

A preset is a column map (canonical name -> the format's column, or a JSON path for nested
JSON), format hints (time unit, model named after the file), an optional value transform (a
SQL file under `sql/presets/`, run over the mapped rows with its `$params`), the columns a file
must have to be taken for this format (`signature`, used to detect presets), the client keys
it offers, and the quirks it handles (printed by `servechar presets` and in the README).

Nothing here branches on a preset's name: the ingest stage applies any preset the same way,
and a user's `--map`, `--time-unit` and `--model` override the preset's values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


@dataclass(frozen=True, slots=True)
class Preset:
    """One known log format."""

    name: str
    description: str
    formats: tuple[str, ...]
    column_map: Mapping[str, str]
    signature: tuple[str, ...]
    excludes: tuple[str, ...] = ()  # columns that mark a look-alike format
    time_unit: str = "s"
    model_from_file: bool = False
    transform: str | None = None
    transform_params: Mapping[str, object] = field(default_factory=dict)
    client_keys: Mapping[str, str] = field(default_factory=dict)
    quirks: tuple[str, ...] = ()
    source: str = ""

    def matches(self, columns: Iterable[str]) -> bool:
        """Whether a file with these columns (nested JSON keys dotted) has this format."""
        found = set(columns)
        return all(c in found for c in self.signature) and not any(
            c in found for c in self.excludes
        )

    def missing(self, columns: Iterable[str]) -> list[str]:
        """Signature columns the file lacks."""
        found = set(columns)
        return [column for column in self.signature if column not in found]

    def conflicting(self, columns: Iterable[str]) -> list[str]:
        """Columns the file has that belong to a look-alike format."""
        found = set(columns)
        return [column for column in self.excludes if column in found]


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="azure-llm",
            description="Azure LLM inference traces 2023 and 2024 (Splitwise, ISCA'24)",
            formats=("csv",),
            column_map={
                "timestamp": "TIMESTAMP",
                "input_tokens": "ContextTokens",
                "output_tokens": "GeneratedTokens",
            },
            signature=("TIMESTAMP", "ContextTokens", "GeneratedTokens"),
            model_from_file=True,
            quirks=(
                "timestamps with 7 fractional digits (kept to the microsecond), naive = UTC",
                "CRLF line ends and no final newline",
                "no model column: the model is named after the file (or --model)",
                "no client column: one client, `all`",
            ),
            source="github.com/Azure/AzurePublicDataset, data/AzureLLMInferenceTrace_*.csv",
        ),
        Preset(
            name="mooncake",
            description="Mooncake traces (Kimi, FAST'25), JSON Lines",
            formats=("jsonl",),
            column_map={
                "timestamp": "timestamp",
                "input_tokens": "input_length",
                "output_tokens": "output_length",
                "hash_ids": "hash_ids",
            },
            signature=("timestamp", "input_length", "output_length", "hash_ids"),
            # RAGPulse has the same fields (its timestamps are seconds) plus session_id.
            excludes=("session_id",),
            time_unit="ms",
            model_from_file=True,
            quirks=(
                "timestamp is ms from trace start: read as ms after 1970-01-01T00:00Z, so the "
                "trace starts at time of day 0",
                "arrivals quantized to about 3 s ticks in the conversation trace (detected and "
                "fitted as interval-censored, see time_quality.json)",
                "hash_ids (512-token prefix blocks) kept in the request table as JSON",
                "no model column: the model is named after the file (or --model)",
            ),
            source="github.com/kvcache-ai/Mooncake, FAST25-release/traces/*.jsonl",
        ),
        Preset(
            name="ragpulse",
            description="RAGPulse university RAG Q&A trace (arXiv 2511.12979), JSON Lines",
            formats=("jsonl",),
            column_map={
                "timestamp": "timestamp",
                "input_tokens": "input_length",
                "output_tokens": "output_length",
                "session_id": "session_id",
                "hash_ids": "hash_ids",
            },
            signature=(
                "timestamp",
                "input_length",
                "output_length",
                "session_id",
                "hash_ids.sys_prompt",
            ),
            model_from_file=True,
            client_keys={"session_id": "session_id"},
            quirks=(
                "timestamp is a string of whole seconds from trace start: read as seconds "
                "after 1970-01-01T00:00Z (about 7 days)",
                "sessions are conversations, not tenants: one client `all` by default, "
                "session_id kept; --client-key session_id makes each session a client",
                "hash_ids (an object of per-segment block-id lists) kept in the request table",
                "one non-monotonic timestamp pair and a trailing blank line (both harmless)",
                "no model column: the model is named after the file (or --model)",
            ),
            source="github.com/flashserve/RAGPulse, data/0_trace.jsonl",
        ),
        Preset(
            name="burstgpt",
            description="BurstGPT (v1 and v2 CSVs), Azure OpenAI usage at a university",
            formats=("csv",),
            column_map={
                "timestamp": "Timestamp",
                "model": "Model",
                "input_tokens": "Request tokens",
                "output_tokens": "Response tokens",
            },
            signature=("Timestamp", "Model", "Request tokens", "Response tokens", "Log Type"),
            transform="presets/zero_output_is_failure",
            transform_params={"failure_status": 500},
            client_keys={"log_type": "Log Type", "session_id": "Session ID"},
            quirks=(
                "Timestamp is seconds from trace start: read as seconds after 1970-01-01T00:00Z",
                "rows with 0 response tokens are failed requests: arrivals with status 500, "
                "left out of the length distributions",
                "v2 adds Session ID and Elapsed time in the middle: columns are mapped by name",
                "--client-key log_type separates conversation from API traffic",
            ),
            source="github.com/HPMLL/BurstGPT, README (columns of BurstGPT_*.csv)",
        ),
        Preset(
            # Fields as in the Bedrock model invocation log record (schemaType
            # ModelInvocationLog, schemaVersion 1.0): AWS Bedrock user guide, "Monitor model
            # invocation using CloudWatch Logs and Amazon S3"; example records checked in
            # github.com/dheerajoruganty/aws-bedrock-logs-mcp-server setup.md.
            name="bedrock",
            description="AWS Bedrock model invocation logs (CloudWatch Logs / S3), JSON Lines",
            formats=("jsonl",),
            column_map={
                "timestamp": "timestamp",
                "request_id": "requestId",
                "model": "modelId",
                "client_id": "identity.arn",
                "input_tokens": "input.inputTokenCount",
                "output_tokens": "output.outputTokenCount",
            },
            signature=(
                "timestamp",
                "requestId",
                "modelId",
                "input.inputTokenCount",
                "output.outputTokenCount",
            ),
            quirks=(
                "nested fields: identity.arn is the client, input.inputTokenCount and "
                "output.outputTokenCount the lengths",
                "ISO-8601 timestamps with Z",
            ),
            source="AWS Bedrock user guide, model invocation logging (ModelInvocationLog 1.0)",
        ),
        Preset(
            # LiteLLM_SpendLogs columns: BerriAI/litellm schema.prisma and
            # litellm-js/spend-logs/src/_types.ts (request_id, api_key, user, model,
            # prompt_tokens, completion_tokens, startTime, endTime, completionStartTime,
            # status "success" | "failure").
            name="litellm",
            description="LiteLLM proxy spend logs (LiteLLM_SpendLogs rows as CSV or JSON Lines)",
            formats=("csv", "jsonl", "parquet"),
            column_map={
                "timestamp": "startTime",
                "request_id": "request_id",
                "model": "model",
                "client_id": "api_key",
                "input_tokens": "prompt_tokens",
                "output_tokens": "completion_tokens",
                "status": "status",
                "ttft_ms": "completionStartTime",
                "e2e_ms": "endTime",
            },
            signature=(
                "request_id",
                "startTime",
                "endTime",
                "model",
                "prompt_tokens",
                "completion_tokens",
            ),
            transform="presets/litellm_times",
            transform_params={"failure_status": 500},
            client_keys={"api_key": "api_key", "user": "user"},
            quirks=(
                "TTFT = completionStartTime - startTime, end-to-end = endTime - startTime (ms)",
                "status success/failure becomes 200/500",
                "api_key (hashed by the proxy) is the client; --client-key user for end users",
            ),
            source="github.com/BerriAI/litellm, schema.prisma model LiteLLM_SpendLogs",
        ),
        Preset(
            # Attribute names from the OpenTelemetry semantic conventions for generative AI
            # spans (open-telemetry/semantic-conventions docs/gen-ai/gen-ai-spans.md, v1.37):
            # gen_ai.request.model, gen_ai.usage.input_tokens, gen_ai.usage.output_tokens,
            # gen_ai.response.id. Span layout (one span per line, `start_time`/`end_time`
            # ISO-8601, `attributes` an object) as written by opentelemetry-python's
            # ReadableSpan.to_json (the console and file span exporters).
            name="otel-genai",
            description="OpenTelemetry GenAI spans, one JSON span per line",
            formats=("jsonl",),
            column_map={
                "timestamp": "start_time",
                "model": '$.attributes."gen_ai.request.model"',
                "input_tokens": '$.attributes."gen_ai.usage.input_tokens"',
                "output_tokens": '$.attributes."gen_ai.usage.output_tokens"',
                "e2e_ms": "end_time",
                "status": "status.status_code",
                "request_id": "context.span_id",
            },
            signature=(
                "start_time",
                "end_time",
                "attributes.gen_ai.request.model",
                "attributes.gen_ai.usage.input_tokens",
                "attributes.gen_ai.usage.output_tokens",
            ),
            transform="presets/otel_times",
            transform_params={"failure_status": 500},
            client_keys={
                "user": '$.attributes."enduser.id"',
                "service": '$.resource.attributes."service.name"',
            },
            quirks=(
                "end-to-end latency = end_time - start_time (ms); status_code ERROR becomes 500",
                "no client by default (one client `all`); --client-key user "
                "(enduser.id), service (service.name) or any attribute path",
            ),
            source="OpenTelemetry semantic conventions, gen-ai-spans.md",
        ),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called `name`, or a ConfigError listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown preset {name!r}",
            hint=f"Known presets: {', '.join(PRESETS)} (see `servechar presets`).",
        ) from None


def matching_presets(columns: Iterable[str]) -> list[str]:
    """Names of the presets whose signature columns are all among `columns`."""
    found = list(columns)
    fitting = [preset for preset in PRESETS.values() if preset.matches(found)]
    # The most specific first: a file that fits a longer signature fits a shorter one too.
    return [p.name for p in sorted(fitting, key=lambda p: -len(p.signature))]


def client_column(preset: Preset | None, client_key: str) -> str:
    """The file column (or JSON path) that `--client-key` names.

    A preset's client-key alias or a canonical name the preset maps (``session_id``) is
    resolved through the preset; anything else is taken as the file's own column name.
    """
    if preset is not None:
        if client_key in preset.client_keys:
            return preset.client_keys[client_key]
        if client_key in preset.column_map:
            return preset.column_map[client_key]
    return client_key


def describe_presets() -> list[str]:
    """What `servechar presets` prints: each preset, its files, columns, map and quirks."""
    lines = []
    for preset in PRESETS.values():
        lines.append(f"{preset.name}: {preset.description}")
        lines.append(f"  files: {', '.join(preset.formats)}; time unit: {preset.time_unit}")
        lines.append(f"  expects: {', '.join(preset.signature)}")
        mapped = ", ".join(f"{c}={theirs}" for c, theirs in preset.column_map.items())
        lines.append(f"  maps: {mapped}")
        if preset.client_keys:
            lines.append(f"  --client-key: {', '.join(preset.client_keys)}")
        lines.extend(f"  - {quirk}" for quirk in preset.quirks)
    return lines
