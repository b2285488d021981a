"""The fit stage streams inter-arrival times a batch of whole clients at a time and fits
the windows a slice at a time."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.artefacts import CLIENT_FITS, WINDOW_FITS
from pipeline.config import FitOptions
from pipeline.rundir import RunDir
from pipeline.stages import fit


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 5, 7, 1000])
def test_client_batches_hold_whole_clients_in_file_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_rows: int
) -> None:
    # windows 0-1 are client 0, 2-4 client 1, 5 client 2, 6-7 client 3; client 1 spans
    # several batches of every size below 9
    client_of_window = np.array([0, 0, 1, 1, 1, 2, 3, 3], np.int64)
    keys = np.array([0, 0, 1, 2, 2, 2, 3, 3, 4, 5, 6, 7, 7], np.int64)
    values = np.arange(len(keys), dtype=np.float64) / 10
    path = tmp_path / "interarrivals.parquet"
    pq.write_table(pa.table({"window_key": keys, "iat_s": values}), path, row_group_size=4)
    monkeypatch.setattr(fit, "BATCH_ROWS", batch_rows)

    batches = list(fit._client_batches(path, client_of_window, np.zeros(4, bool)))

    assert np.array_equal(np.concatenate([k for k, _v in batches]), keys)
    assert np.array_equal(np.concatenate([v for _k, v in batches]), values)
    seen: set[int] = set()
    for batch_keys, batch_values in batches:
        assert len(batch_keys) == len(batch_values) > 0
        clients = set(client_of_window[batch_keys].tolist())
        assert not clients & seen  # no client is cut between two batches
        seen |= clients
    assert seen == {0, 1, 2, 3}


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 5, 1000])
def test_a_streamed_client_comes_in_whole_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_rows: int
) -> None:
    """Client 1 (windows 1-4) is streamed: its rows come a run of whole windows at a time,
    the other clients whole, everything once and in file order."""
    client_of_window = np.array([0, 1, 1, 1, 1, 2], np.int64)
    keys = np.array([0, 0, 1, 1, 1, 2, 3, 3, 3, 3, 4, 4, 5], np.int64)
    values = np.arange(len(keys), dtype=np.float64)
    path = tmp_path / "interarrivals.parquet"
    pq.write_table(pa.table({"window_key": keys, "iat_s": values}), path, row_group_size=4)
    monkeypatch.setattr(fit, "BATCH_ROWS", batch_rows)
    streamed = np.array([False, True, False])

    batches = list(fit._client_batches(path, client_of_window, streamed))

    assert np.array_equal(np.concatenate([k for k, _v in batches]), keys)
    assert np.array_equal(np.concatenate([v for _k, v in batches]), values)
    windows_seen: list[int] = []
    for batch_keys, _values in batches:
        windows = np.unique(batch_keys).tolist()
        assert not set(windows) & set(windows_seen)  # no window is cut between batches
        windows_seen += windows
        held_whole = [w for w in windows if not streamed[client_of_window[w]]]
        for window in held_whole:  # clients held whole are in one batch with all their windows
            client = client_of_window[window]
            assert set(np.flatnonzero(client_of_window == client)) <= set(windows)
    if batch_rows <= 3:  # client 1 (8 gaps) did not come in one piece
        assert sum(1 for k, _v in batches if set(k.tolist()) & {1, 2, 3, 4}) > 1


@pytest.mark.parametrize(("whole_client_values", "batch_rows"), [(0, 1 << 19), (1_000, 97)])
def test_streamed_clients_get_the_same_fits(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    truth_run: Path,
    whole_client_values: int,
    batch_rows: int,
) -> None:
    """Streaming clients (every one, or those above 1,000 gaps, in batches of 97 rows) leaves
    every window fit and every client's pooled fit and pattern bit for bit as they were; the
    pooled CV, combined from per-window sums, agrees to 1e-12 (a client held whole sums all of
    its values at once)."""
    run = tmp_path / "run"
    shutil.copytree(truth_run, run)
    monkeypatch.setattr(fit, "WHOLE_CLIENT_VALUES", whole_client_values)
    monkeypatch.setattr(fit, "BATCH_ROWS", batch_rows)

    fit.run(RunDir(run), FitOptions())

    assert (run / WINDOW_FITS).read_bytes() == (truth_run / WINDOW_FITS).read_bytes()
    got, expected = pq.read_table(run / CLIENT_FITS), pq.read_table(truth_run / CLIENT_FITS)
    assert got.column_names == expected.column_names
    n_pooled = expected.column("n_pooled").to_numpy()
    assert (n_pooled > max(whole_client_values, 1)).sum() >= 3  # some clients were streamed
    for name in got.column_names:
        pair = [t.column(name).to_numpy(zero_copy_only=False) for t in (got, expected)]
        if name == "pooled_cv":
            np.testing.assert_allclose(*pair, rtol=1e-12)
        else:  # NaN where the expected has NaN
            np.testing.assert_array_equal(*pair, err_msg=name, strict=True)


def test_window_slices_cover_whole_windows_in_order() -> None:
    lengths = np.array([3, 4, 10, 2, 2, 2, 5], np.int64)
    slices = list(fit._window_slices(lengths, 6))
    # at most 6 values a slice, or one window larger than that alone
    assert slices == [(0, 1, 0, 3), (1, 2, 3, 7), (2, 3, 7, 17), (3, 6, 17, 23), (6, 7, 23, 28)]
    assert list(fit._window_slices(lengths, 100)) == [(0, 7, 0, 28)]
    assert list(fit._window_slices(np.zeros(0, np.int64), 6)) == []


@pytest.mark.parametrize("slice_values", [1, 2_500])
def test_fitting_windows_in_slices_changes_no_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, truth_run: Path, slice_values: int
) -> None:
    """The ground-truth run's fits (every client's windows fitted in one call: its largest
    client has ~30k gaps, under SLICE_VALUES) are byte-identical when each client's windows
    are fitted a slice at a time, down to one window per call."""
    run = tmp_path / "run"
    shutil.copytree(truth_run, run)
    calls: list[int] = []
    fitted = fit.fit_quantized_interarrivals

    def counted(values: np.ndarray, lengths: np.ndarray, **kwargs: object) -> object:
        calls.append(len(values))
        return fitted(values, lengths, **kwargs)

    monkeypatch.setattr(fit, "fit_quantized_interarrivals", counted)
    monkeypatch.setattr(fit, "SLICE_VALUES", slice_values)

    fit.run(RunDir(run), FitOptions())

    n_clients = pq.read_metadata(run / CLIENT_FITS).num_rows
    assert len(calls) > 4 * n_clients  # the window fits were cut into many slices
    for artefact in (WINDOW_FITS, CLIENT_FITS):
        assert (run / artefact).read_bytes() == (truth_run / artefact).read_bytes()
