"""Fit: inter-arrival times -> per-window family fits and the exported arrival pattern.

Inter-arrival times are streamed from `aggregate/interarrivals.parquet` in order, a batch of
whole clients at a time, so memory stays bounded by the largest client rather than the log.
Every window with at least `min_requests` requests gets all four families fitted; its pattern
is the better of Gamma and Weibull by likelihood, with the shape matched to the window's CV and
the scale to its mean inter-arrival time. Models whose arrivals are quantized (see
`aggregate/time_quality.json`) are fitted by interval-censored likelihood instead
(`fitting.quantization`), and their exported CV is the fitted family's, since the raw CV of
tick-rounded gaps measures the clock. Smaller windows keep their true rate and borrow the
client's pooled pattern (or Gamma shape 1 where the client has too little data even pooled).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fitting import (
    FAMILIES,
    PARAM_NAMES,
    better_by_loglik,
    clamp_cv,
    fit_interarrivals,
    scales_for_mean,
    shapes_for_cv,
    sort_within_segments,
    weibull_cv,
)
from fitting.quantization import fit_quantized_interarrivals
from pipeline.rundir import RunDir, stage
from pipeline.stages.aggregate import INTERARRIVALS, META, TICK_DISPERSION, TRACE_WINDOWS
from pipeline.timequality import TIME_QUALITY

if TYPE_CHECKING:
    from collections.abc import Iterator

    from numpy.typing import NDArray

    from fitting import ArrivalFits
    from pipeline.config import FitOptions

WINDOW_FITS = "fit/window_fits.parquet"
CLIENT_FITS = "fit/client_fits.parquet"
POOLED_SAMPLE_CAP = 20_000  # thinned beyond this: a shape from 20k values is good to ~1 %
BATCH_ROWS = 1 << 21
DEFAULT_TIE_FLOOR_S = 0.5e-6  # half of the microsecond resolution that ingest keeps
MAX_TIE_FLOOR_S = 0.5


if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True, slots=True)
class FitStageResult:
    """Paths written by the fit stage and what happened to the windows."""

    window_fits: Path
    client_fits: Path
    n_windows_fitted: int
    n_windows_pooled: int
    n_windows_default: int


@stage("fit")
def run(run_dir: RunDir, options: FitOptions) -> FitStageResult:
    """Fit every eligible window and every client's pooled sample; choose exported patterns."""
    started = time.perf_counter()
    windows = pq.read_table(run_dir.require(TRACE_WINDOWS, "aggregate"))
    run_dir.require(META, "aggregate")
    columns = {
        name: windows.column(name).to_numpy(zero_copy_only=False) for name in windows.column_names
    }
    n_windows = len(windows)
    client_of_window = _client_index(columns)
    n_clients = int(client_of_window.max()) + 1 if n_windows else 0
    tie_floor, tick = _resolution_per_window(columns, run_dir.read_json(TIME_QUALITY, "aggregate"))
    quantized = ~np.isnan(tick)
    mean_iat = columns["mean_iat_s"].astype(np.float64)
    # Several arrivals per tick on average: the gaps are mostly ties and carry no shape
    # information, so such windows are exported as Poisson (Gamma shape 1) and marked.
    unidentifiable = quantized & (np.nan_to_num(mean_iat, nan=np.inf) < tick)
    eligible = (
        (columns["n_requests"] >= options.min_requests)
        & ~np.isnan(columns["cv"].astype(np.float64))
        & ~unidentifiable
    )

    window_table = _empty_family_columns(n_windows)
    client_table = _empty_family_columns(n_clients)
    client_n = np.zeros(n_clients, np.int64)
    client_cv = np.full(n_clients, np.nan)

    for window_keys, values in _client_batches(run_dir.path(INTERARRIVALS), client_of_window):
        keys, lengths = _run_lengths(window_keys)
        fit_mask = eligible[keys]
        if fit_mask.any():
            keep = np.repeat(fit_mask, lengths)
            fits = fit_interarrivals(
                values[keep], lengths[fit_mask], tie_floor=tie_floor[keys[fit_mask]]
            )
            _store(window_table, keys[fit_mask], fits)
            censored = fit_mask & quantized[keys]
            if censored.any():  # the slower, honest path for coarse clocks
                keep = np.repeat(censored, lengths)
                fits = fit_quantized_interarrivals(
                    values[keep], lengths[censored], resolution=tick[keys[censored]]
                )
                _store(window_table, keys[censored], fits)
        _fit_pooled(
            keys,
            lengths,
            values,
            columns,
            mean_iat,
            client_of_window,
            tie_floor,
            client_table,
            client_n,
            client_cv,
        )
        _fit_pooled_quantized(
            keys, lengths, values, columns, client_of_window, tick, client_table, client_cv
        )

    # Pooled pattern per client: the better family, CV-matched (Gamma shape 1 if too little).
    pooled_ok = client_n >= options.min_requests - 1
    client_family = np.where(pooled_ok, _better_of(client_table, "gamma", "weibull_min"), "gamma")
    client_shape_cv = np.where(pooled_ok, clamp_cv(np.nan_to_num(client_cv, nan=1.0)), 1.0)
    client_shape = shapes_for_cv(client_family, client_shape_cv)

    # Exported pattern per window: its own fit, or its client's pooled pattern at its rate.
    status = np.where(
        eligible, "fitted", np.where(pooled_ok[client_of_window], "pooled", "default")
    )
    # Windows below the resolution: the dispersion of counts per tick estimates CV^2 (the
    # index of dispersion of a renewal process tends to CV^2 over long intervals; Cox and
    # Lewis 1966, sec. 4.5), else Poisson.
    tick_fano = _tick_fano_per_window(run_dir, n_windows)
    from_counts = unidentifiable & np.isfinite(tick_fano) & (tick_fano > 0)
    status = np.where(
        unidentifiable, np.where(from_counts, "tick_counts", "below_resolution"), status
    )
    family = np.where(
        eligible,
        _better_of(window_table, "gamma", "weibull_min"),
        client_family[client_of_window],
    )
    family = np.where(unidentifiable, "gamma", family)
    window_cv = np.where(
        quantized, _fitted_cv(window_table, family), columns["cv"].astype(np.float64)
    )
    cv_export = np.where(
        eligible,
        clamp_cv(np.nan_to_num(window_cv, nan=1.0)),
        client_shape_cv[client_of_window],
    )
    cv_export = np.where(
        unidentifiable,
        np.where(from_counts, clamp_cv(np.sqrt(np.where(from_counts, tick_fano, 1.0))), 1.0),
        cv_export,
    )
    shape = shapes_for_cv(family, cv_export)
    scale = scales_for_mean(family, shape, np.where(eligible, mean_iat, 1.0 / columns["rate_rps"]))

    window_out = pa.table(
        {
            "window_key": columns["window_key"],
            "category": columns["category"],
            "model": columns["model"],
            "client_id": columns["client_id"],
            "status": status,
            "pattern_family": family,
            "pattern_shape": shape,
            "pattern_scale": scale,
            "pattern_cv": cv_export,
            "tie_floor_s": tie_floor,
            "resolution_s": tick,
            "tick_fano": tick_fano,
            **window_table,
        }
    )
    client_keys = _client_keys(columns, client_of_window, n_clients)
    client_out = pa.table(
        {
            **client_keys,
            "n_requests": np.bincount(
                client_of_window, weights=columns["n_requests"], minlength=n_clients
            ).astype(np.int64),
            "last_window_index": np.maximum.reduceat(
                columns["window_index"], np.r_[0, np.flatnonzero(np.diff(client_of_window)) + 1]
            )
            if n_clients
            else np.zeros(0, np.int64),
            "status": np.where(pooled_ok, "fitted", "default"),
            "n_pooled": client_n,
            "pooled_cv": client_cv,
            "pattern_family": client_family,
            "pattern_shape": client_shape,
            "pattern_cv": client_shape_cv,
            **client_table,
        }
    )
    pq.write_table(window_out, run_dir.output(WINDOW_FITS))
    pq.write_table(client_out, run_dir.output(CLIENT_FITS))
    paths = run_dir.path(WINDOW_FITS), run_dir.path(CLIENT_FITS)
    run_dir.update_manifest(
        "fit",
        {
            "options": options.model_dump(),
            "outputs": [str(p) for p in paths],
            "seconds": round(time.perf_counter() - started, 3),
            "windows": {
                s: int((status == s).sum())
                for s in ("fitted", "pooled", "default", "tick_counts", "below_resolution")
            },
        },
    )
    return FitStageResult(
        paths[0],
        paths[1],
        int((status == "fitted").sum()),
        int((status == "pooled").sum()),
        int((status == "default").sum()),
    )


