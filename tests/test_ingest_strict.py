"""Ingest takes what the log says or quarantines it: strict parsing, no silent loss."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import polars as pl
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import SAMPLE_LOG
from pipeline.config import AggregateOptions, EngineOptions, IngestOptions
from pipeline.errors import InputError
from pipeline.naming import model_dir_name, model_dir_names
from pipeline.rundir import RunDir
from pipeline.schema import MAX_TOKENS, MISSING_CLIENT_ID, REJECT_REASONS
from pipeline.stages import aggregate, ingest

HEADER = "timestamp,model,client_id,input_tokens,output_tokens,image_tokens,request_id\n"


def _ingest(out: Path, files: list[Path], **options: object) -> ingest.IngestResult:
    options.setdefault("max_reject_fraction", 1.0)
    return ingest.run(
        RunDir(out), [str(f) for f in files], IngestOptions(**options), EngineOptions(threads=1)
    )


def _rejects(out: Path) -> list[dict[str, str]]:
    with (out / "rejects.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _requests(out: Path) -> pl.DataFrame:
    return pl.from_arrow(ingest.read_requests(RunDir(out))).sort("arrival_us")  # type: ignore[return-value]


# --- 1. silent data loss ---------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv.zst", ".csv.gz"])
def test_a_compressed_log_cut_at_half_is_an_error_naming_it(tmp_path: Path, suffix: str) -> None:
    data = gzip.decompress(SAMPLE_LOG.read_bytes())
    packed = (
        zstandard.ZstdCompressor().compress(data) if suffix == ".csv.zst" else gzip.compress(data)
    )
    whole = tmp_path / f"whole{suffix}"
    whole.write_bytes(packed)
    assert _ingest(tmp_path / "whole", [whole]).rows_read == 29_629
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(InputError, match=r"cut\.csv\.(zst|gz): the (zstd|gzip) data is truncated"):
        _ingest(tmp_path / "cut", [cut])


def test_inspect_of_a_zstd_log_cut_at_half_is_an_error_not_half_the_rows(tmp_path: Path) -> None:
    """`inspect` reads a small file whole and says so: a cut file must not pass as complete."""
    from pipeline.inspection import inspect_file

    packed = zstandard.ZstdCompressor().compress(gzip.decompress(SAMPLE_LOG.read_bytes()))
    cut = tmp_path / "cut.csv.zst"
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(InputError, match=r"cut\.csv\.zst: the zstd data is truncated"):
        inspect_file(str(cut), IngestOptions())


def test_a_damaged_gzip_member_is_an_error(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(b"timestamp,model,input_tokens,output_tokens\n" * 50))
    packed[-6] ^= 0xFF  # the CRC
    path = tmp_path / "log.csv.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(InputError, match="truncated or damaged"):
        _ingest(tmp_path / "out", [path])


def test_a_damaged_zstd_frame_is_an_error(tmp_path: Path) -> None:
    data = gzip.decompress(SAMPLE_LOG.read_bytes())
    packed = bytearray(zstandard.ZstdCompressor(write_checksum=True).compress(data))
    packed[len(packed) // 2] ^= 0xFF  # the frame's checksum (or its block structure) fails
    path = tmp_path / "log.csv.zst"
    path.write_bytes(bytes(packed))
    with pytest.raises(InputError, match=r"log\.csv\.zst: the zstd data is truncated or damaged"):
        _ingest(tmp_path / "out", [path])


def test_model_directory_names_never_collide() -> None:
    hashed = model_dir_name("a/b")
    assert hashed.startswith("a_b-") and len(hashed) == len("a_b-") + 8
    # a model literally named like the hashed form is hashed in turn
    assert model_dir_name(hashed) != hashed
    names = model_dir_names(["a/b", hashed, "Llama", "llama", "plain-model", "a_b"])
    assert len({n.casefold() for n in names.values()}) == 6
    assert names["plain-model"] == "plain-model" and names["a_b"] == "a_b"
    assert names["Llama"] != "Llama" and names["llama"] != "llama"  # case-insensitive disks


# --- 3. strict parsing ------------------------------------------------------------------

STRICT_ROWS = {
    # row text (after the timestamp column) -> expected reason
    "m,c,0x10,5,,": "non_integer_tokens",
    "m,c,1_000,5,,": "non_integer_tokens",
    'm,c,900,5,"[256, x]",': "invalid_modality",
    'm,c,900,5,"[256, 1.5]",': "invalid_modality",
    "m,c,9223372036854775807,5,,": "token_overflow",
    "m,c,1e30,5,,": "token_overflow",
    f"m,c,{MAX_TOKENS + 1},5,,": "token_overflow",
    f'm,c,900,5,"[{MAX_TOKENS}, {MAX_TOKENS}]",': "token_overflow",
}


def test_casts_that_accept_more_than_a_log_means_are_rejects(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    lines = [f"2025-01-01T00:00:{i:02d}Z,{row}r{i}\n" for i, row in enumerate(STRICT_ROWS)]
    good = f"2025-01-01T00:01:00Z,m,c,{MAX_TOKENS},5,,ok\n"
    path.write_text(HEADER + "".join(lines) + good)
    result = _ingest(tmp_path / "out", [path])
    rejects = _rejects(tmp_path / "out")
    assert [r["reason"] for r in rejects] == list(STRICT_ROWS.values())
    assert all(r["detail"] for r in rejects)
    assert result.rows_accepted == 1  # the limit itself is fine


@pytest.mark.parametrize(
    ("timestamp", "reason"),
    [
        ("epoch", "invalid_timestamp"),
        ("infinity", "invalid_timestamp"),
        ("2025-01-01T00:00:00+25:00", "invalid_timestamp"),
        ("2025-01-01T00:00:00-14:30", "invalid_timestamp"),
        ("0x10", "invalid_timestamp"),
        ("2025-01-01T00:00:00+14:00", None),
        ("2025-01-01T00:00:00-0530", None),
        ("2025-01-01 00:00:00 UTC", None),
        ("2025-01-01", None),
    ],
)
def test_timestamp_text(tmp_path: Path, timestamp: str, reason: str | None) -> None:
    path = tmp_path / "log.csv"
    path.write_text(HEADER + f"2025-01-01T00:00:00Z,m,c,1,1,,a\n{timestamp},m,c,1,1,,b\n")
    _ingest(tmp_path / "out", [path])
    assert [r["reason"] for r in _rejects(tmp_path / "out")] == ([reason] if reason else [])


def test_local_times_in_a_dst_gap_or_overlap(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        HEADER + "2025-03-30 02:30:00,m,c,1,1,,gap\n"  # Berlin springs forward 02:00 -> 03:00
        "2025-10-26 02:30:00,m,c,1,1,,overlap\n"  # and falls back 03:00 -> 02:00
        "2025-10-26 01:30:00,m,c,1,1,,plain\n"
        "2025-10-26T02:30:00+01:00,m,c,1,1,,explicit\n"
    )
    _ingest(tmp_path / "rej", [path], tz="Europe/Berlin")
    assert [(r["line"], r["reason"]) for r in _rejects(tmp_path / "rej")] == [
        ("2", "nonexistent_local_time"),
        ("3", "ambiguous_local_time"),
    ]
    overlap_utc = {"earliest": 1761438600_000000, "latest": 1761442200_000000}  # 00:30, 01:30Z
    for choice, expected in overlap_utc.items():
        out = tmp_path / choice
        _ingest(out, [path], tz="Europe/Berlin", ambiguous=choice)
        summary = json.loads((out / "summary.json").read_text())
        assert summary["ambiguous_local_times_resolved"] == 1
        assert summary["rejects_by_reason"] == {"nonexistent_local_time": 1}
        got = _requests(out)
        assert got.filter(pl.col("request_id") == "overlap")["arrival_us"].item() == expected
        assert got.filter(pl.col("request_id") == "plain")["arrival_us"].item() == 1761435000_000000


def test_json_lines_of_the_wrong_shape(tmp_path: Path) -> None:
    base = {"timestamp": 1735689600, "model": "m", "input_tokens": 10, "output_tokens": 5}
    records = [
        {**base, "model": ["x"]},
        {**base, "input_tokens": {"n": 10}},
        {**base, "status": True},
        {**base, "image_tokens": [256, 512], "input_tokens": 900},  # a list is fine here
        {**base, "input_tokens": "12"},  # a quoted number is a number
        {**base, "reason_tokens": "", "status": ""},  # empty means missing
    ]
    lines = [json.dumps(r) for r in records] + ["[1, 2]", '"text"', "42", "{oops"]
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(lines) + "\n")
    _ingest(tmp_path / "out", [path])
    assert [(r["line"], r["reason"]) for r in _rejects(tmp_path / "out")] == [
        ("1", "wrong_type"),
        ("2", "wrong_type"),
        ("3", "wrong_type"),
        ("7", "invalid_json"),
        ("8", "invalid_json"),
        ("9", "invalid_json"),
        ("10", "invalid_json"),
    ]
    assert "model (field model) is a JSON ARRAY" in _rejects(tmp_path / "out")[0]["detail"]
    assert _requests(tmp_path / "out")["input_tokens"].to_list() == [900, 12, 10]


def test_a_header_naming_a_column_twice_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("timestamp,model,input_tokens,output_tokens,model\n2025-01-01,m,1,1,n\n")
    with pytest.raises(InputError, match="names column 'model' twice"):
        _ingest(tmp_path / "out", [path])


def test_string_parquet_parses_like_csv_text(tmp_path: Path) -> None:
    frame = pl.read_csv(SAMPLE_LOG, infer_schema_length=0)  # every column a string
    as_csv = _ingest(tmp_path / "csv", [SAMPLE_LOG])
    strings = tmp_path / "strings.parquet"
    frame.fill_null("").write_parquet(strings)  # empty strings, not nulls, where CSV is empty
    as_parquet = _ingest(tmp_path / "pq", [strings])
    assert (as_parquet.rows_accepted, as_parquet.rows_rejected) == (
        as_csv.rows_accepted,
        as_csv.rows_rejected,
    )
    columns = ["arrival_us", "model", "client_id", "input_tokens", "image_count", "status"]
    assert (
        _requests(tmp_path / "pq")
        .select(columns)
        .equals(_requests(tmp_path / "csv").select(columns))
    )


def test_a_nested_parquet_column_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    pl.DataFrame(
        {"timestamp": ["2025-01-01"], "model": [["x"]], "input_tokens": [1], "output_tokens": [1]}
    ).write_parquet(path)
    with pytest.raises(InputError, match=r"column model \(for model\) has type VARCHAR\[\]"):
        _ingest(tmp_path / "out", [path])


@pytest.mark.parametrize(
    ("value", "unit"),
    [("1735689600123", "ms"), ("1735689600123456", "us"), ("1735689600123456789", "ns")],
)
def test_epoch_units_are_named_by_magnitude(tmp_path: Path, value: str, unit: str) -> None:
    path = tmp_path / "log.csv"
    path.write_text(HEADER + f"{value},m,c,1,1,,a\n")
    with pytest.raises(InputError) as error:
        _ingest(tmp_path / "out", [path], max_reject_fraction=0.5)
    assert f"--time-unit {unit}" in (error.value.hint or "")
    (reject,) = _rejects(tmp_path / "out")
    assert reject["reason"] == "timestamp_out_of_range"
    assert reject["detail"].endswith(f"use --time-unit {unit}")
    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert any(f"--time-unit {unit}" in w for w in summary["warnings"])
    _ingest(tmp_path / "ok", [path], time_unit=unit)
    assert _requests(tmp_path / "ok")["arrival_us"].item() // 1000 == 1735689600123


def test_a_missing_client_id_never_merges_with_a_real_client(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        HEADER + "2025-01-01T00:00:01Z,m,unknown,1,1,,a\n2025-01-01T00:00:02Z,m,,1,1,,b\n"
        "2025-01-01T00:00:03Z,m, ,1,1,,c\n"
    )
    _ingest(tmp_path / "out", [path])
    assert _requests(tmp_path / "out")["client_id"].to_list() == [
        "unknown",
        MISSING_CLIENT_ID,
        MISSING_CLIENT_ID,
    ]


def test_a_3mb_field_names_the_line_and_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        HEADER
        + "2025-01-01T00:00:01Z,m,c,1,1,,a\n"
        + "2025-01-01T00:00:02Z,m,"
        + "x" * 3_000_000
        + ",1,1,,b\n"
    )
    with pytest.raises(InputError, match=r"line 3 is 3,000,0\d\d bytes, above .* 2,000,000 bytes"):
        _ingest(tmp_path / "out", [path])


def test_accepted_extremes_do_not_overflow_aggregate(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    rows = [f"2025-01-01T00:00:{s:02d}Z,m,c,{MAX_TOKENS},{MAX_TOKENS},,r{s}\n" for s in range(30)]
    path.write_text(HEADER + "".join(rows))
    run_dir = RunDir(tmp_path / "out")
    assert _ingest(run_dir.root, [path]).rows_accepted == 30
    aggregate.run(run_dir, AggregateOptions(), EngineOptions(threads=1))


def test_non_utf8_rejects_keep_every_byte(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(
        HEADER.encode()
        + b"2025-01-01T00:00:01Z,m,c,1,1,,a\n"
        + b"2025-01-01T00:00:02Z,m\xff\xfe\\,c,1,1,,b\n"
    )
    _ingest(tmp_path / "out", [path])
    (reject,) = _rejects(tmp_path / "out")
    assert reject["reason"] == "malformed_row" and reject["detail"]
    assert reject["raw_text"] == "2025-01-01T00:00:02Z,m\\xff\\xfe\\\\,c,1,1,,b"


def test_every_reject_reason_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for reason in REJECT_REASONS:
        assert f"| `{reason}` |" in readme, reason


# --- duplicates and input order -----------------------------------------------------------


def _write_logs(directory: Path) -> list[Path]:
    """Three files whose request ids overlap, arriving in a different order in each file."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = {
        "b.csv": [(5, "x"), (1, "y"), (7, "z"), (3, "bad")],
        "a.csv": [(6, "x"), (2, "z"), (4, "w")],
        "c.jsonl": [(1, "y"), (8, "w"), (9, "v")],
    }
    paths = []
    for name, records in rows.items():
        path = directory / name
        if name.endswith(".csv"):
            text = HEADER + "".join(
                f"2025-01-01T00:00:0{s}Z,m,c,{'-1' if r == 'bad' else 1},1,,{r}\n"
                for s, r in records
            )
        else:
            text = "".join(
                json.dumps(
                    {
                        "timestamp": f"2025-01-01T00:00:0{s}Z",
                        "model": "m",
                        "client_id": "c",
                        "input_tokens": 1,
                        "output_tokens": 1,
                        "request_id": r,
                    }
                )
                + "\n"
                for s, r in records
            )
        path.write_text(text)
        paths.append(path)
    return paths


