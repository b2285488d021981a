"""Fit: inter-arrival times -> per-window family fits and the exported arrival pattern.

Inter-arrival times are streamed from `aggregate/interarrivals.parquet` in order, a batch of
whole clients at a time, and each client's windows are fitted a slice of `SLICE_VALUES` gaps
at a time, so memory stays bounded by the largest client's gaps (kept once, for its pooled
fit) rather than by the log or by the fitting's working arrays over that client. A client
with more than `WHOLE_CLIENT_VALUES` gaps is read a run of whole windows at a time instead,
its pooled statistics gathered window by window (`StreamedPooled`), so memory stays bounded
whatever one client holds.
Every window with at least `min_requests` requests gets all four families fitted by maximum
likelihood through the model's clock (`fitting.quantization`, one method for every clock in
`aggregate/time_quality.json`): a gap below the resolution is censored, not floored. Its
pattern is the better of Gamma and Weibull by that likelihood, with the fitted shape, the
fitted family's CV and the scale whose mean is the window's mean inter-arrival time. Smaller
windows keep their true rate and borrow the client's pooled pattern (or Gamma shape 1 where
the client has too little data even pooled); windows of a coarse clock with several arrivals
per tick take their CV from the dispersion of counts per tick.
"""

from __future__ import annotations

import functools
import hashlib
import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fitting import (
    FAMILIES,
    PARAM_NAMES,
    better_by_loglik,
    clamp_cv,
    pattern_cv,
    quantization,
    scales_for_mean,
    shapes_for_cv,
)
from fitting.quantization import fit_quantized_interarrivals
from pipeline.artefacts import (
    CLIENT_FITS,
    INTERARRIVALS,
    META,
    TICK_DISPERSION,
    TIME_QUALITY,
    TRACE_WINDOWS,
    WINDOW_FITS,
)
from pipeline.rundir import RunDir, stage

if TYPE_CHECKING:
    from collections.abc import Iterator

    from numpy.typing import NDArray

    from fitting import ArrivalFits
    from pipeline.config import FitOptions

POOLED_SAMPLE_CAP = 20_000  # thinned beyond this: a shape from 20k values is good to ~1 %
BATCH_ROWS = 1 << 19
SLICE_VALUES = 1 << 18
"""Inter-arrival times fitted per call of the window fitting (whole windows; a window
larger than this is fitted alone). The fitting holds some twenty arrays of this length."""
WHOLE_CLIENT_VALUES = 1 << 24
"""A client with more gaps than this is not held whole: at 100M requests one client held some
90M gaps, and those with the pooled fit's temporaries took about 3 GB. Its pooled CV is then
combined from per-window sums (the same value up to the last bits; a client held whole sums
all of its values at once, which keeps the outputs of smaller logs as they were)."""
FIT_THREADS = max(1, min(os.cpu_count() or 1, 4))
"""Slices fitted at once, in threads, unless `--threads` asks for fewer: the fits are numpy
over arrays of up to `SLICE_VALUES` gaps, which releases the GIL for most of their time (the
fit stage at 4.5M requests on 2 cores: 0.83 of its time fitting one slice after another).
Each window is fitted on its own, so the fits are the same bits in any order."""
DEFAULT_TIE_FLOOR_S = 0.5e-6  # half of the microsecond resolution that ingest keeps
MAX_TIE_FLOOR_S = 0.5
CV_MISFIT_RATIO = 2.0
"""A window whose sample CV is more than this many times its fitted pattern's CV has gaps the
family's tail cannot produce: Azure's 2023 code trace (bursts between idle minutes) shows
sample CVs of 9-14 against 2.6-3.4 for its fitted Weibull. Over 720 simulated windows of
Gamma and Weibull processes (shapes 0.03-4, 60-1,400 gaps, ties on a microsecond clock) the
ratio stayed below 1.5; heavy tails put the sample CV below the process's, not above."""


