"""Very bursty clients: fitted through the clock, regenerated as bursty as the log.

The logs are made the way the ServeGen paper's own data would be: ServeGen's algorithm
(`tests/servegen_loader.generate`) run on known per-client parameters, Gamma shapes 0.03-0.3
and Weibull shapes 0.15-0.5 at 1-5 requests/s, with timestamps stored to the microsecond
and, separately, to the millisecond. At these shapes up to 73 % of the gaps fall below the
clock and tie. Seeds are fixed; tolerances are stated next to each check.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from pipeline import RunOptions, run_all
from pipeline.config import IngestOptions
from pipeline.stages.fit import CV_MISFIT_RATIO
from tests.conftest import public_trace
from tests.servegen_loader import Client, Window, generate, load_model

WINDOW_S = 600
DURATION_S = 3 * 3600
ORIGIN_S = 1_699_920_000  # a UTC midnight, so the log's windows are the profile's
LOG_SEED = 2026
REGENERATION_SEEDS = (1, 2, 3)
# (client, model, family, shape, rate per second)
CLIENTS = [
    ("g003", "bursty-gamma", "Gamma", 0.03, 1.0),
    ("g005", "bursty-gamma", "Gamma", 0.05, 2.0),
    ("g010", "bursty-gamma", "Gamma", 0.1, 3.0),
    ("g020", "bursty-gamma", "Gamma", 0.2, 4.0),
    ("g030", "bursty-gamma", "Gamma", 0.3, 5.0),
    ("w015", "bursty-weibull", "Weibull", 0.15, 1.5),
    ("w030", "bursty-weibull", "Weibull", 0.3, 3.0),
    ("w050", "bursty-weibull", "Weibull", 0.5, 5.0),
]
FAMILY_SHARE = 0.95
"""The issue's bar: the true family in at least 95 % of windows (>= 500 requests)."""
SHAPE_RTOL = 0.05
"""Median exported shape over a client's 18 windows of 540-3,000 gaps: within 1.5 % of the
truth for 14 of the 16 client-clock pairs; Gamma 0.03 on the millisecond clock (73 % ties,
so little information per window) lands at -4.0 %. The bar is the issue's 5 %."""
MEAN_SIGNED_ERROR = 0.02
"""No systematic sign: the mean of the 16 signed median errors (8 clients, 2 clocks) stays
within 2 % of zero (it is -0.65 % with this seed)."""
BURSTINESS_RTOL = 0.10
"""Regenerated from the exported profiles, averaged over 3 seeds, each model's Fano factor at
1 s and 60 s and p99 of counts per second within 10 % of the log's (the issue's bar; the
exported profiles land within 9 %). For reference, regenerating from the true parameters
lands within 4 % at 1 s and on the p99, and at -11 % (Gamma model) and +2 % at 60 s: the
log's 180 one-minute counts are a single realization, so the 60-s check sits at the edge of
sampling noise, and the fixed seeds keep it deterministic."""


def _truth_clients() -> dict[str, list[Client]]:
    flat = {"input_tokens": [0.0, 0.5, 0.5], "output_tokens": [0.0, 1.0]}
    models: dict[str, list[Client]] = {}
    for number, (_name, model, family, shape, rate) in enumerate(CLIENTS):
        # ServeGen rescales each window's draws to its rate, so any scale will do.
        windows = [
            Window(start, rate, 0.0, family, shape, 1.0) for start in range(0, DURATION_S, WINDOW_S)
        ]
        models.setdefault(model, []).append(Client(number, windows, {0: flat}))
    return models


def _truth_arrivals() -> dict[str, np.ndarray]:
    """Arrival times (seconds from the origin) per client name."""
    names = [c[0] for c in CLIENTS]
    out: dict[str, list[float]] = {name: [] for name in names}
    for clients in _truth_clients().values():
        for request in generate(clients, "language", window_s=WINDOW_S, seed=LOG_SEED):
            out[names[int(request["client"])]].append(request["timestamp"])
    return {name: np.sort(np.array(times)) for name, times in out.items()}


def _write_log(path: Path, arrivals: dict[str, np.ndarray], tick_us: int) -> Path:
    model_of = {c[0]: c[1] for c in CLIENTS}
    rows = []
    for name, times in arrivals.items():
        stamps = np.floor(times * 1e6 / tick_us).astype(np.int64)  # ticks since the origin
        rows += [(int(s), model_of[name], name) for s in stamps]
    rows.sort()
    offset = ORIGIN_S * 1_000_000 // tick_us
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "model", "client_id", "input_tokens", "output_tokens"])
        writer.writerows((s + offset, model, name, 100, 10) for s, model, name in rows)
    return path


