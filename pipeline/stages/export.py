"""Export: fitted patterns and distributions -> ServeGen profiles, clients.csv and fits.json.

The layout and every rule follow `docs/servegen-format.md`: one chunk per client, numbered
0..K-1 per model by request count (largest first); every client of a model lists the same
trace timestamps, inactive windows included; dataset strings hold only numeric literals.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fitting import FAMILIES, PARAM_NAMES, SERVEGEN_NAMES
from pipeline.artefacts import (
    CLIENT_FITS,
    CLIENTS_CSV,
    DISTRIBUTIONS,
    FITS,
    FITS_FORMAT,
    META,
    PROFILES,
    TRACE_WINDOWS,
    WINDOW_FITS,
)
from pipeline.naming import model_dir_names, pseudonym
from pipeline.rundir import RunDir, stage, write_text_atomic
from pipeline.spreadsheet import csv_line
from pipeline.stages.ingest import IDENTITY

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline.config import ExportOptions

CATEGORY_FIELDS: dict[str, tuple[str, ...]] = {
    "language": ("input_tokens", "output_tokens"),
    "reason": ("input_tokens", "output_tokens", "reason_ratio"),
    "multimodal": (
        "text_tokens",
        "image_tokens",
        "audio_tokens",
        "video_tokens",
        "image_count",
        "audio_count",
        "video_count",
        "output_tokens",
    ),
}


@dataclass(frozen=True, slots=True)
class ExportResult:
    """Paths written by the export stage."""

    profiles: Path
    clients: Path
    fits: Path
    n_models: int
    n_clients: int
    warnings: tuple[str, ...] = ()


# ServeGen draws every client's arrivals on its own; a client with fewer requests than a window
# fit needs (fit's default --min-requests) rarely fires inside its windows, so thousands of them
# generate well short of their rates (as with RAGPulse's sessions taken as clients).
TINY_CLIENT_REQUESTS = 10
MANY_TINY_CLIENTS = 1_000


def sparse_client_warnings(
    clients: list[dict[str, Any]], identity: dict[str, Any] | None
) -> list[str]:
    """A warning per model with thousands of clients too small to generate faithfully."""
    counts: dict[str, list[int]] = defaultdict(list)
    for client in clients:
        counts[client["model"]].append(int(client["n_requests"]))
    kind = (identity or {}).get("identity")
    who = {
        "session_id": "clients are the log's sessions (--client-key session_id)",
        "client_id": "clients are the log's client column",
    }.get(kind, "clients as ingested")
    warnings = []
    for model, requests in counts.items():
        tiny = sum(1 for n in requests if n < TINY_CLIENT_REQUESTS)
        if tiny >= MANY_TINY_CLIENTS:
            warnings.append(
                f"model {model!r}: {tiny:,} of its {len(requests):,} clients have fewer than "
                f"{TINY_CLIENT_REQUESTS} requests (median {int(np.median(requests))}); {who}. "
                "ServeGen generates each client on its own and "
                "clients this sparse rarely fire within their windows, so a generated workload "
                "falls short of the profiled rates. Re-run with --client-key naming a tenant or "
                "API-key column (`servechar presets` lists each preset's aliases), or without "
                "--client-key for one client per model."
            )
    return warnings


@stage("export")
def run(run_dir: RunDir, options: ExportOptions) -> ExportResult:
    """Write `profiles/`, `profiles/clients.csv` and `fits.json`.

    The per-window artefacts are streamed one client at a time (all of them are sorted by
    category, model and client), so memory follows the largest client, not the log.
    """
    started = time.perf_counter()
    meta = run_dir.read_json(META, "aggregate")
    window_s = int(meta["window_s"])
    clients = _nan_to_null(pq.read_table(run_dir.require(CLIENT_FITS, "fit"))).to_pylist()
    windows = _GroupedRows(run_dir.require(TRACE_WINDOWS, "aggregate"))
    fits = _GroupedRows(run_dir.require(WINDOW_FITS, "fit"), nan_to_null=True)
    dists = _GroupedRows(
        run_dir.require(DISTRIBUTIONS, "aggregate"), columns=("dataset_index", "field", "entry")
    )
    layout = _Layout(window_s, int(meta["dataset_window_s"]), int(meta["reason_ratio_points"]))

    # Chunk numbers: per model, by request count (largest first), then client id.
    by_model: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for client in clients:
        by_model[(client["category"], client["model"])].append(client)
    chunk_of: dict[tuple[str, str, str], int] = {}
    for model_clients in by_model.values():
        ranked = sorted(model_clients, key=lambda c: (-c["n_requests"], c["client_id"]))
        for chunk, client in enumerate(ranked):
            chunk_of[(client["category"], client["model"], client["client_id"])] = chunk

    def public_id(client_id: str) -> str:
        return pseudonym(client_id, options.salt or "") if options.anonymize else client_id

    profiles = run_dir.output(PROFILES)
    shutil.rmtree(profiles, ignore_errors=True)
    clients_rows: list[list[Any]] = []
    dir_of = model_dir_names(model for _, model in by_model)  # unique per run, checked
    with _FitsWriter(run_dir.output(FITS), meta) as fits_out:
        for (category, model), model_clients in by_model.items():  # file order
            model_dir = dir_of[model]
            directory = profiles / "data" / category / model_dir
            directory.mkdir(parents=True, exist_ok=True)
            last_window = max(c["last_window_index"] for c in model_clients)
            model_fallback = _literals(dists.take((category, model, None)))[None]
            fits_out.begin_model(category, model, model_dir)
            for client in model_clients:
                key = (category, model, client["client_id"])
                chunk = chunk_of[key]
                client_windows = _rows(windows.take(key))
                client_fits = _rows(fits.take(key))
                write_text_atomic(
                    directory / f"chunk-{chunk}-trace.csv",
                    _trace_lines(client_windows, client_fits, last_window, window_s),
                )
                dataset = _dataset(
                    _literals(dists.take(key)),
                    client_windows,
                    model_fallback,
                    category,
                    layout,
                )
                write_text_atomic(
                    directory / f"chunk-{chunk}-dataset.json", json.dumps(dataset) + "\n"
                )
                public = public_id(client["client_id"])
                clients_rows.append(
                    [category, model, model_dir, chunk, public, client["n_requests"]]
                )
                fits_out.client(
                    _client_fit_record(public, chunk, client_windows, client_fits, client, window_s)
                )
            fits_out.end_model()

    clients_rows.sort(key=lambda row: (row[0], row[1], row[3]))
    write_text_atomic(profiles / CLIENTS_CSV, _csv(clients_rows))
    profiles, fits_path = run_dir.path(PROFILES), run_dir.path(FITS)
    clients_path = profiles / CLIENTS_CSV
    identity_path = run_dir.path(IDENTITY)
    identity = json.loads(identity_path.read_text("utf-8")) if identity_path.is_file() else None
    warnings = sparse_client_warnings(clients, identity)
    run_dir.update_manifest(
        "export",
        {
            "options": {**options.model_dump(), "salt": "***" if options.salt else None},
            "outputs": [str(profiles), str(clients_path), str(fits_path)],
            "seconds": round(time.perf_counter() - started, 3),
            "models": len(by_model),
            "clients": len(clients_rows),
            "warnings": warnings,
        },
    )
    return ExportResult(
        profiles, clients_path, fits_path, len(by_model), len(clients_rows), tuple(warnings)
    )


@dataclass(frozen=True, slots=True)
class _Layout:
    window_s: int
    dataset_window_s: int
    ratio_points: int


class _GroupedRows:
    """Rows of a Parquet file sorted by (category, model, client_id), one group at a time.

    `take(key)` returns the group's columns (name -> list; only `columns` when given); keys
    must be asked for in file order, and groups nobody asks for are skipped. Only one batch
    is held at a time, and only the asked-for columns become Python objects.
    """

    KEYS = ("category", "model", "client_id")

    def __init__(
        self,
        path: Path,
        *,
        nan_to_null: bool = False,
        batch_rows: int = 65536,
        columns: tuple[str, ...] | None = None,
    ) -> None:
        read = None if columns is None else list(dict.fromkeys((*self.KEYS, *columns)))
        self._batches = pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=read)
        self._nan_to_null = nan_to_null
        self._wanted = columns
        self._columns: dict[str, list[Any]] = {}
        self._runs: list[tuple[tuple[Any, ...], int, int]] = []  # (key, start, end) per group
        self._run = 0

    def _next_batch(self) -> bool:
        batch = next(self._batches, None)
        if batch is None:
            return False
        table = pa.Table.from_batches([batch])
        if self._nan_to_null:
            table = _nan_to_null(table)
        names = table.column_names if self._wanted is None else self._wanted
        self._columns = {name: table.column(name).to_pylist() for name in names}
        starts = _group_starts(table, self.KEYS)
        ends = [*starts[1:], table.num_rows]
        keys = [table.column(k) for k in self.KEYS]
        self._runs = [
            (tuple(column[start].as_py() for column in keys), start, end)
            for start, end in zip(starts, ends, strict=True)
        ]
        self._run = 0
        return True

    def take(self, key: tuple[Any, ...]) -> dict[str, list[Any]]:
        parts: list[dict[str, list[Any]]] = []
        while self._run < len(self._runs) or self._next_batch():
            run_key, start, end = self._runs[self._run]
            if run_key != key and (parts or _before(key, run_key)):
                break
            if run_key == key:
                parts.append({n: c[start:end] for n, c in self._columns.items()})
            self._run += 1
        if len(parts) <= 1:  # within one batch: its slices as they are
            return parts[0] if parts else {}
        return {name: [v for part in parts for v in part[name]] for name in parts[0]}


def _group_starts(table: pa.Table, keys: tuple[str, ...]) -> list[int]:
    """Row numbers where the key columns change (0 included), found column-wise by Arrow."""
    n = table.num_rows
    if n == 0:
        return []
    changed = np.zeros(n - 1, dtype=bool)
    for name in keys:
        column = table.column(name)
        before, after = column.slice(0, n - 1), column.slice(1)
        both_null = pc.and_(pc.is_null(before), pc.is_null(after))
        same = pc.or_(pc.fill_null(pc.equal(before, after), False), both_null)
        changed |= ~same.to_numpy(zero_copy_only=False)
    return [0, *(np.flatnonzero(changed) + 1).tolist()]


def _rows(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Columns (name -> list) as a list of row dicts."""
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _before(key: tuple[Any, ...], row_key: tuple[Any, ...]) -> bool:
    """Whether `key` sorts before `row_key` (NULL client ids first, as the SQL orders them)."""

    def sortable(k: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple((v is not None, v.encode() if isinstance(v, str) else v) for v in k)

    return sortable(key) < sortable(row_key)


class _FitsWriter:
    """fits.json written client by client, with the keys in sorted order (as json sort_keys)."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self._path = path
        self._meta = meta
        self._tmp = path.with_name(f".{path.name}.tmp")
        self._first_model = True
        self._first_client = True

    def __enter__(self) -> _FitsWriter:
        self._handle = self._tmp.open("w", encoding="utf-8", newline="\n")
        head = {
            "families": list(FAMILIES),
            "format": FITS_FORMAT,
        }
        self._handle.write(_compact(head)[:-1] + ',"models":[')
        return self

    def begin_model(self, category: str, model: str, model_dir: str) -> None:
        prefix = "" if self._first_model else ","
        self._first_model, self._first_client = False, True
        record = _compact({"category": category})[:-1]
        self._handle.write(f'{prefix}{record},"clients":[')
        self._model_tail = _compact({"model": model, "model_dir": model_dir})[1:]

    def client(self, record: dict[str, Any]) -> None:
        self._handle.write(("" if self._first_client else ",") + _compact(record))
        self._first_client = False

    def end_model(self) -> None:
        self._handle.write("]," + self._model_tail)

    def __exit__(self, *exc: object) -> None:
        tail = {
            "origin": self._meta["origin"],
            "pattern_rule": "better of gamma and weibull_min by log-likelihood; shape "
            "matched to the window's CV, scale to its mean inter-arrival time",
            "window_s": int(self._meta["window_s"]),
        }
        self._handle.write("]," + _compact(tail)[1:] + "\n")
        self._handle.close()
        if exc[0] is None:
            os.replace(self._tmp, self._path)
        else:
            self._tmp.unlink(missing_ok=True)


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _literals(columns: dict[str, list[Any]]) -> dict[Any, dict[str, str]]:
    """dataset_index -> field -> ServeGen's `{value: probability, ...}` text.

    The entries are made in SQL from integers and doubles only (never from log text), because
    ServeGen `eval`s the literal; `columns` are one client's (or model's) rows, in order.
    """
    result: dict[Any, dict[str, str]] = defaultdict(dict)
    if not columns:
        return result
    groups = zip(columns["dataset_index"], columns["field"], strict=True)
    start = 0
    for (dataset_index, field), run in itertools.groupby(groups):
        end = start + len(list(run))
        result[dataset_index][field] = "{" + ", ".join(columns["entry"][start:end]) + "}"
        start = end
    return result


def _trace_lines(
    client_windows: list[dict[str, Any]],
    client_fits: list[dict[str, Any]],
    last_window: int,
    window_s: int,
) -> str:
    active = {w["window_index"]: (w, f) for w, f in zip(client_windows, client_fits, strict=True)}
    lines = []
    for index in range(last_window + 1):
        timestamp = index * window_s
        if index not in active:
            lines.append(f"{timestamp},0,0,,0,0")
            continue
        window, fit = active[index]
        lines.append(
            f"{timestamp},{_num(window['rate_rps'])},{_num(fit['pattern_cv'])},"
            f"{SERVEGEN_NAMES[fit['pattern_family']]},{_num(fit['pattern_shape'])},"
            f"{_num(fit['pattern_scale'])}"
        )
    return "\n".join(lines) + "\n"


def _num(value: float) -> str:
    """A float as Python's shortest round-trip text; refuses anything non-finite."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"non-finite number {number!r} in a profile")
    return repr(number)