@dataclass(frozen=True, slots=True)
class FitStageResult:
    """Paths written by the fit stage and what happened to the windows."""

    window_fits: Path
    client_fits: Path
    n_windows_fitted: int
    n_windows_pooled: int
    n_windows_default: int


@stage("fit")
def run(
    run_dir: RunDir,
    options: FitOptions,
    window_cache: Path | None = None,
    threads: int | None = None,
) -> FitStageResult:
    """Fit every eligible window and every client's pooled sample; choose exported patterns.

    `window_cache`: a file of earlier windows' fits keyed by what decides them (a refresh
    store's); windows found in it are not fitted again, and it is rewritten with this run's
    windows. The outputs are the same with or without it.
    `threads` (`--threads`): at most this many window slices are fitted at once
    (`FIT_THREADS` when None); the outputs are the same bits with any number.
    """
    started = time.perf_counter()
    windows = pq.read_table(run_dir.require(TRACE_WINDOWS, "aggregate"))
    run_dir.require(META, "aggregate")
    columns = {
        name: windows.column(name).to_numpy(zero_copy_only=False) for name in windows.column_names
    }
    n_windows = len(windows)
    client_of_window = _client_index(columns)
    n_clients = int(client_of_window.max()) + 1 if n_windows else 0
    tie_floor, clock, quantized = _resolution_per_window(
        columns, run_dir.read_json(TIME_QUALITY, "aggregate")
    )
    mean_iat = columns["mean_iat_s"].astype(np.float64)
    # Several arrivals per tick of a coarse clock: the gaps are mostly ties and carry no shape
    # information, so such windows take their CV from the counts per tick (or are Poisson).
    unidentifiable = quantized & (np.nan_to_num(mean_iat, nan=np.inf) < clock)
    eligible = (
        (columns["n_requests"] >= options.min_requests)
        & ~np.isnan(columns["cv"].astype(np.float64))
        & ~unidentifiable
    )

    window_table = _empty_family_columns(n_windows)
    client_table = _empty_family_columns(n_clients)
    client_n = np.zeros(n_clients, np.int64)
    client_cv = np.full(n_clients, np.nan)

    window_lengths = _window_lengths(run_dir.path(INTERARRIVALS), n_windows)
    streamed = StreamedPooled(
        window_lengths, mean_iat, clock, unidentifiable, client_of_window, n_clients
    )
    with WindowFitCache(window_cache, min(threads or FIT_THREADS, FIT_THREADS)) as cache:
        batches = _client_batches(run_dir.path(INTERARRIVALS), client_of_window, streamed.clients)
        for window_keys, values in batches:
            keys, lengths = _run_lengths(window_keys)
            del window_keys
            # Each window's fit depends on its own gaps only, so a client's windows are fitted a
            # slice at a time: the fitting's working arrays are bounded by the slice, not by the
            # largest client. The pooled fit below needs the client whole.
            for first, stop, value_start, value_stop in _window_slices(lengths, SLICE_VALUES):
                fit_mask = eligible[keys[first:stop]]
                if fit_mask.any():
                    slice_lengths = lengths[first:stop]
                    keep = np.repeat(fit_mask, slice_lengths)
                    cache.fit(
                        window_table,
                        keys[first:stop][fit_mask],
                        values[value_start:value_stop][keep],
                        slice_lengths[fit_mask],
                        clock,
                    )
            held_whole = ~streamed.clients[client_of_window[keys]]
            if not held_whole.all():
                streamed.add(
                    keys[~held_whole], lengths[~held_whole], values[~np.repeat(held_whole, lengths)]
                )
                keys, lengths, values = (
                    keys[held_whole],
                    lengths[held_whole],
                    values[np.repeat(held_whole, lengths)],
                )
            _fit_pooled(
                keys,
                lengths,
                values,
                mean_iat,
                clock,
                unidentifiable,
                client_of_window,
                client_table,
                client_n,
                client_cv,
            )
        cache.finish(window_table)
    streamed.finish(client_table, client_n, client_cv)

    # Pooled pattern per client: the better family by likelihood and its fitted shape.
    client_family = _better_of(client_table, "gamma", "weibull_min")
    client_fitted_shape, client_shape_from = _pattern_shape(client_table, client_family, client_cv)
    pooled_ok = (client_n >= options.min_requests - 1) & np.isfinite(client_fitted_shape)
    client_family = np.where(pooled_ok, client_family, "gamma")
    client_shape = np.where(pooled_ok, client_fitted_shape, 1.0)
    client_shape_from = np.where(pooled_ok, client_shape_from, "default")
    client_pattern_cv = pattern_cv(client_family, client_shape)

    # Exported pattern per window: its own fit, or its client's pooled pattern at its rate.
    window_family = _better_of(window_table, "gamma", "weibull_min")
    window_shape, window_shape_from = _pattern_shape(
        window_table, window_family, columns["cv"].astype(np.float64)
    )
    own_fit = eligible & np.isfinite(window_shape)  # all-tied windows have no finite shape
    status = np.where(own_fit, "fitted", np.where(pooled_ok[client_of_window], "pooled", "default"))
    # Windows below the resolution: the dispersion of counts per tick estimates CV^2 (the
    # index of dispersion of a renewal process tends to CV^2 over long intervals; Cox and
    # Lewis 1966, sec. 4.5), else Poisson.
    tick_fano = _tick_fano_per_window(run_dir, n_windows)
    from_counts = unidentifiable & np.isfinite(tick_fano) & (tick_fano > 0)
    status = np.where(
        unidentifiable, np.where(from_counts, "tick_counts", "below_resolution"), status
    )
    family = np.where(own_fit, window_family, client_family[client_of_window])
    family = np.where(unidentifiable, "gamma", family)
    shape = np.where(own_fit, window_shape, client_shape[client_of_window])
    counts_cv = clamp_cv(np.sqrt(np.where(from_counts, tick_fano, 1.0)))
    shape = np.where(unidentifiable, shapes_for_cv(family, counts_cv), shape)
    cv_export = pattern_cv(family, shape)
    shape_from = np.where(own_fit, window_shape_from, client_shape_from[client_of_window])
    shape_from = np.where(
        unidentifiable, np.where(from_counts, "tick_counts", "default"), shape_from
    )
    scale = scales_for_mean(family, shape, np.where(own_fit, mean_iat, 1.0 / columns["rate_rps"]))

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
            "pattern_shape_from": shape_from,
            "sample_cv": columns["cv"].astype(np.float64),
            "tie_floor_s": tie_floor,
            "resolution_s": clock,
            "is_quantized": quantized,
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
            "pattern_cv": client_pattern_cv,
            "pattern_shape_from": client_shape_from,
            **client_table,
        }
    )
    pq.write_table(window_out, run_dir.output(WINDOW_FITS))
    pq.write_table(client_out, run_dir.output(CLIENT_FITS))
    cache.save(window_table)
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
            "clock_ties": _clock_ties(columns, status, window_table, clock, shape_from),
            "cv_misfit_ratio": CV_MISFIT_RATIO,
            **cache.account(),
        },
    )
    return FitStageResult(
        paths[0],
        paths[1],
        int((status == "fitted").sum()),
        int((status == "pooled").sum()),
        int((status == "default").sum()),
    )


