"""Status classes over time and the 429 share against load, on a log whose rate limiting
starts at a known rate."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from pipeline import RunOptions, run_all
from pipeline.synthetic import ClientSpec, generate
from tests.report_helpers import figure_specs

THRESHOLD_RPS = 0.5
SPECS = [
    # its true rate swings between 0.1 and 0.9 rps over the day; above 0.5 rps every request
    # that did not fail is answered 429
    ClientSpec(
        "throttled",
        "limited-chat",
        rate_rps=0.5,
        diurnal_amplitude=0.8,
        rate_limited_above_rps=THRESHOLD_RPS,
        failure_rate=0.02,
    ),
    ClientSpec("calm", "limited-chat", rate_rps=0.1),  # never limited
]
# A window's observed rate at 0.5 rps has sd sqrt(300) / 600 ~ 0.03 rps, while the true rate
# moves ~0.017 rps per window near the threshold: only windows within ~5 windows of the two
# daily crossings (~20 of 144) can land on the wrong side, so the three quietest and the three
# busiest deciles (43 windows each) are clean.
CLEAN_DECILES = 3
SPEARMAN_MIN = 0.8  # the share is a step function of the rate, blurred only near the step


@pytest.fixture(scope="module")
def limited_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("status_load")
    log_path = root / "limited.csv.gz"
    with gzip.open(log_path, "wb") as handle:
        handle.write(generate(SPECS, duration_s=86_400, seed=5).write_csv().encode())
    out = root / "out"
    run_all([str(log_path)], out, RunOptions())  # ends with characterize and report
    return out


@pytest.fixture(scope="module")
def limited_model(limited_run: Path) -> dict:
    stats = json.loads((limited_run / "stats.json").read_text())
    return next(m for m in stats["models"] if m["model"] == "limited-chat")


def test_status_classes_per_window_add_up_to_the_code_totals(limited_model: dict) -> None:
    status = limited_model["status"]
    counts = status["per_window"]["counts"]
    assert set(counts) == {"2xx", "429", "4xx_other", "5xx", "other"}
    assert sum(counts["429"]) == status["codes"]["429"]
    assert sum(counts["5xx"]) == status["codes"]["500"]
    assert sum(counts["2xx"]) == status["codes"]["200"]
    assert set(counts["4xx_other"]) == {0} and set(counts["other"]) == {0}
    for client in ("throttled", "calm"):
        per_client = status["clients_per_window"][client]["counts"]
        codes = status["clients"][client]
        assert sum(per_client["429"]) == codes.get("429", 0)
        assert sum(sum(v) for v in per_client.values()) == sum(codes.values())
    assert set(status["clients_per_window"]["calm"]["counts"]["429"]) == {0}


def test_429_share_rises_with_load_only_above_the_threshold(limited_model: dict) -> None:
    deciles = limited_model["status"]["clients_by_load_decile"]["throttled"]
    bins = deciles["bins"]
    assert len(bins) == 10 and sum(b["n_windows"] for b in bins) == deciles["n_windows"]
    for quiet in bins[:CLEAN_DECILES]:
        assert quiet["share_429"] == 0.0 and quiet["rate_high"] < THRESHOLD_RPS
    for busy in bins[-CLEAN_DECILES:]:
        # only the 2 % failures (status 500) escape the 429s
        assert busy["share_429"] == pytest.approx(0.98, abs=0.02)
        assert busy["rate_low"] > THRESHOLD_RPS
    shares = [b["share_429"] for b in bins]
    # non-decreasing up to the noise of the 2 % failures among the limited windows
    assert all(later >= earlier - 0.02 for earlier, later in itertools.pairwise(shares))
    assert deciles["spearman"] > SPEARMAN_MIN
    # the model as a whole: the calm client adds a flat 0.1 rps, the step stays
    model = limited_model["status"]["by_load_decile"]
    assert model["bins"][0]["share_429"] == 0.0
    assert model["bins"][-1]["share_429"] > 0.7
    assert model["spearman"] > SPEARMAN_MIN
    assert np.isclose(
        sum(b["n_429"] for b in model["bins"]), limited_model["status"]["codes"]["429"]
    )


def test_report_draws_status_classes_and_the_load_curve(
    limited_run: Path, limited_model: dict
) -> None:
    specs = figure_specs((limited_run / "report.html").read_text(encoding="utf-8"))
    by_title = {spec["layout"]["title"]["text"]: spec for spec in specs.values()}
    stacked = by_title["Requests per trace window by status class"]
    menu = [b["label"] for b in stacked["layout"]["updatemenus"][0]["buttons"]]
    assert menu == ["all clients", *limited_model["detailed_clients"]]
    shown = [t for t in stacked["data"] if t.get("visible") is True]
    assert [t["name"] for t in shown] == ["2xx", "429", "5xx"]  # the classes present
    status = limited_model["status"]
    assert shown[1]["y"] == status["per_window"]["counts"]["429"]
    load = by_title["429 share per decile of the trace window's request rate"]
    first = load["data"][0]
    assert first["y"] == [b["share_429"] for b in status["by_load_decile"]["bins"]]
    assert first["x"] == [b["rate_mean"] for b in status["by_load_decile"]["bins"]]