def test_duplicates_keep_the_earliest_arrival(tmp_path: Path) -> None:
    paths = _write_logs(tmp_path / "logs")
    _ingest(tmp_path / "out", paths)
    kept = _requests(tmp_path / "out").select("request_id", "arrival_us").rows()
    seconds = {r: (us // 1_000_000) % 60 for r, us in kept}
    # x: 5 s in b.csv beats 6 s in a.csv; y: 1 s in b.csv and c.jsonl ties, a.csv < b.csv by
    # path, so b.csv (file 1) beats c.jsonl (file 2); z: 2 s in a.csv; w: 4 s in a.csv
    assert seconds == {"x": 5, "y": 1, "z": 2, "w": 4, "v": 9}
    dupes = [
        (r["source_file"], r["line"])
        for r in _rejects(tmp_path / "out")
        if r["reason"] == "duplicate_request_id"
    ]
    assert dupes == [
        (str(paths[1]), "2"),
        (str(paths[0]), "4"),
        (str(paths[2]), "1"),
        (str(paths[2]), "2"),
    ]


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(order=st.permutations([0, 1, 2]))
def test_outputs_do_not_depend_on_the_order_of_input_files(
    tmp_path_factory: pytest.TempPathFactory, order: list[int]
) -> None:
    base = tmp_path_factory.mktemp("order")
    paths = _write_logs(base / "logs")
    reference = base / "reference"
    _ingest(reference, paths)
    shuffled = [paths[i] for i in order]
    out = base / "shuffled"
    _ingest(out, shuffled)
    for name in ("summary.json", "rejects.csv"):
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name
    assert _requests(out).equals(_requests(reference))


def test_the_report_does_not_depend_on_the_order_of_input_files(tmp_path: Path) -> None:
    from pipeline import RunOptions, run_all

    lines = gzip.decompress(SAMPLE_LOG.read_bytes()).decode().splitlines(keepends=True)
    header, rows = lines[0], lines[1:6001]
    parts = []
    for index in range(3):  # interleaved slices: every file spans the whole period
        part = tmp_path / f"part{index}.csv"
        part.write_text(header + "".join(rows[index::3]))
        parts.append(str(part))
    outputs = {}
    for name, order in (("forward", parts), ("backward", parts[::-1])):
        run_all(order, tmp_path / name, RunOptions())
        outputs[name] = {
            artefact: (tmp_path / name / artefact).read_bytes()
            for artefact in ("summary.json", "rejects.csv", "fits.json", "report.html")
        }
    assert outputs["forward"] == outputs["backward"]


# --- record numbers of a file checked as it is scanned ------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_record_numbers_hold_through_a_parallel_scan(tmp_path: Path, file_format: str) -> None:
    # A file is checked as DuckDB scans it, in parallel, and a record's number is its place in
    # the staged part: over many scan buffers every number must still be the file's own.
    n = 240_000
    bad = {17, 99_991, 150_000, n - 1}  # non-integer tokens: rejected, with their raw text
    lines = [
        f"2025-03-03T{i // 10_000:02d}:{(i // 100) % 60:02d}:{i % 60:02d}Z,m-{i % 3},c{i % 7},"
        f"{'x' if i in bad else i % 997},{i % 89},,id{i}"
        for i in range(n)
    ]
    if file_format == "csv":
        log = tmp_path / "log.csv"
        log.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    else:
        log = tmp_path / "log.parquet"
        pl.read_csv((HEADER + "\n".join(lines)).encode(), infer_schema=False).write_parquet(
            log, row_group_size=10_000
        )
    out = tmp_path / "out"
    ingest.run(
        RunDir(out), [str(log)], IngestOptions(max_reject_fraction=1.0), EngineOptions(threads=2)
    )
    rejects = _rejects(out)
    # CSV lines count the header; a Parquet row's line is its row number
    first = 2 if file_format == "csv" else 1
    assert [int(r["line"]) for r in rejects] == [i + first for i in sorted(bad)]
    if file_format == "csv":
        assert [r["raw_text"] for r in rejects] == [lines[i] for i in sorted(bad)]
    else:
        texts = [r["raw_text"] for r in rejects]
        assert all(f'"request_id":"id{i}"' in t for t, i in zip(texts, sorted(bad), strict=True))
    accepted = _requests(out).select("request_id", "source_row")
    assert accepted.height == n - len(bad)
    expected = accepted["request_id"].str.strip_prefix("id").cast(pl.Int64) + 1
    assert (accepted["source_row"] == expected).all()


def test_a_line_over_the_readers_limit_far_into_the_file_is_quarantined(tmp_path: Path) -> None:
    # past what the reader samples first, the line is met by the scan that checks the rows:
    # it is a reject with its line, and the rows after it keep their numbers
    log = tmp_path / "log.csv"
    rows = [f"2025-03-03T00:00:{i % 60:02d}Z,m,c,10,5,,id{i}" for i in range(60_000)]
    rows[50_000] = f"2025-03-03T00:00:12Z,m,c,10,5,,{'x' * 3_000_000}"
    log.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    _ingest(tmp_path / "out", [log])
    assert [(r["line"], r["reason"]) for r in _rejects(tmp_path / "out")] == [
        ("50002", "malformed_row")
    ]
    requests = _requests(tmp_path / "out")
    assert requests.height == 59_999
    # record numbers count the records the reader split (rejects.csv adds the others back)
    assert requests.filter(pl.col("request_id") == "id50001")["source_row"].to_list() == [50_001]