@pytest.fixture(scope="module")
def truth() -> dict[str, np.ndarray]:
    return _truth_arrivals()


@pytest.fixture(
    scope="module", params=[("us", 1), ("ms", 1000)], ids=["microsecond", "millisecond"]
)
def bursty_run(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    truth: dict[str, np.ndarray],
) -> tuple[Path, dict[str, np.ndarray]]:
    unit, tick_us = request.param
    directory = tmp_path_factory.mktemp(f"bursty-{unit}")
    log = _write_log(directory / "log.csv", truth, tick_us)
    out = directory / "out"
    run_all([str(log)], out, RunOptions(ingest=IngestOptions(time_unit=unit)))
    # What the log holds, on its own clock: the times the fits and the scores see.
    logged = {k: np.floor(v * 1e6 / tick_us) * tick_us / 1e6 for k, v in truth.items()}
    return out, logged


def _fits(out: Path) -> dict[str, dict]:
    document = json.loads((out / "fits.json").read_text())
    return {c["client_id"]: c for m in document["models"] for c in m["clients"]}


def _windows(client: dict) -> list[dict]:
    return [w for w in client["windows"] if w["n_requests"] >= 500]


def test_family_is_chosen_right_in_95_percent_of_busy_windows(
    bursty_run: tuple[Path, dict[str, np.ndarray]],
) -> None:
    out, _ = bursty_run
    fits = _fits(out)
    chosen = []
    for name, _model, family, shape, _rate in CLIENTS:
        assert shape < 0.7
        windows = _windows(fits[name])
        assert len(windows) == DURATION_S // WINDOW_S, f"{name}: every window is busy"
        assert all(w["status"] == "fitted" for w in windows)
        # A true Gamma or Weibull window never needs its sample CV to stand in for the fit.
        assert {w["pattern"]["shape_from"] for w in windows} == {"likelihood"}
        chosen += [w["pattern"]["name"] == family for w in windows]
    assert np.mean(chosen) >= FAMILY_SHARE, f"true family in {np.mean(chosen):.1%} of windows"


def test_median_shape_is_within_5_percent_without_a_systematic_sign(
    bursty_run: tuple[Path, dict[str, np.ndarray]],
) -> None:
    out, _ = bursty_run
    fits = _fits(out)
    errors = []
    for name, _model, family, shape, _rate in CLIENTS:
        windows = _windows(fits[name])
        scipy_name, param = ("gamma", "a") if family == "Gamma" else ("weibull_min", "c")
        # The family's own maximum-likelihood shape, whichever family the window exported.
        median = np.median([w["fits"][scipy_name]["params"][param] for w in windows])
        assert median == pytest.approx(shape, rel=SHAPE_RTOL), name
        exported = [w["pattern"]["shape"] for w in windows if w["pattern"]["name"] == family]
        assert np.median(exported) == pytest.approx(shape, rel=SHAPE_RTOL), name
        errors.append(median / shape - 1)
        # The exported cv is the pattern's: exactly 1/sqrt(shape) for Gamma.
        for w in windows:
            if w["pattern"]["name"] == "Gamma":
                assert w["pattern"]["cv"] == pytest.approx(w["pattern"]["shape"] ** -0.5)
            assert w["pattern"]["sample_cv"] == pytest.approx(w["cv"])
    assert abs(np.mean(errors)) <= MEAN_SIGNED_ERROR, f"signed errors {np.round(errors, 3)}"


