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


@dataclass(frozen=True, slots=True)
class Omitted:
    """A figure or table left out because it would show nothing (no 429s, one client): one
    line that says why, instead of an empty or degenerate drawing."""

    what: str
    why: str
    kind: str = field(default="omitted", init=False)


@dataclass(frozen=True, slots=True)
class Number:
    """A number quoted from an artefact: its value there, its text here, and where it is."""

    value: Any
    text: str
    source: str  # "stats.json#/models/0/..." (a JSON pointer into that file)
    unit: str  # share, count, ratio, seconds, hour, offset, tokens, percent, index, number
    kind: str = field(default="number", init=False)


@dataclass(frozen=True, slots=True)
class Link:
    """Text linking to the section with this key (resolved to its anchor when rendered)."""

    text: str
    target: str
    kind: str = field(default="link", init=False)


Part = str | Number | Link


@dataclass(frozen=True, slots=True)
class Finding:
    topic: str
    target: str  # the key of the section the topic links to
    clauses: tuple[tuple[Part, ...], ...]  # one line each (one per model)
    note: str = ""  # how to read the numbers, said once


@dataclass(frozen=True, slots=True)
class KeyFindings:
    """The block the template draws as the list of findings."""

    lead: tuple[Part, ...]
    items: tuple[Finding, ...]
    kind: str = field(default="findings", init=False)


Block = Paragraph | Table | Chart | Unavailable | Omitted | KeyFindings


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    blocks: tuple[Block, ...] = ()
    children: tuple[Section, ...] = ()
    anchor: str = ""  # set by the builder from a counter (never from a log string)
    key: str = ""  # what links name the section by (e.g. "model:<name>:Burstiness"); not shown


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """The run's artefacts as parsed JSON; optional ones are None when absent."""

    stats: dict[str, Any]
    summary: dict[str, Any]
    manifest: dict[str, Any]
    validation: dict[str, Any] | None = None
    quirks: dict[str, Any] | None = None
    anomalies: dict[str, Any] | None = None
