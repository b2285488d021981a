"""`servechar diff OLD NEW`: what changed between two run directories, and does it matter.

Reads only named artefacts of each run (`aggregate/meta.json`, `aggregate/trace_windows.parquet`,
`aggregate/distributions.parquet`, `fits.json`), compares every model and every client metric by
metric with the tests of `fitting.comparison`, corrects all p-values together
(Benjamini-Hochberg), and calls a change *material* when it is significant and beyond a
practical threshold. Writes `diff.json` (format `servechar.diff/1`, see docs/diff.md) and a
self-contained `diff.html`. The same inputs and options give byte-identical files.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from fitting.comparison import (
    Comparison,
    benjamini_hochberg,
    compare_means,
    compare_profiles,
    compare_ranks,
    compare_tables,
    group_means,
)
from pipeline.artefacts import (
    DIFF_FORMAT,
    DIFF_HTML,
    DIFF_JSON,
    DISTRIBUTIONS,
    FITS,
    FITS_FORMAT,
    META,
    TRACE_WINDOWS,
)
from pipeline.errors import InputError
from pipeline.rundir import (
    STAMPS_DIR,
    RunDir,
    is_run_directory,
    json_ready,
    run_artefact_of,
    write_text_atomic,
)
from pipeline.schema import OPTIONAL_FIELD_COLUMNS

SECONDS_PER_DAY = 86_400
MIN_WINDOW_INTERVALS = 10
"""Windows with fewer inter-arrival times leave the CV comparisons: a sample CV of a handful
of intervals is biased low, so a client whose rate doubles would seem to grow burstier."""
SIGNIFICANT_DIGITS = 6
RATE_METRICS = ("rate", "daily_profile")
BURST_METRICS = ("cv", "cv_by_hour", "pattern_shape")
LENGTH_FIELDS = (
    "input_tokens",
    "output_tokens",
    "reason_ratio",
    *(field for field in OPTIONAL_FIELD_COLUMNS if field != "reason_tokens"),
)
"""The fields of aggregate's distributions, in the order a client's changes list them."""
STATUSES = ("new", "gone", "changed", "unchanged")


class DiffOptions(BaseModel):
    """Significance level and practical thresholds of what counts as material."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alpha: float = Field(default=0.05, gt=0.0, lt=1.0)  # on Benjamini-Hochberg q-values
    rate_threshold: float = Field(default=0.2, ge=0.0)  # requests/day and daily profile
    cv_threshold: float = Field(default=0.2, ge=0.0)  # CV, CV by hour and pattern shape
    median_threshold: float = Field(default=0.1, ge=0.0)  # relative shift of a median length
    ks_threshold: float = Field(default=0.05, ge=0.0, le=1.0)  # KS distance of a distribution
    min_client_share: float = Field(default=0.01, ge=0.0, le=1.0)  # new/gone clients


@dataclass(frozen=True, slots=True)
class DiffResult:
    """What `diff_runs` wrote and found."""

    json_path: Path
    html_path: Path
    material: bool
    document: dict[str, Any]  # the content of diff.json
    counts: dict[str, int]  # clients per status


# --- reading a run directory ----------------------------------------------------------------


@dataclass(slots=True)
class _Client:
    windows: np.ndarray  # window_index of each window with requests
    n_requests: np.ndarray
    n_intervals: np.ndarray
    cv: np.ndarray  # NaN below two intervals
    pattern_cv: np.ndarray  # of the windows fitted on their own
    pattern_shape: np.ndarray
    pattern_family: list[str]
    pattern_hours: np.ndarray  # UTC hour of day of each fitted window
    lengths: dict[str, tuple[np.ndarray, np.ndarray]]  # field -> (values, counts)


@dataclass(slots=True)
class _Run:
    label: str
    meta: dict[str, Any]
    first_window: int
    last_window: int
    clients: dict[tuple[str, str], dict[str, _Client]]  # (category, model) -> client -> data
    model_lengths: dict[tuple[str, str], dict[str, tuple[np.ndarray, np.ndarray]]]

    @property
    def window_s(self) -> int:
        return int(self.meta["window_s"])

    def hours(self) -> np.ndarray:
        """Hour of day (UTC) at the start of each window of the run's grid."""
        index = np.arange(self.first_window, self.last_window + 1, dtype=np.int64)
        seconds = int(self.meta["origin_us"]) // 1_000_000 + index * self.window_s
        return (seconds % SECONDS_PER_DAY) // 3600

    def rates(self, client: _Client) -> np.ndarray:
        """Requests per second of every window of the run's grid, empty windows as 0."""
        rates = np.zeros(self.last_window - self.first_window + 1)
        rates[client.windows - self.first_window] = client.n_requests / self.window_s
        return rates


