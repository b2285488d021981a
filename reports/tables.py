"""Pure: rows of numbers -> small tables (cells as text) for the report template.

The template escapes every cell (jinja2 autoescape), so a cell may hold any log-derived
string. Long tables keep their first `limit` rows and fold the rest into one "others" row,
which keeps the report readable (and small) for logs with thousands of clients.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Cell = str | int | float | None


@dataclass(frozen=True, slots=True)
class Table:
    """A captioned table; `numeric` marks the columns to right-align."""

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()
    note: str = ""
    kind: str = field(default="table", init=False)


def fmt(value: Any, *, digits: int = 3) -> str:
    """A number for people: integers with thousands separators, floats to `digits` figures."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value == 0:
            return "0"
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        magnitude = math.floor(math.log10(abs(value)))
        if magnitude >= digits + 3 or magnitude < -4:
            return f"{value:.{digits - 1}e}"
        decimals = max(0, digits - 1 - magnitude)
        return f"{value:,.{decimals}f}"
    return str(value)


def duration(seconds: float | None) -> str:
    """A span for people: seconds, minutes, hours or days."""
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def pct(value: float | None, *, digits: int = 1) -> str:
    """A share in [0, 1] as a percentage."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    smallest = 10.0**-digits
    if 0 < 100 * value < smallest:
        return f"<{smallest:.{digits}f}%"  # a few rows out of many are not "0.0%"
    return f"{100 * value:.{digits}f}%"


def table(
    caption: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    note: str = "",
    formatters: Mapping[int, Callable[[Any], str]] | None = None,
) -> Table:
    """Format `rows` cell by cell (`formatters` by column index, `fmt` otherwise)."""
    formatters = formatters or {}
    text_rows = tuple(
        tuple(formatters.get(i, fmt)(cell) for i, cell in enumerate(row)) for row in rows
    )
    numeric = tuple(
        bool(rows) and all(isinstance(row[i], int | float) or row[i] is None for row in rows)
        for i in range(len(columns))
    )
    return Table(caption, tuple(columns), text_rows, numeric, note)


def top_with_others(
    rows: Sequence[Sequence[Cell]],
    limit: int,
    *,
    label: str,
    summed: Sequence[int],
) -> tuple[list[Sequence[Cell]], int]:
    """The first `limit` rows plus one row that sums columns `summed` over the rest.

    Returns the rows and how many were folded. The folded row's label says how many
    rows it stands for; its other cells are empty (a mean of means would mislead).
    """
    if len(rows) <= limit:
        return list(rows), 0
    rest = rows[limit:]
    width = len(rows[0])
    others: list[Cell] = [None] * width
    others[0] = f"{label} ({len(rest):,})"
    for index in summed:
        others[index] = sum((row[index] or 0) for row in rest)  # type: ignore[misc]
    return [*rows[:limit], tuple(others)], len(rest)
