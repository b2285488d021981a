"""The fit stage's window cache: a window found in it gets exactly the fit it would get
fitted again, and any change to what decides its fit (one gap by one ulp, its clock) misses.

Ground truth: Gamma and Weibull gaps from known parameters (seed 7), fitted without a cache.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from pipeline.config import (
    AggregateOptions,
    CharacterizeOptions,
    EngineOptions,
    ExportOptions,
    FitOptions,
    IngestOptions,
)
from pipeline.rundir import RunDir
from pipeline.stages import aggregate, export, ingest
from pipeline.stages import characterize as characterize_stage
from pipeline.stages import fit as fit_stage
from pipeline.stages.characterize import STATS
from pipeline.stages.fit import WindowFitCache, _empty_family_columns
from pipeline.synthetic import ClientSpec, generate


def _windows(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    gamma = [np.sort(rng.gamma(0.6, 2.0, size=n)) for n in (40, 120, 300)]
    weibull = [np.sort(rng.weibull(1.7, size=n) * 3.0) for n in (60, 200)]
    windows = gamma + weibull
    return np.concatenate(windows), np.array([len(w) for w in windows], np.int64)


def _fit(cache: WindowFitCache, values, lengths, clock) -> dict[str, np.ndarray]:
    table = _empty_family_columns(len(lengths))
    cache.fit(table, np.arange(len(lengths)), values, lengths, clock)
    cache.save(table)
    return table


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


def test_cached_fits_equal_fresh_fits_and_changes_miss(tmp_path: Path) -> None:
    values, lengths = _windows(np.random.default_rng(7))
    clock = np.full(len(lengths), 1e-6)
    fresh = _fit(WindowFitCache(None), values, lengths, clock)
    # the gamma windows' shapes near the truth: the fits being cached are real ones
    assert np.all(np.abs(fresh["gamma__a"][1:3] - 0.6) < 0.2)

    path = tmp_path / "window_fits.parquet"
    first = WindowFitCache(path)
    assert _same(_fit(first, values, lengths, clock), fresh) and first.n_reused == 0
    assert pq.read_table(path).num_rows == len(lengths)

    again = WindowFitCache(path)
    assert _same(_fit(again, values, lengths, clock), fresh)
    assert again.account() == {"windows_fit_reused": len(lengths)}

    # the same windows in another order and at other indexes: found by content
    order = np.array([3, 0, 4, 2, 1])
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    shuffled = np.concatenate([values[starts[i] : starts[i] + lengths[i]] for i in order])
    moved = WindowFitCache(path)
    table = _fit(moved, shuffled, lengths[order], clock[order])
    assert moved.n_reused == len(lengths)
    assert all(np.array_equal(table[k], fresh[k][order], equal_nan=True) for k in fresh)

    # one gap one ulp larger, and another window's clock changed: both fitted again
    changed = values.copy()
    changed[starts[1] + 5] = np.nextafter(changed[starts[1] + 5], np.inf)
    other_clock = clock.copy()
    other_clock[3] = 1e-3
    _fit(WindowFitCache(path), values, lengths, clock)  # the cache holds the originals again
    partial = WindowFitCache(path)
    table = _fit(partial, changed, lengths, other_clock)
    assert partial.n_reused == len(lengths) - 2
    reference = _fit(WindowFitCache(None), changed, lengths, other_clock)
    assert _same(table, reference)


def test_fits_from_the_thread_pool_equal_fits_one_after_another() -> None:
    # several slices in flight at once (more than the 4 two threads keep pending), stored in
    # any order
    rng = np.random.default_rng(11)
    slices = [_windows(rng) for _ in range(7)]
    clock = np.full(5 * len(slices), 1e-6)
    one_by_one = _empty_family_columns(len(clock))
    pooled = _empty_family_columns(len(clock))
    with WindowFitCache(None, threads=2) as cache:
        for number, (values, lengths) in enumerate(slices):
            windows = np.arange(5 * number, 5 * number + 5)
            WindowFitCache(None).fit(one_by_one, windows, values, lengths, clock)
            cache.fit(pooled, windows, values, lengths, clock)
        cache.finish(pooled)
    assert not cache.pending
    assert np.isfinite(pooled["gamma__a"]).all()
    assert _same(pooled, one_by_one)


def test_threads_option_bounds_the_fit_and_characterize_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `--threads 1` means one thread for servechar's own pools too, not only DuckDB's
    specs = [ClientSpec(f"c{i}", "m", rate_rps=0.5, family="gamma", shape=0.7) for i in range(3)]
    log = tmp_path / "log.csv"
    generate(specs, duration_s=2 * 3600, seed=5).write_csv(log)
    run_dir = RunDir(tmp_path / "out")
    ingest.run(run_dir, [str(log)], IngestOptions(), EngineOptions(threads=1))
    aggregate.run(run_dir, AggregateOptions(), EngineOptions(threads=1))
    cache_threads: list[int] = []
    pool_sizes: list[int | None] = []

    class RecordedCache(WindowFitCache):
        def __init__(self, path: Path | None, threads: int = 1) -> None:
            cache_threads.append(threads)
            super().__init__(path, threads)

    class RecordedPool(ThreadPoolExecutor):
        def __init__(self, max_workers: int | None = None, **kwargs: object) -> None:
            pool_sizes.append(max_workers)
            super().__init__(max_workers, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fit_stage, "WindowFitCache", RecordedCache)
    monkeypatch.setattr(characterize_stage, "ThreadPoolExecutor", RecordedPool)
    outputs = []
    for threads in (1, None):
        fit_stage.run(run_dir, FitOptions(), threads=threads)
        export.run(run_dir, ExportOptions())
        characterize_stage.run(run_dir, CharacterizeOptions(), EngineOptions(threads=threads))
        outputs.append(
            ((run_dir.root / "fits.json").read_bytes(), run_dir.path(STATS).read_bytes())
        )
    assert cache_threads == [1, fit_stage.FIT_THREADS]
    assert pool_sizes == [1, characterize_stage.SECTIONS_AT_ONCE]
    assert outputs[0] == outputs[1]  # the same bytes with one thread or several