def _open(path: Path, label: str) -> RunDir:
    if not path.is_dir() or not is_run_directory(path):
        what = "does not exist" if not path.exists() else "is not a run directory"
        raise InputError(
            f"{label} {path} {what}",
            hint=f"Give {label} as a directory written by `servechar run --out DIR` "
            "(it holds manifest.json, fits.json and aggregate/).",
        )
    run_dir = RunDir(path)
    if (path / STAMPS_DIR).is_dir():  # every stage read must have finished, from one input
        run_dir.fingerprint("export")  # checks export, fit, aggregate and ingest in turn
    return run_dir


def load_run(path: Path, label: str) -> _Run:
    """The artefacts of one run directory that the diff compares."""
    import polars as pl

    run_dir = _open(path, label)
    meta = run_dir.read_json(
        META, "aggregate", ["origin_us", "window_s", "dataset_window_s", "reason_ratio_points"]
    )
    fits = run_dir.read_json(FITS, "export", ["format", "models"])
    if fits["format"] != FITS_FORMAT:
        raise InputError(
            f"{run_dir.path(FITS)} has format {fits['format']!r}, not {FITS_FORMAT!r}",
            hint=f"Re-run `servechar export --out {path}` with this version.",
        )
    windows = pl.read_parquet(
        run_dir.require(TRACE_WINDOWS, "aggregate"),
        columns=[
            "category",
            "model",
            "client_id",
            "window_index",
            "n_requests",
            "n_intervals",
            "cv",
        ],
    ).sort(["category", "model", "client_id", "window_index"])
    if windows.height == 0:
        raise InputError(
            f"{run_dir.path(TRACE_WINDOWS)} holds no windows", hint="Re-run aggregate."
        )
    lengths = (
        pl.scan_parquet(run_dir.require(DISTRIBUTIONS, "aggregate"))
        .group_by(["category", "model", "client_id", "field", "value"])
        .agg(pl.col("n").sum())
        .sort(["category", "model", "client_id", "field", "value"], nulls_last=False)
        .collect()
    )
    length_tables: dict[tuple[str, str, str | None], dict[str, tuple[np.ndarray, np.ndarray]]]
    length_tables = defaultdict(dict)
    for (category, model, client, field), part in lengths.group_by(
        ["category", "model", "client_id", "field"], maintain_order=True
    ):
        values = part["value"].to_numpy().astype(np.float64)
        counts = part["n"].to_numpy().astype(np.int64)
        keep = counts > 0  # reason_ratio's dense grid holds zeros
        if field == "reason_ratio":  # grid index k -> the share k / (points - 1)
            values = values / (int(meta["reason_ratio_points"]) - 1)
        length_tables[(category, model, client)][field] = (values[keep], counts[keep])

    patterns = _fitted_patterns(fits, run_dir)
    origin_s = int(meta["origin_us"]) // 1_000_000
    clients: dict[tuple[str, str], dict[str, _Client]] = defaultdict(dict)
    for (category, model), model_windows in windows.group_by(
        ["category", "model"], maintain_order=True
    ):
        parts = model_windows.partition_by("client_id", as_dict=True, maintain_order=True)
        totals = [(key[0], int(part["n_requests"].sum())) for key, part in parts.items()]
        ranked = sorted(totals, key=lambda row: (-row[1], row[0]))  # export's chunk order
        public = patterns.get((category, model), {})
        for chunk, (client_id, n_requests) in enumerate(ranked):
            found = public.get(chunk)
            if found is None or found[1] != n_requests:
                raise InputError(
                    f"{run_dir.path(FITS)} does not match {run_dir.path(TRACE_WINDOWS)} "
                    f"(model {model!r}, profile chunk {chunk})",
                    hint=f"Re-run `servechar run --out {path}`: its stages are out of step.",
                )
            public_id, _, fitted = found
            part = parts[(client_id,)]
            clients[(category, model)][public_id] = _Client(
                windows=part["window_index"].to_numpy().astype(np.int64),
                n_requests=part["n_requests"].to_numpy().astype(np.float64),
                n_intervals=part["n_intervals"].to_numpy().astype(np.int64),
                cv=part["cv"].fill_null(np.nan).to_numpy().astype(np.float64),
                pattern_cv=np.asarray([w[0] for w in fitted], dtype=np.float64),
                pattern_shape=np.asarray([w[1] for w in fitted], dtype=np.float64),
                pattern_family=[w[2] for w in fitted],
                pattern_hours=(
                    (origin_s + np.asarray([w[3] for w in fitted], dtype=np.int64))
                    % SECONDS_PER_DAY
                )
                // 3600,
                lengths=length_tables.get((category, model, client_id), {}),
            )
    model_lengths = {
        (category, model): tables
        for (category, model, client), tables in length_tables.items()
        if client is None
    }
    return _Run(
        label,
        meta,
        int(windows["window_index"].min()),  # type: ignore[arg-type]
        int(windows["window_index"].max()),  # type: ignore[arg-type]
        dict(clients),
        model_lengths,
    )