def _client_index(columns: dict[str, NDArray]) -> NDArray[np.int64]:
    """0-based client number per window (windows are sorted by category, model, client)."""
    n = len(columns["window_key"])
    if n == 0:
        return np.zeros(0, np.int64)
    changed = np.zeros(n, bool)
    changed[0] = True
    for name in ("category", "model", "client_id"):
        col = columns[name]
        changed[1:] |= col[1:] != col[:-1]
    return np.cumsum(changed) - 1


def _client_keys(
    columns: dict[str, NDArray], client_of_window: NDArray[np.int64], n_clients: int
) -> dict[str, NDArray]:
    first_window = np.zeros(n_clients, np.int64)
    first_window[client_of_window[::-1]] = np.arange(len(client_of_window))[::-1]
    return {name: columns[name][first_window] for name in ("category", "model", "client_id")}


def _resolution_per_window(
    columns: dict[str, NDArray], quality: dict[str, Any]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per window, the tie floor for continuous-time fits and the clock tick (NaN unless quantized).

    A model on a fine clock has few ties; they get half its storage resolution so that the
    likelihood never takes log(0). A quantized model's windows are fitted through the tick.
    """
    models = quality["models"]
    floor_of = {
        m: min(f.get("storage_resolution_s", 2 * DEFAULT_TIE_FLOOR_S) / 2.0, MAX_TIE_FLOOR_S)
        for m, f in models.items()
    }
    tick_of = {
        m: f["timestamp_resolution_s"] if f["is_quantized"] else np.nan for m, f in models.items()
    }
    names = columns["model"].astype(str)
    unique, model_of_window = np.unique(names, return_inverse=True)
    floors = np.array([floor_of.get(m, DEFAULT_TIE_FLOOR_S) for m in unique], np.float64)
    ticks = np.array([tick_of.get(m, np.nan) for m in unique], np.float64)
    return floors[model_of_window], ticks[model_of_window]


def _tick_fano_per_window(run_dir: RunDir, n_windows: int) -> NDArray[np.float64]:
    """Variance over mean of counts per clock tick, per window (NaN where not computed)."""
    fano = np.full(n_windows, np.nan)
    path = run_dir.path(TICK_DISPERSION)
    if path.exists():  # absent in run directories aggregated before it existed
        table = pq.read_table(path, columns=["window_key", "tick_fano"])
        keys = table.column("window_key").to_numpy()
        fano[keys] = table.column("tick_fano").to_numpy(zero_copy_only=False).astype(np.float64)
    return fano


def _fitted_cv(table: dict[str, NDArray], family: NDArray[np.str_]) -> NDArray[np.float64]:
    """The CV of each row's fitted family (Gamma 1/sqrt(a), Weibull from c)."""
    gamma_cv = 1.0 / np.sqrt(table["gamma__a"])
    shape = table["weibull_min__c"]
    weibull = weibull_cv(np.where(np.isfinite(shape), shape, 1.0))
    return np.where(
        family == "weibull_min", np.where(np.isfinite(shape), weibull, np.nan), gamma_cv
    )


def _fit_pooled_quantized(
    keys: NDArray[np.int64],
    lengths: NDArray[np.int64],
    values: NDArray[np.float64],
    columns: dict[str, NDArray],
    client_of_window: NDArray[np.int64],
    tick: NDArray[np.float64],
    client_table: dict[str, NDArray],
    client_cv: NDArray[np.float64],
) -> None:
    """Clients of quantized models: pooled fit through the tick of their sparse windows.

    As on the continuous path, each gap is divided by its window's mean gap, so windows of
    different rates share one shape; the tick is divided alike, so every value keeps its own
    censoring interval. Windows with several arrivals per tick carry no shape and are left
    out; a client with no other windows gets CV 1 (Poisson).
    """
    mean_iat = columns["mean_iat_s"].astype(np.float64)
    usable = (
        (columns["n_intervals"][keys] >= 1)
        & ~np.isnan(tick[keys])
        & (np.nan_to_num(mean_iat[keys], nan=0.0) >= tick[keys])
    )
    quantized_clients = np.unique(client_of_window[keys[~np.isnan(tick[keys])]])
    client_cv[quantized_clients] = 1.0
    # The continuous pooled fit of tick-rounded gaps is not kept for these clients.
    for column in client_table.values():
        if column.dtype.kind == "f":
            column[quantized_clients] = np.nan
        else:
            column[quantized_clients] = 0
    if not usable.any():
        return
    keep = np.repeat(usable, lengths)
    window_of_value = np.repeat(keys, lengths)[keep]
    clients, client_lengths = _run_lengths(client_of_window[window_of_value])
    fit_mask = client_lengths >= 2
    if not fit_mask.any():
        return
    keep_values = np.repeat(fit_mask, client_lengths)
    window_mean = mean_iat[window_of_value][keep_values]
    fits = fit_quantized_interarrivals(
        values[keep][keep_values] / window_mean,
        client_lengths[fit_mask],
        resolution=tick[window_of_value][keep_values] / window_mean,
    )
    _store(client_table, clients[fit_mask], fits)
    rows = clients[fit_mask]
    better = _better_of({k: v[rows] for k, v in client_table.items()}, "gamma", "weibull_min")
    fitted_cv = _fitted_cv({k: v[rows] for k, v in client_table.items()}, better)
    client_cv[rows] = np.where(np.isfinite(fitted_cv), fitted_cv, 1.0)


def _client_batches(
    path: Path, client_of_window: NDArray[np.int64]
) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float64]]]:
    """(window_key, iat_s) arrays holding whole clients, in file order."""
    file = pq.ParquetFile(path)
    keys_buffer: list[NDArray[np.int64]] = []
    values_buffer: list[NDArray[np.float64]] = []
    for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=["window_key", "iat_s"]):
        keys_buffer.append(batch.column(0).to_numpy().astype(np.int64))
        values_buffer.append(batch.column(1).to_numpy().astype(np.float64))
        keys = np.concatenate(keys_buffer)
        values = np.concatenate(values_buffer)
        last_client = client_of_window[keys[-1]]
        complete = client_of_window[keys] < last_client
        cut = int(np.argmin(complete)) if not complete.all() else len(keys)
        if cut:
            yield keys[:cut], values[:cut]
        keys_buffer, values_buffer = [keys[cut:]], [values[cut:]]
    if keys_buffer and len(keys_buffer[0]):
        yield np.concatenate(keys_buffer), np.concatenate(values_buffer)


