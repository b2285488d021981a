"""Latency distributions (CCDF, p50/p90/p99) on a seeded log with a known latency law."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from pipeline import RunOptions, run_all
from pipeline.synthetic import ClientSpec, generate
from tests.report_helpers import figure_specs

# ttft = 40 + N(0, 5) ms; e2e = ttft + 25 ms per output token + N(0, 5), outputs exponential
# with mean 200 tokens: e2e is 40 + N(0, sqrt(50)) + Exp(5,000 ms), an exponentially modified
# Gaussian (up to the rounding of tokens to integers, at most 12.5 ms per request)
NOISE_MS = 5.0
TTFT = stats.norm(40.0, NOISE_MS)
E2E_SD = np.sqrt(2) * NOISE_MS
E2E = stats.exponnorm(25.0 * 200.0 / E2E_SD, loc=40.0, scale=E2E_SD)
# ~17,000 requests: the p50/p90 of an exponential have sampling sd ~1 %, the p99 ~2 %
QUANTILE_RTOL = {"p50": 0.04, "p90": 0.04, "p99": 0.07}
TTFT_ATOL_MS = 0.5  # percentiles of N(40, 5) from 17,000 values: sd <= 0.15 ms
# Dvoretzky-Kiefer-Wolfowitz: sup |F_n - F| <= sqrt(ln(2 / 0.001) / (2 n)) ~ 0.015 at n = 17,000
# with probability 0.999
CCDF_ATOL = 0.015


@pytest.fixture(scope="module")
def timed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("latency")
    spec = ClientSpec("timed", "timed-model", rate_rps=0.2, latency=(40.0, 0.0, 25.0, NOISE_MS))
    log_path = root / "timed.csv.gz"
    with gzip.open(log_path, "wb") as handle:
        handle.write(generate([spec], duration_s=86_400, seed=3).write_csv().encode())
    out = root / "out"
    run_all([str(log_path)], out, RunOptions())
    return out


@pytest.fixture(scope="module")
def latency(timed_run: Path) -> dict:
    stats_json = json.loads((timed_run / "stats.json").read_text())
    return stats_json["models"][0]["latency"]


def test_latency_percentiles_match_the_known_law(latency: dict) -> None:
    ttft, e2e = latency["ttft_ms"]["summary"], latency["e2e_ms"]["summary"]
    for key, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        assert ttft[key] == pytest.approx(TTFT.ppf(q), abs=TTFT_ATOL_MS)
        assert e2e[key] == pytest.approx(E2E.ppf(q), rel=QUANTILE_RTOL[key])


def test_latency_ccdf_follows_the_known_law_on_a_log_grid(latency: dict) -> None:
    for metric, law in (("ttft_ms", TTFT), ("e2e_ms", E2E)):
        ccdf = latency[metric]["ccdf"]
        x, y = np.array(ccdf["x"]), np.array(ccdf["y"])
        assert ccdf["n_used"] == latency[metric]["summary"]["n"]  # below the sample cap
        assert len(x) == 60 and np.all(np.diff(np.log(x)) > 0)
        assert np.allclose(np.diff(np.log(x)), np.log(x[1] / x[0]))  # log-spaced
        assert np.all(np.diff(y) <= 0) and y[-1] == 0.0
        assert np.max(np.abs(y - law.sf(x))) < CCDF_ATOL


def test_report_marks_the_percentiles_on_the_ccdf(timed_run: Path, latency: dict) -> None:
    specs = figure_specs((timed_run / "report.html").read_text(encoding="utf-8"))
    figure = next(
        s
        for s in specs.values()
        if s["layout"]["title"]["text"] == "Latency CCDF with p50, p90 and p99 marked"
    )
    by_name = {trace["name"]: trace for trace in figure["data"]}
    assert by_name["e2e_ms"]["x"] == latency["e2e_ms"]["ccdf"]["x"]
    marks = by_name["e2e_ms p50/p90/p99"]
    summary = latency["e2e_ms"]["summary"]
    assert marks["x"] == [summary["p50"], summary["p90"], summary["p99"]]
    assert marks["y"] == pytest.approx([0.5, 0.1, 0.01])
    assert figure["layout"]["xaxis"]["type"] == "log"
