"""The characterize stage on a synthetic log with known answers: stats.json reproduces them."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from pipeline import RunOptions, run_all
from pipeline.synthetic import ClientSpec, generate

DURATION_S = 2 * 86_400  # two days: the daily STL needs two periods
SHARE_TOL = 0.01  # request shares from ~100k requests: Poisson noise of a share is ~0.002
TAIL_WEIGHT_TOL = 0.04  # mixture weight from a 20k-value fit (tests/fitting: 0.03 at 20k)
TAIL_RTOL = 0.2  # tail index from ~2,000 tail values; integer rounding of tokens adds a bit
SLOPE_RTOL = 0.05  # OLS slopes from ~9,000 requests with 5 ms noise: sd well under 1 %
FANO_POISSON_TOL = 0.25  # Fano of ~35k Poisson arrivals over >= 48 bins: sd ~ sqrt(2/48) ~ 0.2

SPECS = [
    # a flat-rate Poisson client: Fano 1 at every scale
    ClientSpec("poisson", "truth-chat", rate_rps=0.2, family="gamma", shape=1.0),
    # a bursty renewal client (CV^2 = 5 within each 10-minute window) with a daily swing
    ClientSpec(
        "bursty",
        "truth-chat",
        rate_rps=0.3,
        family="gamma",
        shape=0.2,
        diurnal_amplitude=0.6,
        rate_limited_share=0.1,
    ),
    # a client with known latency: ttft = 40 + 0.1 input, e2e = ttft + 25 output (ms)
    ClientSpec(
        "timed",
        "truth-chat",
        rate_rps=0.05,
        family="gamma",
        shape=1.0,
        latency=(40.0, 0.1, 25.0, 5.0),
        session_turns=4.0,
    ),
    # alone in its model, so that the model's input lengths are its known mixture
    ClientSpec(
        "tailed",
        "truth-tail",
        rate_rps=0.12,
        family="gamma",
        shape=1.0,
        input_lognormal=(6.0, 0.6),
        pareto_tail=(0.2, 3000.0, 1.5),
        output_mean=300.0,
    ),
    ClientSpec("thinker", "truth-reason", category="reason", rate_rps=0.02, reason_beta=(6.0, 2.0)),
    # two kinds of requests: short reasoning (ratio ~0.1) and long reasoning (ratio ~0.9)
    ClientSpec(
        "two-minds",
        "truth-reason-2",
        category="reason",
        rate_rps=0.02,
        reason_mixture=(0.5, (2.0, 18.0), (18.0, 2.0)),
    ),
    # input and output lengths linked by a Gaussian copula with rho 0.6
    ClientSpec("linked", "truth-linked", rate_rps=0.05, length_correlation=0.6),
]
# Spearman's rho of a Gaussian copula with correlation 0.6 (Kruskal, 1958)
LINKED_SPEARMAN = 6 / np.pi * np.arcsin(0.6 / 2)
SPEARMAN_TOL = 0.03  # ~8,600 pairs: sampling sd ~0.007; token rounding adds a few ties


@pytest.fixture(scope="module")
def truth_stats(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("characterize_truth")
    log_path = root / "truth.csv.gz"
    with gzip.open(log_path, "wb") as handle:
        handle.write(generate(SPECS, duration_s=DURATION_S, seed=11).write_csv().encode())
    out = root / "out"
    run_all([str(log_path)], out, RunOptions())  # ends with characterize (and report)
    return json.loads((out / "stats.json").read_text())


def _model(stats_json: dict, name: str) -> dict:
    return next(m for m in stats_json["models"] if m["model"] == name)


def test_request_shares_and_concentration(truth_stats: dict) -> None:
    chat = _model(truth_stats, "truth-chat")
    shares = {c["client_id"]: c["request_share"] for c in chat["clients"]}
    total = 0.2 + 0.3 + 0.05
    assert shares["bursty"] == pytest.approx(0.3 / total, abs=SHARE_TOL)
    assert shares["poisson"] == pytest.approx(0.2 / total, abs=SHARE_TOL)
    for client in chat["clients"]:  # per-minute curves of detailed clients hold every request
        curve = chat["rate"]["clients_per_minute"][client["client_id"]]
        assert sum(curve["y"]) * 60 == pytest.approx(client["n_requests"])
        assert curve["x"] == chat["rate"]["per_minute"]["x"]
    top = chat["concentration"]["by_requests"]["top_k_share"]
    assert top["1"] == pytest.approx(0.3 / total, abs=SHARE_TOL)
    assert top["5"] == pytest.approx(1.0)
    # lengths are drawn independently of each other: no correlation (|rho| < 3 / sqrt(n))
    assert abs(chat["correlation"]["spearman"]) < 0.02
    assert abs(chat["correlation"]["pearson"]) < 0.02


def test_fano_factor_is_one_for_poisson_and_large_for_the_bursty_client(
    truth_stats: dict,
) -> None:
    fano = _model(truth_stats, "truth-chat")["burstiness"]["fano"]["clients"]
    for value, n_bins in zip(fano["poisson"]["y"], fano["poisson"]["n_bins"], strict=True):
        assert value == pytest.approx(1.0, abs=FANO_POISSON_TOL + 1.5 / n_bins**0.5)
    # within a window the bursty client's counts have Fano ~ CV^2 = 5; the daily swing adds more
    bursty = fano["bursty"]["y"]
    assert bursty[2] > 2.5  # 1 minute
    assert bursty[3] > 4.0  # 10 minutes
    assert bursty[4] > bursty[3]  # the daily swing grows it further at 1 hour


def test_periodicity_of_a_daily_swing(truth_stats: dict) -> None:
    chat = _model(truth_stats, "truth-chat")
    daily = chat["periodicity"]["daily"]
    assert daily["available"] is True
    assert daily["seasonal_strength"] > 0.6
    parts = daily["components"]
    assert len(parts["x"]) == 48
    rebuilt = np.add(np.add(parts["trend"], parts["seasonal"]), parts["resid"])
    assert rebuilt == pytest.approx(parts["observed"], abs=1e-6)
    # rate = r (1 + A sin(2 pi (t - 6 h) / day)) peaks at 12:00 UTC, bottoms at 00:00 UTC
    assert daily["busiest_hour_utc"] in (10, 11, 12, 13, 14)
    assert daily["quietest_hour_utc"] in (22, 23, 0, 1, 2)
    assert chat["periodicity"]["weekly"]["available"] is False


def test_mixture_weight_and_tail_index_are_recovered(truth_stats: dict) -> None:
    lengths = _model(truth_stats, "truth-tail")["lengths"]
    mixture = lengths["input_tokens"]["fits"]["pareto_lognormal"]
    assert mixture["tail_weight"] == pytest.approx(0.2, abs=TAIL_WEIGHT_TOL)
    assert mixture["alpha"] == pytest.approx(1.5, rel=TAIL_RTOL)
    assert mixture["mu"] == pytest.approx(6.0, rel=0.02)
    # the mixture beats a single log-normal on the same sample
    assert mixture["aic"] < lengths["input_tokens"]["fits"]["lognorm"]["aic"]
    output = lengths["output_tokens"]["fits"]
    assert output["expon"]["scale"] == pytest.approx(300.0, rel=0.03)
    assert output["expon"]["aic"] < output["lognorm"]["aic"]  # outputs are exponential


def test_rate_limiting_latency_and_sessions(truth_stats: dict) -> None:
    chat = _model(truth_stats, "truth-chat")
    status = chat["status"]
    bursty_share = next(c for c in chat["clients"] if c["client_id"] == "bursty")["request_share"]
    assert status["share_429"] == pytest.approx(0.1 * bursty_share, abs=SHARE_TOL)
    assert status["clients"]["poisson"] == {"200": status["clients"]["poisson"]["200"]}
    over_time = status["clients_per_window"]["bursty"]["y_429_share"]
    assert sum(over_time) / len(over_time) == pytest.approx(0.1, abs=SHARE_TOL)
    assert set(status["clients_per_window"]["poisson"]["y_429_share"]) == {0.0}
    e2e = chat["latency"]["e2e_ms"]["ols"]
    assert e2e["ms_per_output_token"] == pytest.approx(25.0, rel=SLOPE_RTOL)
    assert e2e["ms_per_input_token"] == pytest.approx(0.1, rel=SLOPE_RTOL)
    low, high = e2e["ci95"]["ms_per_output_token"]
    assert low <= 25.0 <= high or abs(e2e["ms_per_output_token"] - 25.0) < 0.05
    by_output = chat["latency"]["e2e_ms"]["by_output_tokens"]
    assert sum(by_output["n"]) == e2e["n"]
    # e2e grows by 25 ms per output token: the bin means follow it (bins are ~20 % wide)
    slope = np.polyfit(by_output["x"][3:-3], by_output["y"][3:-3], 1)[0]
    assert slope == pytest.approx(25.0, rel=0.15)
    ttft = chat["latency"]["ttft_ms"]["ols"]
    assert ttft["intercept_ms"] == pytest.approx(40.0, abs=2.0)
    assert ttft["ms_per_output_token"] == pytest.approx(0.0, abs=0.01)
    sessions = chat["sessions"]
    assert sessions["turns"]["mean"] == pytest.approx(4.0, rel=0.1)  # ~2,000 sessions
    assert _model(truth_stats, "truth-tail")["sessions"]["available"] is False


def test_reasoning_ratio_is_unimodal_and_has_the_beta_mean(truth_stats: dict) -> None:
    reasoning = _model(truth_stats, "truth-reason")["reasoning"]
    assert reasoning["available"] is True
    assert reasoning["bimodality"]["is_bimodal"] is False  # Beta(6, 2) has one mode
    # Beta(6, 2) has median ~0.77; token rounding moves it little
    assert reasoning["ratio"]["p50"] == pytest.approx(0.77, abs=0.03)
    assert _model(truth_stats, "truth-chat")["reasoning"]["available"] is False


def test_drift_between_days_is_small_for_a_stationary_client(truth_stats: dict) -> None:
    days = _model(truth_stats, "truth-tail")["drift"]["days"]
    assert len(days) == 2  # input and output, day 0 -> day 1
    for pair in days:
        assert pair["ks"] < 0.03 and pair["large_shift"] is False


def test_the_swinging_top_client_drives_the_aggregate_variance(truth_stats: dict) -> None:
    chat = _model(truth_stats, "truth-chat")
    concentration = chat["variance_concentration"]["top_k_by_requests"]
    # the bursty client (the busiest, with a 60 % daily swing) against two flat Poisson-like
    # clients: its variance (and covariance) is nearly all of the aggregate's
    assert chat["clients"][0]["client_id"] == "bursty"
    assert concentration["1"] > 0.8
    assert concentration["5"] == pytest.approx(1.0)
    acf = chat["periodicity"]["acf_hourly"]
    assert acf["y"][0] == 1.0 and len(acf["x"]) == 48  # two days of hourly bins: lags 0..47
    assert acf["y"][12] < 0 < acf["y"][24] or acf["y"][12] < acf["y"][24]  # a daily cycle


def test_bimodality_is_found_only_where_it_exists(truth_stats: dict) -> None:
    two_minds = _model(truth_stats, "truth-reason-2")["reasoning"]["bimodality"]
    assert two_minds["is_bimodal"] is True
    assert two_minds["means"][0] == pytest.approx(0.1, abs=0.05)
    assert two_minds["means"][1] == pytest.approx(0.9, abs=0.05)
    assert two_minds["weights"][0] == pytest.approx(0.5, abs=0.05)
    one_mind = _model(truth_stats, "truth-reason")["reasoning"]["bimodality"]
    assert one_mind["is_bimodal"] is False


def test_a_known_rank_correlation_is_recovered(truth_stats: dict) -> None:
    linked = _model(truth_stats, "truth-linked")
    assert linked["correlation"]["spearman"] == pytest.approx(LINKED_SPEARMAN, abs=SPEARMAN_TOL)
    (client,) = linked["clients"]
    assert client["correlation"] == linked["correlation"]  # one client: the same pairs
