"""Degenerate logs (one request, one client, equal values, hostile names) do not crash."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from pipeline import RunOptions, run_all
from pipeline.cli import app

if TYPE_CHECKING:
    from pathlib import Path

HEADER = "timestamp,model,client_id,input_tokens,output_tokens\n"


def _characterize(tmp_path: Path, text: str) -> dict:
    log = tmp_path / "log.csv"
    log.write_text(text)
    out = tmp_path / "out"
    run_all([str(log)], out, RunOptions())  # ends with characterize (and report)
    return json.loads((out / "stats.json").read_text())


def test_a_single_request(tmp_path: Path) -> None:
    stats = _characterize(tmp_path, HEADER + "2025-03-03T10:30:00Z,m,c,100,20\n")
    model = stats["models"][0]
    assert stats["overview"]["n_requests"] == 1
    assert stats["overview"]["coverage"]["hours_active"] == [10]
    assert stats["overview"]["coverage"]["covers_full_day"] is False
    assert model["clients"][0]["correlation"]["pearson"] is None
    assert model["concentration"]["by_requests"]["gini"] == 0.0
    assert model["interarrivals"]["aggregate"]["available"] is False
    assert model["lengths"]["input_tokens"]["available"] is False
    assert model["burstiness"]["cv_cdf"]["available"] is False
    assert model["burstiness"]["fano"]["aggregate"]["y"] == [None] * 5
    assert model["periodicity"]["daily"]["available"] is False
    assert model["status"]["available"] is False and model["latency"]["available"] is False
    assert model["rate"]["per_minute"]["x"] == [37800.0]
    assert model["rate"]["per_minute"]["y"] == pytest.approx([1 / 60])


def test_equal_values_and_equal_gaps(tmp_path: Path) -> None:
    # 200 requests exactly 3 s apart with identical lengths: every spread is zero
    rows = "".join(f"{1741000000 + 3 * i},m,c,100,20\n" for i in range(200))
    model = _characterize(tmp_path, HEADER + rows)["models"][0]
    assert model["correlation"]["spearman"] is None  # constant fields
    assert model["lengths"]["input_tokens"]["available"] is False
    assert model["interarrivals"]["aggregate"]["available"] is False  # all gaps equal
    assert model["input_tokens"]["p99"] == 100.0
    fano = model["burstiness"]["fano"]["aggregate"]["y"]
    assert fano[2] == 0.0  # 20 arrivals in every minute: no dispersion at all


def test_hostile_names_are_kept_verbatim(tmp_path: Path) -> None:
    names = ["<script>alert(1)</script>", 'a"b', "../../etc"]
    rows = "".join(
        f'{1741000000 + i},"{names[i % 3].replace(chr(34), chr(34) * 2)}",'
        f'"{names[(i + 1) % 3].replace(chr(34), chr(34) * 2)}",{100 + i},{20 + i % 7}\n'
        for i in range(300)
    )
    stats = _characterize(tmp_path, HEADER + rows)
    assert sorted(m["model"] for m in stats["models"]) == sorted(names)
    clients = {c["client_id"] for m in stats["models"] for c in m["clients"]}
    assert clients == set(names)
    assert not (tmp_path / "out" / "etc").exists()


def test_a_real_week_long_trace_with_sessions(tmp_path: Path) -> None:
    """RAGPulse (7 days, session ids, one non-monotonic pair of timestamps)."""
    from tests.conftest import public_trace

    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "run",
            str(public_trace("ragpulse/0_trace.jsonl")),
            "--out",
            str(out),
            "--model",
            "rag",
            "--map",
            "input_tokens=input_length",
            "--map",
            "output_tokens=output_length",
        ],
    )
    assert result.exit_code == 0, result.output
    (model,) = json.loads((out / "stats.json").read_text())["models"]
    assert model["n_requests"] == 7_106
    # the trace's README: 3,990 distinct sessions, 58.8 % of them single requests
    assert model["sessions"]["n_sessions"] == 3_990
    assert model["sessions"]["turns"]["p50"] == 1.0
    assert model["periodicity"]["daily"]["available"] is True
    assert model["periodicity"]["weekly"]["available"] is False
    assert len(model["drift"]["days"]) == 2 * 6  # two fields, 7 days
    assert model["burstiness"]["fano"]["aggregate"]["y"][4] > 1  # hourly counts swing daily


def test_every_request_failed(tmp_path: Path) -> None:
    header = "timestamp,model,client_id,input_tokens,output_tokens,status,session_id\n"
    rows = "".join(
        f"{1741000000 + 7 * i},m,{'a' if i % 3 else 'b'},{100 + i},{20 + i % 5},"
        f"{500 if i % 2 else 429},s{i // 4}\n"
        for i in range(300)
    )
    model = _characterize(tmp_path, header + rows)["models"][0]
    assert model["n_success"] == 0
    assert model["status"]["share_429"] == 0.5 and model["status"]["share_success"] == 0.0
    assert model["lengths"]["input_tokens"]["available"] is False
    assert model["drift"]["available"] is False
    assert model["clients"][0]["input_tokens"]["mean"] is None
    assert model["concentration"]["by_tokens"]["gini"] == 0.0  # no tokens at all
    assert model["sessions"]["turns"]["mean"] == 4.0  # failed requests are still turns


def test_invalid_option_is_a_user_error(sample_run: Path) -> None:
    result = CliRunner().invoke(
        app, ["characterize", "--out", str(sample_run), "--top-clients", "-1"]
    )
    assert result.exit_code == 1
    assert "Error: --top-clients: must be greater than or equal to 0" in result.output
