"""Presets on fixtures written from each format's documentation; detection and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import EngineOptions, IngestOptions
from pipeline.errors import ConfigError, InputError
from pipeline.presets import PRESETS, client_column, get_preset, matching_presets
from pipeline.rundir import RunDir
from pipeline.stages import ingest

DATA = Path(__file__).resolve().parent / "data"
runner = CliRunner()


def _requests(tmp_path: Path, name: str, **options: object) -> list[dict[str, object]]:
    run_dir = RunDir(tmp_path / "out")
    ingest.run(run_dir, [str(DATA / name)], IngestOptions(**options), EngineOptions())
    rows = ingest.read_requests(run_dir).sort_by("source_row").to_pylist()
    return rows


def _identity(tmp_path: Path) -> str:
    return json.loads((tmp_path / "out" / "ingest" / "identity.json").read_text())["identity"]


def test_burstgpt_zero_response_rows_are_failed_arrivals(tmp_path: Path) -> None:
    rows = _requests(tmp_path, "burstgpt_v1.csv", preset="burstgpt")
    assert len(rows) == 6  # failures stay arrivals
    failed = [r for r in rows if not r["is_success"]]
    assert [(r["status"], r["output_tokens"]) for r in failed] == [(500, 0), (500, 0)]
    assert all(r["status"] is None for r in rows if r["output_tokens"] > 0)
    assert [r["arrival_us"] for r in rows][:2] == [5_000_000, 45_000_000]  # s from trace start
    assert {r["model"] for r in rows} == {"ChatGPT", "GPT-4"}
    assert _identity(tmp_path) == "single_client"


def test_burstgpt_v2_maps_by_name_and_offers_log_type_as_client(tmp_path: Path) -> None:
    rows = _requests(tmp_path, "burstgpt_v2.csv", preset="burstgpt", client_key="log_type")
    assert [r["input_tokens"] for r in rows] == [512, 700, 300]  # not Elapsed time
    assert [r["client_id"] for r in rows] == ["Conversation log", "Conversation log", "API log"]
    assert [r["status"] for r in rows] == [None, 500, None]
    assert _identity(tmp_path) == "client_id"


def test_bedrock_nested_fields(tmp_path: Path) -> None:
    rows = _requests(tmp_path, "bedrock.jsonl", preset="bedrock")
    assert [r["input_tokens"] for r in rows] == [4, 150, 1200]
    assert [r["output_tokens"] for r in rows] == [38, 45, 310]
    assert rows[0]["client_id"] == "arn:aws:iam::123456789012:user/alice"
    assert rows[1]["model"] == "meta.llama3-70b-instruct-v1:0"
    assert rows[0]["request_id"] == "ff4b6c63-5561-4431-93b8-06a817275900"
    assert rows[2]["arrival_us"] - rows[0]["arrival_us"] == 7_000_000


def test_litellm_latencies_from_times_and_status(tmp_path: Path) -> None:
    rows = _requests(tmp_path, "litellm_spend_logs.csv", preset="litellm")
    assert [r["ttft_ms"] for r in rows] == [250.0, None, 400.0]
    assert [r["e2e_ms"] for r in rows] == [1500.0, 30000.0, 4000.0]
    assert [r["status"] for r in rows] == [200, 500, 200]
    assert rows[0]["client_id"].startswith("88dc28d0")
    by_user = _requests(tmp_path, "litellm_spend_logs.csv", preset="litellm", client_key="user")
    assert [r["client_id"] for r in by_user] == ["team-a-user", "team-b-user", "team-a-user"]


def test_otel_genai_attributes_with_dots_in_their_keys(tmp_path: Path) -> None:
    rows = _requests(tmp_path, "otel_genai_spans.jsonl", preset="otel-genai")
    assert [r["model"] for r in rows] == ["gpt-4o", "gpt-4o", "mistral-large"]
    assert [r["input_tokens"] for r in rows] == [120, 800, 64]
    assert [r["output_tokens"] for r in rows] == [30, 0, 12]
    assert [r["e2e_ms"] for r in rows] == [2250.0, 30000.0, 500.0]
    assert [r["status"] for r in rows] == [None, 500, 200]
    assert rows[0]["request_id"] == "0x051581bf3cb55c13"
    assert {r["client_id"] for r in rows} == {"all"}
    by_user = _requests(tmp_path, "otel_genai_spans.jsonl", preset="otel-genai", client_key="user")
    assert [r["client_id"] for r in by_user] == ["alice", "bob", "alice"]
    by_path = _requests(
        tmp_path,
        "otel_genai_spans.jsonl",
        preset="otel-genai",
        client_key='$.resource.attributes."service.name"',
    )
    assert [r["client_id"] for r in by_path] == ["support-bot", "support-bot", "search"]


def test_a_users_map_overrides_the_preset(tmp_path: Path) -> None:
    rows = _requests(
        tmp_path,
        "litellm_spend_logs.csv",
        preset="litellm",
        column_map={"model": "model_group", "input_tokens": "total_tokens"},
    )
    assert [r["input_tokens"] for r in rows] == [140, 80, 900]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("burstgpt_v1.csv", ["burstgpt"]),
        ("burstgpt_v2.csv", ["burstgpt"]),
        ("bedrock.jsonl", ["bedrock"]),
        ("litellm_spend_logs.csv", ["litellm"]),
        ("otel_genai_spans.jsonl", ["otel-genai"]),
    ],
)
def test_presets_are_detected_by_their_columns(name: str, expected: list[str]) -> None:
    from pipeline.sources import head_columns, resolve_inputs

    assert matching_presets(head_columns(resolve_inputs([str(DATA / name)])[0])) == expected


def test_a_wrong_preset_names_the_columns_found_and_the_presets_that_fit(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        _requests(tmp_path, "burstgpt_v1.csv", preset="litellm")
    assert "does not look like preset litellm" in caught.value.message
    assert "Request tokens" in caught.value.message  # a column found
    assert "startTime" in caught.value.message  # a column missing
    assert caught.value.hint == "Presets that fit this file: burstgpt."
    with pytest.raises(InputError) as caught:
        _requests(tmp_path, "bedrock.jsonl", preset="azure-llm")
    assert "reads csv files, not jsonl" in caught.value.message
    assert "bedrock" in (caught.value.hint or "")


def test_a_file_no_preset_fits_says_so(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text("when,what\n1,2\n")
    result = runner.invoke(app, ["run", str(log), "--preset", "burstgpt", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "columns found: when, what" in result.output
    assert "No preset fits this file" in result.output
    assert "Traceback" not in result.output


def test_unknown_preset_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown preset"):
        get_preset("nope")
    result = runner.invoke(app, ["ingest", "x.csv", "--preset", "nope"])
    assert result.exit_code == 1 and "known:" in result.output


def test_client_key_resolves_aliases_mapped_names_and_columns() -> None:
    assert client_column(PRESETS["burstgpt"], "log_type") == "Log Type"
    assert client_column(PRESETS["ragpulse"], "session_id") == "session_id"
    assert client_column(PRESETS["bedrock"], "accountId") == "accountId"
    assert client_column(None, "tenant") == "tenant"


def test_presets_command_lists_every_preset_and_its_columns() -> None:
    result = runner.invoke(app, ["presets"])
    assert result.exit_code == 0
    for preset in PRESETS.values():
        assert f"{preset.name}: " in result.output
        assert ", ".join(preset.signature) in result.output


def test_inspect_prints_columns_presets_span_and_rows() -> None:
    result = runner.invoke(app, ["inspect", str(DATA / "litellm_spend_logs.csv")])
    assert result.exit_code == 0, result.output
    assert "columns: request_id, call_type, api_key" in result.output
    assert "matching presets: litellm" in result.output
    assert "rows (whole file): 3, accepted 3" in result.output
    assert "model 'gpt-4o-mini': 2 requests, covers 09:00-09:00 UTC" in result.output
    assert "ttft_ms=250.0" in result.output


def test_inspect_a_missing_file_is_a_user_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["inspect", str(tmp_path / "nope.csv")])
    assert result.exit_code == 1 and "Error:" in result.output and "does not exist" in result.output


def test_every_preset_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name in PRESETS:
        assert f"| `{name}` |" in readme, name


def test_inspect_reads_only_the_head_of_a_large_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline import inspection

    monkeypatch.setattr(inspection, "WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(inspection, "SAMPLE_ROWS", 2)
    found = inspection.inspect_file(str(DATA / "burstgpt_v1.csv"), IngestOptions(preset="burstgpt"))
    assert not found.is_whole_file
    assert found.sample_rows == 2 and found.rows_accepted == 2
    assert [r["input_tokens"] for r in found.rows] == [472, 1087]


def test_a_client_key_that_names_no_column_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        _requests(tmp_path, "bedrock.jsonl", preset="bedrock", client_key="tenant")
    assert "--client-key tenant names no column" in caught.value.message
    assert "accountId" in caught.value.message


def test_a_ragpulse_file_is_not_taken_for_mooncake(tmp_path: Path) -> None:
    # Same fields, but RAGPulse timestamps are seconds: reading them as Mooncake's
    # milliseconds would shrink a week to ten minutes.
    log = tmp_path / "trace.jsonl"
    line = {
        "timestamp": "82",
        "input_length": 3112,
        "output_length": 192,
        "hash_ids": {"sys_prompt": [1], "passages_ids": [2]},
        "session_id": "1757476916095-afhwfadnh5ew",
    }
    log.write_text(json.dumps(line) + "\n")
    from pipeline.sources import head_columns, resolve_inputs

    assert matching_presets(head_columns(resolve_inputs([str(log)])[0])) == ["ragpulse"]
    with pytest.raises(InputError) as caught:
        ingest.run(
            RunDir(tmp_path / "out"), [str(log)], IngestOptions(preset="mooncake"), EngineOptions()
        )
    assert "session_id, the mark of another format" in caught.value.message
    assert caught.value.hint == "Presets that fit this file: ragpulse."
