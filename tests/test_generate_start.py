"""`generate` on a log that starts late in its day: no silent empty trace."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.synthetic import ClientSpec, generate

runner = CliRunner()
# Active from 18:10 to 19:20 of its day, like Azure's 2023 code trace.
FIRST_WINDOW_S = 18 * 3600 + 10 * 60
ACTIVE_S = 70 * 60


@pytest.fixture(scope="module")
def evening_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("evening")
    spec = ClientSpec("c", "m", rate_rps=0.5, family="gamma", shape=1.0)
    start = datetime(2025, 3, 3, 18, 10, tzinfo=UTC)
    (root / "log.csv").write_text(
        generate([spec], duration_s=ACTIVE_S, seed=3, start=start).write_csv()
    )
    result = runner.invoke(app, ["run", str(root / "log.csv"), "--out", str(root / "out"), "-q"])
    assert result.exit_code == 0, result.output
    return root / "out"


def _timestamps(path: Path) -> list[float]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [float(row["timestamp"]) for row in csv.DictReader(handle)]


def test_without_start_generation_begins_at_the_first_profiled_window(
    evening_run: Path, tmp_path: Path
) -> None:
    trace = tmp_path / "t.csv"
    result = runner.invoke(
        app, ["generate", str(evening_run), "--duration", "3600", "-o", str(trace)]
    )
    assert result.exit_code == 0, result.output
    assert f"from {FIRST_WINDOW_S} s" in result.stderr
    times = _timestamps(trace)
    # 0.5 requests/s for an hour: 1,800 expected; Poisson spread is about 42, so 1,500 is
    # far below anything but a trace that missed the active span
    assert len(times) > 1_500
    assert min(times) >= FIRST_WINDOW_S and max(times) < FIRST_WINDOW_S + 3600


@pytest.mark.parametrize("start", ["0", "70000"])
def test_a_span_without_profiled_traffic_is_an_error_naming_the_profiled_span(
    evening_run: Path, tmp_path: Path, start: str
) -> None:
    trace = tmp_path / "t.csv"
    result = runner.invoke(
        app,
        ["generate", str(evening_run), "--start", start, "--duration", "3600", "-o", str(trace)],
    )
    assert result.exit_code == 1
    assert f"Error: --start {start} --duration 3600 holds no profiled traffic" in result.stderr
    assert "from 65400 s (18:10:00 after 2025-03-03T00:00:00Z)" in result.stderr
    assert "to 69600 s (19:20:00 after 2025-03-03T00:00:00Z)" in result.stderr
    assert "Hint: Leave out --start" in result.stderr
    assert not trace.exists()
