"""What every topic of characterize shares: the run's connection and metadata (`Context`),
the model rows, and the small helpers that shape stats.json's parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import numpy as np
import pyarrow as pa

from fitting.quantiles import quantile_cont
from pipeline import sqlrun, summaries
from pipeline.artefacts import SUMMARIES
from pipeline.naming import pseudonym

if TYPE_CHECKING:
    from collections.abc import Callable

    import duckdb

    from pipeline.config import CharacterizeOptions
    from pipeline.rundir import RunDir


TOP_K = (1, 5, 10, 20)
QUANTILES = (0.5, 0.9, 0.99)  # the percentiles of every token Summary
US_PER_S = 1_000_000
MINUTE_S = 60
HOUR_S = 3_600
MIN_FIT_VALUES = 50  # fewer values give fits too loose to report


# --- parts of stats.json every topic uses ---------------------------------------------------------
class Unavailable(TypedDict):
    """A statistic that does not apply to this log, and why (the report shows the reason)."""

    available: Literal[False]
    reason: str


class Quantiles(TypedDict):
    p50: float | None
    p90: float | None
    p99: float | None


class Summary(Quantiles):
    """Count, mean and p50/p90/p99 of a field (mean and quantiles null without values)."""

    n: int
    mean: float | None


class Curve(TypedDict):
    """A figure's points."""

    x: list[float]
    y: list[float]


class Correlation(TypedDict):
    n: int
    pearson: float | None
    spearman: float | None


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model's identity and the client rows (in client_key order) that belong to it."""

    model_key: int
    category: str
    model: str
    client_keys: np.ndarray  # int64, ascending
    client_ids: list[str]


class Context:
    """The DuckDB connection and run metadata shared by the section queries."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, meta: dict[str, Any], options: CharacterizeOptions
    ) -> None:
        self.con = con
        self.meta = meta
        self.options = options

    def load_clients(self) -> list[ModelInfo]:
        rows = self.con.table("clients").fetchall()  # ordered by client_key
        by_model: dict[int, list[tuple[Any, ...]]] = {}
        for row in rows:
            by_model.setdefault(int(row[1]), []).append(row)
        models = []
        for model_key in sorted(by_model):
            group = by_model[model_key]
            models.append(
                ModelInfo(
                    model_key,
                    group[0][2],
                    group[0][3],
                    np.array([int(r[0]) for r in group], dtype=np.int64),
                    [self.client_name(r[4]) for r in group],
                )
            )
        return models

    def client_name(self, client_id: str) -> str:
        """The id stats.json shows: the export stage's pseudonym under --anonymize."""
        if self.options.anonymize:
            return pseudonym(client_id, self.options.salt or "")
        return client_id

    def client_bin_counts(self, bin_s: int) -> dict[int, dict[int, int]]:
        """Detailed clients' request counts per origin-aligned bin of whole minutes."""
        relation = sqlrun.query(
            self.con, "characterize/client_bin_counts", {"bin_minutes": _bin_minutes(bin_s)}
        )
        counts: dict[int, dict[int, int]] = {}
        for client_key, bin_index, n in relation.fetchall():
            counts.setdefault(int(client_key), {})[int(bin_index)] = int(n)
        return counts

    @cached_property
    def window_rows(self) -> list[tuple[int, ...]]:
        """Requests per trace window by status class (status_windows.sql), for each model
        (client_key -1) and its detailed clients: registered with `register_detailed` first."""
        relation = sqlrun.query(self.con, "characterize/status_windows")
        return [tuple(int(v) for v in row) for row in relation.fetchall()]

    @cached_property
    def token_quantiles(self) -> dict[tuple[str, int | str, int | None, str], list[float]]:
        """p50, p90 and p99 of input and output tokens of successful requests, exact (equal to
        DuckDB's quantile_cont over the requests), keyed by (level, unit, period_index, field):
        level 'client' or 'model' (unit: its key), 'category' (unit: the category), 'dataset'
        or 'day' (unit: the model key, with the period's index)."""
        table = sqlrun.query(self.con, "characterize/token_histograms").to_arrow_table()
        values, counts = table.column("values"), table.column("counts")
        result = {}
        for i, (level, unit_key, category, period_index, field) in enumerate(
            zip(*(table.column(name).to_pylist() for name in table.column_names[:5]), strict=True)
        ):
            quantiles = quantile_cont(
                values[i].values.to_numpy(), counts[i].values.to_numpy(), QUANTILES
            )
            if quantiles is not None:
                unit = category if level == "category" else unit_key
                result[(level, unit, period_index, field)] = quantiles
        return result

    def with_quantiles(
        self, row: dict[str, Any], level: str, unit: int | str, period_index: int | None = None
    ) -> dict[str, Any]:
        """`row` with its `input_quantiles` and `output_quantiles` (None without successes)."""
        for field in ("input", "output"):
            key = (level, unit, period_index, f"{field}_tokens")
            row[f"{field}_quantiles"] = self.token_quantiles.get(key)
        return row

    def register_detailed(self, detailed: dict[int, list[int]]) -> None:
        """The detailed clients of every model, as the table `detailed_clients` (client_key)."""
        keys = sorted(key for keys in detailed.values() for key in keys)
        self.con.register("detailed_clients", pa.table({"client_key": pa.array(keys, pa.int64())}))

    def sample_params(self) -> dict[str, int]:
        return {"cap": self.options.sample_cap, "seed": self.options.seed}

    def rows_by_model(self, name: str) -> dict[int, dict[str, Any]]:
        return {int(row["model_key"]): row for row in _dicts(sqlrun.query(self.con, name))}

    def bin_counts(self, bin_s: int) -> dict[int, dict[int, int]]:
        """Each model's request counts per origin-aligned bin of whole minutes."""
        relation = sqlrun.query(
            self.con, "characterize/model_bin_counts", {"bin_minutes": _bin_minutes(bin_s)}
        )
        counts: dict[int, dict[int, int]] = {}
        for model_key, bin_index, n in relation.fetchall():
            counts.setdefault(int(model_key), {})[int(bin_index)] = int(n)
        return counts


