"""Over-time series carry every trace window of the model's span: a client silent for a known
two hours shows exactly that many zero windows in its rate and status counts, and a null
(undefined) 429 share there; the model's series have one point per window of its span."""

from __future__ import annotations

import gzip
import json

import polars as pl
import pytest

from pipeline import RunOptions, run_all
from pipeline.synthetic import ClientSpec, generate
from tests.report_helpers import figure_specs

WINDOW_S = 600  # the default trace window
DURATION_S = 12 * 3600
# The origin is the UTC midnight before the first request, so this stretch is windows 24..35.
SILENT_FROM_S, SILENT_TO_S = 4 * 3600, 6 * 3600
SILENT_WINDOWS = range(SILENT_FROM_S // WINDOW_S, SILENT_TO_S // WINDOW_S)
SPECS = [
    ClientSpec("steady", "idle-chat", rate_rps=0.5),
    # 0.5 rps: a 600 s window outside the silent stretch is empty with probability e^-300
    ClientSpec("napper", "idle-chat", rate_rps=0.5),
]


@pytest.fixture(scope="module")
def idle_model(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("idle_windows")
    log = generate(SPECS, duration_s=DURATION_S, seed=11)
    offset_s = (
        pl.col("timestamp").str.to_datetime(time_zone="UTC")
        - pl.datetime(2025, 3, 3, time_zone="UTC")
    ).dt.total_seconds()
    napping = (pl.col("client_id") == "napper") & offset_s.is_between(
        SILENT_FROM_S, SILENT_TO_S, closed="left"
    )
    log_path = root / "idle.csv.gz"
    with gzip.open(log_path, "wb") as handle:
        handle.write(log.filter(~napping).write_csv().encode())
    out = root / "out"
    run_all([str(log_path)], out, RunOptions())
    stats = json.loads((out / "stats.json").read_text())
    model = next(m for m in stats["models"] if m["model"] == "idle-chat")
    model["_html"] = (out / "report.html").read_text()
    return model


def _zero_windows(x: list[float], y: list[float]) -> list[int]:
    return [int(start) // WINDOW_S for start, value in zip(x, y, strict=True) if value == 0]


def test_generated_log_starts_on_the_assumed_day(idle_model: dict) -> None:
    first, last = (
        idle_model["rate"]["per_window"]["x"][0],
        idle_model["rate"]["per_window"]["x"][-1],
    )
    assert first == 0.0
    assert last == (DURATION_S // WINDOW_S - 1) * WINDOW_S


def test_silent_client_has_exactly_the_silent_windows_at_zero_rate(idle_model: dict) -> None:
    series = idle_model["rate"]["clients_per_window"]["napper"]
    assert _zero_windows(series["x"], series["y"]) == list(SILENT_WINDOWS)
    steady = idle_model["rate"]["clients_per_window"]["steady"]
    assert _zero_windows(steady["x"], steady["y"]) == []


def test_model_series_have_one_point_per_window_of_the_span(idle_model: dict) -> None:
    n_windows = DURATION_S // WINDOW_S
    status = idle_model["status"]
    assert status["per_window"]["x"] == [float(i * WINDOW_S) for i in range(n_windows)]
    assert len(status["per_window"]["y_rate"]) == n_windows
    assert len(idle_model["rate"]["per_window"]["x"]) == n_windows
    for client in ("steady", "napper"):
        assert status["clients_per_window"][client]["x"] == status["per_window"]["x"]


def test_silent_windows_count_zero_requests_and_have_a_null_429_share(idle_model: dict) -> None:
    napper = idle_model["status"]["clients_per_window"]["napper"]
    totals = [sum(parts) for parts in zip(*napper["counts"].values(), strict=True)]
    assert _zero_windows(napper["x"], totals) == list(SILENT_WINDOWS)
    nulls = [
        int(x) // WINDOW_S
        for x, s in zip(napper["x"], napper["y_429_share"], strict=True)
        if s is None
    ]
    assert nulls == list(SILENT_WINDOWS)


def test_report_draws_the_null_share_as_a_gap(idle_model: dict) -> None:
    specs = figure_specs(idle_model["_html"])
    shares = [
        trace
        for spec in specs.values()
        for trace in spec["data"]
        if trace.get("name") == "napper" and None in (trace.get("y") or [])
    ]
    assert shares, "the per-client 429 share figure carries the silent windows as nulls"
    assert all(trace.get("connectgaps") is False for trace in shares)