def _dataset(
    own: dict[Any, dict[str, str]],
    client_windows: list[dict[str, Any]],
    model_fallback: dict[str, str],
    category: str,
    layout: _Layout,
) -> dict[str, dict[str, str]]:
    """Dataset windows of one client, each with every field its category needs.

    A dataset window exists where the client has successful requests. If the client's first
    trace window comes before its first such dataset window (its early requests all failed),
    the first dataset window is copied back to it, or the model's distribution is used when the
    client has no successful request at all, so that every trace window finds one.
    """
    fields = CATEGORY_FIELDS[category]
    first_index = (
        min(w["window_index"] for w in client_windows) * layout.window_s // layout.dataset_window_s
    )
    if not own or min(own) > first_index:
        source = own[min(own)] if own else model_fallback
        own = {first_index: source, **own}
    result: dict[str, dict[str, str]] = {}
    for index in sorted(own):
        entry = own[index]
        result[str(index * layout.dataset_window_s)] = {
            field: entry.get(field) or _point_mass_at_zero(field, layout.ratio_points)
            for field in fields
        }
    return result


def _point_mass_at_zero(field: str, ratio_points: int) -> str:
    """`{0: 1.0}`: the value of a modality that never occurs (dense grid for reason_ratio)."""
    if field == "reason_ratio":
        grid = [
            f"{k / (ratio_points - 1)!r}: {1.0 if k == 0 else 0.0!r}" for k in range(ratio_points)
        ]
        return "{" + ", ".join(grid) + "}"
    return "{0: 1.0}"


