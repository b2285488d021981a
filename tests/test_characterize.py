"""The characterize stage on the bundled sample: stats.json agrees with the requests it reads."""

from __future__ import annotations

import itertools
import json
import shutil
from typing import TYPE_CHECKING

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from fitting.workload import fano_factors
from pipeline.cli import app
from pipeline.config import CharacterizeOptions, EngineOptions
from pipeline.rundir import RunDir
from pipeline.stages import characterize
from pipeline.stages.ingest import read_requests

if TYPE_CHECKING:
    from pathlib import Path

runner = CliRunner()
# Floats in stats.json keep 10 significant digits; comparisons to recomputed values allow that.
JSON_ROUNDING = 1e-8


@pytest.fixture(scope="module")
def sample_stats(sample_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("characterized")
    shutil.copytree(sample_run, out, dirs_exist_ok=True)
    result = runner.invoke(app, ["characterize", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out / "stats.json").read_text())


@pytest.fixture(scope="module")
def sample_requests(sample_run: Path) -> dict[str, np.ndarray]:
    table = read_requests(RunDir(sample_run))
    return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}


def _model(stats_json: dict, name: str) -> dict:
    return next(m for m in stats_json["models"] if m["model"] == name)


def test_overview_reconciles_with_the_row_account(sample_stats: dict, sample_run: Path) -> None:
    summary = json.loads((sample_run / "summary.json").read_text())
    overview = sample_stats["overview"]
    assert sample_stats["format"] == "servechar.stats/1"
    for key in ("rows_read", "rows_accepted", "rows_rejected", "rejects_by_reason"):
        assert overview[key] == summary[key]
    assert overview["n_requests"] == summary["rows_accepted"]
    assert overview["n_models"] == 3 and overview["n_clients"] == 8
    assert sum(m["n_requests"] for m in overview["models"]) == overview["n_requests"]
    # the sample covers one whole UTC day
    assert overview["coverage"]["covers_full_day"] is True
    assert overview["coverage"]["n_days"] == 1
    assert [m["model"] for m in sample_stats["models"]] == [
        "chat-large",
        "vision-pro",
        "reasoner-r1",
    ]


def test_client_table_matches_the_requests(
    sample_stats: dict, sample_requests: dict[str, np.ndarray]
) -> None:
    model = _model(sample_stats, "chat-large")
    r = sample_requests
    assert sum(c["n_requests"] for c in model["clients"]) == model["n_requests"]
    assert [c["rank"] for c in model["clients"]] == [1, 2, 3, 4]
    assert model["clients"][0]["client_id"] == "acme"  # the busiest sample client
    for row in model["clients"]:
        mine = (r["model"] == "chat-large") & (r["client_id"] == row["client_id"])
        ok = mine & r["is_success"]
        assert row["n_requests"] == mine.sum()
        assert row["input_tokens_sum"] == r["input_tokens"][ok].sum()
        for q, key in ((50, "p50"), (90, "p90"), (99, "p99")):
            expected = np.percentile(r["input_tokens"][ok], q)
            assert row["input_tokens"][key] == pytest.approx(expected, rel=JSON_ROUNDING)
        x, y = r["input_tokens"][ok].astype(float), r["output_tokens"][ok].astype(float)
        assert row["correlation"]["pearson"] == pytest.approx(
            stats.pearsonr(x, y).statistic, abs=JSON_ROUNDING
        )
        assert row["correlation"]["spearman"] == pytest.approx(
            stats.spearmanr(x, y).statistic, abs=JSON_ROUNDING
        )


def test_concentration_and_rates(sample_stats: dict) -> None:
    model = _model(sample_stats, "chat-large")
    counts = np.array([c["n_requests"] for c in model["clients"]], dtype=float)
    shares = model["concentration"]["by_requests"]["top_k_share"]
    assert shares["1"] == pytest.approx(counts[0] / counts.sum(), rel=JSON_ROUNDING)
    assert shares["20"] == pytest.approx(1.0)
    assert 0 < model["concentration"]["by_requests"]["gini"] < 1
    lorenz = model["concentration"]["by_requests"]["lorenz"]
    assert lorenz["x"][0] == 0 and lorenz["y"][-1] == pytest.approx(1.0)
    rate = model["rate"]
    assert rate["bin_s"] == 60
    # every request is in exactly one minute bin: sum(rate * 60) == requests
    assert sum(rate["per_minute"]["y"]) * 60 == pytest.approx(model["n_requests"])
    assert sum(rate["per_window"]["y"]) * 600 == pytest.approx(model["n_requests"])
    assert set(rate["clients_per_window"]) == set(model["detailed_clients"])