def _fitted_patterns(
    fits: dict[str, Any], run_dir: RunDir
) -> dict[tuple[str, str], dict[int, tuple[str, int, list[tuple[float, float, str, int]]]]]:
    """(category, model) -> chunk -> (the profile's client id, requests, the (pattern CV,
    shape, family, window start offset) of each window fitted on its own). The profile's id
    is the public one (a pseudonym when the run was anonymized)."""
    result: dict[tuple[str, str], dict[int, tuple[str, int, list[tuple[float, float, str, int]]]]]
    result = defaultdict(dict)
    try:
        for model in fits["models"]:
            for client in model["clients"]:
                fitted = [
                    (
                        w["pattern"]["cv"],
                        w["pattern"]["shape"],
                        w["pattern"]["name"],
                        int(w["timestamp"]),
                    )
                    for w in client["windows"]
                    if w["status"] == "fitted" and w["pattern"]["cv"] is not None
                ]
                result[(model["category"], model["model"])][int(client["chunk"])] = (
                    str(client["client_id"]),
                    int(client["requests"]),
                    fitted,
                )
    except (KeyError, TypeError) as exc:
        raise InputError(
            f"{run_dir.path(FITS)} is damaged: a model or client lacks {exc}",
            hint=f"Re-run `servechar export --out {run_dir.root}`.",
        ) from None
    return result


def _check_comparable(old: _Run, new: _Run) -> None:
    for key, option in (
        ("window_s", "--window"),
        ("dataset_window_s", "--dataset-window"),
        ("reason_ratio_points", "reason ratio grid"),
    ):
        if old.meta[key] != new.meta[key]:
            raise InputError(
                f"OLD and NEW were aggregated with different settings: {key} is "
                f"{old.meta[key]} in OLD and {new.meta[key]} in NEW",
                hint=f"Re-run one of them with the other's {option} so that their windows "
                "compare like with like.",
            )


# --- comparing -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Change:
    metric: str
    comparison: Comparison
    q_value: float = math.nan
    material: bool = False


def _client_changes(old_run: _Run, old: _Client, new_run: _Run, new: _Client) -> list[_Change]:
    changes = _rate_changes(old_run, [old], new_run, [new])
    old_ok, new_ok = (
        old.n_intervals >= MIN_WINDOW_INTERVALS,
        new.n_intervals >= MIN_WINDOW_INTERVALS,
    )
    changes.append(_Change("cv", compare_ranks(old.cv[old_ok], new.cv[new_ok])))
    reference = float(np.nanmedian(old.cv[old_ok])) if old_ok.any() else math.nan
    if reference > 0:  # the hourly CVs relative to OLD's median: shifts read as shares
        old_hours = _window_hours(old_run, old.windows[old_ok])
        new_hours = _window_hours(new_run, new.windows[new_ok])
        changes.append(
            _Change(
                "cv_by_hour",
                compare_profiles(
                    old.cv[old_ok] / reference, old_hours, new.cv[new_ok] / reference, new_hours
                ),
            )
        )
    shape = compare_ranks(old.pattern_cv, new.pattern_cv)  # the fitted patterns' CVs
    shape = replace(
        shape, old={**shape.old, **_shape_summary(old)}, new={**shape.new, **_shape_summary(new)}
    )
    changes.append(_Change("pattern_shape", shape))
    changes.extend(_length_changes(old.lengths, new.lengths))
    return changes


