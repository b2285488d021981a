"""Errors a user can act on. The CLI prints them as `Error: ...` / `Hint: ...` and exits 1."""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error caused by the user's input, options or run directory."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(PipelineError):
    """An option or configuration value is invalid."""


class InputError(PipelineError):
    """An input file cannot be read, lacks a column, or holds too many bad rows."""


class StageOrderError(PipelineError):
    """A stage was run before the stage whose artefacts it reads."""


class QueryError(PipelineError):
    """A SQL file is missing or its parameters do not match its header."""


class ResourceError(PipelineError):
    """The engine ran out of memory or disk for this input and these settings."""


class RunDirError(PipelineError):
    """The run directory cannot be written: another command holds it, it is a file, or it is
    read-only."""


OUT_OF_MEMORY_HINT = (
    "Raise --memory-limit (a few hundred MB is enough for most logs; DuckDB spills the rest to "
    "the run directory's .tmp), or lower --threads."
)


class SummaryError(PipelineError):
    """Part summaries that do not merge: other anchors or parameters, overlapping time ranges,
    missing parts, or another contract version."""
