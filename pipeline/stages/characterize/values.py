"""What the value-based topics (reasoning, latency, multimodal, sessions, lengths, interarrivals)
read instead of the requests: the merged value -> count tables and the shared sample.

Both come from the aggregate stage's summaries (docs/summaries.md): `value_counts` and
`session_turns` give exact percentiles and sums (fitting.quantiles reproduces DuckDB's
`quantile_cont` on them), `request_sample` the bottom-k sample every raw-value statistic draws
its values from, as a prefix of `--sample-cap` draws.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fitting.quantiles import quantile_cont
from pipeline import sqlrun
from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from pipeline.stages.characterize.common import Context

PERCENTILES = (0.5, 0.9, 0.99)

# model_key -> field -> (distinct values, counts)
ValueTables = dict[int, dict[str, tuple[np.ndarray, np.ndarray]]]


def load_value_tables(context: Context, name: str) -> ValueTables:
    """Per model and field, the value -> count table of `sql/<name>.sql` (model_key, field,
    value, n)."""
    table = sqlrun.query(context.con, name).to_arrow_table()
    models = table.column("model_key").to_numpy()
    fields = np.asarray(table.column("field").to_pylist(), dtype=object)
    values = table.column("value").to_numpy()
    counts = table.column("n").to_numpy()
    result: ValueTables = {}
    for key in np.unique(models):
        mine = models == key
        for field in np.unique(fields[mine]):
            chosen = mine & (fields == field)
            result.setdefault(int(key), {})[str(field)] = (values[chosen], counts[chosen])
    return result


def percentiles(table: tuple[np.ndarray, np.ndarray] | None) -> list[float] | None:
    """p50, p90, p99 as DuckDB's quantile_cont gives them over the expanded values."""
    if table is None:
        return None
    return quantile_cont(table[0], table[1], PERCENTILES)


def count(table: tuple[np.ndarray, np.ndarray] | None) -> int:
    return 0 if table is None else int(table[1].sum())


def integer_sum(table: tuple[np.ndarray, np.ndarray] | None) -> int:
    """Exact sum of an integer field's values (stored as doubles, exact below 2**53)."""
    if table is None:
        return 0
    return sum(int(v) * int(n) for v, n in zip(table[0].tolist(), table[1].tolist(), strict=True))


def register_sample(context: Context) -> None:
    """Check the options against the shared sample, then register `sample_thresholds`: each
    model's `sample_cap`-th smallest draw, up to which the sample queries read it."""
    check_sample(context)
    sqlrun.query(
        context.con, "characterize/sample_thresholds", {"cap": context.options.sample_cap}
    ).to_table("sample_thresholds")


def check_sample(context: Context) -> None:
    """Refuse a --sample-cap or --seed the shared sample cannot serve.

    A unit (model and success class) with no more requests than the sample's k is in it whole;
    a larger one holds its k smallest draws under the sample's seed. So a cap above k fails for
    a unit larger than k, and another seed fails for a unit the cap actually samples (larger
    than the cap), where the seed would choose the values.
    """
    options = context.options
    for size, seed, largest in sqlrun.query(context.con, "characterize/sample_spans").fetchall():
        too_small = options.sample_cap > size and largest > size
        other_seed = options.seed != seed and largest > min(options.sample_cap, size)
        if too_small or other_seed:
            raise ConfigError(
                f"characterize was asked for a sample of {options.sample_cap:,} values with seed "
                f"{options.seed}, but the aggregate stage drew the shared sample with seed {seed} "
                f"and at most {size:,} requests per model and success class (the largest has "
                f"{largest:,})",
                hint=f"Use --seed {seed} and a --sample-cap of at most {size:,}.",
            )


__all__ = [
    "PERCENTILES",
    "ValueTables",
    "check_sample",
    "count",
    "integer_sum",
    "load_value_tables",
    "percentiles",
    "register_sample",
]