class WindowFitCache:
    """Per-window fits keyed by the SHA-256 of everything that decides a window's fit: its
    gaps (float64, in file order), its clock, and the fitting code and numpy that compute it
    (`fit_quantized_interarrivals` fits every window on its own, so a window's fit does not
    depend on the others fitted with it). A window of a day a refresh did not change, at any
    window index, finds its fit; a window whose gaps changed by one bit does not.
    """

    def __init__(self, path: Path | None, threads: int = 1) -> None:
        self.path = path
        # with threads, slices are fitted while the caller reads and pools the next ones
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="fit") if threads > 1 else None
        self.in_flight = 2 * threads  # slices submitted and not stored at the most
        # fits submitted to the pool and not stored yet: (windows, their fits), oldest first
        self.pending: deque[tuple[NDArray[np.int64], Future[ArrivalFits]]] = deque()
        self.index: dict[bytes, int] = {}
        self.columns: dict[str, NDArray] = {}
        self.rows: list[NDArray[np.int64]] = []  # this run's fitted windows ...
        self.digests: list[bytes] = []  # ... and their keys
        self.n_reused = 0
        if path is not None and path.is_file():
            table = pq.read_table(path)
            self.columns = {
                name: table.column(name).to_numpy(zero_copy_only=False)
                for name in table.column_names
                if name != "digest"
            }
            self.index = {d: i for i, d in enumerate(table.column("digest").to_pylist())}

    def fit(
        self,
        table: dict[str, NDArray],
        windows: NDArray[np.int64],
        values: NDArray[np.float64],
        lengths: NDArray[np.int64],
        clock: NDArray[np.float64],
    ) -> None:
        """Fit `windows` (their gaps `values`, back to back) into `table`; with a cache file,
        the windows it holds take their fits from it."""
        todo = np.ones(len(windows), bool)
        if self.path is not None:
            digests = _window_digests(values, lengths, clock[windows])
            found = np.array([self.index.get(d, -1) for d in digests], np.int64)
            todo = found < 0
            if not todo.all():
                for name, column in table.items():
                    column[windows[~todo]] = self.columns[name][found[~todo]]
            self.n_reused += int((~todo).sum())
            self.rows.append(windows)
            self.digests += digests
        if not todo.any():
            return
        gaps, resolution = values[np.repeat(todo, lengths)], clock[windows[todo]]
        if self.pool is None:
            fits = fit_quantized_interarrivals(gaps, lengths[todo], resolution=resolution)
            _store(table, windows[todo], fits)
            return
        # a few slices in flight: their arrays, not the whole log's, are what is held
        while len(self.pending) >= self.in_flight:
            self._store_oldest(table)
        future = self.pool.submit(
            fit_quantized_interarrivals, gaps, lengths[todo], resolution=resolution
        )
        self.pending.append((windows[todo], future))

    def _store_oldest(self, table: dict[str, NDArray]) -> None:
        windows, future = self.pending.popleft()
        _store(table, windows, future.result())

    def finish(self, table: dict[str, NDArray]) -> None:
        """Store every fit still in the pool."""
        while self.pending:
            self._store_oldest(table)

    def __enter__(self) -> WindowFitCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.pool is not None:  # after an error, the slices not started are dropped
            self.pool.shutdown(cancel_futures=True)

    def save(self, table: dict[str, NDArray]) -> None:
        """Replace the cache by this run's windows (written aside, then renamed)."""
        if self.path is None:
            return
        rows = np.concatenate(self.rows) if self.rows else np.zeros(0, np.int64)
        out = pa.table(
            {
                "digest": pa.array(self.digests, pa.binary(32)),
                **{name: column[rows] for name, column in table.items()},
            }
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = self.path.with_name(f".{self.path.name}.new")
        pq.write_table(out, fresh)
        os.replace(fresh, self.path)

    def account(self) -> dict[str, int]:
        if self.path is None:
            return {}
        return {"windows_fit_reused": self.n_reused}


@functools.cache
def _code_fingerprint() -> bytes:
    """What computes a window's fit: the bytes of the fitting package and numpy's version."""
    digest = hashlib.sha256(np.__version__.encode("ascii"))
    for source in sorted(Path(quantization.__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.digest()


def _window_digests(
    values: NDArray[np.float64], lengths: NDArray[np.int64], clock: NDArray[np.float64]
) -> list[bytes]:
    code = _code_fingerprint()
    values = np.ascontiguousarray(values, np.float64)
    ends = np.cumsum(lengths)
    digests = []
    for start, end, tick in zip(ends - lengths, ends, clock.astype(np.float64), strict=True):
        digest = hashlib.sha256(code)
        digest.update(tick.tobytes())
        digest.update(values[start:end].tobytes())
        digests.append(digest.digest())
    return digests


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
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Per window: half the storage resolution, the clock's resolution, and whether quantized.

    Every window is fitted through its model's clock (`timestamp_resolution_s`: 1 us, 1 ms,
    Mooncake's 3 s, ...). Half the storage resolution is kept beside it (`tie_floor_s`) for
    readers that evaluate densities at ties.
    """
    models = quality["models"]
    floor_of = {
        m: min(f.get("storage_resolution_s", 2 * DEFAULT_TIE_FLOOR_S) / 2.0, MAX_TIE_FLOOR_S)
        for m, f in models.items()
    }
    clock_of = {
        m: f.get("timestamp_resolution_s") or 2 * DEFAULT_TIE_FLOOR_S for m, f in models.items()
    }
    names = columns["model"].astype(str)
    unique, model_of_window = np.unique(names, return_inverse=True)
    floors = np.array([floor_of.get(m, DEFAULT_TIE_FLOOR_S) for m in unique], np.float64)
    clocks = np.array([clock_of.get(m, 2 * DEFAULT_TIE_FLOOR_S) for m in unique], np.float64)
    quantized = np.array([bool(models.get(m, {}).get("is_quantized")) for m in unique], bool)
    return floors[model_of_window], clocks[model_of_window], quantized[model_of_window]


def _tick_fano_per_window(run_dir: RunDir, n_windows: int) -> NDArray[np.float64]:
    """Variance over mean of counts per clock tick, per window (NaN where not computed)."""
    fano = np.full(n_windows, np.nan)
    path = run_dir.path(TICK_DISPERSION)
    if path.exists():  # absent in run directories aggregated before it existed
        table = pq.read_table(path, columns=["window_key", "tick_fano"])
        keys = table.column("window_key").to_numpy()
        fano[keys] = table.column("tick_fano").to_numpy(zero_copy_only=False).astype(np.float64)
    return fano


def _clock_ties(
    columns: dict[str, NDArray],
    status: NDArray[np.str_],
    window_table: dict[str, NDArray],
    clock: NDArray[np.float64],
    shape_from: NDArray[np.str_],
) -> list[dict[str, Any]]:
    """Per model: its fitted windows, how many had gaps below the clock (fitted through ties,
    censored in the likelihood), the share of their gaps that tied, how many exported the
    shape matched to their sample CV (:data:`CV_MISFIT_RATIO`), and how many windows took
    their CV from counts per tick instead (several arrivals per tick: Mooncake's 3 s clock)."""
    records = []
    keys = zip(columns["category"].astype(str), columns["model"].astype(str), strict=True)
    model_of_window = np.array([f"{c}\x00{m}" for c, m in keys], dtype=object)
    for key in sorted(set(model_of_window.tolist())):
        in_model = model_of_window == key
        rows = (status == "fitted") & in_model
        tied = window_table["n_tied"][rows]
        gaps = int(window_table["n_intervals_fitted"][rows].sum())
        category, model = key.split("\x00")
        records.append(
            {
                "category": category,
                "model": model,
                "resolution_s": float(clock[in_model][0]),
                "windows_fitted": int(rows.sum()),
                "windows_with_ties": int((tied > 0).sum()),
                "gaps": gaps,
                "tied_gaps": int(tied.sum()),
                "tie_share": float(tied.sum() / gaps) if gaps else 0.0,
                "windows_shape_from_sample_cv": int((shape_from[rows] == "sample_cv").sum()),
                "windows_tick_counts": int(((status == "tick_counts") & in_model).sum()),
            }
        )
    return records


def _pattern_shape(
    table: dict[str, NDArray], family: NDArray[np.str_], sample_cv: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.str_]]:
    """Each row's exported shape of its family, and where it came from.

    The maximum-likelihood shape (Gamma ``a``, Weibull ``c``; NaN without a fit), unless the
    sample CV exceeds that pattern's CV more than :data:`CV_MISFIT_RATIO` times: the family's
    tail then cannot produce the row's gaps (bursts between long idle stretches), and the
    shape whose CV is the sample CV keeps the burstiness the log shows.
    """
    fitted = np.where(family == "weibull_min", table["weibull_min__c"], table["gamma__a"])
    finite = np.isfinite(fitted)
    fitted_cv = pattern_cv(family, np.where(finite, fitted, 1.0))
    misfit = finite & (np.nan_to_num(sample_cv, nan=0.0) > CV_MISFIT_RATIO * fitted_cv)
    matched = shapes_for_cv(family, np.where(misfit, sample_cv, 1.0))
    return np.where(misfit, matched, fitted), np.where(misfit, "sample_cv", "likelihood")


def _window_lengths(path: Path, n_windows: int) -> NDArray[np.int64]:
    """The number of gaps of each window in the interarrivals file (one pass over its keys)."""
    lengths = np.zeros(n_windows, np.int64)
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=["window_key"]):
        lengths += np.bincount(batch.column(0).to_numpy(), minlength=n_windows)
    return lengths


def _client_batches(
    path: Path, client_of_window: NDArray[np.int64], streamed: NDArray[np.bool_]
) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float64]]]:
    """(window_key, iat_s) arrays holding whole clients, in file order (clients ascending);
    a client marked in `streamed` comes a run of whole windows at a time.

    The rows of the client still open are kept as a list of batches and joined once, when
    the client is complete (joining them at every batch copied it again each time). Memory
    is bounded by the largest client held whole: 10M-row log with one client of 8.8M
    requests, peak RSS of the stage 2.11 GB with 2M-row batches, 1.92 GB with 512k (or 256k)
    rows, 0.82 GB once the windows were fitted in slices (the client's gaps themselves are
    ~140 MB).
    """
    file = pq.ParquetFile(path)
    keys_buffer: list[NDArray[np.int64]] = []
    values_buffer: list[NDArray[np.float64]] = []
    for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=["window_key", "iat_s"]):
        keys = batch.column(0).to_numpy().astype(np.int64)
        values = batch.column(1).to_numpy().astype(np.float64)
        if not len(keys):
            continue
        clients = client_of_window[keys]
        # the buffered rows are all of one client, not after this batch's first row's
        cut = int(np.argmax(clients == clients[-1]))
        if cut or (keys_buffer and client_of_window[keys_buffer[0][0]] < clients[-1]):
            yield (
                np.concatenate([*keys_buffer, keys[:cut]]),
                np.concatenate([*values_buffer, values[:cut]]),
            )
            keys_buffer, values_buffer = [], []
        keys_buffer.append(keys[cut:])
        values_buffer.append(values[cut:])
        if streamed[clients[-1]]:
            # all but the open client's last window, which may go on in the next batch
            open_keys, open_values = np.concatenate(keys_buffer), np.concatenate(values_buffer)
            window_cut = int(np.argmax(open_keys == open_keys[-1]))
            if window_cut:
                yield open_keys[:window_cut], open_values[:window_cut]
            keys_buffer, values_buffer = [open_keys[window_cut:]], [open_values[window_cut:]]
    if keys_buffer:
        yield np.concatenate(keys_buffer), np.concatenate(values_buffer)


