"""hash_ids and session ids survive ingest, so that prefix structure can be replayed later."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import polars as pl

from pipeline.config import EngineOptions, IngestOptions
from pipeline.rundir import RunDir
from pipeline.stages import ingest
from tests.conftest import public_trace

MOONCAKE_ROWS = [
    {"timestamp": 0, "input_length": 1100, "output_length": 7, "hash_ids": [0, 1, 2]},
    {"timestamp": 3000, "input_length": 600, "output_length": 9, "hash_ids": [0, 1]},
    {"timestamp": 6000, "input_length": 10, "output_length": 2, "hash_ids": [46]},
]
RAGPULSE_ROWS = [
    {
        "timestamp": "82",
        "input_length": 3112,
        "output_length": 192,
        "hash_ids": {
            "sys_prompt": [8302, 14332],
            "passages_ids": [7398, 7370],
            "history": [],
            "web_search": [],
            "user_input": [26923],
        },
        "session_id": "1757476916095-afhwfadnh5ew",
    },
    {
        "timestamp": "93",
        "input_length": 3167,
        "output_length": 86,
        "hash_ids": {
            "sys_prompt": [8302, 14332],
            "passages_ids": [6124],
            "history": [15200],
            "web_search": [],
            "user_input": [26922],
        },
        "session_id": "1757476927914-jvmj2r9c8b5g",
    },
]


def _ingest(tmp_path: Path, rows: list[dict[str, object]], preset: str) -> pl.DataFrame:
    path = tmp_path / f"{preset}_trace.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    run_dir = RunDir(tmp_path / preset)
    ingest.run(run_dir, [str(path)], IngestOptions(preset=preset), EngineOptions())
    return pl.from_arrow(ingest.read_requests(run_dir)).sort("arrival_us")


def test_mooncake_hash_ids_are_kept_as_given(tmp_path: Path) -> None:
    got = _ingest(tmp_path, MOONCAKE_ROWS, "mooncake")
    assert [json.loads(text) for text in got["hash_ids"]] == [r["hash_ids"] for r in MOONCAKE_ROWS]
    assert got["input_tokens"].to_list() == [1100, 600, 10]


def test_ragpulse_segments_and_sessions_are_kept(tmp_path: Path) -> None:
    got = _ingest(tmp_path, RAGPULSE_ROWS, "ragpulse")
    assert [json.loads(text) for text in got["hash_ids"]] == [r["hash_ids"] for r in RAGPULSE_ROWS]
    assert got["session_id"].to_list() == [r["session_id"] for r in RAGPULSE_ROWS]


def test_logs_without_hash_ids_have_none(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("timestamp,model,input_tokens,output_tokens\n1735689600,m,1,1\n")
    ingest.run(RunDir(tmp_path / "out"), [str(path)], IngestOptions(), EngineOptions())
    got = pl.from_arrow(ingest.read_requests(RunDir(tmp_path / "out")))
    assert got["hash_ids"].to_list() == [None]


def test_a_hash_ids_that_is_not_a_list_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "timestamp,model,input_tokens,output_tokens,hash_ids\n"
        '1735689600,m,1,1,"[1, 2]"\n'
        "1735689601,m,1,1,not-json\n"
        "1735689602,m,1,1,7\n"
    )
    result = ingest.run(
        RunDir(tmp_path / "out"),
        [str(path)],
        IngestOptions(max_reject_fraction=1.0),
        EngineOptions(),
    )
    rejects = list(csv.DictReader(result.rejects.open()))
    assert [(r["line"], r["reason"]) for r in rejects] == [
        ("3", "invalid_hash_ids"),
        ("4", "invalid_hash_ids"),
    ]
    assert "hash_ids=not-json" in rejects[0]["detail"]
    got = pl.from_arrow(ingest.read_requests(RunDir(tmp_path / "out")))
    assert got["hash_ids"].to_list() == ["[1, 2]"]


def test_published_mooncake_blocks_survive_ingest(tmp_path: Path) -> None:
    path = public_trace("mooncake_fast25/conversation_trace.jsonl")
    run_dir = RunDir(tmp_path / "out")
    ingest.run(run_dir, [str(path)], IngestOptions(preset="mooncake"), EngineOptions())
    got = pl.from_arrow(ingest.read_requests(run_dir)).sort("source_row")
    raw = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert got.height == len(raw) == 12031
    assert [json.loads(text) for text in got["hash_ids"]] == [r["hash_ids"] for r in raw]
    # The published property: one 512-token block per started 512 input tokens.
    assert all(
        len(json.loads(text)) == math.ceil(n / 512)
        for text, n in zip(got["hash_ids"], got["input_tokens"], strict=True)
    )


def test_published_ragpulse_segments_survive_ingest(tmp_path: Path) -> None:
    path = public_trace("ragpulse/0_trace.jsonl")
    run_dir = RunDir(tmp_path / "out")
    ingest.run(run_dir, [str(path)], IngestOptions(preset="ragpulse"), EngineOptions())
    got = pl.from_arrow(ingest.read_requests(run_dir)).sort("source_row")
    raw = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert got.height == len(raw) == 7106
    assert [json.loads(text) for text in got["hash_ids"]] == [r["hash_ids"] for r in raw]
    assert got["session_id"].to_list() == [r["session_id"] for r in raw]
