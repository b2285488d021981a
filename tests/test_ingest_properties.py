"""Property tests: whatever the rows, every one is accounted for exactly once."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config import EngineOptions, IngestOptions
from pipeline.errors import InputError
from pipeline.rundir import RunDir
from pipeline.schema import REJECT_REASONS
from pipeline.stages import ingest

HEADER = [
    "timestamp",
    "model",
    "client_id",
    "input_tokens",
    "output_tokens",
    "reason_tokens",
    "request_id",
    "status",
]

timestamps = st.one_of(
    st.integers(1_600_000_000, 1_800_000_000).map(str),
    st.sampled_from(["", "yesterday", "2025-01-01T00:00:00Z", "2025-13-01", "1e30", "-5"]),
)
tokens = st.one_of(
    st.integers(0, 100_000).map(str),
    st.sampled_from(["", "-1", "2.5", "3.0", "x", " 7 "]),
)
field_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n"),
    max_size=8,
)
rows = st.lists(
    st.tuples(
        timestamps,
        st.one_of(st.just("m"), st.just(""), field_text),
        field_text,
        tokens,
        tokens,
        st.one_of(st.just(""), tokens),
        st.sampled_from(["", "a", "b", "c"]),
        st.sampled_from(["", "200", "429", "ok"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows, extra_fields=st.lists(st.integers(0, 39), max_size=3))
def test_every_row_is_accepted_or_rejected_once(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, ...]], extra_fields: list[int]
) -> None:
    directory = tmp_path_factory.mktemp("prop")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for index, row in enumerate(rows):
        writer.writerow([*row, "extra"] if index in extra_fields else list(row))
    path = directory / "log.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    try:
        result = ingest.run(
            RunDir(directory / "out"),
            [str(path)],
            IngestOptions(max_reject_fraction=1.0),
            EngineOptions(threads=1),
        )
    except InputError as error:  # all rows rejected: still fully accounted for
        assert "no row was accepted" in error.message
    summary = json.loads((directory / "out" / "summary.json").read_text())
    assert summary["rows_read"] == len(rows)
    assert summary["rows_read"] == summary["rows_accepted"] + summary["rows_rejected"]
    rejects = list(csv.DictReader((directory / "out" / "rejects.csv").open(encoding="utf-8")))
    assert len(rejects) == summary["rows_rejected"]
    assert {r["reason"] for r in rejects} <= set(REJECT_REASONS)
    lines = [int(r["line"]) for r in rejects]
    assert len(set(lines)) == len(lines) and all(2 <= n <= len(rows) + 1 for n in lines)
    if summary["rows_accepted"]:
        assert result.rows_accepted == summary["rows_accepted"]


def test_jsonl_lines_are_exact_with_blank_lines_in_between(tmp_path: Path) -> None:
    good = '{"timestamp": 1735689600, "model": "m", "input_tokens": 1, "output_tokens": 1}'
    bad = '{"timestamp": 1735689600, "model": "m", "input_tokens": -1, "output_tokens": 1}'
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join([good, "", bad, "   ", good, bad]) + "\n")
    result = ingest.run(
        RunDir(tmp_path / "out"), [str(path)], IngestOptions(max_reject_fraction=1), EngineOptions()
    )
    rejects = list(csv.DictReader(result.rejects.open()))
    assert [r["line"] for r in rejects] == ["3", "6"]
    assert result.rows_read == 4