def test_ties_are_counted_and_rates_are_exact(
    bursty_run: tuple[Path, dict[str, np.ndarray]],
) -> None:
    out, logged = bursty_run
    fits = _fits(out)
    for name, *_ in CLIENTS:
        times = logged[name]
        window = (times // WINDOW_S).astype(np.int64)
        for w in fits[name]["windows"]:
            inside = times[window == w["timestamp"] // WINDOW_S]
            assert w["n_requests"] == len(inside)
            assert w["rate"] * WINDOW_S == pytest.approx(len(inside), abs=1e-9)
            assert w["n_tied"] == int(np.sum(np.diff(inside) == 0))
    # The burstiest client ties on both clocks (about half its gaps at 1 us, more at 1 ms).
    tied = sum(w["n_tied"] for w in fits["g003"]["windows"])
    assert tied > 0.4 * sum(w["n_intervals"] for w in fits["g003"]["windows"])


def _burstiness(times: np.ndarray) -> dict[str, float]:
    per_second = np.bincount(times.astype(np.int64), minlength=DURATION_S)[:DURATION_S]
    per_minute = per_second.reshape(-1, 60).sum(axis=1)
    return {
        "fano_1s": per_second.var() / per_second.mean(),
        "fano_60s": per_minute.var() / per_minute.mean(),
        "p99_1s": float(np.percentile(per_second, 99)),
    }


def test_regenerated_workload_is_as_bursty_as_the_log(
    bursty_run: tuple[Path, dict[str, np.ndarray]],
) -> None:
    out, logged = bursty_run
    rows = list(csv.DictReader((out / "profiles" / "clients.csv").open()))
    for model in sorted({c[1] for c in CLIENTS}):
        names = [c[0] for c in CLIENTS if c[1] == model]
        real = _burstiness(np.concatenate([logged[n] for n in names]))
        (model_dir,) = {r["model_dir"] for r in rows if r["model"] == model}
        clients = load_model(out / "profiles", "language", model_dir)
        scores = [
            _burstiness(
                np.array(
                    [r["timestamp"] for r in generate(clients, "language", window_s=600, seed=s)]
                )
            )
            for s in REGENERATION_SEEDS
        ]
        for key, value in real.items():
            generated = np.mean([s[key] for s in scores])
            assert generated == pytest.approx(value, rel=BURSTINESS_RTOL), (model, key)


def test_report_says_how_many_windows_were_fitted_through_ties(
    bursty_run: tuple[Path, dict[str, np.ndarray]],
) -> None:
    out, _ = bursty_run
    manifest = json.loads((out / "manifest.json").read_text())
    records = {r["model"]: r for r in manifest["stages"]["fit"]["clock_ties"]}
    document = json.loads((out / "fits.json").read_text())
    html = (out / "report.html").read_text()
    for model in document["models"]:
        windows = [w for c in model["clients"] for w in c["windows"] if w["status"] == "fitted"]
        record = records[model["model"]]
        assert record["windows_fitted"] == len(windows)
        assert record["windows_with_ties"] == sum(w["n_tied"] > 0 for w in windows)
        assert record["gaps"] == sum(w["n_intervals"] for w in windows)
        assert record["tied_gaps"] == sum(w["n_tied"] for w in windows)
        assert record["tie_share"] == pytest.approx(record["tied_gaps"] / record["gaps"])
        assert 0 < record["tie_share"] < 1
        assert record["windows_shape_from_sample_cv"] == 0
        sentence = (
            f"{record['windows_with_ties']} of {record['windows_fitted']} fitted windows were "
            f"fitted through ties: {record['tied_gaps']:,} of all {record['gaps']:,} fitted "
            f"gaps ({100 * record['tie_share']:.1f}%) fell below the"
        )
        assert sentence in html, sentence
    assert "export the shape whose CV is their sample CV" not in html


def test_a_window_the_family_cannot_describe_keeps_its_sample_cv(tmp_path: Path) -> None:
    # Azure's 2023 code trace: bursts between idle minutes. The fitted Weibull's tail is far
    # too light for those gaps (its CV is 2.6-3.4, the windows' 9-14), so the exported shape
    # is the one whose CV is the window's, and fits.json says so.
    out = tmp_path / "out"
    log = public_trace("azure_llm_2023/AzureLLMInferenceTrace_code.csv")
    run_all([str(log)], out, RunOptions(ingest=IngestOptions(preset="azure-llm")))
    (client,) = _fits(out).values()
    busy = [w for w in client["windows"] if w["status"] == "fitted"]
    assert len(busy) >= 6
    for w in busy:
        pattern = w["pattern"]
        assert pattern["shape_from"] == "sample_cv"
        assert pattern["cv"] == pytest.approx(w["cv"], rel=1e-6)
        fitted = w["fits"]["weibull_min"]["params"]["c"]
        assert pattern["name"] == "Weibull" and pattern["shape"] < fitted
    # ... and the report says so, next to its ties (none: its gaps are all above 1 us)
    manifest = json.loads((out / "manifest.json").read_text())
    (record,) = manifest["stages"]["fit"]["clock_ties"]
    assert record["windows_shape_from_sample_cv"] == len(busy)
    html = (out / "report.html").read_text()
    n = len(busy)
    assert f"No gap of the {n} fitted windows ({record['gaps']:,} gaps) fell below" in html
    assert f"{n} of the {n} fitted windows export the shape whose CV is their sample CV" in html
    # the Methods definition states the rule with the ratio the fit stage uses
    assert CV_MISFIT_RATIO == 2.0
    assert "When the sample CV exceeds twice the pattern" in html
