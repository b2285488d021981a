"""Profiles fitted from synthetic logs recover the known per-client processes.

Tolerances are stated next to each check; all data come from fixed seeds (tests/conftest.py).
"""

from __future__ import annotations

import ast
import csv
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fitting import weibull_cv

WINDOW_S = 600
SHAPE_RTOL = 0.10  # median over ~24 windows of ~1,200 requests: sampling error is a few %
FAMILY_SHARE = 0.75  # share of busy windows whose chosen family is the true one


def _clients(out: Path) -> dict[str, dict[str, str]]:
    rows = csv.DictReader((out / "profiles" / "clients.csv").open())
    return {row["client_id"]: row for row in rows}


def _trace(out: Path, row: dict[str, str]) -> list[list[str]]:
    path = (
        out
        / "profiles/data"
        / row["category"]
        / row["model_dir"]
        / f"chunk-{row['chunk']}-trace.csv"
    )
    return [line.split(",") for line in path.read_text().splitlines()]


def _log(truth_log: Path) -> pl.DataFrame:
    return pl.read_csv(truth_log).with_columns(
        pl.col("timestamp").str.to_datetime(time_zone="UTC").dt.epoch("us").alias("t_us")
    )


def test_rates_are_exact_counts(truth_run: Path, truth_log: Path) -> None:
    log = _log(truth_log)
    origin = log["t_us"].min() // 86_400_000_000 * 86_400_000_000
    counts = (
        log.with_columns(((pl.col("t_us") - origin) // (WINDOW_S * 1_000_000)).alias("w"))
        .group_by("client_id", "w")
        .len()
    )
    for client_id, row in _clients(truth_run).items():
        expected = {w: n for _, w, n in counts.filter(pl.col("client_id") == client_id).iter_rows()}
        for index, fields in enumerate(_trace(truth_run, row)):
            assert float(fields[1]) * WINDOW_S == pytest.approx(expected.get(index, 0), abs=1e-9)


def test_exported_cv_is_the_patterns_and_fits_keep_the_sample_cv(
    truth_run: Path, truth_log: Path
) -> None:
    log = _log(truth_log).filter(pl.col("client_id") == "gamma-regular")
    origin = log["t_us"].min() // 86_400_000_000 * 86_400_000_000
    row = _clients(truth_run)["gamma-regular"]
    trace = _trace(truth_run, row)
    fits = json.loads((truth_run / "fits.json").read_text())
    client = next(
        c for m in fits["models"] for c in m["clients"] if c["client_id"] == "gamma-regular"
    )
    windows = {w["timestamp"] // WINDOW_S: w for w in client["windows"]}
    times = np.sort(log["t_us"].to_numpy() - origin)
    checked = 0
    for index, fields in enumerate(trace):
        inside = times[(times >= index * WINDOW_S * 1e6) & (times < (index + 1) * WINDOW_S * 1e6)]
        if len(inside) >= 10:
            gaps = np.diff(inside) / 1e6
            # The format's rule: for Gamma, cv == 1/sqrt(shape) (the pattern's CV) ...
            assert fields[3] == "Gamma"
            assert float(fields[2]) == pytest.approx(1 / np.sqrt(float(fields[4])), rel=1e-12)
            # ... and fits.json keeps the window's sample CV beside it, to rounding.
            pattern = windows[index]["pattern"]
            assert pattern["cv"] == pytest.approx(float(fields[2]), rel=1e-12)
            assert pattern["sample_cv"] == pytest.approx(gaps.std() / gaps.mean(), rel=1e-9)
            assert windows[index]["cv"] == pytest.approx(gaps.std() / gaps.mean(), rel=1e-9)
            checked += 1
    assert checked >= 20


@pytest.mark.parametrize(
    ("client_id", "family", "shape"),
    [("gamma-bursty", "Gamma", 0.5), ("weibull-bursty", "Weibull", 0.6)],
)
def test_family_and_shape_are_recovered(
    truth_run: Path, client_id: str, family: str, shape: float
) -> None:
    trace = _trace(truth_run, _clients(truth_run)[client_id])
    active = [f for f in trace if f[3]]
    share = np.mean([f[3] == family for f in active])
    assert share >= FAMILY_SHARE, f"{client_id}: {family} chosen in {share:.0%} of windows"
    # The exported shape is the maximum-likelihood one; its CV is the pattern's.
    assert np.median([float(f[4]) for f in active]) == pytest.approx(shape, rel=SHAPE_RTOL)
    true_cv = 1 / np.sqrt(shape) if family == "Gamma" else float(weibull_cv(shape))
    assert np.median([float(f[2]) for f in active]) == pytest.approx(true_cv, rel=SHAPE_RTOL)
    fits = json.loads((truth_run / "fits.json").read_text())
    client = next(c for m in fits["models"] for c in m["clients"] if c["client_id"] == client_id)
    scipy_name, param = ("gamma", "a") if family == "Gamma" else ("weibull_min", "c")
    mle = [w["fits"][scipy_name]["params"][param] for w in client["windows"] if w["fits"]]
    assert np.median(mle) == pytest.approx(shape, rel=SHAPE_RTOL)
    assert client["pooled"]["fits"][scipy_name]["params"][param] == pytest.approx(
        shape, rel=SHAPE_RTOL
    )


def test_sparse_client_keeps_true_rates_with_pooled_or_default_pattern(truth_run: Path) -> None:
    fits = json.loads((truth_run / "fits.json").read_text())
    client = next(c for m in fits["models"] for c in m["clients"] if c["client_id"] == "sparse")
    assert client["windows"], "the sparse client has requests"
    assert all(w["status"] in ("pooled", "default") for w in client["windows"])
    assert sum(w["n_requests"] for w in client["windows"]) == client["requests"]


def _dataset(out: Path, client_id: str) -> dict[str, dict[str, str]]:
    row = _clients(out)[client_id]
    path = (
        out
        / "profiles/data"
        / row["category"]
        / row["model_dir"]
        / f"chunk-{row['chunk']}-dataset.json"
    )
    return json.loads(path.read_text())


def test_length_distributions_are_the_exact_empirical_ones(
    truth_run: Path, truth_log: Path
) -> None:
    log = _log(truth_log).filter(
        (pl.col("client_id") == "gamma-regular") & (pl.col("status") == 200)
    )
    origin = log["t_us"].min() // 86_400_000_000 * 86_400_000_000
    window = log.filter(pl.col("t_us") - origin < 21_600 * 1_000_000)
    dataset = _dataset(truth_run, "gamma-regular")
    first = dataset[min(dataset, key=int)]
    for field in ("input_tokens", "output_tokens"):
        got = ast.literal_eval(first[field])
        counts = window[field].value_counts()
        expected = {v: n / len(window) for v, n in counts.iter_rows()}
        assert got.keys() == expected.keys()
        for value, probability in expected.items():
            assert got[value] == pytest.approx(probability, rel=1e-12)


def test_length_parameters_are_recovered(truth_run: Path) -> None:
    dataset = _dataset(truth_run, "gamma-bursty")
    dist = ast.literal_eval(next(iter(dataset.values()))["input_tokens"])
    values, probs = np.array(list(dist)), np.array(list(dist.values()))
    median = values[np.searchsorted(np.cumsum(probs), 0.5)]
    assert median == pytest.approx(np.exp(6.5), rel=0.05)  # lognormal median = e^mu
    out_dist = ast.literal_eval(next(iter(dataset.values()))["output_tokens"])
    mean = sum(k * p for k, p in out_dist.items())
    assert mean == pytest.approx(150.0, rel=0.07)  # exponential mean


def test_reasoning_and_multimodal_fields(truth_run: Path) -> None:
    reason = next(iter(_dataset(truth_run, "thinker").values()))
    ratio = list(ast.literal_eval(reason["reason_ratio"]).values())
    grid = np.arange(len(ratio)) / (len(ratio) - 1)
    assert float(np.dot(grid, ratio)) == pytest.approx(6 / 8, abs=0.02)  # Beta(6, 2) mean
    mm = next(iter(_dataset(truth_run, "viewer").values()))
    counts = ast.literal_eval(mm["image_count"])
    assert counts[0] == pytest.approx(0.3, abs=0.04)
    assert counts[1] == pytest.approx(0.5, abs=0.04)
    assert set(ast.literal_eval(mm["image_tokens"])) == {256, 1024}
    assert ast.literal_eval(mm["audio_tokens"]) == {0: 1.0}


def test_failed_requests_count_as_arrivals_not_lengths(truth_run: Path, truth_log: Path) -> None:
    log = _log(truth_log).filter(pl.col("client_id") == "gamma-regular")
    failed = log.filter(pl.col("status") != 200)
    assert len(failed) > 0
    assert int(_clients(truth_run)["gamma-regular"]["requests"]) == len(log)


def test_pareto_tail_of_input_lengths_is_kept(truth_run: Path) -> None:
    # weibull-bursty: 20 % of inputs are Pareto(xm=3000, alpha=1.5), the rest lognormal(6, 0.8)
    dataset = _dataset(truth_run, "weibull-bursty")
    values, probs = [], []
    for window in dataset.values():
        dist = ast.literal_eval(window["input_tokens"])
        values.extend(dist)
        probs.extend(dist.values())
    x, p = np.array(values, float), np.array(probs) / len(dataset)
    tail = x >= 3000
    assert p[tail].sum() == pytest.approx(0.2 + 0.8 * 0.006, abs=0.02)
    # Hill / Pareto MLE of the tail index over the tail (weights are the probabilities)
    alpha = p[tail].sum() / np.sum(p[tail] * np.log(x[tail] / 3000))
    assert alpha == pytest.approx(1.5, rel=0.15)