def _client_fit_record(
    client_id: str,
    chunk: int,
    client_windows: list[dict[str, Any]],
    client_fits: list[dict[str, Any]],
    pooled: dict[str, Any],
    window_s: int,
) -> dict[str, Any]:
    windows = []
    for window, fit in zip(client_windows, client_fits, strict=True):
        windows.append(
            {
                "timestamp": window["window_index"] * window_s,
                "n_requests": window["n_requests"],
                "rate": window["rate_rps"],
                "cv": window["cv"],
                "mean_iat_s": window["mean_iat_s"],
                "status": fit["status"],
                "n_intervals": fit["n_intervals_fitted"],
                "n_tied": fit["n_tied"],
                "resolution_s": fit["resolution_s"],
                "fits": _family_records(fit) if fit["status"] == "fitted" else {},
                "pattern": _pattern(fit),
            }
        )
    return {
        "client_id": client_id,
        "chunk": chunk,
        "requests": pooled["n_requests"],
        "pooled": {
            "status": pooled["status"],
            "n_intervals": pooled["n_pooled"],
            "cv": pooled["pooled_cv"],
            "fits": _family_records(pooled) if pooled["n_intervals_fitted"] else {},
            "pattern": {
                "name": SERVEGEN_NAMES[pooled["pattern_family"]],
                "shape": pooled["pattern_shape"],
                "cv": pooled["pattern_cv"],
                "sample_cv": pooled["pooled_cv"],
                "shape_from": pooled["pattern_shape_from"],
            },
        },
        "windows": windows,
    }


def _family_records(row: dict[str, Any]) -> dict[str, Any]:
    return {
        family: {
            "params": {name: row[f"{family}__{name}"] for name in PARAM_NAMES[family]},
            "loglik": row[f"{family}__loglik"],
            "aic": row[f"{family}__aic"],
            "ks": row[f"{family}__ks"],
        }
        for family in FAMILIES
    }


def _pattern(fit: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": SERVEGEN_NAMES[fit["pattern_family"]],
        "shape": fit["pattern_shape"],
        "scale": fit["pattern_scale"],
        "cv": fit["pattern_cv"],
        "sample_cv": fit["sample_cv"],
        "shape_from": fit["pattern_shape_from"],
    }


def _nan_to_null(table: pa.Table) -> pa.Table:
    """NaN (no fit) becomes null, so that fits.json is strict JSON."""
    columns = []
    for column in table.columns:
        if pa.types.is_floating(column.type):
            column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _csv(rows: list[list[Any]]) -> str:
    header = csv_line(["category", "model", "model_dir", "chunk", "client_id", "requests"])
    return header + "".join(csv_line(row) for row in rows)
