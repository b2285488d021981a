"""Options and edge cases of the whole run: overrides, origins, mappings, fallbacks."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest

from pipeline import RunOptions, run_all
from pipeline.config import AggregateOptions, ConfigError, IngestOptions, read_map_file
from pipeline.errors import InputError
from tests.servegen_loader import load_model

DAY = 86_400
T0 = 1_735_689_600  # 2025-01-01T00:00:00Z


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _clients(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((out / "profiles" / "clients.csv").open()))


def test_category_override_and_category_column(tmp_path: Path) -> None:
    log = _write_csv(
        tmp_path / "log.csv",
        ["timestamp", "model", "input_tokens", "output_tokens", "category", "reason_tokens"],
        [[T0 + i, "a" if i % 2 else "b", 10, 5, "" if i % 2 else "reason", ""] for i in range(40)],
    )
    out = tmp_path / "out"
    run_all(
        [str(log)], out, RunOptions(ingest=IngestOptions(category_overrides={"a": "multimodal"}))
    )
    categories = {row["model"]: row["category"] for row in _clients(out)}
    assert categories == {"a": "multimodal", "b": "reason"}
    for row in _clients(out):
        load_model(out / "profiles", row["category"], row["model_dir"])


def test_explicit_origin_and_its_errors(tmp_path: Path) -> None:
    log = _write_csv(
        tmp_path / "log.csv",
        ["timestamp", "model", "input_tokens", "output_tokens"],
        [[T0 + 3 * 3600 + i, "m", 1, 1] for i in range(30)],
    )
    out = tmp_path / "out"
    run_all([str(log)], out, RunOptions(aggregate=AggregateOptions(origin="2025-01-01T03:00:00Z")))
    trace = (out / "profiles/data/language/m/chunk-0-trace.csv").read_text().splitlines()
    assert trace[0].startswith("0,0.05,")  # 30 requests in the first 600 s after the origin
    default = tmp_path / "default"
    run_all([str(log)], default, RunOptions())
    lines = (default / "profiles/data/language/m/chunk-0-trace.csv").read_text().splitlines()
    assert lines[18].startswith("10800,0.05,")  # midnight origin: 03:00 is second 10800
    with pytest.raises(ConfigError, match="after the first request"):
        run_all(
            [str(log)],
            tmp_path / "late",
            RunOptions(aggregate=AggregateOptions(origin="2025-01-02")),
        )
    stray = _write_csv(
        tmp_path / "stray.csv",
        ["timestamp", "model", "input_tokens", "output_tokens"],
        [[T0, "m", 1, 1], [T0 + 400 * DAY, "m", 1, 1]],
    )
    with pytest.raises(InputError, match=r"spans 400\.0 days"):
        run_all([str(stray)], tmp_path / "stray", RunOptions())


def test_map_file_and_nested_json_paths(tmp_path: Path) -> None:
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        '[map]\ntimestamp = "ts"\ninput_tokens = "usage.in"\noutput_tokens = "usage.out"\n'
    )
    assert read_map_file(mapping) == {
        "timestamp": "ts",
        "input_tokens": "usage.in",
        "output_tokens": "usage.out",
    }
    log = tmp_path / "log.jsonl"
    rows = [{"ts": T0 + i, "model": "m", "usage": {"in": 100 + i, "out": 7}} for i in range(20)]
    log.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    run_all([str(log)], out, RunOptions(ingest=IngestOptions(column_map=read_map_file(mapping))))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows_accepted"] == 20
    dataset = json.loads((out / "profiles/data/language/m/chunk-0-dataset.json").read_text())
    assert dataset["0"]["output_tokens"] == "{7: 1.0}"
    bad = tmp_path / "bad.toml"
    bad.write_text("timestamp = 3\n")
    with pytest.raises(ConfigError, match="values must be column names"):
        read_map_file(bad)


def test_parquet_with_per_item_token_lists(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "timestamp": [T0 + i for i in range(12)],
            "model": ["vision"] * 12,
            "input_tokens": [1000] * 12,
            "output_tokens": [10] * 12,
            "image_tokens": [[256, 512], [256]] * 6,
        }
    )
    log = tmp_path / "log.parquet"
    frame.write_parquet(log)
    out = tmp_path / "out"
    run_all([str(log)], out, RunOptions())
    (row,) = _clients(out)
    assert row["category"] == "multimodal"
    fields = json.loads((out / "profiles/data/multimodal/vision/chunk-0-dataset.json").read_text())[
        "0"
    ]
    assert fields["image_count"] == "{1: 0.5, 2: 0.5}"
    assert fields["image_tokens"] == "{256: 0.6666666666666666, 512: 0.3333333333333333}"
    assert fields["text_tokens"] == "{232: 0.5, 744: 0.5}"
    assert fields["audio_count"] == fields["video_count"] == "{0: 1.0}"


def test_clients_whose_requests_failed_borrow_distributions(tmp_path: Path) -> None:
    rows = []
    for i in range(40):  # "late": fails for its first 6 hours; "never": always fails
        rows.append([T0 + i * 600, "m", "late", 50, 9, 503 if i < 36 else 200])
        rows.append([T0 + i * 600 + 1, "m", "never", 70, 3, 500])
        rows.append([T0 + i * 600 + 2, "m", "fine", 60, 4, 200])
    log = _write_csv(
        tmp_path / "log.csv",
        ["timestamp", "model", "client_id", "input_tokens", "output_tokens", "status"],
        rows,
    )
    out = tmp_path / "out"
    run_all([str(log)], out, RunOptions(ingest=IngestOptions(max_reject_fraction=0.0)))
    chunks = {row["client_id"]: row["chunk"] for row in _clients(out)}
    clients = load_model(out / "profiles", "language", "m")
    for client in clients:
        first_active = min(w.timestamp for w in client.windows if w.pattern)
        assert min(client.dataset) <= first_active
    directory = out / "profiles/data/language/m"
    late = json.loads((directory / f"chunk-{chunks['late']}-dataset.json").read_text())
    assert late["0"] == late["21600"]  # the first window borrows the first successful one
    never = json.loads((directory / f"chunk-{chunks['never']}-dataset.json").read_text())
    assert set(never) == {"0"}
    # the model's successful requests: 40 of "fine" (4 tokens), 4 of "late" (9 tokens)
    assert never["0"]["output_tokens"] == f"{{4: {40 / 44!r}, 9: {4 / 44!r}}}"


def test_bad_options_are_config_errors(tmp_path: Path) -> None:
    log = _write_csv(
        tmp_path / "log.csv",
        ["timestamp", "model", "input_tokens", "output_tokens"],
        [[T0, "m", 1, 1]],
    )
    with pytest.raises(ConfigError, match="Mars/Olympus") as error:
        run_all([str(log)], tmp_path / "o", RunOptions(ingest=IngestOptions(tz="Mars/Olympus")))
    assert "Europe/Berlin" in (error.value.hint or "")
    with pytest.raises(ValueError, match="unknown canonical column"):
        IngestOptions(column_map={"tokens": "x"})
    with pytest.raises(ValueError, match="multiple"):
        AggregateOptions(window_s=600, dataset_window_s=1000)