def _run_lengths(keys: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    lengths = np.diff(np.r_[starts, len(keys)])
    return keys[starts], lengths


def _fit_pooled(
    keys: NDArray[np.int64],
    lengths: NDArray[np.int64],
    values: NDArray[np.float64],
    columns: dict[str, NDArray],
    mean_iat: NDArray[np.float64],
    client_of_window: NDArray[np.int64],
    tie_floor: NDArray[np.float64],
    client_table: dict[str, NDArray],
    client_n: NDArray[np.int64],
    client_cv: NDArray[np.float64],
) -> None:
    """Fit each client's inter-arrival times divided by their window's mean."""
    usable = (columns["n_intervals"][keys] >= 2) & (mean_iat[keys] > 0)
    if not usable.any():
        return
    keep = np.repeat(usable, lengths)
    window_of_value = np.repeat(keys, lengths)[keep]
    # Ties are raised to their model's floor before normalising, so none are left at 0.
    floored = np.maximum(values[keep], tie_floor[window_of_value])
    normalised = floored / mean_iat[window_of_value]
    clients_of_value = client_of_window[window_of_value]
    clients, client_lengths = _run_lengths(clients_of_value)
    # Thin large clients before sorting: every k-th value of the client's windows (each
    # sorted), i.e. evenly spread quantiles of every window, deterministic.
    stride = np.maximum(1, -(-client_lengths // POOLED_SAMPLE_CAP))
    starts = np.r_[0, np.cumsum(client_lengths)[:-1]]
    position = np.arange(len(normalised)) - np.repeat(starts, client_lengths)
    thinned = position % np.repeat(stride, client_lengths) == 0
    kept = np.add.reduceat(thinned.astype(np.int64), starts)
    sample = sort_within_segments(normalised[thinned], kept)
    client_n[clients] = client_lengths
    # The pooled CV uses every value, ties as the zeros they are (like the window CVs).
    raw = values[keep] / mean_iat[window_of_value]
    mean = np.add.reduceat(raw, starts) / client_lengths
    centred = raw - np.repeat(mean, client_lengths)
    sd = np.sqrt(np.add.reduceat(centred**2, starts) / client_lengths)
    client_cv[clients] = np.where(mean > 0, sd / mean, np.nan)
    fit_mask = kept >= 2
    if fit_mask.any():
        keep_values = np.repeat(fit_mask, kept)
        fits = fit_interarrivals(
            sample[keep_values], kept[fit_mask], tie_floor=np.finfo(np.float64).tiny
        )
        _store(client_table, clients[fit_mask], fits)


def _empty_family_columns(n: int) -> dict[str, NDArray]:
    table: dict[str, NDArray] = {
        "n_intervals_fitted": np.zeros(n, np.int64),
        "n_tied": np.zeros(n, np.int64),
    }
    for family in FAMILIES:
        for name in PARAM_NAMES[family]:
            table[f"{family}__{name}"] = np.full(n, np.nan)
        for stat in ("loglik", "aic", "ks"):
            table[f"{family}__{stat}"] = np.full(n, np.nan)
    return table


def _store(table: dict[str, NDArray], rows: NDArray[np.int64], fits: ArrivalFits) -> None:
    table["n_intervals_fitted"][rows] = fits.n
    table["n_tied"][rows] = fits.n_floored
    for family, result in fits.fits.items():
        for name, values in result.params.items():
            table[f"{family}__{name}"][rows] = values
        table[f"{family}__loglik"][rows] = result.loglik
        table[f"{family}__aic"][rows] = result.aic
        table[f"{family}__ks"][rows] = result.ks


def _better_of(table: dict[str, NDArray], first: str, second: str) -> NDArray[np.str_]:
    return better_by_loglik(table[f"{first}__loglik"], table[f"{second}__loglik"], first, second)
