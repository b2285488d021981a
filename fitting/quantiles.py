"""Exact percentiles from a value -> count table, as DuckDB computes them over the raw values.

A mergeable summary keeps each field as a table of distinct values and their counts; the
percentiles stats.json reports must equal those of DuckDB's `quantile_cont` / `quantile_disc`
over the same (expanded) values, byte for byte. Both rules are reproduced here:

- `quantile_cont(x, q)`: over the n sorted values, the rank ``RN = (n - 1) * q`` (a double);
  with ``lo = x[floor(RN)]`` and ``hi = x[ceil(RN)]`` (as doubles) the result is ``lo`` when
  the two ranks coincide, else ``lo * (1 - d) + hi * d`` with ``d = RN - floor(RN)``, which
  DuckDB's build evaluates as one fused multiply-add, ``fma(lo, 1 - d, hi * d)`` (one rounding
  of ``lo * (1 - d) + round(hi * d)``): reproduced exactly with rational arithmetic.
- `quantile_disc(x, q)`: the value at index ``max(1, n - floor(n - n q)) - 1``, i.e. the
  smallest value whose cumulative share reaches q, computed exactly for decimal q.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike


def quantile_cont(
    values: ArrayLike, counts: ArrayLike, levels: Sequence[float]
) -> list[float] | None:
    """DuckDB's `quantile_cont` at each level over `values` repeated `counts` times.

    None when the table is empty (DuckDB's NULL). `values` need not be sorted.
    """
    table = _Table(values, counts)
    if table.n == 0:
        return None
    result = []
    for level in levels:
        rank = float(table.n - 1) * float(level)
        low, high = math.floor(rank), math.ceil(rank)
        lo = float(table.at(low))
        if low == high:
            result.append(lo)
            continue
        d = rank - low
        result.append(_fused_multiply_add(lo, 1.0 - d, float(table.at(high)) * d))
    return result


def quantile_disc(
    values: ArrayLike, counts: ArrayLike, levels: Sequence[float]
) -> list[float] | None:
    """DuckDB's `quantile_disc` at each (decimal) level; None when the table is empty."""
    table = _Table(values, counts)
    if table.n == 0:
        return None
    result = []
    for level in levels:
        exact = Fraction(str(level))  # the decimal literal, as DuckDB's integer arithmetic
        floored = math.floor(table.n - table.n * exact)
        result.append(float(table.at(max(1, table.n - floored) - 1)))
    return result


def evenly_spaced_values(values: ArrayLike, counts: ArrayLike, cap: int) -> np.ndarray:
    """At most `cap` of the expanded values, ascending: every value when there are no more
    than `cap`, else the order statistics at `cap` evenly spaced ranks (rounded), as
    `np.sort(expanded)[np.round(np.linspace(0, n - 1, cap))]` without expanding the table."""
    table = _Table(values, counts)
    if table.n <= cap:
        return np.repeat(table.values, np.diff(table.cumulative, prepend=0))
    ranks = np.round(np.linspace(0, table.n - 1, cap)).astype(np.int64)
    return table.values[np.searchsorted(table.cumulative, ranks, side="right")]


def _fused_multiply_add(a: float, b: float, c: float) -> float:
    """``a * b + c`` rounded once (IEEE fma; `math.fma` exists only from Python 3.13)."""
    return float(Fraction(a) * Fraction(b) + Fraction(c))


class _Table:
    """Sorted distinct values with cumulative counts: the value at any rank of the expansion."""

    def __init__(self, values: ArrayLike, counts: ArrayLike) -> None:
        raw_values = np.asarray(values)
        raw_counts = np.asarray(counts, dtype=np.int64)
        if raw_values.shape != raw_counts.shape or raw_values.ndim != 1:
            raise ValueError("`values` and `counts` must be 1-d arrays of the same length")
        if raw_counts.size and raw_counts.min() < 0:
            raise ValueError("`counts` must be non-negative")
        order = np.argsort(raw_values, kind="stable")
        self.values = raw_values[order]
        self.cumulative = np.cumsum(raw_counts[order])
        self.n = int(self.cumulative[-1]) if self.cumulative.size else 0

    def at(self, rank: int) -> float | int:
        """The value at 0-based `rank` of the sorted expansion."""
        index = int(np.searchsorted(self.cumulative, rank, side="right"))
        return self.values[index].item()


__all__ = ["evenly_spaced_values", "quantile_cont", "quantile_disc"]
