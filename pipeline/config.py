"""Run options, validated once at the door (pydantic), recorded in the manifest."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.errors import ConfigError
from pipeline.presets import PRESETS
from pipeline.schema import CANONICAL_COLUMNS, CATEGORIES

TIME_UNIT_US: dict[str, float] = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}


class IngestOptions(BaseModel):
    """How raw files are read and checked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column_map: dict[str, str] = Field(default_factory=dict)
    time_unit: Literal["s", "ms", "us", "ns"] | None = None  # None: the preset's unit, else s
    preset: str | None = None
    client_key: str | None = None
    tz: str = "UTC"
    # a naive --tz time in a DST overlap: reject it, or take its earliest or latest instant
    ambiguous: Literal["reject", "earliest", "latest"] = "reject"
    default_model: str | None = None
    category_overrides: dict[str, str] = Field(default_factory=dict)
    max_reject_fraction: float = Field(default=0.05, ge=0.0, le=1.0)

    @field_validator("column_map")
    @classmethod
    def _known_canonical_names(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(CANONICAL_COLUMNS))
        if unknown:
            raise ValueError(
                f"unknown canonical column(s) {unknown}; known: {', '.join(CANONICAL_COLUMNS)}"
            )
        return value

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        if value is not None and value not in PRESETS:
            raise ValueError(f"unknown preset {value!r}; known: {', '.join(PRESETS)}")
        return value

    @property
    def unit_us(self) -> float:
        """Microseconds per unit of numeric timestamps: --time-unit, the preset's, or seconds."""
        preset_unit = PRESETS[self.preset].time_unit if self.preset else "s"
        return TIME_UNIT_US[self.time_unit or preset_unit]

    @field_validator("category_overrides")
    @classmethod
    def _known_categories(cls, value: dict[str, str]) -> dict[str, str]:
        for model, category in value.items():
            if category not in CATEGORIES:
                raise ValueError(
                    f"category for {model!r} is {category!r}; use one of {', '.join(CATEGORIES)}"
                )
        return value


class AggregateOptions(BaseModel):
    """Time origin and window lengths."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_s: int = Field(default=600, gt=0)
    dataset_window_s: int = Field(default=21600, gt=0)
    origin: str | None = None
    max_span_days: float = Field(default=366.0, gt=0)
    reason_ratio_points: int = Field(default=501, ge=3)

    @model_validator(mode="after")
    def _dataset_window_is_multiple(self) -> AggregateOptions:
        if self.dataset_window_s % self.window_s:
            raise ValueError(
                f"--dataset-window ({self.dataset_window_s} s) must be a multiple of "
                f"--window ({self.window_s} s)"
            )
        return self


class FitOptions(BaseModel):
    """Arrival fitting."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_requests: int = Field(default=10, ge=3)


class ExportOptions(BaseModel):
    """Profile export."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    anonymize: bool = False
    salt: str | None = None

    @model_validator(mode="after")
    def _salt_with_anonymize(self) -> ExportOptions:
        if self.anonymize and not self.salt:
            raise ValueError(
                "--anonymize needs a salt: pass --salt or set SERVECHAR_SALT (a fixed salt keeps "
                "the output reproducible; keep it secret so hashes cannot be reversed)"
            )
        return self


class CharacterizeOptions(BaseModel):
    """Workload characterization (`stats.json`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    top_clients: int = Field(default=10, ge=0)
    sample_cap: int = Field(default=200_000, ge=1_000)
    seed: int = Field(default=0, ge=0)
    # as the export stage: client ids in stats.json become the same salted pseudonyms
    anonymize: bool = False
    salt: str | None = None

    @model_validator(mode="after")
    def _salt_with_anonymize(self) -> CharacterizeOptions:
        if self.anonymize and not self.salt:
            raise ValueError(
                "--anonymize needs a salt: pass --salt or set SERVECHAR_SALT (the same one as "
                "the export stage, so that stats.json and the profiles use the same pseudonyms)"
            )
        return self


class AnomaliesOptions(BaseModel):
    """Anomaly detection (`anomalies.json`; see docs/anomalies.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bin_minutes: int = Field(default=5, ge=1, le=60)
    top_clients: int = Field(default=10, ge=0)
    # Tukey's far-out fences: median +- (0.5 + k) IQR of the residuals
    fence_k: float = Field(default=3.0, gt=0)
    # requests a bin needs before its error share or latency percentile is scored
    min_requests: int = Field(default=20, ge=1)
    min_relative_change: float = Field(default=0.3, gt=0)
    min_share_change: float = Field(default=0.05, gt=0, le=1)
    since: str | None = None  # ISO-8601 (naive = UTC) or epoch seconds; None: score it all
    anonymize: bool = False
    salt: str | None = None

    @field_validator("bin_minutes")
    @classmethod
    def _divides_an_hour(cls, value: int) -> int:
        if 60 % value:
            raise ValueError(
                f"must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60), got {value}"
            )
        return value

    @model_validator(mode="after")
    def _salt_with_anonymize(self) -> AnomaliesOptions:
        if self.anonymize and not self.salt:
            raise ValueError(
                "--anonymize needs a salt: pass --salt or set SERVECHAR_SALT (the same one as "
                "the export stage, so that anomalies.json and the profiles use the same "
                "pseudonyms)"
            )
        return self


class EngineOptions(BaseModel):
    """DuckDB resources, and where the heavy stages run (`engine`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threads: int | None = Field(default=None, gt=0)
    memory_limit: str = "2GB"
    # "spark": ingest's checks and the per-day summaries run on Spark (same results)
    engine: Literal["duckdb", "spark"] = "duckdb"
    spark_master: str = "local[*]"


OptionsT = TypeVar("OptionsT", bound=BaseModel)


# Options whose command-line flag is not `--` + the field name with dashes.
_FLAGS = {
    "column_map": "--map",
    "default_model": "--model",
    "category_overrides": "--category",
    "window_s": "--window",
    "dataset_window_s": "--dataset-window",
}


def validated(model: type[OptionsT], **values: object) -> OptionsT:
    """Build an options model, turning pydantic's error into a ConfigError naming the flag.

    The message is the validator's own sentence (pydantic's `Value error, ` prefix and
    `Input should be` wording are its internals, not something a user typed).
    """
    try:
        return model(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        error = first.get("ctx", {}).get("error")
        if first["type"] == "value_error" and error is not None:
            message = str(error)
        else:
            message = first["msg"].replace("Input should be", "must be", 1)
            message += f" (got {first['input']!r})"
        field = ".".join(str(p) for p in first["loc"])
        if field:
            message = f"{_FLAGS.get(field, '--' + field.replace('_', '-'))}: {message}"
        raise ConfigError(message, hint="Run the command with --help for its options.") from None


def parse_pairs(pairs: list[str] | None, option: str) -> dict[str, str]:
    """`NAME=VALUE` strings (repeatable options) to a dict, with a clear error for typos."""
    result: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ConfigError(
                f"{option} {pair!r} is not of the form NAME=VALUE",
                hint=f"For example: {option} timestamp=created_at",
            )
        result[name.strip()] = value.strip()
    return result


def read_map_file(path: Path) -> dict[str, str]:
    """A TOML column mapping: `canonical = "theirs"` lines, at top level or under `[map]`."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read mapping file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"mapping file {path} is not valid TOML: {exc}") from None
    table = data.get("map", data)
    bad = {k: v for k, v in table.items() if not isinstance(v, str)}
    if bad:
        raise ConfigError(
            f"mapping file {path}: values must be column names (strings), got {bad}",
            hint='Write lines like: timestamp = "created_at"',
        )
    return dict(table)
