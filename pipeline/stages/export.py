"""Export: fitted patterns and distributions -> ServeGen profiles, clients.csv and fits.json.

The layout and every rule follow `docs/servegen-format.md`: one chunk per client, numbered
0..K-1 per model by request count (largest first); every client of a model lists the same
trace timestamps, inactive windows included; dataset strings hold only numeric literals.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fitting import FAMILIES, SERVEGEN_NAMES
from pipeline.naming import model_dir_name, pseudonym
from pipeline.rundir import RunDir, write_json, write_text_atomic
from pipeline.stages.aggregate import DISTRIBUTIONS, META, TRACE_WINDOWS
from pipeline.stages.fit import CLIENT_FITS, WINDOW_FITS

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
PER_ITEM_FIELDS = ("image_tokens", "audio_tokens", "video_tokens")
_PARAM_NAMES = {
    "gamma": ("a", "loc", "scale"),
    "weibull_min": ("c", "loc", "scale"),
    "expon": ("loc", "scale"),
    "lognorm": ("s", "loc", "scale"),
}


@dataclass(frozen=True, slots=True)
class ExportResult:
    """Paths written by the export stage."""

    profiles: Path
    clients: Path
    fits: Path
    n_models: int
    n_clients: int


def run(run_dir: RunDir, options: ExportOptions) -> ExportResult:
    """Write `profiles/`, `profiles/clients.csv` and `fits.json`."""
    started = time.perf_counter()
    meta = run_dir.read_json(META, "aggregate")
    windows = pq.read_table(run_dir.require(TRACE_WINDOWS, "aggregate")).to_pylist()
    window_fits = _nan_to_null(pq.read_table(run_dir.require(WINDOW_FITS, "fit"))).to_pylist()
    client_fits = _nan_to_null(pq.read_table(run_dir.require(CLIENT_FITS, "fit"))).to_pylist()
    distributions = pq.read_table(run_dir.require(DISTRIBUTIONS, "aggregate")).to_pylist()
    window_s = int(meta["window_s"])
    dataset_window_s = int(meta["dataset_window_s"])
    ratio_points = int(meta["reason_ratio_points"])

    fits_by_key = {row["window_key"]: row for row in window_fits}
    windows_by_client: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in windows:
        windows_by_client[(row["category"], row["model"], row["client_id"])].append(row)
    pooled_by_client = {(r["category"], r["model"], r["client_id"]): r for r in client_fits}
    # (category, model, client_id) -> dataset_index -> field -> literal; client_id None = model
    dists: dict[tuple[Any, ...], dict[Any, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    for row in distributions:
        key = (row["category"], row["model"], row["client_id"])
        dists[key][row["dataset_index"]][row["field"]] = row["dict_literal"]

    def public_id(client_id: str) -> str:
        return pseudonym(client_id, options.salt or "") if options.anonymize else client_id

    profiles = run_dir.path("profiles")
    shutil.rmtree(profiles, ignore_errors=True)
    clients_rows: list[list[Any]] = []
    fits_models: list[dict[str, Any]] = []

    by_model: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for key in windows_by_client:
        by_model[(key[0], key[1])].append(key)

    for category, model in sorted(by_model):
        model_dir = model_dir_name(model)
        directory = profiles / "data" / category / model_dir
        directory.mkdir(parents=True, exist_ok=True)
        client_keys = by_model[(category, model)]
        requests_of = {k: sum(w["n_requests"] for w in windows_by_client[k]) for k in client_keys}
        ordered = sorted(client_keys, key=lambda k: (-requests_of[k], k[2]))
        last_window = max(w["window_index"] for k in client_keys for w in windows_by_client[k])
        model_fallback = dists[(category, model, None)][None]
        fits_clients = []
        for chunk, key in enumerate(ordered):
            client_windows = windows_by_client[key]
            trace = _trace_lines(client_windows, fits_by_key, last_window, window_s)
            write_text_atomic(directory / f"chunk-{chunk}-trace.csv", trace)
            dataset = _dataset(
                dict(dists[key]),
                client_windows,
                model_fallback,
                category,
                window_s,
                dataset_window_s,
                ratio_points,
            )
            write_text_atomic(directory / f"chunk-{chunk}-dataset.json", json.dumps(dataset) + "\n")
            clients_rows.append(
                [category, model, model_dir, chunk, public_id(key[2]), requests_of[key]]
            )
            fits_clients.append(
                _client_fit_record(
                    public_id(key[2]),
                    chunk,
                    requests_of[key],
                    client_windows,
                    fits_by_key,
                    pooled_by_client[key],
                    window_s,
                )
            )
        fits_models.append(
            {"category": category, "model": model, "model_dir": model_dir, "clients": fits_clients}
        )

    clients_path = write_text_atomic(profiles / "clients.csv", _csv(clients_rows))
    fits_path = write_json(
        run_dir.path("fits.json"),
        {
            "format": "servechar.fits/1",
            "window_s": window_s,
            "origin": meta["origin"],
            "families": list(FAMILIES),
            "pattern_rule": "better of gamma and weibull_min by log-likelihood; shape "
            "matched to the window's CV, scale to its mean inter-arrival time",
            "models": fits_models,
        },
        compact=True,
    )
    run_dir.update_manifest(
        "export",
        {
            "options": {**options.model_dump(), "salt": "***" if options.salt else None},
            "outputs": [str(profiles), str(clients_path), str(fits_path)],
            "seconds": round(time.perf_counter() - started, 3),
            "models": len(fits_models),
            "clients": len(clients_rows),
        },
    )
    return ExportResult(profiles, clients_path, fits_path, len(fits_models), len(clients_rows))


def _trace_lines(
    client_windows: list[dict[str, Any]],
    fits_by_key: dict[int, dict[str, Any]],
    last_window: int,
    window_s: int,
) -> str:
    active = {w["window_index"]: w for w in client_windows}
    lines = []
    for index in range(last_window + 1):
        timestamp = index * window_s
        window = active.get(index)
        if window is None:
            lines.append(f"{timestamp},0,0,,0,0")
            continue
        fit = fits_by_key[window["window_key"]]
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
    own: dict[int, dict[str, str]],
    client_windows: list[dict[str, Any]],
    model_fallback: dict[str, str],
    category: str,
    window_s: int,
    dataset_window_s: int,
    ratio_points: int,
) -> dict[str, dict[str, str]]:
    """Dataset windows of one client, each with every field its category needs.

    A dataset window exists where the client has successful requests. If the client's first
    trace window comes before its first such dataset window (its early requests all failed),
    the first dataset window is copied back to it, or the model's distribution is used when the
    client has no successful request at all, so that every trace window finds one.
    """
    fields = CATEGORY_FIELDS[category]
    first_index = min(w["window_index"] for w in client_windows) * window_s // dataset_window_s
    if not own or min(own) > first_index:
        source = own[min(own)] if own else model_fallback
        own = {first_index: source, **own}
    result: dict[str, dict[str, str]] = {}
    for index in sorted(own):
        entry = own[index]
        result[str(index * dataset_window_s)] = {
            field: entry.get(field) or _point_mass_at_zero(field, ratio_points) for field in fields
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
    requests: int,
    client_windows: list[dict[str, Any]],
    fits_by_key: dict[int, dict[str, Any]],
    pooled: dict[str, Any],
    window_s: int,
) -> dict[str, Any]:
    windows = []
    for window in client_windows:
        fit = fits_by_key[window["window_key"]]
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
                "tie_floor_s": fit["tie_floor_s"],
                "fits": _family_records(fit) if fit["status"] == "fitted" else {},
                "pattern": _pattern(fit),
            }
        )
    return {
        "client_id": client_id,
        "chunk": chunk,
        "requests": requests,
        "pooled": {
            "status": pooled["status"],
            "n_intervals": pooled["n_pooled"],
            "cv": pooled["pooled_cv"],
            "fits": _family_records(pooled) if pooled["n_intervals_fitted"] else {},
            "pattern": {
                "name": SERVEGEN_NAMES[pooled["pattern_family"]],
                "shape": pooled["pattern_shape"],
                "cv": pooled["pattern_cv"],
            },
        },
        "windows": windows,
    }


def _family_records(row: dict[str, Any]) -> dict[str, Any]:
    return {
        family: {
            "params": {name: row[f"{family}__{name}"] for name in _PARAM_NAMES[family]},
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
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["category", "model", "model_dir", "chunk", "client_id", "requests"])
    writer.writerows(rows)
    return buffer.getvalue()