def test_top_clients_option_limits_the_detailed_clients(sample_run: Path, tmp_path: Path) -> None:
    shutil.copytree(sample_run, tmp_path, dirs_exist_ok=True)
    characterize.run(RunDir(tmp_path), CharacterizeOptions(top_clients=1), EngineOptions())
    model = _model(json.loads((tmp_path / "stats.json").read_text()), "chat-large")
    assert model["detailed_clients"] == ["acme"]
    assert list(model["rate"]["clients_per_window"]) == ["acme"]


def test_two_runs_give_identical_bytes(sample_run: Path, tmp_path: Path) -> None:
    outputs = []
    for name, threads in (("a", 1), ("b", 2)):
        out = tmp_path / name
        shutil.copytree(sample_run, out)
        characterize.run(RunDir(out), CharacterizeOptions(), EngineOptions(threads=threads))
        outputs.append((out / "stats.json").read_bytes())
    assert outputs[0] == outputs[1]
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["stages"]["characterize"]["stats_bytes"] == len(outputs[1])


def test_before_aggregate_is_a_user_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["characterize", "--out", str(tmp_path / "nothing")])
    assert result.exit_code == 1
    assert "Error:" in result.output and "servechar aggregate" in result.output


def test_fano_factors_equal_the_direct_computation(
    sample_stats: dict, sample_requests: dict[str, np.ndarray]
) -> None:
    model = _model(sample_stats, "chat-large")
    r = sample_requests
    seconds = r["arrival_us"][r["model"] == "chat-large"].astype(np.int64) / 1e6
    start, end = seconds.min(), seconds.max()
    fano = model["burstiness"]["fano"]
    direct = fano_factors(seconds, fano["scales_s"], start_s=start, end_s=end)
    for got, want in zip(fano["aggregate"]["y"], direct, strict=True):
        assert got == pytest.approx(want.fano_factor, rel=1e-6)
    assert fano["aggregate"]["n_bins"] == [d.n_windows for d in direct]
    assert set(fano["clients"]) == set(model["detailed_clients"])
    # umbrella is a Poisson client (Gamma shape 1, flat rate): near 1 at every scale; the
    # tolerance is ~3 sampling sds of a Fano factor from 366 arrivals over >= 23 bins.
    assert fano["clients"]["umbrella"]["y"] == pytest.approx([1.0] * 5, abs=0.6)
    # acme (Weibull shape 0.6 with a daily swing) is bursty: far above 1 at 10 minutes
    assert fano["clients"]["acme"]["y"][3] > 5


def test_burstiness_cdfs_stability_and_periodicity(sample_stats: dict) -> None:
    model = _model(sample_stats, "chat-large")
    cdf = model["burstiness"]["cv_cdf"]
    assert cdf["y"][-1] == pytest.approx(1.0) and cdf["x"] == sorted(cdf["x"])
    stability = model["stability"]
    # variance shares of the aggregate count are a decomposition: they sum to 1
    assert sum(r["variance_share"] for r in stability) == pytest.approx(1.0, abs=1e-6)
    assert stability[0]["client_id"] == "acme"  # the big diurnal client drives the variance
    period = model["periodicity"]
    assert period["daily"] == {
        "available": False,
        "reason": "the log's arrivals fall in 24 clock hour(s); a daily decomposition "
        "needs 2 days (48 hours)",
    }
    # the hourly profile is requests over covered seconds: weighted by the seconds each hour
    # covers, it gives back the model's requests over its first-to-last-arrival span
    profile = period["hourly_profile"]
    requests = np.dot(profile["y"], profile["covered_s"])
    assert requests == pytest.approx(model["n_requests"], rel=1e-6)
    span_s = model["last_offset_s"] - model["first_offset_s"] + 1e-6
    assert sum(profile["covered_s"]) == pytest.approx(span_s, abs=1e-3)
    assert all(c["n_windows_active"] > 0 for c in model["clients"])


def test_figure_readings(sample_stats: dict) -> None:
    model = _model(sample_stats, "chat-large")
    rate = model["rate"]
    assert rate["peak_rps"] == max(rate["per_minute"]["y"])
    assert (
        rate["per_minute"]["x"][rate["per_minute"]["y"].index(rate["peak_rps"])]
        == (rate["peak_offset_s"])
    )
    assert rate["mean_rps"] == pytest.approx(
        model["n_requests"] / (model["last_offset_s"] - model["first_offset_s"]), rel=1e-8
    )
    burstiness = model["burstiness"]
    # acme and globex (most requests) are bursty renewal processes: most requests in CV > 1
    assert 0.5 < burstiness["share_cv_above_1"] <= 1
    assert burstiness["cv_median_weighted"] > 1
    profile = model["periodicity"]["hourly_profile"]["y"]
    assert profile[model["periodicity"]["busiest_hour_utc"]] == max(profile)
    assert profile[model["periodicity"]["quietest_hour_utc"]] == min(profile)


