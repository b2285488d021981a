"""Ingest: every format, every reject reason, exact reconciliation, clear errors."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import polars as pl
import pytest
import zstandard

from pipeline.config import EngineOptions, IngestOptions
from pipeline.errors import InputError
from pipeline.rundir import RunDir
from pipeline.schema import REJECT_REASONS
from pipeline.stages import ingest

HEADER = "timestamp,model,client_id,input_tokens,output_tokens,reason_tokens,request_id,status\n"
GOOD = "2025-01-01T00:00:{s:02d}Z,m,c,10,5,,r{s},200\n"


def _run(tmp_path: Path, files: list[Path], **options: object) -> ingest.IngestResult:
    options.setdefault("max_reject_fraction", 1.0)
    return ingest.run(
        RunDir(tmp_path / "out"), [str(f) for f in files], IngestOptions(**options), EngineOptions()
    )


def _rejects(result: ingest.IngestResult) -> list[dict[str, str]]:
    return list(csv.DictReader(result.rejects.open()))


BAD_ROWS = {
    "wrong_field_count": "2025-01-01T00:01:00Z,m,c,10,5,,x1,200,extra\n",
    "invalid_timestamp": "yesterday,m,c,10,5,,x2,200\n",
    "missing_timestamp": ",m,c,10,5,,x3,200\n",
    "timestamp_out_of_range": "1735689600000,m,c,10,5,,x4,200\n",
    "missing_model": "2025-01-01T00:01:00Z,,c,10,5,,x5,200\n",
    "missing_tokens": "2025-01-01T00:01:00Z,m,c,,5,,x6,200\n",
    "non_integer_tokens": "2025-01-01T00:01:00Z,m,c,10.5,5,,x7,200\n",
    "negative_tokens": "2025-01-01T00:01:00Z,m,c,10,-5,,x8,200\n",
    "reason_exceeds_output": "2025-01-01T00:01:00Z,m,c,10,5,6,x9,200\n",
    "invalid_status": "2025-01-01T00:01:00Z,m,c,10,5,,x10,ok\n",
    "duplicate_request_id": "2025-01-01T00:01:00Z,m,c,10,5,,r1,200\n",
}


def test_every_reject_reason_is_quarantined_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    good = [GOOD.format(s=s) for s in range(1, 6)]
    path.write_text(HEADER + "".join(good) + "".join(BAD_ROWS.values()))
    result = _run(tmp_path, [path])
    rejects = _rejects(result)
    assert [r["reason"] for r in rejects] == list(BAD_ROWS)
    # header is line 1, five good rows, then the bad rows in order
    assert [int(r["line"]) for r in rejects] == list(range(7, 7 + len(BAD_ROWS)))
    for row, raw in zip(rejects, BAD_ROWS.values(), strict=True):
        assert row["raw_text"] == raw.strip()
        assert row["source_file"] == str(path)
    summary = json.loads(result.summary.read_text())
    assert summary["rows_read"] == 5 + len(BAD_ROWS)
    assert summary["rows_accepted"] == 5
    assert summary["rows_read"] == summary["rows_accepted"] + summary["rows_rejected"]
    assert summary["rejects_by_reason"] == {k: 1 for k in sorted(BAD_ROWS)}
    assert set(summary["rejects_by_reason"]) <= set(REJECT_REASONS)


def test_modality_and_category_rejects(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    rows = [
        {
            "timestamp": 1735689601,
            "model": "v",
            "input_tokens": 900,
            "output_tokens": 3,
            "image_tokens": [256, 512],
        },
        {
            "timestamp": 1735689602,
            "model": "v",
            "input_tokens": 100,
            "output_tokens": 3,
            "image_tokens": [256, 512],
        },
        {
            "timestamp": 1735689603,
            "model": "v",
            "input_tokens": 900,
            "output_tokens": 3,
            "image_count": 3,
            "image_tokens": [256, 512],
        },
        {
            "timestamp": 1735689604,
            "model": "v",
            "input_tokens": 9,
            "output_tokens": 3,
            "category": "poetry",
        },
        {
            "timestamp": 1735689605,
            "model": "v",
            "input_tokens": 9,
            "output_tokens": 3,
            "ttft_ms": -4,
        },
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n\n")
    rejects = _rejects(_run(tmp_path, [path]))
    assert [(r["line"], r["reason"]) for r in rejects] == [
        ("2", "modality_exceeds_input"),
        ("3", "invalid_modality"),
        ("4", "invalid_category"),
        ("5", "invalid_latency"),
        ("6", "invalid_json"),
    ]
    requests = pl.from_arrow(ingest.read_requests(RunDir(tmp_path / "out")))
    assert requests.select("image_count", "image_tokens", "text_tokens", "category").row(0) == (
        2,
        768,
        132,
        "multimodal",
    )


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".csv.zst", ".tsv", ".jsonl.gz", ".parquet"])
def test_formats_and_compressions_give_the_same_requests(tmp_path: Path, suffix: str) -> None:
    frame = pl.DataFrame(
        {
            "ts": ["2025-01-01 00:00:01.1234567", "2025-01-01 00:00:02", "2025-01-01 00:00:03"],
            "model": ["m", "m", "m"],
            "input": [1, 2, 3],
            "output": [4, 5, 6],
        }
    )
    path = tmp_path / f"log{suffix}"
    if suffix.startswith(".csv"):
        data = frame.write_csv().encode()
    elif suffix == ".tsv":
        data = frame.write_csv(separator="\t").encode()
    elif suffix.startswith(".jsonl"):
        data = frame.write_ndjson().encode()
    else:
        frame.write_parquet(path)
        data = b""
    if suffix.endswith(".gz"):
        data = gzip.compress(data)
    elif suffix.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    if data:
        path.write_bytes(data)
    result = _run(
        tmp_path,
        [path],
        column_map={"timestamp": "ts", "input_tokens": "input", "output_tokens": "output"},
    )
    assert result.rows_accepted == 3
    got = pl.from_arrow(ingest.read_requests(RunDir(tmp_path / "out"))).sort("arrival_us")
    assert got["arrival_us"].to_list() == [1735689601123456, 1735689602000000, 1735689603000000]
    assert got["input_tokens"].to_list() == [1, 2, 3]
    assert got["client_id"].to_list() == ["all"] * 3  # no client column: one client


def test_time_units_time_zones_and_default_model(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("timestamp,input_tokens,output_tokens\n1735689600500,1,1\n")
    _run(tmp_path, [path], time_unit="ms", default_model="given")
    got = pl.from_arrow(ingest.read_requests(RunDir(tmp_path / "out")))
    assert got["arrival_us"].to_list() == [1735689600500000]
    assert got["model"].to_list() == ["given"]
    naive = tmp_path / "naive.csv"
    naive.write_text("timestamp,model,input_tokens,output_tokens\n2025-01-01 01:00:00,m,1,1\n")
    ingest.run(
        RunDir(tmp_path / "tz"), [str(naive)], IngestOptions(tz="Europe/Berlin"), EngineOptions()
    )
    got = pl.from_arrow(ingest.read_requests(RunDir(tmp_path / "tz")))
    assert got["arrival_us"].to_list() == [1735689600000000]


def test_missing_required_column_names_columns_and_suggests_map(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("created,model,prompt,completion\n2025-01-01T00:00:00Z,m,1,1\n")
    with pytest.raises(InputError) as error:
        _run(tmp_path, [path])
    assert "timestamp, input_tokens, output_tokens" in error.value.message
    assert "created, model, prompt, completion" in error.value.message
    assert "--map timestamp=" in (error.value.hint or "")


def test_reject_share_above_the_limit_stops_after_writing_the_account(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(HEADER + GOOD.format(s=1) + BAD_ROWS["negative_tokens"])
    with pytest.raises(InputError) as error:
        _run(tmp_path, [path], max_reject_fraction=0.05)
    assert "1 of 2 rows (50.0%)" in error.value.message
    assert str(path) in error.value.message
    assert "negative_tokens" in error.value.message
    assert json.loads((tmp_path / "out/summary.json").read_text())["rows_rejected"] == 1


def test_unreadable_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        _run(tmp_path, [tmp_path / "nope.csv"])
    fake = tmp_path / "fake.csv.gz"
    fake.write_text("not gzip")
    with pytest.raises(InputError, match=r"fake\.csv\.gz: named \.gz but is not gzip"):
        _run(tmp_path, [fake])
    array = tmp_path / "array.json"
    array.write_text('[{"a": 1}]')
    with pytest.raises(InputError, match="JSON array"):
        _run(tmp_path, [array])
    odd = tmp_path / "log.xlsx"
    odd.write_text("x")
    with pytest.raises(InputError, match="unknown file type"):
        _run(tmp_path, [odd])


def test_directories_and_globs_expand(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for day in range(3):
        (logs / f"day{day}.csv").write_text(
            HEADER + GOOD.format(s=day).replace(f"r{day}", f"d{day}")
        )
    assert _run(tmp_path, [logs]).rows_accepted == 3
    assert _run(tmp_path, [logs / "day[01].csv"]).rows_accepted == 2


def test_out_of_order_timestamps_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(HEADER + GOOD.format(s=9) + GOOD.format(s=2) + GOOD.format(s=5))
    assert _run(tmp_path, [path], max_reject_fraction=0.0).rows_accepted == 3


def test_plain_and_compressed_inputs_together(tmp_path: Path) -> None:
    """The run's fingerprint sorts the inputs' (format, compression, hash): None sorts too."""
    plain = tmp_path / "a.csv"
    plain.write_text(HEADER + GOOD.format(s=1))
    packed = tmp_path / "b.csv.gz"
    packed.write_bytes(gzip.compress((HEADER + GOOD.format(s=2)).encode()))
    assert _run(tmp_path, [plain, packed]).rows_accepted == 2