def _shape_summary(client: _Client) -> dict[str, Any]:
    """The fitted shape of the most frequent family, and the patterns' mean CV by hour."""
    by_hour = group_means(client.pattern_cv, client.pattern_hours, 24)
    if not client.pattern_family:
        return {"shape": None, "family": None, "by_hour": by_hour}
    families = sorted(set(client.pattern_family))
    family = max(families, key=client.pattern_family.count)  # the most frequent, ties by name
    chosen = np.asarray([f == family for f in client.pattern_family])
    shape = float(np.median(client.pattern_shape[chosen]))
    return {"shape": shape, "family": family, "by_hour": by_hour}


def _window_hours(run: _Run, windows: np.ndarray) -> np.ndarray:
    return run.hours()[windows - run.first_window]


def _rate_changes(
    old_run: _Run, old: list[_Client], new_run: _Run, new: list[_Client]
) -> list[_Change]:
    """Requests per day and the daily profile of the sum of `old` (`new`) clients' windows."""
    old_rates = sum((old_run.rates(c) for c in old), np.zeros(1))
    new_rates = sum((new_run.rates(c) for c in new), np.zeros(1))
    level = compare_means(old_rates * SECONDS_PER_DAY, new_rates * SECONDS_PER_DAY)
    level = replace(  # the mean of per-window rates in requests per day: say so
        level,
        old={"requests_per_day": level.old["mean"], "windows": level.old["windows"]},
        new={"requests_per_day": level.new["mean"], "windows": level.new["windows"]},
    )
    changes = [_Change("rate", level)]
    old_mean, new_mean = old_rates.mean(), new_rates.mean()
    if old_mean > 0 and new_mean > 0:  # shapes: each run's rates relative to its own mean
        profile = compare_profiles(
            old_rates / old_mean, old_run.hours(), new_rates / new_mean, new_run.hours()
        )
        changes.append(_Change("daily_profile", profile))
    return changes


def _length_changes(
    old: dict[str, tuple[np.ndarray, np.ndarray]], new: dict[str, tuple[np.ndarray, np.ndarray]]
) -> list[_Change]:
    changes = []
    for field in LENGTH_FIELDS:
        if field not in old or field not in new:
            continue
        (old_values, old_counts), (new_values, new_counts) = old[field], new[field]
        if not old_counts.sum() or not new_counts.sum():
            continue
        constant = len(old_values) == 1 and len(new_values) == 1
        if constant and old_values[0] == new_values[0]:
            continue  # the same single value (no audio at all, say): nothing to compare
        changes.append(
            _Change(field, compare_tables(old_values, old_counts, new_values, new_counts))
        )
    return changes


def _is_material(change: _Change, options: DiffOptions) -> bool:
    if not change.q_value <= options.alpha:  # NaN (untested) is never significant
        return False
    effect = change.comparison.effect

    def beyond(key: str, threshold: float, relative: bool) -> bool:
        value = effect.get(key)
        if value is None or math.isnan(value):
            return False
        return abs(value - 1) >= threshold if relative else abs(value) >= threshold

    if change.metric == "rate":
        return beyond("ratio", options.rate_threshold, True)
    if change.metric == "daily_profile":
        return beyond("max_shift", options.rate_threshold, False)
    if change.metric in ("cv", "pattern_shape"):
        return beyond("ratio", options.cv_threshold, True)
    if change.metric == "cv_by_hour":
        return beyond("max_shift", options.cv_threshold, False)
    return beyond("ks", options.ks_threshold, False) or beyond(
        "median_shift", options.median_threshold, False
    )


# --- the diff ----------------------------------------------------------------------------------