def test_input_drift_per_client_equals_the_direct_computation(
    sample_stats: dict, sample_requests: dict[str, np.ndarray]
) -> None:
    from fitting.lengths import distribution_distances

    model = _model(sample_stats, "chat-large")
    r = sample_requests
    origin_us = 1_740_960_000_000_000  # the sample's UTC midnight
    for row in model["stability"]:
        mine = (r["model"] == "chat-large") & (r["client_id"] == row["client_id"]) & r["is_success"]
        window = (r["arrival_us"][mine].astype(np.int64) - origin_us) // 21_600_000_000
        tokens = r["input_tokens"][mine]
        present = np.unique(window)
        expected = max(
            distribution_distances(tokens[window == a], tokens[window == b]).ks
            for a, b in itertools.pairwise(present)
        )
        assert row["input_ks_max"] == pytest.approx(expected, abs=1e-9)


def test_window_vuong_sql_equals_scipy(sample_run: Path, sample_stats: dict) -> None:
    import duckdb

    from fitting.distributions import vuong_test
    from pipeline import sqlrun, summaries
    from pipeline.artefacts import SUMMARIES

    con = duckdb.connect()
    for view, relative in (
        ("window_fits", "fit/window_fits.parquet"),
        ("interarrivals", "aggregate/interarrivals.parquet"),
        ("trace_windows", "aggregate/trace_windows.parquet"),
    ):
        con.read_parquet(str(sample_run / relative)).create_view(view)
    summaries.open_merged(con, RunDir(sample_run).path(SUMMARIES))
    sqlrun.query(con, "aggregate/merged_clients").to_table("clients")
    rows = sqlrun.query(con, "characterize/window_vuong").fetchall()
    fits = con.sql("select * from window_fits").to_arrow_table().to_pylist()
    by_key = {row["window_key"]: row for row in fits}
    for _model_key, window_key, first, second, n, z in rows[::50]:
        fit = by_key[window_key]
        gaps = con.execute(
            "select iat_s from interarrivals where window_key = ?", [window_key]
        ).fetchall()
        x = np.maximum(np.array([g for (g,) in gaps]), fit["tie_floor_s"])

        assert n == x.size
        expected = vuong_test(_logpdf(fit, first, x), _logpdf(fit, second, x)).statistic
        assert z == pytest.approx(expected, rel=1e-9)
    wins = _model(sample_stats, "chat-large")["interarrivals"]["family_wins"]
    assert wins["vuong_top_two"]["n_windows"] == wins["n_windows"]
    assert sum(wins["vuong_top_two"]["winner"].values()) == wins["vuong_top_two"]["significant"]


def _logpdf(fit: dict, family: str, x: np.ndarray) -> np.ndarray:
    """scipy's log-density of a window's fitted family (its params from the fit table)."""
    params = {
        name.split("__")[1]: value
        for name, value in fit.items()
        if name.startswith(f"{family}__") and name.split("__")[1] not in ("loglik", "aic", "ks")
    }
    return getattr(stats, family).logpdf(x, **params)


def test_anonymized_runs_use_the_profiles_pseudonyms(sample_run: Path, tmp_path: Path) -> None:
    import csv

    out = tmp_path / "anon"
    result = runner.invoke(app, ["run", "--out", str(out), "--anonymize", "--salt", "s3cret"])
    assert result.exit_code == 0, result.output
    stats_json = json.loads((out / "stats.json").read_text())
    named = {c["client_id"] for m in stats_json["models"] for c in m["clients"]}
    with (out / "profiles" / "clients.csv").open() as handle:
        exported = {row["client_id"] for row in csv.DictReader(handle)}
    assert named == exported and "acme" not in (out / "stats.json").read_text()
    # run without the salt on the anonymized run: refused rather than naming clients
    refused = runner.invoke(app, ["characterize", "--out", str(out)])
    assert refused.exit_code == 1
    assert "Error:" in refused.output and "--salt" in refused.output
    again = runner.invoke(
        app, ["characterize", "--out", str(out), "--anonymize", "--salt", "s3cret"]
    )
    assert again.exit_code == 0, again.output
    assert json.loads((out / "stats.json").read_text()) == stats_json


def test_the_salt_never_reaches_the_manifest(sample_run: Path, tmp_path: Path) -> None:
    shutil.copytree(sample_run, tmp_path, dirs_exist_ok=True)
    options = CharacterizeOptions(anonymize=True, salt="s3cret")
    characterize.run(RunDir(tmp_path), options, EngineOptions())
    assert "s3cret" not in (tmp_path / "manifest.json").read_text()
