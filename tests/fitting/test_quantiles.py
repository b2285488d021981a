"""Percentiles from value -> count tables equal DuckDB's over the expanded raw values."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fitting.quantiles import evenly_spaced_values, quantile_cont, quantile_disc

LEVELS = "[0.0, 0.05, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0]"  # decimal literals, as the SQL writes them
LEVEL_VALUES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0)


def _duckdb(values: np.ndarray, function: str) -> list[float] | None:
    con = duckdb.connect()
    con.register("t", pa.table({"x": values}))
    (found,) = con.execute(f"select {function}(x, {LEVELS}) from t").fetchone()
    return None if found is None else [float(v) for v in found]


def _table(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    distinct, counts = np.unique(values, return_counts=True)
    return distinct, counts


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 400),
    distinct=st.integers(1, 50),
    kind=st.sampled_from(["int", "float", "ratio"]),
)
def test_equal_to_duckdb_on_random_values_with_ties(
    seed: int, n: int, distinct: int, kind: str
) -> None:
    rng = np.random.default_rng(seed)
    if kind == "int":  # token counts: few distinct values, many ties
        values = rng.integers(0, distinct * 1000, size=distinct)[rng.integers(0, distinct, n)]
    elif kind == "float":  # latencies: continuous, a few repeated
        values = np.round(rng.lognormal(5, 2, size=distinct), 3)[rng.integers(0, distinct, n)]
    else:  # ratios of integers, as reason_tokens / output_tokens
        a, b = rng.integers(0, 500, size=n), rng.integers(1, 500, size=n)
        values = np.minimum(a, b) / b
    distinct_values, counts = _table(values)
    for function, ours in (("quantile_cont", quantile_cont), ("quantile_disc", quantile_disc)):
        expected = _duckdb(values, function)
        # exact equality: the helper must give DuckDB's doubles bit for bit
        assert ours(distinct_values, counts, LEVEL_VALUES) == expected, function


def test_order_of_the_table_and_zero_counts_do_not_matter() -> None:
    values = np.array([7, 3, 3, 9, 1, 7, 7], dtype=np.int64)
    distinct, counts = _table(values)
    shuffled = np.array([9, 1, 12, 7, 3]), np.array([1, 1, 0, 3, 2])
    for function in (quantile_cont, quantile_disc):
        assert function(*shuffled, LEVEL_VALUES) == function(distinct, counts, LEVEL_VALUES)
        assert function(distinct, counts, LEVEL_VALUES) == _duckdb(values, function.__name__)


def test_large_counts_interpolate_between_neighbouring_values() -> None:
    # 10**9 copies of 1 then one 2: only the very top interpolates towards 2
    assert quantile_cont([2, 1], [1, 10**9], [0.5, 1.0]) == [1.0, 2.0]
    assert quantile_cont([10, 20], [1, 1], [0.5]) == [15.0]
    assert quantile_disc([10, 20], [1, 1], [0.5]) == [10.0]


def test_empty_table_is_null_and_bad_tables_are_refused() -> None:
    assert quantile_cont([], [], [0.5]) is None
    assert quantile_disc([1.0], [0], [0.5]) is None
    with pytest.raises(ValueError, match="same length"):
        quantile_cont([1, 2], [1], [0.5])
    with pytest.raises(ValueError, match="non-negative"):
        quantile_cont([1, 2], [1, -1], [0.5])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 3000), cap=st.integers(1, 1500))
def test_evenly_spaced_values_equal_the_order_statistics_of_the_expansion(
    seed: int, n: int, cap: int
) -> None:
    rng = np.random.default_rng(seed)
    expanded = rng.integers(0, 40, size=n) * 1_000  # many ties, as inter-arrival microseconds
    distinct, counts = _table(expanded)
    found = evenly_spaced_values(distinct[::-1], counts[::-1], cap)  # any table order
    expected = np.sort(expanded)
    if n > cap:
        expected = expected[np.round(np.linspace(0, n - 1, cap)).astype(np.int64)]
    assert found.tolist() == expected.tolist()
    assert found.size == min(n, cap)