def diff_runs(old: Path, new: Path, out: Path, options: DiffOptions | None = None) -> DiffResult:
    """Compare two run directories; write `out/diff.json` and `out/diff.html`.

    Parameters
    ----------
    old, new
        Run directories written by `servechar run --out` (a refresh version is one).
    out
        Directory for the two files (created if needed). Each file is written atomically,
        diff.json last (an earlier diff.json is removed first).
    options
        Significance level and practical thresholds (defaults: see `DiffOptions`).

    Raises
    ------
    InputError
        OLD or NEW is not a run directory, lacks an artefact, or was aggregated with other
        window settings.
    """
    from reports.diff_page import render_diff

    options = options or DiffOptions()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file", hint="Give --out a directory.")
    owner = run_artefact_of(out / DIFF_JSON)
    if owner is not None:  # writing there would change an artefact a stage stamped
        raise InputError(
            f"--out {out} lies inside {owner[1].parts[0]}, an artefact of the run directory "
            f"{owner[0]}",
            hint=f"Write the diff beside the run's artefacts, e.g. --out {owner[0] / 'diff'}.",
        )
    old_run, new_run = load_run(Path(old), "OLD"), load_run(Path(new), "NEW")
    _check_comparable(old_run, new_run)
    document = build_document(old_run, new_run, options, Path(old), Path(new))
    html = render_diff(document)
    # diff.json goes last, and an earlier one first: a diff.json beside a diff.html means both
    # are of this diff, whenever the process was stopped
    (out / DIFF_JSON).unlink(missing_ok=True)
    html_path = write_text_atomic(out / DIFF_HTML, html)
    json_path = write_text_atomic(out / DIFF_JSON, json.dumps(document, indent=2) + "\n")
    counts = {status: 0 for status in STATUSES}
    for model in document["models"]:
        for client in model["clients"]:
            counts[client["status"]] += 1
    return DiffResult(json_path, html_path, document["verdict"]["material"], document, counts)


def build_document(
    old_run: _Run, new_run: _Run, options: DiffOptions, old_path: Path, new_path: Path
) -> dict[str, Any]:
    """The content of diff.json (keys in the documented order: verdict first, then details)."""
    keys = sorted(set(old_run.clients) | set(new_run.clients))
    models: list[dict[str, Any]] = []
    all_changes: list[_Change] = []
    for category, model in keys:
        old_clients = old_run.clients.get((category, model), {})
        new_clients = new_run.clients.get((category, model), {})
        record: dict[str, Any] = {"model": model, "category": category, "old_clients": old_clients}
        record["model_changes"] = []
        if old_clients and new_clients:
            record["model_changes"] = _rate_changes(
                old_run, list(old_clients.values()), new_run, list(new_clients.values())
            ) + _length_changes(
                old_run.model_lengths.get((category, model), {}),
                new_run.model_lengths.get((category, model), {}),
            )
        record["client_changes"] = {
            client: _client_changes(old_run, old_clients[client], new_run, new_clients[client])
            for client in sorted(set(old_clients) & set(new_clients))
        }
        all_changes.extend(record["model_changes"])
        for changes in record["client_changes"].values():
            all_changes.extend(changes)
        record["new_clients"] = new_clients
        models.append(record)

    q_values = benjamini_hochberg([c.comparison.p_value for c in all_changes])
    for change, q in zip(all_changes, q_values, strict=True):
        change.q_value = float(q)
        change.material = _is_material(change, options)

    model_docs = [_model_document(old_run, new_run, r, options) for r in models]
    verdict = _verdict(model_docs)
    document = {
        "format": DIFF_FORMAT,
        "old": _run_document(old_run, old_path),
        "new": _run_document(new_run, new_path),
        "verdict": verdict,
        "options": options.model_dump(),
        "comparisons": len(all_changes),
        "models": model_docs,
    }
    return json_ready(document, SIGNIFICANT_DIGITS)


def _run_document(run: _Run, path: Path) -> dict[str, Any]:
    meta = run.meta
    days = (run.last_window - run.first_window + 1) * run.window_s / SECONDS_PER_DAY
    return {
        "path": str(path),
        "first_arrival": meta.get("first_arrival"),
        "last_arrival": meta.get("last_arrival"),
        "days": days,
        "requests": meta.get("n_requests"),
        "window_s": run.window_s,
        "dataset_window_s": meta["dataset_window_s"],
    }