# The merged summaries characterize's count statistics read (docs/summaries.md), each as the
# view summary_<topic>.
COUNT_SUMMARIES = (
    "minute_counts",
    "window_counts",
    "status_codes",
    "fano_counts",
    "token_counts",
    "token_pairs",
)


def open_count_summaries(con: duckdb.DuckDBPyConnection, run_dir: RunDir) -> None:
    """Views of the merged count summaries and the table `clients` numbered as the aggregate
    stage numbers them (from the merged trace windows): characterize's count statistics read
    these, never the requests."""
    directory = run_dir.require(SUMMARIES, "aggregate")
    topics = [summaries.Topic(name) for name in (*COUNT_SUMMARIES, "arrival_windows")]
    summaries.open_merged(con, directory, topics)
    sqlrun.query(con, "aggregate/merged_clients").to_table("clients")


def _bin_minutes(bin_s: int) -> int:
    """A bin's whole minutes: the per-minute summary gives exact counts of such bins only."""
    if bin_s <= 0 or bin_s % MINUTE_S:
        raise ValueError(f"a bin of {bin_s} s is not a whole number of minutes")
    return bin_s // MINUTE_S


def evenly_spaced_order_statistics(values: np.ndarray, cap: int) -> np.ndarray:
    """At most `cap` values: order statistics at evenly spaced ranks (keeps the tail's shape)."""
    if values.size <= cap:
        return values
    ranks = np.round(np.linspace(0, values.size - 1, cap)).astype(np.int64)
    return np.sort(values)[ranks]


def _quantiles(values: list[float] | None) -> Quantiles:
    p50, p90, p99 = values or (None, None, None)
    return {"p50": p50, "p90": p90, "p99": p99}


def _summary(n: int, total: int, quantiles: list[float] | None) -> Summary:
    return {"n": n, "mean": total / n if n else None, **_quantiles(quantiles)}


def _arg_extreme(values: list[float | None], pick: Callable[..., float]) -> int | None:
    """Index of the largest (or smallest) non-null value; the first on ties."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return values.index(pick(present))


def _unavailable(reason: str) -> Unavailable:
    return {"available": False, "reason": reason}


def _summary_of(row: dict[str, Any], field: str) -> Summary:
    n = int(row["n_success"])
    total = int(row[f"{field}_tokens_sum"])
    quantiles = row[f"{field}_quantiles"] or [None, None, None]
    return {
        "n": n,
        "mean": total / n if n else None,
        "p50": quantiles[0],
        "p90": quantiles[1],
        "p99": quantiles[2],
    }


def _no_correlation() -> Correlation:
    return {"n": 0, "pearson": None, "spearman": None}


def _position(info: ModelInfo, client_key: int) -> int:
    return int(np.searchsorted(info.client_keys, client_key))


def _filled_curve(
    counts: dict[int, int], first_us: int, last_us: int, bin_s: int
) -> dict[str, list[float]]:
    """Rate per origin-aligned bin from the first to the last arrival's bin; empty bins 0."""
    bin_us = bin_s * US_PER_S
    first_bin, last_bin = first_us // bin_us, last_us // bin_us
    indices = range(first_bin, last_bin + 1)
    return {
        "x": [float(i * bin_s) for i in indices],
        "y": [counts.get(i, 0) / bin_s for i in indices],
    }


def _dicts(relation: duckdb.DuckDBPyRelation) -> list[dict[str, Any]]:
    names = relation.columns
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