def _window_slices(lengths: NDArray[np.int64], limit: int) -> Iterator[tuple[int, int, int, int]]:
    """Consecutive runs of whole windows holding at most `limit` values each (or one larger
    window): (first window, stop window, first value, stop value)."""
    ends = np.cumsum(lengths)
    first, value_start = 0, 0
    while first < len(lengths):
        # the windows ending within `limit` values of the slice's start, at least one
        stop = max(int(np.searchsorted(ends, value_start + limit, side="right")), first + 1)
        value_stop = int(ends[stop - 1])
        yield first, stop, value_start, value_stop
        first, value_start = stop, value_stop


def _run_lengths(keys: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    lengths = np.diff(np.r_[starts, len(keys)])
    return keys[starts], lengths


def _fit_pooled(
    keys: NDArray[np.int64],
    lengths: NDArray[np.int64],
    values: NDArray[np.float64],
    mean_iat: NDArray[np.float64],
    clock: NDArray[np.float64],
    unidentifiable: NDArray[np.bool_],
    client_of_window: NDArray[np.int64],
    client_table: dict[str, NDArray],
    client_n: NDArray[np.int64],
    client_cv: NDArray[np.float64],
) -> None:
    """Fit each client's inter-arrival times divided by their window's mean, through the clock.

    Dividing by the window's mean lets windows of different rates share one shape; the
    clock's tick is divided alike, so every value keeps its own censoring interval. Windows
    with several arrivals per tick of a coarse clock carry no shape and are left out.
    """
    usable = _pooled_windows(keys, lengths, mean_iat, unidentifiable)
    if not usable.any():
        return
    # Arrays of the client's length are computed in place where they can be: a client may
    # hold most of the log (8.8M of 10M requests in the 10M benchmark).
    keep = np.repeat(usable, lengths)
    window_of_value = np.repeat(keys[usable], lengths[usable])
    window_mean = mean_iat[window_of_value]
    normalised = values[keep]
    normalised /= window_mean
    del keep
    clients, client_lengths = _run_lengths(client_of_window[window_of_value])
    starts = np.r_[0, np.cumsum(client_lengths)[:-1]]
    client_n[clients] = client_lengths
    # The pooled sample CV uses every value, ties as the zeros they are (like the window CVs).
    mean = np.add.reduceat(normalised, starts) / client_lengths
    squares = np.repeat(mean, client_lengths)
    np.subtract(normalised, squares, out=squares)
    np.square(squares, out=squares)
    sd = np.sqrt(np.add.reduceat(squares, starts) / client_lengths)
    del squares
    client_cv[clients] = np.where(mean > 0, sd / mean, np.nan)
    # Thin large clients: every k-th value of the client's windows (each sorted), i.e. evenly
    # spread quantiles of every window, deterministic.
    stride = np.maximum(1, -(-client_lengths // POOLED_SAMPLE_CAP))
    position = np.arange(len(normalised))
    position -= np.repeat(starts, client_lengths)
    position %= np.repeat(stride, client_lengths)
    thinned = position == 0
    del position
    kept = np.add.reduceat(thinned.astype(np.int64), starts)
    fit_mask = kept >= 2
    if fit_mask.any():
        keep_values = thinned & np.repeat(fit_mask, client_lengths)
        fit_mean = window_mean[keep_values]
        fits = fit_quantized_interarrivals(
            normalised[keep_values],
            kept[fit_mask],
            resolution=clock[window_of_value[keep_values]] / fit_mean,
        )
        _store(client_table, clients[fit_mask], fits)


class StreamedPooled:
    """The pooled fit of clients too large to hold whole (`WHOLE_CLIENT_VALUES`), gathered a
    run of whole windows at a time: the same thinned sample and fit as `_fit_pooled`, and the
    pooled CV from each window's count, sum and sum of squared deviations (combined exactly
    as a split variance is; independent of how the windows were batched)."""

    def __init__(
        self,
        window_lengths: NDArray[np.int64],
        mean_iat: NDArray[np.float64],
        clock: NDArray[np.float64],
        unidentifiable: NDArray[np.bool_],
        client_of_window: NDArray[np.int64],
        n_clients: int,
    ) -> None:
        self.mean_iat, self.clock = mean_iat, clock
        self.unidentifiable, self.client_of_window = unidentifiable, client_of_window
        n_values = np.bincount(client_of_window, weights=window_lengths, minlength=n_clients)
        self.clients = n_values > WHOLE_CLIENT_VALUES
        # the thinning's stride needs the client's number of usable gaps before its first
        usable = _pooled_windows(
            np.arange(len(window_lengths)), window_lengths, mean_iat, unidentifiable
        )
        usable_values = np.bincount(
            client_of_window, weights=np.where(usable, window_lengths, 0), minlength=n_clients
        ).astype(np.int64)
        self.stride = np.maximum(1, -(-usable_values // POOLED_SAMPLE_CAP))
        self.seen = np.zeros(n_clients, np.int64)
        n_windows = len(window_lengths)
        self.window_n = np.zeros(n_windows, np.int64)
        self.window_sum = np.zeros(n_windows)
        self.window_squares = np.zeros(n_windows)
        self.samples: dict[int, list[tuple[NDArray[np.float64], NDArray[np.float64]]]] = {}

    def add(
        self, keys: NDArray[np.int64], lengths: NDArray[np.int64], values: NDArray[np.float64]
    ) -> None:
        """Whole windows `keys` of streamed clients (their gaps `values`, back to back)."""
        usable = _pooled_windows(keys, lengths, self.mean_iat, self.unidentifiable)
        if not usable.any():
            return
        values = values[np.repeat(usable, lengths)]
        keys, lengths = keys[usable], lengths[usable]
        window_of_value = np.repeat(keys, lengths)
        window_mean = self.mean_iat[window_of_value]
        normalised = values / window_mean
        starts = np.r_[0, np.cumsum(lengths)[:-1]]
        sums = np.add.reduceat(normalised, starts)
        deviations = normalised - np.repeat(sums / lengths, lengths)
        self.window_n[keys] = lengths
        self.window_sum[keys] = sums
        self.window_squares[keys] = np.add.reduceat(deviations * deviations, starts)
        clients, client_lengths = _run_lengths(self.client_of_window[window_of_value])
        first = 0
        for client, length in zip(clients.tolist(), client_lengths.tolist(), strict=True):
            stop = first + length
            position = self.seen[client] + np.arange(length)
            thinned = first + np.flatnonzero(position % self.stride[client] == 0)
            self.samples.setdefault(client, []).append(
                (normalised[thinned], self.clock[window_of_value[thinned]] / window_mean[thinned])
            )
            self.seen[client] += length
            first = stop

    def finish(
        self,
        client_table: dict[str, NDArray],
        client_n: NDArray[np.int64],
        client_cv: NDArray[np.float64],
    ) -> None:
        """Each streamed client's pooled CV and fit, into the client columns."""
        for client in sorted(self.samples):
            windows = np.flatnonzero((self.client_of_window == client) & (self.window_n > 0))
            n_window = self.window_n[windows]
            n = int(n_window.sum())
            mean = float(self.window_sum[windows].sum() / n)
            between = n_window * np.square(self.window_sum[windows] / n_window - mean)
            sd = float(np.sqrt((self.window_squares[windows].sum() + between.sum()) / n))
            client_n[client] = n
            client_cv[client] = sd / mean if mean > 0 else np.nan
            sample = np.concatenate([v for v, _r in self.samples[client]])
            if len(sample) >= 2:
                resolution = np.concatenate([r for _v, r in self.samples[client]])
                fits = fit_quantized_interarrivals(
                    sample, np.array([len(sample)], np.int64), resolution=resolution
                )
                _store(client_table, np.array([client], np.int64), fits)


def _pooled_windows(
    keys: NDArray[np.int64],
    lengths: NDArray[np.int64],
    mean_iat: NDArray[np.float64],
    unidentifiable: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """Which windows `keys` (of `lengths` gaps) a pooled fit takes: two gaps or more, a
    positive mean, a clock fine enough to show a shape."""
    return (np.asarray(lengths) >= 2) & (mean_iat[keys] > 0) & ~unidentifiable[keys]


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