def _change_document(change: _Change) -> dict[str, Any]:
    c = change.comparison
    return {
        "metric": change.metric,
        "old": c.old,
        "new": c.new,
        "effect": c.effect,
        "p_value": c.p_value,
        "q_value": change.q_value,
        "material": change.material,
    }


def _presence(run: _Run, client: _Client, model_clients: dict[str, _Client]) -> dict[str, Any]:
    """Requests per day of a client present in one run only, and its share of its model."""
    days = (run.last_window - run.first_window + 1) * run.window_s / SECONDS_PER_DAY
    total = sum(float(c.n_requests.sum()) for c in model_clients.values())
    return {
        "requests_per_day": float(client.n_requests.sum()) / days,
        "share_of_model": float(client.n_requests.sum()) / total,
    }


def _model_document(
    old_run: _Run, new_run: _Run, record: dict[str, Any], options: DiffOptions
) -> dict[str, Any]:
    old_clients: dict[str, _Client] = record["old_clients"]
    new_clients: dict[str, _Client] = record["new_clients"]
    clients = []
    rate_delta: dict[str, float] = {}
    for client in sorted(set(old_clients) | set(new_clients)):
        if client not in new_clients:
            presence = _presence(old_run, old_clients[client], old_clients)
            material = presence["share_of_model"] >= options.min_client_share
            status, changes = "gone", [_presence_change(presence, None, material)]
            rate_delta[client] = -presence["requests_per_day"]
        elif client not in old_clients:
            presence = _presence(new_run, new_clients[client], new_clients)
            material = presence["share_of_model"] >= options.min_client_share
            status, changes = "new", [_presence_change(None, presence, material)]
            rate_delta[client] = presence["requests_per_day"]
        else:
            found = record["client_changes"][client]
            material = any(c.material for c in found)
            status = "changed" if material else "unchanged"
            changes = [_change_document(c) for c in found]
            level = found[0].comparison  # "rate" comes first: requests per day
            rate_delta[client] = level.new["requests_per_day"] - level.old["requests_per_day"]
        entry = {"client": client, "status": status, "material": material, "changes": changes}
        clients.append(entry)

    model_changes = [_change_document(c) for c in record["model_changes"]]
    if not old_clients or not new_clients:
        status = "new" if not old_clients else "gone"
        material = True
    else:
        material = any(c["material"] for c in model_changes) or any(c["material"] for c in clients)
        status = "changed" if material else "unchanged"
    drivers = sorted(
        (c for c in clients if c["material"]),
        key=lambda c: (-abs(rate_delta[c["client"]]), c["client"]),
    )
    return {
        "model": record["model"],
        "category": record["category"],
        "status": status,
        "material": material,
        "drivers": [
            {
                "client": c["client"],
                "status": c["status"],
                "metrics": [m["metric"] for m in c["changes"] if m["material"]],
                "rate_change_per_day": rate_delta[c["client"]],
            }
            for c in drivers
        ],
        "changes": model_changes,
        "clients": clients,
    }


def _presence_change(
    old: dict[str, Any] | None, new: dict[str, Any] | None, material: bool
) -> dict[str, Any]:
    """The one change of a client present in one run only: its rate appears or vanishes
    (material from --min-client-share of its model's requests)."""
    return {
        "metric": "rate",
        "old": old,
        "new": new,
        "effect": None,
        "p_value": None,
        "q_value": None,
        "material": material,
    }


def _verdict(models: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {status: 0 for status in STATUSES}
    for model in models:
        for client in model["clients"]:
            counts[client["status"]] += 1
    return {
        "material": any(m["material"] for m in models),
        "clients": counts,
        "models": [
            {
                "model": m["model"],
                "category": m["category"],
                "status": m["status"],
                "material": m["material"],
                "drivers": [d["client"] for d in m["drivers"]],
            }
            for m in models
        ],
        "material_clients": [
            {
                "model": m["model"],
                "client": c["client"],
                "status": c["status"],
                "metrics": [x["metric"] for x in c["changes"] if x["material"]],
            }
            for m in models
            for c in m["clients"]
            if c["material"]
        ],
    }
