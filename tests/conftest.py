"""Shared fixtures: pipeline runs on the bundled sample and on ground-truth synthetic logs."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from pipeline import SAMPLE_LOG, RunOptions, run_all
from pipeline.synthetic import ClientSpec, generate

DEFAULT_TRACES = Path(__file__).resolve().parents[2] / "shared" / "traces"


def traces_dir() -> Path:
    """Where the published traces are: $SERVECHAR_TRACES, or `shared/traces` beside the clone."""
    return Path(os.environ.get("SERVECHAR_TRACES") or DEFAULT_TRACES)


def public_trace(relative: str) -> Path:
    """A published trace (file or directory) the calling test needs.

    A clone without the traces skips the test with a reason naming what is missing; with
    SERVECHAR_REQUIRE_TRACES=1 (set by .ci/run) it fails instead, so CI never passes without
    having run them.
    """
    path = traces_dir() / relative
    if not path.exists():
        reason = (
            f"public trace {relative} is missing: {path} does not exist (set SERVECHAR_TRACES "
            "to the directory of the published traces)"
        )
        if os.environ.get("SERVECHAR_REQUIRE_TRACES") == "1":
            pytest.fail(f"SERVECHAR_REQUIRE_TRACES=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample_run")
    run_all([str(SAMPLE_LOG)], out, RunOptions())
    return out


GROUND_TRUTH = [
    # Busy clients (about 1,200 requests per window) whose shapes the fits should recover.
    ClientSpec(
        "gamma-bursty",
        "truth-lang",
        rate_rps=2.0,
        family="gamma",
        shape=0.5,
        diurnal_amplitude=0.5,
        input_lognormal=(6.5, 0.5),
        output_mean=150.0,
    ),
    ClientSpec(
        "weibull-bursty",
        "truth-lang",
        rate_rps=2.0,
        family="weibull_min",
        shape=0.6,
        pareto_tail=(0.2, 3000.0, 1.5),
        output_lognormal=(5.0, 0.6),
    ),
    ClientSpec(
        "gamma-regular", "truth-lang", rate_rps=1.0, family="gamma", shape=4.0, failure_rate=0.05
    ),
    ClientSpec("sparse", "truth-lang", rate_rps=0.004, family="gamma", shape=1.0),
    ClientSpec(
        "thinker",
        "truth-reason",
        category="reason",
        rate_rps=0.5,
        family="gamma",
        shape=0.8,
        reason_beta=(6.0, 2.0),
    ),
    ClientSpec(
        "viewer",
        "truth-mm",
        category="multimodal",
        rate_rps=0.5,
        family="weibull_min",
        shape=0.9,
        image_counts=(0.3, 0.5, 0.2),
        image_item_tokens=(256, 1024),
    ),
]
TRUTH_DURATION_S = 4 * 3600


@pytest.fixture(scope="session")
def truth_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("truth") / "truth.csv.gz"
    log = generate(GROUND_TRUTH, duration_s=TRUTH_DURATION_S, seed=7)
    with gzip.open(path, "wb") as handle:
        handle.write(log.write_csv().encode())
    return path


@pytest.fixture(scope="session")
def truth_run(tmp_path_factory: pytest.TempPathFactory, truth_log: Path) -> Path:
    out = tmp_path_factory.mktemp("truth_run")
    run_all([str(truth_log)], out, RunOptions())
    return out
