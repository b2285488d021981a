"""Ingest with --engine spark gives the bytes of --engine duckdb: rows, rejects, account, errors.

One `local[2]` session for the whole module (Spark starts in seconds, not milliseconds). With
SERVECHAR_REQUIRE_SPARK=1 (CI) a missing pyspark or Java fails these tests instead of skipping.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest
import zstandard

from pipeline import SAMPLE_LOG
from pipeline.artefacts import IDENTITY, REJECTS, SUMMARY
from pipeline.config import EngineOptions, IngestOptions
from pipeline.errors import InputError
from pipeline.rundir import RunDir
from pipeline.schema import REJECT_REASONS
from pipeline.stages import ingest
from tests.conftest import public_trace

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pyspark.sql import SparkSession

SPARK = EngineOptions(engine="spark", spark_master="local[2]")
COMPARED = (SUMMARY, REJECTS, IDENTITY)


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    required = os.environ.get("SERVECHAR_REQUIRE_SPARK") == "1"
    missing = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing = "pyspark is not installed (pip install -e '.[spark]')"
    if missing is None and not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        missing = "no Java runtime for Spark (openjdk-17-jre-headless)"
    if missing:
        if required:
            pytest.fail(f"SERVECHAR_REQUIRE_SPARK=1 but {missing}", pytrace=False)
        pytest.skip(missing)
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pipeline.spark.session import spark_session

    session = spark_session(SPARK.spark_master)
    yield session
    session.stop()


def _both(
    tmp_path: Path, inputs: list[Path], spark_inputs: list[Path] | None = None, **options: object
) -> tuple[RunDir, RunDir]:
    """Ingest with both engines; assert every output byte-identical; the two run dirs."""
    options.setdefault("max_reject_fraction", 1.0)
    chosen = IngestOptions(**options)
    local = RunDir(tmp_path / "duckdb")
    spread = RunDir(tmp_path / "spark")
    ingest.run(local, [str(p) for p in inputs], chosen, EngineOptions())
    ingest.run(spread, [str(p) for p in spark_inputs or inputs], chosen, SPARK)
    for name in COMPARED:
        assert (spread.root / name).read_bytes() == (local.root / name).read_bytes(), name
    days = [p.relative_to(local.root) for p in sorted((local.root / "ingest").rglob("*.parquet"))]
    assert days
    assert days == [
        p.relative_to(spread.root) for p in sorted((spread.root / "ingest").rglob("*.parquet"))
    ]
    for day in days:
        assert (spread.root / day).read_bytes() == (local.root / day).read_bytes(), day
    manifest = json.loads((spread.root / "manifest.json").read_text())
    assert manifest["stages"]["ingest"]["engine"]["engine"] == "spark"
    files = [f["path"] for f in _summary(local)["files"]]  # type: ignore[union-attr]
    assert [t["path"] for t in manifest["stages"]["ingest"]["spark_tasks"]] == files
    return local, spread


def _summary(run_dir: RunDir) -> dict[str, object]:
    return json.loads((run_dir.root / "summary.json").read_text())


def test_bundled_sample(spark: SparkSession, tmp_path: Path) -> None:
    local, _ = _both(tmp_path, [SAMPLE_LOG])
    assert _summary(local)["rows_accepted"] > 10_000


def test_published_trace_with_its_preset(spark: SparkSession, tmp_path: Path) -> None:
    trace = public_trace("azure_llm_2023/AzureLLMInferenceTrace_code.csv")
    local, _ = _both(tmp_path, [trace], preset="azure-llm")
    assert _summary(local)["rows_accepted"] > 1_000


CSV_HEADER = (
    "timestamp,model,client_id,input_tokens,output_tokens,reason_tokens,request_id,status,"
    "ttft_ms,image_count,image_tokens,category,hash_ids\n"
)
# one row per reason the CSV reader can meet: (reason, row)
CSV_BAD_ROWS = [
    ("wrong_field_count", "2025-03-01T00:01:00Z,m,c,10,5,,x1,200,,,,,,extra"),
    ("invalid_timestamp", "yesterday,m,c,10,5,,x2,200,,,,,"),
    ("missing_timestamp", ",m,c,10,5,,x3,200,,,,,"),
    ("timestamp_out_of_range", "1740787200000,m,c,10,5,,x4,200,,,,,"),
    ("nonexistent_local_time", "2025-03-30 02:30:00,m,c,10,5,,x5,200,,,,,"),
    ("ambiguous_local_time", "2025-10-26 02:30:00,m,c,10,5,,x6,200,,,,,"),
    ("missing_model", "2025-03-01T00:01:00Z,,c,10,5,,x7,200,,,,,"),
    ("missing_tokens", "2025-03-01T00:01:00Z,m,c,,5,,x8,200,,,,,"),
    ("non_integer_tokens", "2025-03-01T00:01:00Z,m,c,10.5,5,,x9,200,,,,,"),
    ("negative_tokens", "2025-03-01T00:01:00Z,m,c,10,-5,,x10,200,,,,,"),
    ("token_overflow", "2025-03-01T00:01:00Z,m,c,9223372036854775807,5,,x11,200,,,,,"),
    ("reason_exceeds_output", "2025-03-01T00:01:00Z,m,c,10,5,6,x12,200,,,,,"),
    ("invalid_modality", '2025-03-01T00:01:00Z,m,c,900,5,,x13,200,,3,"[256, 512]",,'),
    ("modality_exceeds_input", '2025-03-01T00:01:00Z,m,c,100,5,,x14,200,,,"[256, 512]",,'),
    ("invalid_category", "2025-03-01T00:01:00Z,m,c,10,5,,x15,200,,,,poetry,"),
    ("invalid_status", "2025-03-01T00:01:00Z,m,c,10,5,,x16,ok,,,,,"),
    ("invalid_latency", "2025-03-01T00:01:00Z,m,c,10,5,,x17,200,-4,,,,"),
    ("invalid_hash_ids", "2025-03-01T00:01:00Z,m,c,10,5,,x18,200,,,,,not-json"),
    ("duplicate_request_id", "2025-03-01T00:01:00Z,m,c,10,5,,r1,200,,,,,"),
]


def _good_csv_rows(count: int, prefix: str) -> str:
    return "".join(
        f'2025-03-01T00:00:{s:02d}Z,m,c{s % 3},10,5,,{prefix}{s},200,12.5,,,,"[1, 2]"\n'
        for s in range(count)
    )


def test_every_reject_reason_is_quarantined_identically(
    spark: SparkSession, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    csv_text = CSV_HEADER + _good_csv_rows(5, "r") + "".join(f"{r}\n" for _, r in CSV_BAD_ROWS)
    (logs / "a.csv").write_bytes(
        csv_text.encode() + b"2025-03-01T00:02:00Z,m\xff\xfe\\,c,1,1,,y1,200,,,,,\n"
    )
    # the same request ids again, in a gzip file: duplicates across files
    (logs / "b.csv.gz").write_bytes(gzip.compress((CSV_HEADER + _good_csv_rows(3, "r")).encode()))
    base = {"timestamp": 1740787300, "model": "m", "input_tokens": 10, "output_tokens": 5}
    lines = [
        json.dumps({**base, "request_id": "j1"}),
        json.dumps({**base, "model": ["x"]}),
        json.dumps({**base, "input_tokens": {"n": 10}}),
        "{oops",
        "[1, 2]",
    ]
    (logs / "c.jsonl.zst").write_bytes(
        zstandard.ZstdCompressor().compress(("\n".join(lines) + "\n").encode())
    )
    pl.DataFrame(
        {
            "timestamp": ["2025-03-01T00:03:00Z", "2025-03-01T00:03:01Z", "2025-03-01T00:03:02Z"],
            "model": ["p", "p", None],
            "input_tokens": ["7", "-1", "7"],
            "output_tokens": ["3", "3", "3"],
            "request_id": ["p1", "r2", "p3"],
        }
    ).write_parquet(logs / "d.parquet")
    local, _ = _both(tmp_path, [logs], tz="Europe/Berlin")
    summary = _summary(local)
    assert set(summary["rejects_by_reason"]) == set(REJECT_REASONS)  # every reason met
    assert summary["rows_read"] == summary["rows_accepted"] + summary["rows_rejected"]
    assert summary["rejects_by_reason"]["duplicate_request_id"] == 4  # 1 in a.csv, 3 in b.csv.gz
    rejects = (local.root / "rejects.csv").read_text()
    assert "m\\xff\\xfe\\\\" in rejects  # the undecodable bytes, escaped


def _split_log(directory: Path, files: int) -> pl.DataFrame:
    """A two-day log where client "big" carries about 70 % of the requests, with duplicates."""
    rows = 6_000
    start = 1_740_787_200  # 2025-03-01T00:00:00Z
    frame = pl.DataFrame(
        {
            "timestamp": [start + (i * 29) % 172_800 for i in range(rows)],
            "model": [("m1", "m2")[i % 2] for i in range(rows)],
            "client_id": ["big" if i % 10 < 7 else f"c{i % 7}" for i in range(rows)],
            "input_tokens": [(i * 37) % 3000 + 1 for i in range(rows)],
            "output_tokens": [(i * 11) % 500 + 1 for i in range(rows)],
            "request_id": [f"q{i % 5_900}" for i in range(rows)],  # 100 ids twice
        }
    )
    directory.mkdir()
    frame.write_csv(directory / "all.csv")
    for part in range(files):
        piece = frame.gather_every(files, offset=part)
        name = directory / f"part-{part:02d}"
        if part % 4 == 0:
            piece.write_parquet(f"{name}.parquet")
        elif part % 4 == 1:
            Path(f"{name}.jsonl.gz").write_bytes(gzip.compress(piece.write_ndjson().encode()))
        elif part % 4 == 2:
            Path(f"{name}.csv.zst").write_bytes(
                zstandard.ZstdCompressor().compress(piece.write_csv().encode())
            )
        else:
            piece.write_csv(f"{name}.tsv", separator="\t")
    return frame


def test_a_log_split_across_many_files_gives_the_one_file_result(
    spark: SparkSession, tmp_path: Path
) -> None:
    frame = _split_log(tmp_path / "logs", files=12)
    parts = sorted((tmp_path / "logs").glob("part-*"))
    # Spark is given the files in reverse order: file numbering follows the sorted paths
    local, spread = _both(tmp_path / "split", parts, spark_inputs=parts[::-1])
    one = RunDir(tmp_path / "one")
    ingest.run(one, [str(tmp_path / "logs" / "all.csv")], IngestOptions(), EngineOptions())
    identity = ["arrival_us", "model", "client_id", "request_id", "input_tokens", "output_tokens"]
    from_parts = pl.from_arrow(ingest.read_requests(spread)).select(identity)
    from_one = pl.from_arrow(ingest.read_requests(one)).select(identity)
    assert from_parts.height == frame.height - 100
    assert from_parts.sort(identity).equals(from_one.sort(identity))
    assert (from_parts["client_id"] == "big").mean() > 0.6
    assert _summary(spread)["rejects_by_reason"] == {"duplicate_request_id": 100}
    assert len(_summary(local)["files"]) == 12


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.zst"])
def test_a_cut_compressed_file_stops_the_run_with_the_same_error(
    spark: SparkSession, tmp_path: Path, suffix: str
) -> None:
    data = gzip.decompress(SAMPLE_LOG.read_bytes())
    packed = gzip.compress(data) if suffix == ".csv.gz" else zstandard.compress(data)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(packed[: len(packed) // 2])
    whole = tmp_path / f"whole{suffix}"
    whole.write_bytes(packed)
    messages = []
    for name, engine in (("duckdb", EngineOptions()), ("spark", SPARK)):
        with pytest.raises(InputError) as error:
            ingest.run(RunDir(tmp_path / name), [str(whole), str(cut)], IngestOptions(), engine)
        messages.append((error.value.message, error.value.hint))
        assert not (tmp_path / name / "summary.json").exists()
    assert messages[0] == messages[1]
    assert messages[1][0].startswith(f"{cut}: the ")
    assert "truncated or damaged" in messages[1][0]


def test_a_missing_column_is_the_same_error(spark: SparkSession, tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("created,model,prompt,completion\n2025-01-01T00:00:00Z,m,1,1\n")
    found = []
    for name, engine in (("duckdb", EngineOptions()), ("spark", SPARK)):
        with pytest.raises(InputError) as error:
            ingest.run(RunDir(tmp_path / name), [str(path)], IngestOptions(), engine)
        found.append((error.value.message, error.value.hint))
    assert found[0] == found[1]
    assert found[1][0].startswith(f"{path}: no column for required timestamp")


def test_a_file_over_the_binary_file_limit_is_an_error_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.spark import ingest as on_spark  # the size is checked before Spark starts

    path = tmp_path / "big.csv"
    path.write_text("timestamp,model,input_tokens,output_tokens\n1740787200,m,1,1\n")
    monkeypatch.setattr(on_spark, "MAX_FILE_BYTES", 10)
    with pytest.raises(InputError) as error:
        ingest.run(RunDir(tmp_path / "out"), [str(path)], IngestOptions(), SPARK)
    assert str(path) in error.value.message
    assert "Split the log" in (error.value.hint or "")


def test_inputs_named_by_uri_are_listed_and_read_by_spark(
    spark: SparkSession, tmp_path: Path
) -> None:
    _split_log(tmp_path / "logs", files=4)
    (tmp_path / "logs" / "all.csv").unlink()
    local = RunDir(tmp_path / "duckdb")
    ingest.run(local, [str(tmp_path / "logs")], IngestOptions(), EngineOptions())
    spread = RunDir(tmp_path / "spark")
    pattern = f"file://{tmp_path}/logs/part-0[0-3].*"
    ingest.run(spread, [pattern], IngestOptions(), SPARK)
    days = sorted(p.relative_to(local.root) for p in (local.root / "ingest").rglob("*.parquet"))
    assert len(days) == 2
    (tmp_path / "logs" / "README.txt").write_text("not a log")  # a directory's other files
    whole = RunDir(tmp_path / "spark-dir")
    ingest.run(whole, [f"file://{tmp_path}/logs"], IngestOptions(), SPARK)
    for day in days:
        assert (spread.root / day).read_bytes() == (local.root / day).read_bytes(), day
        assert (whole.root / day).read_bytes() == (local.root / day).read_bytes(), day
    by_uri, by_path = _summary(spread), _summary(local)
    assert [f["path"] for f in by_uri["files"]] == [  # type: ignore[union-attr]
        f"file:{tmp_path}/logs/{Path(f['path']).name}"
        for f in by_path["files"]  # type: ignore[union-attr]
    ]
    for summary in (by_uri, by_path):
        summary.pop("files")
    assert by_uri == by_path
    recorded = json.loads((spread.root / "manifest.json").read_text())["stages"]["ingest"]
    assert [i["sha256"] for i in recorded["inputs"]] == [
        i["sha256"]
        for i in json.loads((local.root / "manifest.json").read_text())["stages"]["ingest"][
            "inputs"
        ]
    ]
    with pytest.raises(InputError, match="Spark cannot list"):
        ingest.run(
            RunDir(tmp_path / "none"), [f"file://{tmp_path}/nowhere/*.csv"], IngestOptions(), SPARK
        )
    with pytest.raises(InputError, match="only --engine spark reads"):
        ingest.run(RunDir(tmp_path / "duck"), [pattern], IngestOptions(), EngineOptions())


def test_days_with_their_own_clients_and_duplicates_across_days(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Three UTC days whose clients and models differ (a day's file is sorted in a task that
    sees that day only), duplicates whose copies lie on other days and in other files."""
    rows = 3_000
    start = 1_740_787_200  # 2025-03-01T00:00:00Z
    day = 86_400
    frame = pl.DataFrame(
        {
            "timestamp": [start + (i * 7_919) % (3 * day) for i in range(rows)],
            "model": [f"m{((i * 7_919) % (3 * day)) // day + i % 2}" for i in range(rows)],
            "client_id": [
                f"c{(i * 13) % (((i * 7_919) % (3 * day)) // day * 4 + 3)}" for i in range(rows)
            ],
            "input_tokens": [(i * 37) % 3000 + 1 for i in range(rows)],
            "output_tokens": [(i * 11) % 500 + 1 for i in range(rows)],
            "request_id": [f"q{i % 2_950}" for i in range(rows)],  # 50 ids twice
        }
    )
    (tmp_path / "logs").mkdir()
    parts = []
    for part in range(4):
        path = tmp_path / "logs" / f"part-{part}.csv"
        frame.gather_every(4, offset=part).write_csv(path)
        parts.append(path)
    local, spread = _both(tmp_path / "runs", parts)
    days = sorted(p.parent.name for p in (spread.root / "ingest").rglob("*.parquet"))
    assert days == ["day=2025-03-01", "day=2025-03-02", "day=2025-03-03"]
    clients = [
        set(pl.read_parquet(local.root / "ingest" / "requests" / d / "part-0.parquet")["client_id"])
        for d in days
    ]
    assert clients[0] < clients[2]  # later days have clients the first lacks
    assert _summary(spread)["rejects_by_reason"] == {"duplicate_request_id": 50}
