"""The report's building blocks: sections of paragraphs, tables, charts and "not available"
notes, and the parsed artefacts the section functions read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reports.figures import Chart
from reports.tables import Table


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    kind: str = field(default="paragraph", init=False)


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A statistic the run does not have, and why (shown instead of its figure or table)."""

    what: str
    why: str
    kind: str = field(default="unavailable", init=False)


Block = Paragraph | Table | Chart | Unavailable


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    blocks: tuple[Block, ...] = ()
    children: tuple[Section, ...] = ()
    anchor: str = ""  # set by the builder from a counter (never from a log string)


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """The run's artefacts as parsed JSON; optional ones are None when absent."""

    stats: dict[str, Any]
    summary: dict[str, Any]
    manifest: dict[str, Any]
    validation: dict[str, Any] | None = None
    quirks: dict[str, Any] | None = None
