"""The shared request sample: statistics drawn from a capped sample stay within their stated
tolerance of the known law and of the whole population, and a --seed or --sample-cap the
recorded sample cannot serve is refused.

The log: one model, Poisson arrivals at 0.5/s for 4 hours (~7,200 requests, 5 % failed),
input tokens lognormal(6, 0.8), output tokens exponential with mean 200. With --sample-cap
1,000 every sampled statistic uses exactly 1,000 requests (a prefix of the bottom-k sample).
Tolerances (4 standard errors at n = 1,000): lognormal mu 0.8 / sqrt(n) = 0.025 -> 0.1, sigma
0.8 / sqrt(2 n) = 0.018 -> 0.08; an exponential scale 1 / sqrt(n) = 3.2 % -> 13 %.
"""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

import pytest

from pipeline import RunOptions, run_all
from pipeline.config import CharacterizeOptions, EngineOptions
from pipeline.errors import ConfigError
from pipeline.rundir import RunDir
from pipeline.stages import characterize
from pipeline.synthetic import ClientSpec, generate

if TYPE_CHECKING:
    from pathlib import Path

CAP = 1_000
RATE_RPS = 0.5
MU, SIGMA, OUTPUT_MEAN = 6.0, 0.8, 200.0


@pytest.fixture(scope="module")
def capped_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shared_sample")
    spec = ClientSpec(
        "solo",
        "model-x",
        rate_rps=RATE_RPS,
        input_lognormal=(MU, SIGMA),
        output_mean=OUTPUT_MEAN,
        failure_rate=0.05,
        latency=(40.0, 0.0, 25.0, 5.0),
    )
    log = root / "log.csv"
    generate([spec], duration_s=4 * 3600, seed=13).write_csv(log)
    out = root / "out"
    run_all([str(log)], out, RunOptions(characterize=CharacterizeOptions(sample_cap=CAP)))
    return out


def _model(path: Path) -> dict:
    return json.loads(path.read_text())["models"][0]


def test_capped_samples_hold_exactly_cap_requests(capped_run: Path) -> None:
    model = _model(capped_run / "stats.json")
    assert model["n_success"] > 3 * CAP  # the cap really samples
    inputs = model["lengths"]["input_tokens"]
    assert inputs["n"] == model["n_success"] and inputs["n_used"] == CAP
    assert model["lengths"]["output_tokens"]["n_used"] == CAP
    iat = model["interarrivals"]["aggregate"]
    assert iat["n"] == model["n_requests"] - 1 and iat["n_used"] == CAP
    for metric in ("ttft_ms", "e2e_ms"):  # every success reports both latencies
        assert model["latency"][metric]["ccdf"]["n_used"] == CAP
        # percentiles stay exact: over every success, not the sample
        assert model["latency"][metric]["summary"]["n"] == model["n_success"]


def test_capped_fits_recover_the_known_law(capped_run: Path) -> None:
    model = _model(capped_run / "stats.json")
    lognorm = model["lengths"]["input_tokens"]["fits"]["lognorm"]
    assert lognorm["mu"] == pytest.approx(MU, abs=0.1)
    assert lognorm["sigma"] == pytest.approx(SIGMA, abs=0.08)
    expon = model["lengths"]["output_tokens"]["fits"]["expon"]
    assert expon["scale"] == pytest.approx(OUTPUT_MEAN, rel=0.13)
    iat = model["interarrivals"]["aggregate"]["fits"]["expon"]["params"]
    assert iat["scale"] == pytest.approx(1 / RATE_RPS, rel=0.13)


def test_capped_fits_agree_with_the_whole_population(capped_run: Path, tmp_path: Path) -> None:
    """characterize again with the default cap (above the population): the exact values."""
    whole = tmp_path / "whole"
    shutil.copytree(capped_run, whole)
    characterize.run(RunDir(whole), CharacterizeOptions(), EngineOptions())
    capped, exact = _model(capped_run / "stats.json"), _model(whole / "stats.json")
    assert exact["lengths"]["input_tokens"]["n_used"] == exact["n_success"]
    for field, family, key, tolerance in (
        ("input_tokens", "lognorm", "mu", 0.1),
        ("input_tokens", "lognorm", "sigma", 0.08),
        ("output_tokens", "expon", "scale", 0.13 * OUTPUT_MEAN),
    ):
        fits = (capped["lengths"][field]["fits"][family], exact["lengths"][field]["fits"][family])
        assert fits[0][key] == pytest.approx(fits[1][key], abs=tolerance)
    # exact statistics do not depend on the cap
    for key in ("input_tokens", "output_tokens", "latency", "clients"):
        if key == "latency":
            for metric in ("ttft_ms", "e2e_ms"):
                assert capped[key][metric]["summary"] == exact[key][metric]["summary"]
        else:
            assert capped[key] == exact[key]


def test_same_options_give_the_same_bytes(capped_run: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    shutil.copytree(capped_run, again)
    characterize.run(RunDir(again), CharacterizeOptions(sample_cap=CAP), EngineOptions(threads=1))
    assert (again / "stats.json").read_bytes() == (capped_run / "stats.json").read_bytes()


def test_a_seed_the_sample_was_not_drawn_with_is_refused(capped_run: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(capped_run, other)
    with pytest.raises(ConfigError, match="drew the shared sample with seed 0") as error:
        characterize.run(
            RunDir(other), CharacterizeOptions(sample_cap=CAP, seed=5), EngineOptions()
        )
    assert "--seed 0" in (error.value.hint or "")
    # with a cap above the population the seed chooses nothing, so it is accepted
    characterize.run(RunDir(other), CharacterizeOptions(seed=5), EngineOptions())
