"""The fit stage streams inter-arrival times a batch of whole clients at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

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

    batches = list(fit._client_batches(path, client_of_window))

    assert np.array_equal(np.concatenate([k for k, _v in batches]), keys)
    assert np.array_equal(np.concatenate([v for _k, v in batches]), values)
    seen: set[int] = set()
    for batch_keys, batch_values in batches:
        assert len(batch_keys) == len(batch_values) > 0
        clients = set(client_of_window[batch_keys].tolist())
        assert not clients & seen  # no client is cut between two batches
        seen |= clients
    assert seen == {0, 1, 2, 3}
